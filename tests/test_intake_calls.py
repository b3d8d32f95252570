"""Twilio may deliver any callback twice, even at the same moment: one Call per CallSid, one
recording and one transcription job per RecordingSid, enforced by the database."""
from __future__ import annotations

import threading

import pytest
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from intake.store.models import AuditEvent, Call
from intake.store.settings import DEV_AUTH_TOKEN
from tests.conftest import PUBLIC_BASE_URL

CALL = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "c" * 32, "From": "+8613812345678",
        "To": "+8657112345", "CallStatus": "ringing"}
RECORDING = {**CALL, "RecordingSid": "RE" + "c" * 32, "RecordingStatus": "completed",
             "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/REc",
             "RecordingDuration": "15"}


def post(client, path, params):
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path,
                                                                   params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def count(session, what) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Call)) if what is Call else \
        session.scalar(select(func.count()).where(AuditEvent.action == what))


def test_the_same_callbacks_twice_give_one_call_one_recording_one_job(client, demo, redis):
    for _ in range(2):
        assert post(client, "/ivr/voice", CALL).status_code == 200
        assert post(client, "/ivr/recording-status", RECORDING).status_code == 204

    assert count(demo, Call) == 1
    assert count(demo, "call.received") == 1
    assert count(demo, "call.recorded") == 1
    assert count(demo, "call.enqueued") == 1
    call_id = demo.scalar(select(Call.id))
    assert Queue("transcription", connection=redis).job_ids == [f"transcribe-call-{call_id}"]


@pytest.mark.parametrize("ring_first", [True, False])
def test_concurrent_duplicate_callbacks_give_one_call_and_one_job(app, demo, redis, ring_first):
    if ring_first:
        assert post(app.test_client(), "/ivr/voice", CALL).status_code == 200
    threads, statuses = 8, []
    barrier = threading.Barrier(threads)

    def deliver():
        client = app.test_client()
        barrier.wait()
        statuses.append(post(client, "/ivr/recording-status", RECORDING).status_code)

    workers = [threading.Thread(target=deliver) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert statuses == [204] * threads
    assert count(demo, Call) == 1
    assert count(demo, "call.received") == 1
    assert count(demo, "call.recorded") == 1
    queue = Queue("transcription", connection=redis)
    assert queue.count == 1 and queue.job_ids == [f"transcribe-call-{demo.scalar(select(Call.id))}"]


def test_the_database_refuses_a_second_call_with_the_same_sid(db_session):
    db_session.add_all([Call(call_sid="CA1", reference="100001"),
                        Call(call_sid="CA1", reference="100002")])
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_the_database_refuses_one_recording_on_two_calls(db_session):
    db_session.add_all([Call(call_sid="CA1", reference="100001", recording_sid="RE1"),
                        Call(call_sid="CA2", reference="100002", recording_sid="RE1")])
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_recording_sid_replayed_on_another_call_is_ignored(client, demo, redis):
    post(client, "/ivr/recording-status", RECORDING)
    other = {**RECORDING, "CallSid": "CA" + "d" * 32}

    assert post(client, "/ivr/recording-status", other).status_code == 204

    demo.expire_all()
    recordings = demo.execute(select(Call.call_sid, Call.recording_sid, Call.status)
                              .order_by(Call.id)).all()
    assert [r.recording_sid for r in recordings] == ["RE" + "c" * 32, None]
    assert Queue("transcription", connection=redis).count == 1
