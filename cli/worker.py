"""`dutyline worker`: load the Vosk model once, then serve the queues.

The model is loaded in this parent process before RQ forks a work-horse per job, so every
job shares one copy of it. Without a model the worker serves only the SMS queue: the
transcription jobs wait in Redis (they do not fail) until a worker with a model starts.
"""
from __future__ import annotations

import logging
import socket
import os
import time

from rq import Worker

from intake.db import session_scope
from intake.heartbeat import beat
from intake.runtime import get_runtime
from ivr.queueing import SMS_QUEUE, TRANSCRIPTION_QUEUE, JobQueue, connect_redis
from ivr.reconciler import reconcile
from transcription.worker import try_load_model

log = logging.getLogger(__name__)

WORKER_TTL_SECONDS = 45  # the idle loop wakes every ~30 s to beat and reconcile
MAINTENANCE_INTERVAL_SECONDS = 30
HEARTBEAT_EVERY_SECONDS = 10


class DutylineWorker(Worker):
    """An RQ worker that writes a heartbeat row and runs the reconciler as maintenance."""

    model_name: str | None = None
    model_language: str | None = None
    _last_beat = 0.0

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if time.monotonic() - self._last_beat >= HEARTBEAT_EVERY_SECONDS:
            self._last_beat = time.monotonic()
            runtime = get_runtime()
            with session_scope(runtime.session_factory) as session:
                beat(session, self.name, self.model_name, self.model_language,
                     self.get_state() if hasattr(self, "get_state") else "running")

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        runtime = get_runtime()
        with session_scope(runtime.session_factory) as session:
            report = reconcile(session, JobQueue(self.connection))
        if report.calls_enqueued or report.sms_enqueued:
            log.info("reconciler enqueued %s", report.to_json())


def run_worker(burst: bool = False, name: str | None = None, with_model: bool = True) -> None:
    """Load the model (if present) and work the queues until stopped."""
    runtime = get_runtime()
    settings = runtime.settings
    model = try_load_model(settings.vosk_model_path) if with_model else None
    queues = [SMS_QUEUE] + ([TRANSCRIPTION_QUEUE] if model else [])
    if model is None:
        log.warning("no speech model at %s: transcription jobs will wait. Run `dutyline "
                    "fetch-model` or set VOSK_MODEL_PATH.", settings.vosk_model_path)
    connection = connect_redis(settings.effective_redis_url)
    worker = DutylineWorker(
        queues, connection=connection, name=name or f"dutyline-{socket.gethostname()}-{os.getpid()}",
        worker_ttl=WORKER_TTL_SECONDS, maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
    )
    worker.model_name = model.name if model else None
    worker.model_language = settings.language if model else None
    with session_scope(runtime.session_factory) as session:
        beat(session, worker.name, worker.model_name, worker.model_language, "starting")
        reconcile(session, JobQueue(connection))
    # Dispose before forking: each work-horse opens its own connections (see intake.runtime).
    runtime.engine.dispose()
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    with session_scope(runtime.session_factory) as session:
        beat(session, worker.name, worker.model_name, worker.model_language, "stopped")
