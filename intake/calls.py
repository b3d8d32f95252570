"""Calls: from the first webhook to a draft transcript. Every step is idempotent.

Twilio may deliver any callback twice, and two deliveries may race. The unique constraints
on call_sid and recording_sid decide; code here only turns a duplicate into a no-op.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.audit import Actor, record_event
from intake.exceptions import NotFound
from intake.models import Call, Liaison, utcnow
from intake.phones import to_e164
from intake.statuses import CallStatus
from intake.transitions import move_status

REFERENCE_DIGITS = 6
# Twilio reports these recording states; only "completed" carries audio.
RECORDING_COMPLETED = "completed"
RECORDING_ABSENT = "absent"
# A call still TRANSCRIBING this long is checked against RQ: no live job means a dead worker.
STALE_TRANSCRIPTION_AFTER = timedelta(seconds=60)
# A call RECORDED or QUEUED this long without progress is enqueued again.
STALE_QUEUE_AFTER = timedelta(seconds=30)


def get_call(session: Session, call_id: int) -> Call:
    """Return a call by id, or raise NotFound."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} does not exist")
    return call


def find_call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def find_liaison_by_number(session: Session, number: str | None) -> Liaison | None:
    """Return the active liaison whose phone matches a caller number in E.164."""
    e164 = to_e164(number)
    if e164 is None:
        return None
    return session.scalar(select(Liaison).where(Liaison.phone == e164, Liaison.active.is_(True)))


def register_call(
    session: Session,
    call_sid: str,
    from_number: str,
    to_number: str,
    language: str,
    actor: Actor,
) -> Call:
    """Return the Call for a CallSid, creating it (linked to a known liaison) on first sight."""
    existing = find_call_by_sid(session, call_sid)
    if existing is not None:
        return existing
    liaison = find_liaison_by_number(session, from_number)
    call = Call(
        call_sid=call_sid,
        reference=_new_reference(session),
        from_number=from_number or "",
        from_e164=to_e164(from_number),
        to_number=to_number or "",
        language=language,
        liaison_id=liaison.id if liaison else None,
        leader_id=liaison.leader_id if liaison else None,
        status=CallStatus.RINGING,
    )
    try:
        with session.begin_nested():
            session.add(call)
            session.flush()
    except IntegrityError:
        # The same CallSid arrived twice at once; the other request created it.
        existing = find_call_by_sid(session, call_sid)
        if existing is None:
            raise
        return existing
    record_event(
        session,
        actor,
        "call.received",
        call,
        after={"from": call.from_number, "liaison_id": call.liaison_id},
    )
    return call


def mark_call_urgent(session: Session, call: Call, source: str, actor: Actor) -> bool:
    """Flag a call as urgent; return True only the first time."""
    if call.urgent:
        return False
    call.urgent = True
    call.urgent_source = source
    record_event(session, actor, "call.marked_urgent", call, after={"source": source})
    return True


def record_dial_outcome(session: Session, call: Call, dial_status: str, actor: Actor) -> None:
    """Remember how the attempt to reach the duty phone ended."""
    call.dial_status = dial_status
    record_event(session, actor, "call.dial_finished", call, after={"dial_status": dial_status})


@dataclass(frozen=True)
class RecordingOutcome:
    call: Call
    is_new: bool  # False for a duplicate callback: the caller must do nothing more
    needs_transcription: bool


def attach_recording(
    session: Session,
    *,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    duration_seconds: int,
    recording_status: str,
    from_number: str,
    to_number: str,
    language: str,
    actor: Actor,
) -> RecordingOutcome:
    """Store a recording reference once per RecordingSid; an empty one marks "no message"."""
    call = register_call(session, call_sid, from_number, to_number, language, actor)
    already_has_audio = call.recording_sid is not None and call.status != CallStatus.NO_MESSAGE
    if call.recording_sid == recording_sid or already_has_audio:
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    if recording_status != RECORDING_COMPLETED or duration_seconds <= 0:
        if call.status == CallStatus.RINGING:
            call.recording_sid = recording_sid or None
            call.recording_duration = max(duration_seconds, 0)
            move_status(session, call, CallStatus.NO_MESSAGE, actor, "call.no_message",
                        recording_status=recording_status)
            return RecordingOutcome(call, is_new=True, needs_transcription=False)
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    try:
        with session.begin_nested():
            call.recording_sid = recording_sid
            call.recording_url = recording_url
            call.recording_duration = duration_seconds
            call.recorded_at = utcnow()
            session.flush()
    except IntegrityError:
        session.refresh(call)
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    move_status(session, call, CallStatus.RECORDED, actor, "call.recorded",
                recording_sid=recording_sid, duration=duration_seconds)
    return RecordingOutcome(call, is_new=True, needs_transcription=True)


