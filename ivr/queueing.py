"""The RQ queues, enqueued by dotted path so the web process never imports Vosk.

Every enqueue happens after the database commit that makes the job's work visible, and a
failure to enqueue is not an error for the caller: the reconciler tries again later.
"""
from __future__ import annotations

import logging

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Callback, Job, JobStatus

log = logging.getLogger(__name__)

TRANSCRIPTION_QUEUE = "transcription"
SMS_QUEUE = "sms"
TRANSCRIBE_JOB = "transcription.jobs.transcribe_call"
SEND_SMS_JOB = "ivr.jobs.send_notification"
TRANSCRIPTION_FAILED_CALLBACK = "transcription.jobs.on_transcription_failed"
TRANSCRIPTION_TIMEOUT_SECONDS = 30 * 60
SMS_RETRY = Retry(max=5, interval=[5, 15, 60, 300, 900])
TRANSCRIPTION_RETRY = Retry(max=3, interval=[10, 60, 300])
_LIVE_STATES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def transcription_job_id(call_id: int) -> str:
    return f"transcribe-call-{call_id}"


def sms_job_id(notification_id: int) -> str:
    return f"send-sms-{notification_id}"


def connect_redis(url: str, timeout: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout + 3)


class JobQueue:
    """Enqueues dutyline's jobs; each returns False instead of raising when Redis is away."""

    def __init__(self, connection: redis.Redis):
        self.connection = connection

    def _queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    def is_live(self, job_id: str) -> bool:
        """Tell whether a job with this id is waiting or running (False if Redis is away)."""
        try:
            return Job.fetch(job_id, connection=self.connection).get_status() in _LIVE_STATES
        except NoSuchJobError:
            return False
        except redis.RedisError:
            return False

    def _enqueue(self, queue: str, func: str, arg: int, job_id: str, **options) -> bool:
        try:
            if self.is_live(job_id):
                return True
            self._queue(queue).enqueue(func, arg, job_id=job_id, **options)
            return True
        except redis.RedisError as exc:
            log.warning("could not enqueue %s (%s): %s; the reconciler will retry", job_id,
                        func, exc)
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
