"""The work a write leaves for background jobs, dispatched only after the write commits.

    domain function ─► QueuedWork (ids: SMS, transcriptions, recording deletions)
    commit_and_dispatch(session, work, queue)
      commit ─► enqueue each SMS ─► enqueue each transcription (call marked QUEUED, commit)
             ─► enqueue each recording deletion

A job never runs ahead of the data it needs. An enqueue that fails (Redis away, or the
web request's enqueue budget spent) leaves the work owed in the database, where the
reconciler finds it: pending SMS (urgent alerts included) and RECORDED calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from intake.store.audit import Actor
from intake.calls.voicemail import RecordingOutcome, get_call, mark_call_enqueued
from intake.outbox.links import page_link
from intake.store.models import Call
from intake.outbox.notifications import quote_urgent_alert, raise_urgent_alert


class JobQueue(Protocol):
    """What intake needs from the job queue; returns False when the queue is unreachable."""

    def enqueue_transcription(self, call_id: int) -> bool: ...

    def enqueue_sms(self, notification_id: int) -> bool: ...

    def enqueue_recording_deletion(self, call_id: int) -> bool: ...


@dataclass
class QueuedWork:
    """Jobs owed once the current transaction commits, by record id."""

    sms: list[int] = field(default_factory=list)
    transcriptions: list[int] = field(default_factory=list)
    recording_deletions: list[int] = field(default_factory=list)


def commit_and_dispatch(session: Session, work: QueuedWork, queue: JobQueue,
                        actor: Actor) -> bool:
    """Commit, then enqueue the work; return False when some of it was left to the reconciler."""
    session.commit()
    done = True
    for notification_id in work.sms:
        done = queue.enqueue_sms(notification_id) and done
    for call_id in work.transcriptions:
        if queue.enqueue_transcription(call_id):
            mark_call_enqueued(session, get_call(session, call_id), actor)
            session.commit()
        else:
            done = False
    for call_id in work.recording_deletions:
        done = queue.enqueue_recording_deletion(call_id) and done
    return done


def alert_urgent_call(session: Session, call: Call, public_base_url: str | None,
                      actor: Actor) -> QueuedWork:
    """Queue an SMS about an urgent call to each on-duty leader not yet alerted of it.

    The one urgent path: the recording webhook (urgent by keypad) and the transcription job
    (urgent by keyword) both come here.
    """
    if not call.urgent:
        return QueuedWork()
    alerts = raise_urgent_alert(session, call, page_link(public_base_url, "call", call.id),
                                call.language, actor)
    return QueuedWork(sms=[notification.id for notification in alerts])


def quote_urgent_call(session: Session, call: Call, public_base_url: str | None,
                      actor: Actor) -> QueuedWork:
    """Queue a second alert with the first sentence to leaders alerted before any text."""
    if not call.urgent:
        return QueuedWork()
    alerts = quote_urgent_alert(session, call, page_link(public_base_url, "call", call.id),
                                call.language, actor)
    return QueuedWork(sms=[notification.id for notification in alerts])


def dispatch_after_recording(session: Session, outcome: RecordingOutcome, queue: JobQueue,
                             public_base_url: str | None, actor: Actor) -> bool:
    """Alert leaders of an urgent message, then enqueue its transcription, after committing.

    A Redis outage leaves the call RECORDED and the alerts pending for the reconciler
    instead of losing them.
    """
    call = outcome.call
    work = alert_urgent_call(session, call, public_base_url, actor)
    if outcome.needs_transcription:
        work.transcriptions.append(call.id)
    return commit_and_dispatch(session, work, queue, actor)
