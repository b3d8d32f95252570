"""The scheduled sweep: RQ's cron scheduler enqueues it, a real worker (SimpleWorker, burst)
runs it against real Redis and the test database; one sweep per slot across machines, none
while another holds the lock; `dutyline sweep --now` twice changes nothing the second time;
/healthz says when the last sweep ran (tests/test_ops.py: a dead scheduler, a killed sweep's
lock, manual runs kept apart)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from rq import Queue
from sqlalchemy import func, select

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.clock import FixedClock
from intake.directory.roster import create_user
from intake.store.models import Notification, Reminder, SupervisionEntry
from intake.store.runtime import get_runtime
from jobs.schedule import (LAST_SWEEP_KEY, SCHEDULE_QUEUE, SWEEP_LOCK_KEY, last_sweep,
                           make_cron_scheduler, sweep_once)
from tests.dashboard_support import make_call
from tests.rq_support import SimpleWorker

TZ = ZoneInfo("Asia/Shanghai")


def _route_case(demo, routed_at: datetime):
    """Route one case from a liaison's call at `routed_at`; its same-day deadline follows."""
    create_user(demo, username="sup", role="supervisor", name="督办员", phone="+8613900000077",
                password="dutyline-demo", actor=Actor("test"))
    call = make_call(demo)
    case, _ = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty"), lambda c: "https://x/cases/1", "zh-CN", FixedClock(routed_at))
    demo.commit()
    return case


@pytest.fixture
def overdue_case(demo, settings):
    """A case routed a day before the real clock's now, for the tests whose sweep reads it."""
    return _route_case(demo, datetime.now(timezone.utc).replace(microsecond=0)
                       - timedelta(days=1))


@pytest.fixture
def overdue_case_on_26_november(demo, settings):
    """A case routed on Thursday 26 November 2026, for sweeps at a fixed `--now` after it."""
    return _route_case(demo, datetime(2026, 11, 26, 10, 0, tzinfo=TZ))


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count(model.id)))


def test_the_cron_scheduler_enqueues_the_sweep_and_a_worker_runs_it(demo, redis, overdue_case):
    cron = make_cron_scheduler(redis, 60)
    assert [job.func_name for job in cron.enqueue_jobs()] == ["jobs.schedule.sweep_job"]
    assert cron.enqueue_jobs() == []  # not again until the interval has passed
    queue = Queue(SCHEDULE_QUEUE, connection=redis)
    assert queue.count == 1
    SimpleWorker([queue], connection=redis).work(burst=True)
    assert _count(demo, SupervisionEntry) == 1
    record = last_sweep(redis)
    assert record["overdue_opened"] == 1 and record["finished_at"]
    # The SMS it wrote (how many depends on the hour it runs) were enqueued after the commit;
    # the routing SMS written by the fixture was never dispatched.
    swept = demo.scalars(select(Notification.id).where(Notification.kind != "case_routed")).all()
    assert len(swept) == record["sms"]
    assert sorted(Queue("sms", connection=redis).job_ids) == sorted(f"send-sms-{i}" for i in swept)


def test_one_sweep_per_slot_and_none_while_another_holds_the_lock(demo, redis, settings,
                                                                  overdue_case):
    factory = get_runtime().session_factory
    lock = redis.lock(SWEEP_LOCK_KEY, timeout=30)
    assert lock.acquire(blocking=False)
    assert sweep_once(redis, factory, settings, slot=1) is None
    lock.release()
    # The slot was claimed before the lock was tried: a second machine skips it too.
    assert sweep_once(redis, factory, settings, slot=1) is None
    report = sweep_once(redis, factory, settings, slot=2)
    assert report is not None and len(report.overdue_opened) == 1
    assert sweep_once(redis, factory, settings, slot=2) is None
    assert _count(demo, SupervisionEntry) == 1


def test_dutyline_sweep_twice_at_the_same_now_changes_nothing(demo, redis, settings,
                                                               overdue_case_on_26_november):
    from cli.main import main

    runner = CliRunner()
    now = "2026-11-27T09:00:00+08:00"
    first = runner.invoke(main, ["sweep", "--now", now, "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    # One digest to each office account with a phone: sup and the demo's 督办室 (issue 19).
    assert report["overdue_opened"] == 1 and report["reminders"]["overdue_digest"] == 2
    counts = (_count(demo, SupervisionEntry), _count(demo, Reminder), _count(demo, Notification))
    second = runner.invoke(main, ["sweep", "--now", now, "--json"])
    assert json.loads(second.output)["overdue_opened"] == 0
    assert json.loads(second.output)["reminders"] == {}
    assert (_count(demo, SupervisionEntry), _count(demo, Reminder),
            _count(demo, Notification)) == counts
    dry = runner.invoke(main, ["sweep", "--now", "2026-11-30T09:00:00+08:00", "--dry-run",
                               "--json"])
    # A Monday from 09:00: the morning's overdue digest and last week's analysis, to each.
    assert sorted(item["kind"] for item in json.loads(dry.output)) == [
        "overdue_digest", "overdue_digest", "weekly_digest", "weekly_digest"]
    assert (_count(demo, SupervisionEntry), _count(demo, Reminder),
            _count(demo, Notification)) == counts
    bad = runner.invoke(main, ["sweep", "--now", "yesterday"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


def test_healthz_shows_when_the_last_sweep_ran(client, redis, settings):
    assert client.get("/healthz").get_json()["sweep"]["last"] is None
    redis.set(LAST_SWEEP_KEY, json.dumps({"finished_at": "2026-11-26T01:00:00+00:00",
                                          "now": "2026-11-26T01:00:00+00:00"}))
    assert client.get("/healthz").get_json()["sweep"]["last"]["finished_at"] == \
        "2026-11-26T01:00:00+00:00"


def test_the_worker_forks_a_cron_scheduler_that_sweeps_at_once_after_each_start(settings, redis):
    import time

    from cli.worker import _start_cron

    queue = Queue(SCHEDULE_QUEUE, connection=redis)
    for start in (1, 2):  # a restart enqueues the sweep again straight away
        process = _start_cron(settings)
        try:
            deadline = time.monotonic() + 30
            while queue.count < start and time.monotonic() < deadline:
                time.sleep(0.1)
            assert queue.count == start
            assert all(job.func_name == "jobs.schedule.sweep_job" for job in queue.jobs)
        finally:
            process.terminate()
            process.join(10)
        assert process.exitcode is not None
