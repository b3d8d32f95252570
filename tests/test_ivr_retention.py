"""Retention: Twilio's copy is deleted once the local copy is verified; local audio is
purged after the retention period. Both are audited."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.loopback import LoopbackServer, QuietHandler
from intake.store.models import AuditEvent, Call, utcnow
from intake.store.runtime import reset_runtime
from intake.statuses import CallStatus

ACCOUNT = "AC" + "1" * 32


class TwilioStandIn(LoopbackServer):
    """A loopback server answering Twilio's REST API for recording deletion."""

    def __init__(self, status: int = 204):
        self.deleted: list[tuple[str, str]] = []
        owner = self

        class Handler(QuietHandler):
            def do_DELETE(self):
                owner.deleted.append((self.path, self.headers.get("Authorization", "")))
                body = b"" if status == 204 else json.dumps(
                    {"code": 20404, "message": "not found", "status": status}).encode()
                self.send_body(status, body)

        super().__init__(Handler)
        self.start()
        self.url = self.base_url


@pytest.fixture
def twilio(env, monkeypatch):
    stand_in = TwilioStandIn()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "real-token")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+8657100001111")  # an account needs a sender
    monkeypatch.setenv("TWILIO_API_BASE_URL", stand_in.url)
    monkeypatch.setenv("DELETE_TWILIO_RECORDINGS", "true")
    reset_runtime()
    yield stand_in
    stand_in.close()
    reset_runtime()


def drafted_call(session, tmp_path, n=1, audio=b"RIFF....WAVE" * 100, days_ago=0) -> Call:
    path = tmp_path / f"call-{n}.wav"
    path.write_bytes(audio)
    call = Call(call_sid=f"CA{n}", reference=f"20000{n}", recording_sid=f"RE{n:032d}",
                recording_path=str(path), recording_bytes=len(audio),
                recorded_at=utcnow() - timedelta(days=days_ago), status=CallStatus.DRAFT)
    session.add(call)
    session.commit()
    return call


def test_twilios_copy_is_deleted_after_the_local_copy_is_verified(twilio, db_session, tmp_path):
    from jobs.telephony import delete_twilio_recording

    call = drafted_call(db_session, tmp_path)

    assert delete_twilio_recording(call.id) == "deleted"
    assert delete_twilio_recording(call.id) == "already deleted"

    assert len(twilio.deleted) == 1
    path, auth = twilio.deleted[0]
    assert path == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{call.recording_sid}.json"
    assert auth.startswith("Basic ")
    db_session.refresh(call)
    assert call.twilio_deleted_at is not None
    assert db_session.scalars(select(AuditEvent.action)).all() == [
        "call.twilio_recording_deleted"]


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_without_an_intact_local_copy_twilios_copy_is_kept(twilio, db_session, tmp_path,
                                                           damage):
    from jobs.telephony import delete_twilio_recording

    call = drafted_call(db_session, tmp_path)
    path = tmp_path / "call-1.wav"
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])

    assert delete_twilio_recording(call.id).startswith("kept")
    assert twilio.deleted == []


def test_purge_deletes_old_local_audio_and_audits_it(env, engine, db_session, tmp_path):
    from cli.main import main

    old = drafted_call(db_session, tmp_path, n=1, days_ago=40)
    recent = drafted_call(db_session, tmp_path, n=2, days_ago=5)

    dry = CliRunner().invoke(main, ["purge-recordings", "--days", "30", "--dry-run", "--json"])
    assert [p["call_id"] for p in json.loads(dry.output)["purged"]] == [old.id]
    assert (tmp_path / "call-1.wav").exists()

    result = CliRunner().invoke(main, ["purge-recordings", "--days", "30", "--json"])

    assert result.exit_code == 0, result.output
    assert [p["call_id"] for p in json.loads(result.output)["purged"]] == [old.id]
    assert not (tmp_path / "call-1.wav").exists()
    assert (tmp_path / "call-2.wav").exists()
    db_session.expire_all()
    assert db_session.get(Call, old.id).audio_purged_at is not None
    assert db_session.get(Call, recent.id).audio_purged_at is None
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "call.audio_purged"))
    assert (event.entity_id, event.actor, event.after["retention_days"]) == (old.id, "cli", 30)