def mark_call_enqueued(session: Session, call: Call, actor: Actor) -> None:
    """Note that a transcription job is in the queue for this call."""
    if call.status == CallStatus.QUEUED:
        call.enqueued_at = utcnow()
        return
    move_status(session, call, CallStatus.QUEUED, actor, "call.enqueued")
    call.enqueued_at = utcnow()


def begin_transcription(session: Session, call: Call, actor: Actor) -> bool:
    """Move a queued call to TRANSCRIBING; return False when it needs no (more) work."""
    if call.status in (CallStatus.DRAFT, CallStatus.CONFIRMED, CallStatus.NO_MESSAGE):
        return False
    if call.status == CallStatus.TRANSCRIBING:
        # A retry after the worker died mid-job: start over.
        move_status(session, call, CallStatus.QUEUED, actor, "call.retry_after_crash")
    if call.status == CallStatus.RECORDED:
        move_status(session, call, CallStatus.QUEUED, actor, "call.enqueued")
    move_status(session, call, CallStatus.TRANSCRIBING, actor, "call.transcribing")
    call.attempts += 1
    call.progress = 0.0
    call.transcription_started_at = utcnow()
    call.failure_reason = None
    return True


def store_local_audio(call: Call, path: str, size_bytes: int) -> None:
    """Remember where the downloaded recording lives on disk."""
    call.recording_path = path
    call.recording_bytes = size_bytes


def report_progress(call: Call, fraction: float) -> None:
    call.progress = max(0.0, min(1.0, fraction))


def attach_transcript(
    session: Session,
    call: Call,
    *,
    text: str,
    words: list[dict],
    model_name: str,
    model_version: str,
    extracted: dict | None,
    actor: Actor,
) -> None:
    """File the model's transcript and drafted caller details on the call."""
    call.transcript_text = text
    call.words = words
    call.no_speech = not words
    call.model_name = model_name
    call.model_version = model_version
    call.extracted = extracted
    call.progress = 1.0
    call.drafted_at = utcnow()
    move_status(session, call, CallStatus.DRAFT, actor, "call.drafted",
                words=len(words), no_speech=call.no_speech, model=model_name)


def fail_transcription(session: Session, call: Call, reason: str, actor: Actor) -> None:
    """Mark the call failed with a reason a duty officer can read; the audio stays."""
    call.failure_reason = reason
    if call.status == CallStatus.FAILED:
        return
    if call.status == CallStatus.RECORDED:
        move_status(session, call, CallStatus.QUEUED, actor, "call.enqueued")
    move_status(session, call, CallStatus.FAILED, actor, "call.failed", reason=reason)


def correct_transcript(session: Session, call: Call, text: str, actor: Actor) -> None:
    """Store a person's correction beside the model's original transcript."""
    before = call.transcript_corrected
    call.transcript_corrected = text
    record_event(session, actor, "call.transcript_corrected", call,
                 before={"text": before}, after={"text": text})


def list_calls_to_reconcile(session: Session, now: datetime | None = None) -> list[Call]:
    """Return calls whose transcription is owed but apparently not in progress."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Call)
            .where(
                or_(
                    Call.status == CallStatus.RECORDED,
                    (Call.status == CallStatus.QUEUED)
                    & (Call.enqueued_at < now - STALE_QUEUE_AFTER),
                    (Call.status == CallStatus.TRANSCRIBING)
                    & (Call.transcription_started_at < now - STALE_TRANSCRIPTION_AFTER),
                )
            )
            .order_by(Call.id)
        )
    )


def _new_reference(session: Session) -> str:
    while True:
        candidate = "".join(secrets.choice("0123456789") for _ in range(REFERENCE_DIGITS))
        if candidate[0] != "0" and not session.scalar(
            select(Call.id).where(Call.reference == candidate)
        ):
            return candidate


def describe_call(call: Call) -> dict:
    """Return a call as a plain record, for `dutyline calls show --json` and simulate-call."""
    return {
        "id": call.id,
        "call_sid": call.call_sid,
        "reference": call.reference,
        "status": call.status.value,
        "from": call.from_number,
        "liaison": call.liaison.name if call.liaison else None,
        "leader": call.leader.name if call.leader else None,
        "urgent": call.urgent,
        "urgent_source": call.urgent_source,
        "recording_sid": call.recording_sid,
        "recording_duration": call.recording_duration,
        "recording_path": call.recording_path,
        "transcript": call.transcript_text,
        "transcript_display": call.transcript_for_display,
        "words": call.words or [],
        "no_speech": call.no_speech,
        "extracted": call.extracted,
        "model_name": call.model_name,
        "model_version": call.model_version,
        "progress": call.progress,
        "failure_reason": call.failure_reason,
        "attempts": call.attempts,
        "started_at": call.started_at.isoformat() if call.started_at else None,
        "recorded_at": call.recorded_at.isoformat() if call.recorded_at else None,
        "drafted_at": call.drafted_at.isoformat() if call.drafted_at else None,
        "case_number": call.case.number if call.case else None,
    }
