"""The RQ queues, enqueued by dotted path so the web process never imports Vosk.

JobQueue is the one adapter every enqueue goes through (web views, jobs, the reconciler).

Every enqueue happens after the database commit that makes the job's work visible, and a
failure to enqueue is not an error for the caller: the reconciler tries again later.

Each job has a fixed id per record (``transcribe-call-<id>``, ``send-sms-<id>``) and is
enqueued with RQ's atomic ``unique=True``, so two webhooks, or a webhook and the reconciler,
racing on the same call put exactly one job in Redis. A job id that already exists is
looked at (`inspect_job`):

    queued / scheduled / deferred      covered: nothing to do
    started, worker alive              covered: nothing to do
    started, worker dead (ABANDONED)   handed to RQ's own abandoned-job cleanup, which
                                       retries it (or fails it once retries run out)
    finished / failed / stopped /      stale: deleted and enqueued afresh
    canceled / missing

A worker counts as alive while its own process or its work-horse runs (the horse's pid is
in the worker's hash, see jobs.worker): a horse whose parent was SIGKILLed still finishes
its job, so requeueing it then would decode the same call twice.

Inside a web request the adapter has a budget (WEB_ENQUEUE_BUDGET_SECONDS): its Redis
client has short socket timeouts and no retries, and after the first failure, or once the
budget is spent, the remaining enqueues of that request are skipped. A frozen Redis then
costs a webhook about one timeout, not one per job; what was skipped is still owed in the
database and the reconciler enqueues it.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timezone
from enum import Enum

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Callback, Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.worker import Worker

log = logging.getLogger(__name__)

TRANSCRIPTION_QUEUE = "transcription"
SMS_QUEUE = "sms"
TRANSCRIBE_JOB = "transcription.jobs.transcribe_call"
SEND_SMS_JOB = "jobs.telephony.send_notification"
DELETE_RECORDING_JOB = "jobs.telephony.delete_twilio_recording"
REDRAFT_JOB = "transcription.redraft.redraft_call"
TRANSCRIPTION_FAILED_CALLBACK = "transcription.jobs.on_transcription_failed"
TRANSCRIPTION_TIMEOUT_SECONDS = 30 * 60
SMS_RETRY = Retry(max=5, interval=[5, 15, 60, 300, 900])
TRANSCRIPTION_RETRY = Retry(max=3, interval=[10, 60, 300])
RECORDING_DELETION_RETRY = Retry(max=5, interval=[60, 300, 900, 3600, 3600])
# Twilio waits 15 s for a webhook; all of a request's enqueues together get this long.
WEB_ENQUEUE_BUDGET_SECONDS = 1.0
HORSE_PID_FIELD = "dutyline_horse_pid"
_COVERED_STATES = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
# An abandoned execution is pushed this far into the past so RQ's cleanup takes it now.
_EXPIRED_SCORE = 1


class JobState(str, Enum):
    """What Redis says about a job id, as far as the reconciler cares."""

    MISSING = "missing"
    COVERED = "covered"  # waiting, scheduled for a retry, or running on a live worker
    ABANDONED = "abandoned"  # "started", but the worker that took it is gone
    FAILED = "failed"  # RQ gave up (retries exhausted)
    DONE = "done"  # finished, stopped or canceled
    UNREACHABLE = "unreachable"


def transcription_job_id(call_id: int) -> str:
    return f"transcribe-call-{call_id}"


def sms_job_id(notification_id: int) -> str:
    return f"send-sms-{notification_id}"


def delete_recording_job_id(call_id: int) -> str:
    return f"delete-recording-{call_id}"


def redraft_job_id(call_id: int) -> str:
    return f"redraft-call-{call_id}"


def connect_redis(url: str, timeout: float = 2.0) -> redis.Redis:
    """Return a client for workers and the CLI: patient reads, redis-py's own retries."""
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout + 3)


def connect_redis_for_requests(url: str,
                               budget: float = WEB_ENQUEUE_BUDGET_SECONDS) -> redis.Redis:
    """Return a client for web requests: one try, each socket wait at most `budget` seconds."""
    return redis.Redis.from_url(url, socket_connect_timeout=budget, socket_timeout=budget,
                                retry=RedisRetry(NoBackoff(), 0))


