"""Scheduled work: the sweep (intake.sweep), run by RQ's own cron scheduler.

    dutyline worker ──fork──► rq.cron.CronScheduler  enqueues `jobs.schedule.sweep_job`
                               every DUTYLINE_SWEEP_INTERVAL_SECONDS on the "schedule" queue
    any worker ──► sweep_job ──► sweep_once: slot claimed? lock taken? ──► run_sweep, commit,
                                                                          dispatch the SMS

Every worker machine runs its own cron scheduler, so each slot is enqueued once per machine;
the job claims the slot in Redis (SET NX, expiring) and holds a Redis lock while it sweeps,
so one machine sweeps per slot and two sweeps never overlap. What the sweep does is keyed in
the database (intake.sweep), so even a sweep run twice acts once. After a restart the cron
scheduler enqueues the sweep at once (an interval job that has not run yet runs now), and a
reminder missed while nothing ran is still due at the next sweep of its day.

The lock lives one interval (SWEEP_LOCK_INTERVALS) and a thread of the sweep renews it
every third of that, so a sweep killed mid-run (kill -9, the OOM killer) blocks the next
ones for at most about an interval, while a slow live sweep keeps it as long as it runs.

`dutyline sweep` calls sweep_once directly (no slot: a person asked for it, but the lock).
The last *scheduled* sweep is kept in Redis (LAST_SWEEP_KEY) for /healthz, which says
degraded when none has finished for STALE_AFTER_INTERVALS intervals; a manual run is kept
apart, labelled "manual" (LAST_MANUAL_SWEEP_KEY), so that it cannot hide a dead scheduler.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

import redis
from rq import get_current_job
from rq.cron import CronScheduler

from intake.store.audit import Actor
from intake.clock import Clock
from intake.store.database import session_scope
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.time.calendar import load_calendar
from intake.store.runtime import get_runtime
from intake.sweep import SWEEPER, SweepContext, SweepReport, run_sweep
from jobs.queue import JobQueue, connect_redis

log = logging.getLogger(__name__)

SCHEDULE_QUEUE = "schedule"
SWEEP_JOB = "jobs.schedule.sweep_job"
SWEEP_LOCK_KEY = "dutyline:sweep:lock"
SWEEP_SLOT_KEY = "dutyline:sweep:slot:{slot}"
LAST_SWEEP_KEY = "dutyline:sweep:last"  # scheduled sweeps only: what /healthz judges
LAST_MANUAL_SWEEP_KEY = "dutyline:sweep:last_manual"  # `dutyline sweep`, labelled manual
# RQ kills a sweep job that runs longer than this (50,000 open cases take about a second).
SWEEP_JOB_TIMEOUT_SECONDS = 300
# The lock's time to live, in sweep intervals; its holder renews it every third of that.
SWEEP_LOCK_INTERVALS = 1
MIN_SWEEP_LOCK_SECONDS = 1.0
# /healthz says degraded when no scheduled sweep has finished for this many intervals.
STALE_AFTER_INTERVALS = 3


def sweep_context(settings) -> SweepContext:
    """Return the sweep's links, language, time zone and escalation delay from the settings."""
    return SweepContext(settings.link_base_url, settings.language, settings.timezone,
                        settings.urgent_escalation_minutes)


def sweep_once(connection: redis.Redis, session_factory, settings, now: datetime | None = None,
               slot: int | None = None, actor: Actor = SWEEPER) -> SweepReport | None:
    """Sweep once under the Redis lock; return None when another sweep has it (or the slot).

    Args:
        now: the moment to sweep as of (default: the clock's now).
        slot: a scheduled run's time slot; a slot another machine claimed is skipped.
    """
    if slot is not None:
        claimed = connection.set(SWEEP_SLOT_KEY.format(slot=slot), socket.gethostname(),
                                 nx=True, ex=max(2 * settings.sweep_interval_seconds, 60))
        if not claimed:
            return None
    with sweep_lock(connection, sweep_lock_seconds(settings.sweep_interval_seconds)) as held:
        if not held:
            return None
        return _sweep_locked(connection, session_factory, settings, now, slot is not None,
                             actor)


