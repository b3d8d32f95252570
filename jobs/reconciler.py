"""Re-enqueue whatever a Redis outage or a dead worker left behind.

Runs in every worker's maintenance loop (every 30 s), once when a worker starts, and on
demand as `dutyline reconcile`. It is also where work skipped by a web request goes: a
request whose Redis budget ran out (jobs.queue) leaves its call RECORDED and its SMS,
urgent alerts included, PENDING. Each owed call is checked against its job in Redis:

    RECORDED / QUEUED / TRANSCRIBING call
      └─ job queued, scheduled or running on a live worker ─► leave it
      └─ job missing, finished or stale                    ─► enqueue (atomic, unique id)
      └─ job "started" but its worker is dead              ─► RQ retries it now
      └─ job failed for good (RQ gave up)                  ─► mark the call FAILED
      └─ job failed, but a person retried the call since   ─► enqueue afresh

Enqueueing is idempotent (one job id per call), so running this often is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from intake.store.audit import SYSTEM
from intake.calls.voicemail import fail_transcription, list_calls_to_reconcile, mark_call_enqueued
from intake.store.models import utcnow
from intake.outbox.notifications import list_pending_notifications
from jobs.queue import JobQueue, JobState, sms_job_id, transcription_job_id

PENDING_SMS_GRACE = timedelta(seconds=30)


@dataclass
class ReconcileReport:
    calls_enqueued: list[int] = field(default_factory=list)
    calls_recovered: list[int] = field(default_factory=list)  # abandoned by a dead worker
    calls_failed: list[int] = field(default_factory=list)
    sms_enqueued: list[int] = field(default_factory=list)
    redis_unreachable: bool = False

    def to_json(self) -> dict:
        # The three original keys always; the dead-worker and gave-up lists when they happened.
        record = {"calls_enqueued": self.calls_enqueued, "sms_enqueued": self.sms_enqueued,
                  "redis_unreachable": self.redis_unreachable}
        if self.calls_recovered:
            record["calls_recovered"] = self.calls_recovered
        if self.calls_failed:
            record["calls_failed"] = self.calls_failed
        return record


def reconcile(session: Session, queue: JobQueue,
              pending_sms_grace: timedelta = PENDING_SMS_GRACE) -> ReconcileReport:
    """Enqueue owed transcriptions and unsent SMS (urgent alerts included) no live job covers.

    Args:
        pending_sms_grace: leave younger pending SMS alone; their own enqueue may be under way.
    """
    report = ReconcileReport()
    for call in list_calls_to_reconcile(session):
        job_id = transcription_job_id(call.id)
        state = queue.inspect_job(job_id)
        if state == JobState.UNREACHABLE:
            report.redis_unreachable = True
            break
        if state == JobState.COVERED:
            continue
        if state == JobState.ABANDONED:
            if queue.requeue_abandoned(job_id):
                report.calls_recovered.append(call.id)
            continue
        if state == JobState.FAILED and not _retried_since(call, queue.job_ended_at(job_id)):
            fail_transcription(session, call, "the transcription job failed after all retries",
                               SYSTEM)
            session.commit()
            report.calls_failed.append(call.id)
            continue
        if not queue.enqueue_transcription(call.id):
            report.redis_unreachable = True
            break
        mark_call_enqueued(session, call, SYSTEM)
        session.commit()
        report.calls_enqueued.append(call.id)
    cutoff = utcnow() - pending_sms_grace
    for notification in list_pending_notifications(session):
        if report.redis_unreachable or notification.created_at > cutoff:
            continue
        state = queue.inspect_job(sms_job_id(notification.id))
        if state == JobState.COVERED:
            continue
        if state == JobState.ABANDONED:
            queue.requeue_abandoned(sms_job_id(notification.id))
            continue
        if not queue.enqueue_sms(notification.id):
            report.redis_unreachable = True
            break
        report.sms_enqueued.append(notification.id)
    return report


def _retried_since(call, job_ended_at) -> bool:
    # A retry (intake.calls.voicemail.retry_transcription) stamps enqueued_at; a failed run that ended
    # before it is the old attempt, whose fresh job was lost with Redis.
    return bool(call.enqueued_at and job_ended_at and job_ended_at < call.enqueued_at)