class JobQueue:
    """Enqueues dutyline's jobs; each returns False instead of raising when Redis is away.

    Args:
        budget: seconds all enqueues through this adapter may take together (a web
            request's); None for workers and the CLI, which may wait.
    """

    def __init__(self, connection: redis.Redis, budget: float | None = None):
        self.connection = connection
        self._deadline = None if budget is None else time.monotonic() + budget
        self._gave_up = False

    def _queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    def inspect_job(self, job_id: str) -> JobState:
        """Tell whether a job id is covered, abandoned by a dead worker, finished or absent."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
            status = job.get_status(refresh=False)
            if status in _COVERED_STATES:
                return JobState.COVERED
            if status == JobStatus.STARTED:
                return JobState.COVERED if self._has_live_worker(job) else JobState.ABANDONED
            if status == JobStatus.FAILED:
                return JobState.FAILED
            return JobState.DONE
        except NoSuchJobError:
            return JobState.MISSING
        except redis.RedisError:
            return JobState.UNREACHABLE

    def job_ended_at(self, job_id: str) -> datetime | None:
        """Return when a job's last run ended (finished or failed), or None if unknown."""
        try:
            ended = Job.fetch(job_id, connection=self.connection).ended_at
        except (NoSuchJobError, redis.RedisError):
            return None
        if ended is not None and ended.tzinfo is None:
            ended = ended.replace(tzinfo=timezone.utc)
        return ended

    def _has_live_worker(self, job: Job) -> bool:
        executions = job.get_executions()
        if not executions:
            # Between dequeue and the execution record, or an execution whose heartbeat
            # key already expired: RQ's own registry cleanup is the judge of the latter.
            return job.id in StartedJobRegistry(job.origin, connection=self.connection)
        return any(_worker_is_alive(self.connection, e.worker_name) for e in executions)

    def requeue_abandoned(self, job_id: str) -> bool:
        """Let RQ's abandoned-job handling retry (or fail) a job whose worker died.

        RQ would do the same by itself once the dead work-horse's heartbeat expires (up to
        ~90 s); marking the execution expired now makes the retry start at once. Retries
        used up by crashes count like any other, so a recording that kills the worker every
        time ends FAILED instead of looping.
        """
        try:
            job = Job.fetch(job_id, connection=self.connection)
            registry = StartedJobRegistry(job.origin, connection=self.connection)
            keys = [e.composite_key for e in job.get_executions()]
            if keys:
                self.connection.zadd(registry.key, {key: _EXPIRED_SCORE for key in keys}, xx=True)
            registry.cleanup()
            job = Job.fetch(job_id, connection=self.connection)
            if job.get_status() == JobStatus.SCHEDULED:
                # RQ scheduled the retry after the job's retry interval, which is there for a
                # flaky network; a crashed worker needs no wait, and a scheduler lock left by
                # the dead worker could hold the retry up for another minute.
                queue = Queue(job.origin, connection=self.connection)
                queue.scheduled_job_registry.remove(job)
                queue.enqueue_job(job)
            return True
        except NoSuchJobError:
            return True
        except redis.RedisError as exc:
            log.warning("could not requeue abandoned job %s: %s", job_id, exc)
            return False

    def _enqueue(self, queue: str, func: str, arg: int, job_id: str, **options) -> bool:
        if self._gave_up or (self._deadline is not None and time.monotonic() > self._deadline):
            log.warning("skipped enqueueing %s: this request's Redis budget is spent; the "
                        "reconciler will enqueue it", job_id)
            return False
        try:
            for _attempt in range(2):
                try:
                    self._queue(queue).enqueue(func, arg, job_id=job_id, unique=True, **options)
                    return True
                except DuplicateJobError:
                    state = self.inspect_job(job_id)
                    if state in (JobState.COVERED, JobState.ABANDONED):
                        return True  # someone else's enqueue won, or the reconciler will retry
                    if state in (JobState.DONE, JobState.FAILED):
                        # A finished or failed run of an earlier attempt: replace it.
                        Job.fetch(job_id, connection=self.connection).delete()
            return True
        except redis.RedisError as exc:
            log.warning("could not enqueue %s (%s): %s; the reconciler will retry", job_id,
                        func, exc)
            self._gave_up = self._deadline is not None
            return False

    def enqueue_transcription(self, call_id: int) -> bool:
        return self._enqueue(
            TRANSCRIPTION_QUEUE, TRANSCRIBE_JOB, call_id, transcription_job_id(call_id),
            retry=TRANSCRIPTION_RETRY, job_timeout=TRANSCRIPTION_TIMEOUT_SECONDS,
            on_failure=Callback(TRANSCRIPTION_FAILED_CALLBACK), failure_ttl=30 * 86400,
        )

    def enqueue_sms(self, notification_id: int) -> bool:
        return self._enqueue(SMS_QUEUE, SEND_SMS_JOB, notification_id,
                             sms_job_id(notification_id), retry=SMS_RETRY)

    def enqueue_redraft(self, call_id: int) -> bool:
        # The light queue: every worker serves it, with or without a speech model. A job
        # still waiting covers a newer correction too, since it reads the text when it runs.
        return self._enqueue(SMS_QUEUE, REDRAFT_JOB, call_id, redraft_job_id(call_id))

    def enqueue_recording_deletion(self, call_id: int) -> bool:
        return self._enqueue(SMS_QUEUE, DELETE_RECORDING_JOB, call_id,
                             delete_recording_job_id(call_id), retry=RECORDING_DELETION_RETRY)


def _worker_is_alive(connection: redis.Redis, worker_name: str) -> bool:
    """Tell whether a worker is still running: its key exists and, on this host, its pid
    or its work-horse's pid."""
    if not worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + worker_name,
                                connection=connection)
    if worker is None:
        return False
    # A SIGKILLed worker's key lives on until its TTL runs out (about 90 s while busy);
    # on the same machine its missing process tells the truth at once.
    if worker.hostname == socket.gethostname() and worker.pid:
        horse_pid = connection.hget(worker.key, HORSE_PID_FIELD)
        return _process_exists(worker.pid) or bool(horse_pid and _process_exists(int(horse_pid)))
    return True


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) runs nothing.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
