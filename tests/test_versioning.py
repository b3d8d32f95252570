"""Per-process caches of the directory and duty schedule see every committed change.

Writes to watched tables bump one version row in the same transaction; a ring reads that
row and nothing else unless it moved. Ring writes themselves (Core INSERTs) bump nothing.
"""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import time

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from intake.store.audit import Actor
from intake.calls.voicemail import register_call
from intake.directory.roster import add_liaison, load_callers
from intake.time.duty import add_duty_period, clear_duty_periods
from intake.store.models import AuditEvent, Call, Leader, Liaison
from intake.store.settings import DEV_AUTH_TOKEN
from intake.store.change_tokens import VersionedCache, read_version, watch_tables
from intake.store.write_lock import write_transaction
from tests.conftest import PUBLIC_BASE_URL

ADMIN = Actor("test-admin")
TWILIO = Actor("twilio")


def _leader(db_session) -> Leader:
    return db_session.scalar(select(Leader).order_by(Leader.id))


def test_a_directory_write_changes_the_version_and_a_ring_does_not(db_session, demo):
    first = read_version(db_session)
    assert first is not None  # seeding the demo directory was a watched write
    register_call(db_session, "CA" + "1" * 32, "+8613055550000", "+8657112345", "zh-CN", TWILIO)
    db_session.commit()
    assert read_version(db_session) == first

    add_liaison(db_session, "周敏", "+8613900002222", _leader(db_session), ADMIN)
    db_session.commit()
    second = read_version(db_session)
    assert second not in (None, first)


def test_a_bulk_delete_of_duty_periods_changes_the_version(db_session):
    add_duty_period(db_session, 0, time(8), time(17), ADMIN)
    db_session.commit()
    before = read_version(db_session)
    assert clear_duty_periods(db_session, ADMIN) == 1
    db_session.commit()
    assert read_version(db_session) != before


def test_a_rolled_back_write_leaves_the_version_alone(db_session, demo):
    before = read_version(db_session)
    add_liaison(db_session, "周敏", "+8613900002222", _leader(db_session), ADMIN)
    db_session.rollback()
    assert read_version(db_session) == before


def test_tables_added_later_are_watched_too(db_session, monkeypatch):
    import intake.store.change_tokens

    monkeypatch.setattr(intake.store.change_tokens, "WATCHED_TABLES", {"calls"})
    before = read_version(db_session)
    watch_tables("audit_events")
    db_session.add(AuditEvent(actor="x", action="test.thing", entity_type="test"))
    db_session.commit()
    assert read_version(db_session) != before


def test_the_cache_reloads_exactly_when_the_version_moves(db_session, demo):
    loads = []

    def load(session):
        loads.append(1)
        return load_callers(session)

    cache = VersionedCache(load)
    callers = cache.get(db_session)
    assert cache.get(db_session) is callers and len(loads) == 1
    assert "+8613900002222" not in callers

    add_liaison(db_session, "周敏", "+8613900002222", _leader(db_session), ADMIN)
    db_session.commit()
    refreshed = cache.get(db_session)
    assert len(loads) == 2
    assert refreshed["+8613900002222"].name == "周敏"


@pytest.fixture
def ring(settings, demo):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True})
    client = app.test_client()
    validator = RequestValidator(DEV_AUTH_TOKEN)

    def post(call_sid: str, from_number: str) -> ET.Element:
        params = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": from_number,
                  "To": "+8657112345", "CallStatus": "ringing"}
        signature = validator.compute_signature(PUBLIC_BASE_URL + "/ivr/voice", params)
        response = client.post("/ivr/voice", data=params,
                               headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        return ET.fromstring(response.data)

    return post


def test_a_liaison_added_between_two_rings_is_greeted_by_name_on_the_second(ring, db_session):
    first = ring("CA" + "1" * 32, "+8613900002222")
    assert first[0].text == "您好，这里是县卫生健康局民情联线。"

    add_liaison(db_session, "周敏", "+8613900002222", _leader(db_session), ADMIN)
    db_session.commit()
    second = ring("CA" + "2" * 32, "+8613900002222")
    assert second[0].text == "周敏联络员，您好。"
    call = db_session.scalar(select(Call).where(Call.call_sid == "CA" + "2" * 32))
    assert call.liaison.name == "周敏" and call.leader_id == call.liaison.leader_id


def test_a_deactivated_liaison_is_no_longer_recognised(ring, db_session):
    liaison = db_session.scalar(select(Liaison).where(Liaison.phone == "+8613812345678"))
    assert ring("CA" + "1" * 32, "+8613812345678")[0].text == f"{liaison.name}联络员，您好。"
    liaison.active = False
    db_session.commit()
    assert ring("CA" + "2" * 32, "+8613812345678")[0].text == "您好，这里是县卫生健康局民情联线。"


def test_concurrent_rings_all_commit_with_one_audit_row_each(session_factory, demo):
    errors = []

    def ring_many(worker: int) -> None:
        for n in range(15):
            session = session_factory()
            try:
                with write_transaction(session):
                    register_call(session, f"CA{worker:02d}{n:030d}", "+8613055550000",
                                  "+8657112345", "zh-CN", TWILIO)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                session.close()

    threads = [threading.Thread(target=ring_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    session = session_factory()
    try:
        assert session.scalar(select(func.count()).select_from(Call)) == 120
        assert session.scalar(select(func.count(func.distinct(Call.reference)))) == 120
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "call.received")) == 120
    finally:
        session.close()


def test_write_transaction_rolls_back_on_error(session_factory, demo):
    session = session_factory()
    try:
        with pytest.raises(RuntimeError):
            with write_transaction(session):
                register_call(session, "CA" + "9" * 32, "+8613055550000", "+8657112345",
                              "zh-CN", TWILIO)
                raise RuntimeError("the TwiML could not be built")
        assert session.scalar(select(func.count()).select_from(Call)) == 0
    finally:
        session.close()