def _sweep_locked(connection: redis.Redis, session_factory, settings, now: datetime | None,
                  scheduled: bool, actor: Actor) -> SweepReport:
    clock = Clock(settings.timezone)
    moment = now or clock.now()
    started = datetime.now(timezone.utc)
    with session_scope(session_factory) as session:
        report = run_sweep(session, moment, load_calendar(session), sweep_context(settings),
                           actor)
        commit_and_dispatch(session, QueuedWork(sms=list(report.sms)), JobQueue(connection),
                            actor)
    finished = datetime.now(timezone.utc)
    connection.set(LAST_SWEEP_KEY if scheduled else LAST_MANUAL_SWEEP_KEY, json.dumps({
        "kind": "scheduled" if scheduled else "manual",
        "finished_at": finished.isoformat(), "now": moment.isoformat(),
        "seconds": round((finished - started).total_seconds(), 3),
        "host": socket.gethostname(), **report.to_json(), "overdue_cases": None}))
    return report


def sweep_lock_seconds(interval_seconds: int) -> float:
    """Return the sweep lock's time to live: about one sweep interval."""
    return max(float(SWEEP_LOCK_INTERVALS * interval_seconds), MIN_SWEEP_LOCK_SECONDS)


@contextmanager
def sweep_lock(connection: redis.Redis, seconds: float) -> Iterator[bool]:
    """Hold the sweep lock (yield True) or tell that another sweep has it (yield False).

    The lock expires `seconds` after its last renewal; a thread renews it every third of
    that while the block runs, so only a dead holder's lock runs out.
    """
    # thread_local=False: the renewing thread must see the token the acquiring thread got.
    lock = connection.lock(SWEEP_LOCK_KEY, timeout=seconds, blocking=False, thread_local=False)
    if not lock.acquire():
        yield False
        return
    stop = threading.Event()
    renewer = threading.Thread(target=_renew_lock, args=(lock, seconds / 3, stop),
                               name="dutyline-sweep-lock", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("the sweep lost its lock before it finished (not renewed within %s s)",
                        seconds)


def _renew_lock(lock, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            lock.reacquire()
        except redis.exceptions.LockNotOwnedError:
            # Expired (Redis away longer than the TTL) and maybe taken: what the sweep does is
            # keyed in the database, so an overlap acts once; say so and stop renewing.
            log.error("the sweep lock expired while the sweep ran; another sweep may overlap")
            return
        except redis.RedisError as exc:
            log.warning("could not renew the sweep lock (%s); retrying", exc)


def sweep_job() -> dict:
    """Run the scheduled sweep for the current time slot (the cron scheduler's job)."""
    runtime = get_runtime()
    settings = runtime.settings
    job = get_current_job()
    connection = job.connection if job else connect_redis(settings.effective_redis_url)
    slot = int(datetime.now(timezone.utc).timestamp()) // max(settings.sweep_interval_seconds, 1)
    report = sweep_once(connection, runtime.session_factory, settings, slot=slot)
    if report is None:
        return {"skipped": True}
    log.info("sweep: %s", report.to_json())
    return {**report.to_json(), "overdue_cases": None}


def last_sweep(connection: redis.Redis, manual: bool = False) -> dict | None:
    """Return what the last scheduled (or manual) sweep recorded, or None."""
    raw = connection.get(LAST_MANUAL_SWEEP_KEY if manual else LAST_SWEEP_KEY)
    return json.loads(raw) if raw else None


def judge_sweeps(last: dict | None, now: datetime, interval_seconds: int) -> dict:
    """Tell whether the scheduler sweeps: a scheduled sweep finished within 3 intervals of now.

    Args:
        last: the last scheduled sweep's record (last_sweep), or None if none ever finished.
    """
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval_seconds)
    finished = datetime.fromisoformat(last["finished_at"]) if last else None
    ok = finished is not None and now - finished <= limit
    return {"ok": ok, "stale_after_seconds": int(limit.total_seconds()),
            "hint": None if ok else "no scheduled sweep has finished for "
            f"{int(limit.total_seconds())} s: is `dutyline worker` running with its scheduler?"}


def make_cron_scheduler(connection: redis.Redis, interval_seconds: int) -> CronScheduler:
    """Return RQ's cron scheduler with the sweep registered every `interval_seconds`."""
    cron = CronScheduler(connection=connection)
    cron.register(sweep_job, SCHEDULE_QUEUE, interval=interval_seconds,
                  job_timeout=SWEEP_JOB_TIMEOUT_SECONDS, result_ttl=3600, failure_ttl=7 * 86400)
    return cron


def run_cron_scheduler(redis_url: str, interval_seconds: int) -> None:
    """Run the cron scheduler until SIGTERM/SIGINT (the worker starts it in a child process)."""
    make_cron_scheduler(connect_redis(redis_url), interval_seconds).start()
