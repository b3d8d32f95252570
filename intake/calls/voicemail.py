"""Calls: from the first webhook to a draft transcript. Every step is idempotent.

Twilio may deliver any callback twice, and two deliveries may race. The unique constraints
on call_sid and recording_sid decide; code here only turns a duplicate into a no-op.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.store.audit import Actor, insert_event, record_event
from intake.directory.roster import Caller, find_caller
from intake.exceptions import InvalidTransition, NotFound
from intake.store.models import Call, Liaison, utcnow
from intake.directory.phones import to_e164
from intake.statuses import LIVE_TRANSITIONS, CallStatus, DraftPath, FailureCode, LiveState
from intake.rules.transitions import move_status

REFERENCE_DIGITS = 6
REFERENCE_ATTEMPTS = 20
# Twilio reports these recording states; only "completed" carries audio.
RECORDING_COMPLETED = "completed"
# Twilio records at most 24 hours; a larger reported length is clamped to it.
MAX_RECORDING_DURATION_SECONDS = 24 * 3600
# A transcription is owed in these states; the reconciler checks each against the queue.
OWED_STATES = (CallStatus.RECORDED, CallStatus.QUEUED, CallStatus.TRANSCRIBING)
# Built once: INSERT ... ON CONFLICT DO NOTHING RETURNING id, for both databases.
_INSERT_CALL = {name: insert(Call.__table__).on_conflict_do_nothing().returning(Call.__table__.c.id)
                for name, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))}
# Local audio may be purged once nothing will read it again.
PURGEABLE_STATES = (CallStatus.DRAFT, CallStatus.CONFIRMED, CallStatus.FAILED)
# Twilio's DialCallStatus when the duty phone picked up.
DIAL_ANSWERED = "completed"


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


@dataclass(frozen=True)
class RegisteredCall:
    """The call a webhook is about: enough to greet the caller and tell the reference."""

    id: int
    reference: str
    liaison_id: int | None
    liaison_name: str | None
    is_new: bool


def register_call(
    session: Session,
    call_sid: str,
    from_number: str,
    to_number: str,
    language: str,
    actor: Actor,
    callers: Mapping[str, Caller] | None = None,
) -> RegisteredCall:
    """Return the call for a CallSid, creating it (linked to a known liaison) on first sight.

    This runs on every ring, so it is two Core INSERTs and no ORM unit of work: the call
    (ON CONFLICT DO NOTHING, so a duplicate delivery or a reference clash is no error and
    needs no savepoint) and its audit row. The caller commits.

    Args:
        callers: active liaisons by E.164 phone (a process's cached copy); without it the
            liaison is looked up in the database.
    """
    e164 = to_e164(from_number)
    if callers is None:
        caller = find_caller(session, e164)
    else:
        caller = callers.get(e164) if e164 else None
    values = {
        "call_sid": call_sid, "from_number": from_number or "", "from_e164": e164,
        "to_number": to_number or "", "language": language,
        "liaison_id": caller.liaison_id if caller else None,
        "leader_id": caller.leader_id if caller else None,
    }
    connection = session.connection()
    statement = _INSERT_CALL[connection.dialect.name]
    for _attempt in range(REFERENCE_ATTEMPTS):
        # A random reference, checked by the unique constraint rather than a query first:
        # a clash (rare) just draws again.
        reference = _random_reference()
        call_id = connection.execute(statement, {"reference": reference, **values}).scalar()
        if call_id is not None:
            break
        # Nothing inserted: this CallSid is already there (a repeated or racing webhook),
        # or the reference was taken and another must be drawn.
        existing = _registered_call(session, call_sid)
        if existing is not None:
            return existing
    else:
        raise RuntimeError(f"no free reference number after {REFERENCE_ATTEMPTS} draws")
    insert_event(session, actor, "call.received", Call.__tablename__, call_id,
                 after={"from": values["from_number"], "liaison_id": values["liaison_id"]})
    return RegisteredCall(call_id, reference, values["liaison_id"],
                          caller.name if caller else None, is_new=True)


def _registered_call(session: Session, call_sid: str) -> RegisteredCall | None:
    row = session.execute(
        select(Call.id, Call.reference, Call.liaison_id, Liaison.name)
        .outerjoin(Liaison, Liaison.id == Call.liaison_id)
        .where(Call.call_sid == call_sid)
    ).first()
    return RegisteredCall(row[0], row[1], row[2], row[3], is_new=False) if row else None


def mark_call_urgent(session: Session, call: Call, source: str, actor: Actor) -> bool:
    """Flag a call as urgent; return True only the first time."""
    if call.urgent:
        return False
    call.urgent = True
    call.urgent_source = source
    record_event(session, actor, "call.marked_urgent", call, after={"source": source})
    return True


def record_dial_outcome(session: Session, call: Call, dial_status: str, actor: Actor) -> None:
    """Remember how the attempt to reach the duty phone ended.

    A call the duty phone answered leaves no voicemail: it moves on to NO_MESSAGE, which the
    duty officer confirms like any reviewed call (as a case that came in by phone). Left
    RINGING it could never be confirmed.
    """
    call.dial_status = dial_status
    record_event(session, actor, "call.dial_finished", call, after={"dial_status": dial_status})
    if dial_status == DIAL_ANSWERED and call.status == CallStatus.RINGING:
        move_status(session, call, CallStatus.NO_MESSAGE, actor, "call.answered_live")


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
    """Store a recording reference once per RecordingSid; an empty one marks "no message".

    Two deliveries of the same callback may run at the same moment. Each claims the call
    with one conditional UPDATE; the database lets exactly one of them match, and the
    loser returns is_new=False so that nothing is alerted or enqueued twice.
    """
    call = session.get(Call, register_call(session, call_sid, from_number, to_number,
                                           language, actor).id)
    # Clamped, not refused: the recording is real even when its reported length is absurd,
    # and a number past the INTEGER column would otherwise fail the insert and leave the
    # call RINGING with the message lost.
    duration = min(max(int(duration_seconds or 0), 0), MAX_RECORDING_DURATION_SECONDS)
    if recording_status != RECORDING_COMPLETED or duration <= 0:
        claimed = _claim_call(
            session, call,
            (Call.status == CallStatus.RINGING) & Call.recording_sid.is_(None),
            recording_sid=recording_sid or None, recording_duration=duration,
        )
        if not claimed:
            return RecordingOutcome(call, is_new=False, needs_transcription=False)
        move_status(session, call, CallStatus.NO_MESSAGE, actor, "call.no_message",
                    recording_status=recording_status or "missing")
        return RecordingOutcome(call, is_new=True, needs_transcription=False)
    try:
        with session.begin_nested():
            claimed = _claim_call(
                session, call,
                Call.status.in_((CallStatus.RINGING, CallStatus.NO_MESSAGE))
                & or_(Call.recording_sid.is_(None), Call.recording_sid != recording_sid),
                recording_sid=recording_sid, recording_url=recording_url,
                recording_duration=duration, recorded_at=utcnow(),
            )
    except IntegrityError:
        # This RecordingSid already belongs to another call: a replayed or crossed callback.
        session.refresh(call)
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    if not claimed:
        if call.drafted_by == DraftPath.LIVE.value:
            return _attach_recording_to_live_draft(session, call, recording_sid, recording_url,
                                                   duration, actor)
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    move_status(session, call, CallStatus.RECORDED, actor, "call.recorded",
                recording_sid=recording_sid, duration=duration)
    return RecordingOutcome(call, is_new=True, needs_transcription=True)


def _attach_recording_to_live_draft(session: Session, call: Call, recording_sid: str,
                                    recording_url: str, duration: int,
                                    actor: Actor) -> RecordingOutcome:
    """Keep the recording of a call the live transcript already drafted, once.

    The recording stays the source of truth: it is stored and its file fetched (the job
    downloads it and, seeing the draft, decodes nothing), but the status stays as it is.
    """
    try:
        with session.begin_nested():
            claimed = _claim_call(
                session, call,
                (Call.drafted_by == DraftPath.LIVE.value) & Call.recording_sid.is_(None),
                recording_sid=recording_sid, recording_url=recording_url,
                recording_duration=duration, recorded_at=utcnow(),
            )
    except IntegrityError:
        session.refresh(call)
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    if not claimed:
        return RecordingOutcome(call, is_new=False, needs_transcription=False)
    record_event(session, actor, "call.recorded", call,
                 after={"recording_sid": recording_sid, "duration": duration,
                        "drafted_by": DraftPath.LIVE.value})
    return RecordingOutcome(call, is_new=True, needs_transcription=True)


def _claim_call(session: Session, call: Call, condition, **values) -> bool:
    """Apply `values` to the call only if `condition` still holds in the database."""
    result = session.execute(
        update(Call).where(Call.id == call.id, condition).values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(call)
    return result.rowcount == 1


def mark_call_enqueued(session: Session, call: Call, actor: Actor) -> None:
    """Note that a transcription job is in the queue for this call.

    The worker may already have picked the job up (and moved the call on) by the time
    this runs, so the row is re-read under a lock and only a RECORDED call moves.
    """
    session.refresh(call, with_for_update=True)
    if call.status == CallStatus.RECORDED:
        move_status(session, call, CallStatus.QUEUED, actor, "call.enqueued")
    if call.status == CallStatus.QUEUED:
        call.enqueued_at = utcnow()


def begin_transcription(session: Session, call: Call, actor: Actor) -> bool:
    """Move a queued call to TRANSCRIBING; return False when it needs no (more) work."""
    session.refresh(call, with_for_update=True)
    if call.status in (CallStatus.DRAFT, CallStatus.CONFIRMED, CallStatus.NO_MESSAGE,
                       CallStatus.FAILED):
        # Done, or given up on: only a person re-queues a failed call (FAILED -> QUEUED).
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
    call.failure_code = None
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
    file_draft(session, call, DraftPath.BATCH, text=text, words=words, model_name=model_name,
               model_version=model_version, extracted=extracted, actor=actor)
    if call.live_state == LiveState.STREAMING.value:
        # The recording won the race (a live decode that fell behind or died): the live
        # transcript, if it ever finishes, drafts nothing (intake.calls.live).
        move_live_state(session, call, LiveState.BROKEN, actor, "call.live_superseded",
                        status="draft")


def file_draft(
    session: Session,
    call: Call,
    path: DraftPath,
    *,
    text: str,
    words: list[dict],
    model_name: str,
    model_version: str,
    extracted: dict | None,
    actor: Actor,
) -> None:
    """Write a model's transcript on the call and make it a draft, by either path."""
    call.transcript_text = text
    call.words = words
    call.no_speech = not words
    call.model_name = model_name
    call.model_version = model_version
    call.extracted = extracted
    call.progress = 1.0
    call.drafted_at = utcnow()
    call.drafted_by = path.value
    move_status(session, call, CallStatus.DRAFT, actor, "call.drafted",
                words=len(words), no_speech=call.no_speech, model=model_name,
                path=path.value)


def move_live_state(session: Session, call: Call, target: LiveState, actor: Actor,
                    action: str, **details) -> None:
    """Move the call's live transcript by LIVE_TRANSITIONS, with its audit row."""
    current = LiveState(call.live_state) if call.live_state else None
    if target not in LIVE_TRANSITIONS[current]:
        raise InvalidTransition("Call live transcript", current.value if current else "none",
                                target.value)
    call.live_state = target.value
    record_event(session, actor, action, call,
                 before={"live_state": current.value if current else None},
                 after={"live_state": target.value, **details})


def defer_transcription(session: Session, call: Call, reason: str, actor: Actor,
                        code: FailureCode = FailureCode.RETRYING) -> None:
    """End an attempt that will be retried: show the call as waiting, with the reason."""
    call.failure_reason = reason
    call.failure_code = code.value
    if call.status == CallStatus.TRANSCRIBING:
        move_status(session, call, CallStatus.QUEUED, actor, "call.retry_scheduled",
                    reason=reason)


def fail_transcription(session: Session, call: Call, reason: str, actor: Actor,
                       code: FailureCode = FailureCode.JOB_FAILED) -> None:
    """Mark the call failed with a reason a duty officer can read; the audio stays."""
    call.failure_reason = reason
    call.failure_code = code.value
    if call.status == CallStatus.FAILED:
        return
    if call.status == CallStatus.RECORDED:
        move_status(session, call, CallStatus.QUEUED, actor, "call.enqueued")
    move_status(session, call, CallStatus.FAILED, actor, "call.failed", reason=reason,
                code=code.value)


# A retry fetches the recording again after these; after any other failure the audio on
# disk is sound and only the decoding is repeated.
REFETCH_AFTER = (FailureCode.DOWNLOAD_REFUSED.value, FailureCode.DOWNLOAD_FAILED.value,
                 FailureCode.UNREADABLE_AUDIO.value)


def retry_transcription(session: Session, call: Call, actor: Actor) -> bool:
    """Send a failed call back to the queue; return True when its audio will be fetched again.

    The audio is fetched again when it is missing or failed to decode (the local copy is
    forgotten, so the job downloads it afresh); otherwise the kept audio is decoded again.
    The caller enqueues the job after the commit; if that enqueue is lost, the reconciler
    finds the QUEUED call and enqueues it.

    Raises:
        InvalidTransition: the call has not failed.
    """
    session.refresh(call, with_for_update=True)
    if call.status != CallStatus.FAILED:
        # Only FAILED is retried by hand; the map alone would also let a DRAFT go back.
        raise InvalidTransition("Call", call.status.value, CallStatus.QUEUED.value)
    audio_kept = bool(call.recording_path) and Path(call.recording_path).is_file()
    refetch = not audio_kept or call.failure_code in REFETCH_AFTER
    before = {"failure_code": call.failure_code, "failure_reason": call.failure_reason,
              "recording_path": call.recording_path}
    if refetch:
        call.recording_path = None
        call.recording_bytes = None
    call.failure_reason = None
    call.failure_code = None
    # Newer than the old attempt's failed job: the reconciler replaces that job, not obeys it.
    call.enqueued_at = utcnow()
    move_status(session, call, CallStatus.QUEUED, actor, "call.retry_requested",
                refetch=refetch, **before)
    return refetch


def correct_transcript(session: Session, call: Call, text: str, actor: Actor) -> None:
    """Store a person's correction beside the model's original transcript.

    The caller details drafted from the old text are now stale: whoever saves a correction
    enqueues a redraft (transcription.redraft), which files them with `refresh_draft`.
    """
    before = call.transcript_corrected
    call.transcript_corrected = text
    record_event(session, actor, "call.transcript_corrected", call,
                 before={"text": before}, after={"text": text})


def refresh_draft(session: Session, call: Call, text: str, extracted: dict,
                  actor: Actor) -> bool:
    """File caller details drafted from `text`; False if that is no longer the call's text.

    A later correction may have been saved while this one was being drafted; only the
    draft of the text now stored is kept, so the last correction always wins.
    """
    session.refresh(call, with_for_update=True)
    if not text or draft_source(call) != text:
        return False
    before = {key: (call.extracted or {}).get(key) for key in ("name", "unit", "address", "phone")}
    call.extracted = {**extracted, "drafted_from": _digest(text)}
    record_event(session, actor, "call.redrafted", call, before=before,
                 after={key: extracted.get(key) for key in before})
    return True


def draft_source(call: Call) -> str:
    """Return the text caller details are drafted from: the correction, else the model's."""
    return call.transcript_corrected or call.transcript_text or ""


def draft_is_current(call: Call) -> bool:
    """Tell whether the drafted details come from the transcript now shown."""
    extracted = call.extracted or {}
    if "drafted_from" not in extracted:
        return not call.transcript_corrected  # the worker's first draft, from the model's text
    return extracted["drafted_from"] == _digest(draft_source(call))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def list_calls_to_reconcile(session: Session) -> list[Call]:
    """Return calls whose transcription is owed: RECORDED, QUEUED or TRANSCRIBING.

    Whether a job really covers each one is for the caller to ask the queue; a queued or
    running job is left alone, a missing, finished or abandoned one is replaced.
    """
    return list(session.scalars(
        select(Call).where(Call.status.in_(OWED_STATES)).order_by(Call.id)))


def mark_twilio_recording_deleted(session: Session, call: Call, actor: Actor) -> bool:
    """Note that Twilio's copy of the recording is gone; return False if already noted."""
    if call.twilio_deleted_at is not None:
        return False
    call.twilio_deleted_at = utcnow()
    record_event(session, actor, "call.twilio_recording_deleted", call,
                 after={"recording_sid": call.recording_sid})
    return True


def list_calls_with_expired_audio(session: Session, cutoff: datetime) -> list[Call]:
    """Return finished calls recorded before `cutoff` whose local audio is still kept."""
    return list(session.scalars(
        select(Call).where(
            Call.recording_path.is_not(None),
            Call.audio_purged_at.is_(None),
            Call.recorded_at < cutoff,
            Call.status.in_(PURGEABLE_STATES),
        ).order_by(Call.id)))


def mark_audio_purged(session: Session, call: Call, actor: Actor, retention_days: int) -> None:
    """Note that the local audio file was deleted under the retention rule."""
    path = call.recording_path
    call.audio_purged_at = utcnow()
    call.recording_path = None
    record_event(session, actor, "call.audio_purged", call,
                 before={"recording_path": path},
                 after={"retention_days": retention_days, "bytes": call.recording_bytes})


def _random_reference() -> str:
    return secrets.choice("123456789") + "".join(
        secrets.choice("0123456789") for _ in range(REFERENCE_DIGITS - 1))


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
        "failure_code": call.failure_code,
        "attempts": call.attempts,
        "started_at": call.started_at.isoformat() if call.started_at else None,
        "recorded_at": call.recorded_at.isoformat() if call.recorded_at else None,
        "drafted_at": call.drafted_at.isoformat() if call.drafted_at else None,
        "drafted_by": call.drafted_by,
        "live_state": call.live_state,
        "live_text": call.live_text,
        "case_number": call.case.number if call.case else None,
    }
