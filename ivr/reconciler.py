"""Re-enqueue whatever a Redis outage or a dead worker left behind.

Runs in every worker's maintenance loop and on demand as `dutyline reconcile`. It only
enqueues jobs that are not already waiting or running, so running it often is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from intake.audit import SYSTEM
from intake.calls import list_calls_to_reconcile, mark_call_enqueued
from intake.models import utcnow
from intake.notifications import list_pending_notifications
from ivr.queueing import JobQueue, sms_job_id, transcription_job_id

PENDING_SMS_GRACE = timedelta(seconds=30)


@dataclass
class ReconcileReport:
    calls_enqueued: list[int] = field(default_factory=list)
    sms_enqueued: list[int] = field(default_factory=list)
    redis_unreachable: bool = False

    def to_json(self) -> dict:
        return {"calls_enqueued": self.calls_enqueued, "sms_enqueued": self.sms_enqueued,
                "redis_unreachable": self.redis_unreachable}


def reconcile(session: Session, queue: JobQueue) -> ReconcileReport:
    """Enqueue owed transcriptions and unsent SMS that no live job covers."""
    report = ReconcileReport()
    for call in list_calls_to_reconcile(session):
        if queue.is_live(transcription_job_id(call.id)):
            continue
        if not queue.enqueue_transcription(call.id):
            report.redis_unreachable = True
            break
        mark_call_enqueued(session, call, SYSTEM)
        session.commit()
        report.calls_enqueued.append(call.id)
    cutoff = utcnow() - PENDING_SMS_GRACE
    for notification in list_pending_notifications(session):
        if report.redis_unreachable or notification.created_at > cutoff:
            continue
        if queue.is_live(sms_job_id(notification.id)):
            continue
        if not queue.enqueue_sms(notification.id):
            report.redis_unreachable = True
            break
        report.sms_enqueued.append(notification.id)
    return report
