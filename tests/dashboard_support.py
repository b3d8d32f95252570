"""Helpers for the dashboard's tests: calls made through the real intake functions."""
from __future__ import annotations

import secrets

from intake.store.audit import TWILIO, WORKER
from intake.calls.voicemail import (attach_recording, attach_transcript, begin_transcription,
                                    fail_transcription, mark_call_enqueued)
from intake.store.models import AuditEvent, Call

WORDS_ZH = [("我", 0.3, 0.5, 0.95), ("是", 0.5, 0.7, 0.92), ("张伟", 0.7, 1.2, 0.9),
            ("药店", 1.4, 1.9, 0.45), ("没有", 1.9, 2.3, 0.88), ("降压药", 2.3, 3.0, 0.8)]


def make_call(session, from_number: str = "+8613812345678", *, words=None, text=None,
              extracted: dict | None = None, fail: str | None = None, recording_path=None,
              duration: int = 4) -> Call:
    """Take a call through recording, queueing and transcription to DRAFT (or FAILED)."""
    sid = secrets.token_hex(8)
    outcome = attach_recording(
        session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}",
        recording_url=f"http://127.0.0.1/Recordings/RE{sid}", duration_seconds=duration,
        recording_status="completed", from_number=from_number, to_number="+8657112345",
        language="zh-CN", actor=TWILIO)
    call = outcome.call
    session.commit()  # as the webhook does: commit, then enqueue, then note it
    mark_call_enqueued(session, call, TWILIO)
    begin_transcription(session, call, WORKER)
    if recording_path is not None:
        call.recording_path = str(recording_path)
    if fail:
        fail_transcription(session, call, fail, WORKER)
    else:
        words = WORDS_ZH if words is None else words
        word_dicts = [{"word": w, "start": s, "end": e, "conf": c} for w, s, e, c in words]
        attach_transcript(session, call, text=text or " ".join(w for w, *_ in words),
                          words=word_dicts, model_name="test-model", model_version="1",
                          extracted=extracted, actor=WORKER)
    session.commit()
    return call


def audit_actions(session, entity_type: str, entity_id: int) -> list[str]:
    session.expire_all()
    return [e.action for e in session.query(AuditEvent).filter_by(
        entity_type=entity_type, entity_id=entity_id).order_by(AuditEvent.id)]


def sign_in(client, username: str, password: str = "dutyline-demo", **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})
