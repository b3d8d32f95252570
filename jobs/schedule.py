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

`dutyline sweep` calls sweep_once directly (no slot: a person asked for it, but the lock).
The last sweep is kept in Redis (LAST_SWEEP_KEY) for /healthz.
"""
from __future__ import annotations

import json
import logging
import socket
from datetime import datetime, timezone

import redis
from rq import get_current_job
from rq.cron import CronScheduler

from intake.audit import Actor
from intake.clock import Clock
from intake.db import session_scope
from intake.dispatch import QueuedWork, commit_and_dispatch
from intake.holidays import load_calendar
from intake.runtime import get_runtime
from intake.sweep import SWEEPER, SweepContext, SweepReport, run_sweep
from jobs.queue import JobQueue, connect_redis

log = logging.getLogger(__name__)

SCHEDULE_QUEUE = "schedule"
SWEEP_JOB = "jobs.schedule.sweep_job"
SWEEP_LOCK_KEY = "dutyline:sweep:lock"
SWEEP_SLOT_KEY = "dutyline:sweep:slot:{slot}"
LAST_SWEEP_KEY = "dutyline:sweep:last"
# Longer than any sweep (50,000 open cases take about a second): a crashed sweeper's lock
# frees itself.
SWEEP_LOCK_SECONDS = 300


def sweep_context(settings) -> SweepContext:
    """Return the sweep's links, language, time zone and escalation delay from the settings."""
    return SweepContext(settings.public_base_url, settings.language, settings.timezone,
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
    lock = connection.lock(SWEEP_LOCK_KEY, timeout=SWEEP_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return None
    try:
        clock = Clock(settings.timezone)
        moment = now or clock.now()
        started = datetime.now(timezone.utc)
        with session_scope(session_factory) as session:
            report = run_sweep(session, moment, load_calendar(session), sweep_context(settings),
                               actor)
            commit_and_dispatch(session, QueuedWork(sms=list(report.sms)), JobQueue(connection),
                                actor)
        finished = datetime.now(timezone.utc)
        connection.set(LAST_SWEEP_KEY, json.dumps({
            "finished_at": finished.isoformat(), "now": moment.isoformat(),
            "seconds": round((finished - started).total_seconds(), 3),
            "host": socket.gethostname(), **report.to_json(), "overdue_cases": None}))
        return report
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("the sweep outlived its lock (%s s)", SWEEP_LOCK_SECONDS)


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


def last_sweep(connection: redis.Redis) -> dict | None:
    """Return what the last sweep recorded (when, as of when, what it did), or None."""
    raw = connection.get(LAST_SWEEP_KEY)
    return json.loads(raw) if raw else None


def make_cron_scheduler(connection: redis.Redis, interval_seconds: int) -> CronScheduler:
    """Return RQ's cron scheduler with the sweep registered every `interval_seconds`."""
    cron = CronScheduler(connection=connection)
    cron.register(sweep_job, SCHEDULE_QUEUE, interval=interval_seconds,
                  job_timeout=SWEEP_LOCK_SECONDS, result_ttl=3600, failure_ttl=7 * 86400)
    return cron


def run_cron_scheduler(redis_url: str, interval_seconds: int) -> None:
    """Run the cron scheduler until SIGTERM/SIGINT (the worker starts it in a child process)."""
    make_cron_scheduler(connect_redis(redis_url), interval_seconds).start()
