"""Live transcripts: a call's text while the caller speaks, and its draft at hang-up (issue 22).

    worker claims the stream ─► begin_live_transcript      live_state STREAMING
    every second or so       ─► write_live_text             live_text grows (no audit row:
                                                            the text is not a state)
    Twilio's `stop`          ─► attach_live_transcript      DRAFT, drafted_by "live",
                                                            live_state DRAFTED
    the stream broke off     ─► abandon_live_transcript     live_state BROKEN; the recording
                                                            drafts the call as before

The recording stays the source of truth: its callback is still stored and its file kept
(intake.calls.voicemail.attach_recording accepts a live-drafted call once), but the batch
decode drafts only a call nobody has drafted. Both paths lock the call's row and draft only
from a status before DRAFT, so exactly one of them writes the draft. Neither touches
transcript_corrected, so a person's edit is never overwritten.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from intake.calls.voicemail import file_draft, find_call_by_sid, move_live_state
from intake.store.audit import Actor
from intake.store.models import Call, utcnow
from intake.statuses import CallStatus, DraftPath, LiveState

# A call the live transcript may still draft: nobody has drafted it, nobody gave up on it.
LIVE_DRAFTABLE = (CallStatus.RINGING, CallStatus.RECORDED, CallStatus.QUEUED,
                  CallStatus.TRANSCRIBING)


def begin_live_transcript(session: Session, call_sid: str, actor: Actor) -> Call | None:
    """Mark the call as decoded live; return it, or None when it is unknown or past drafting."""
    call = find_call_by_sid(session, call_sid)
    if call is None:
        return None
    session.refresh(call, with_for_update=True)
    if call.status not in LIVE_DRAFTABLE or call.live_state is not None:
        return None
    move_live_state(session, call, LiveState.STREAMING, actor, "call.live_started")
    call.live_started_at = utcnow()
    return call


def write_live_text(session: Session, call_id: int, text: str) -> bool:
    """Store the text heard so far on a call still streaming; return False once it is not."""
    result = session.execute(
        update(Call).where(Call.id == call_id, Call.live_state == LiveState.STREAMING.value)
        .values(live_text=text).execution_options(synchronize_session=False))
    return result.rowcount == 1


def attach_live_transcript(
    session: Session,
    call: Call,
    *,
    text: str,
    words: list[dict],
    model_name: str,
    model_version: str,
    extracted: dict | None,
    actor: Actor,
) -> bool:
    """Draft the call from its live transcript; False (nothing written) if another path won."""
    session.refresh(call, with_for_update=True)
    if call.live_state != LiveState.STREAMING.value:
        return False  # given back to the recording, or superseded by its draft
    if call.status not in LIVE_DRAFTABLE:
        move_live_state(session, call, LiveState.BROKEN, actor, "call.live_superseded",
                        status=call.status.value)
        return False
    call.live_text = text
    call.failure_reason = None
    call.failure_code = None
    file_draft(session, call, DraftPath.LIVE, text=text, words=words, model_name=model_name,
               model_version=model_version, extracted=extracted, actor=actor)
    move_live_state(session, call, LiveState.DRAFTED, actor, "call.live_drafted")
    return True


def abandon_live_transcript(session: Session, call_id: int, reason: str, actor: Actor) -> bool:
    """Give the call back to the recording's path; False when it was not streaming."""
    call = session.get(Call, call_id)
    if call is None:
        return False
    session.refresh(call, with_for_update=True)
    if call.live_state != LiveState.STREAMING.value:
        return False
    move_live_state(session, call, LiveState.BROKEN, actor, "call.live_broken", reason=reason)
    return True
