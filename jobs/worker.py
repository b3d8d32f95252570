"""DutylineWorker: an RQ worker that beats, reconciles, and takes its children with it.

    DutylineWorker (one process per decoding slot)
      ├─ work-horse, one per job (forked by RQ)   dies with the worker (PR_SET_PDEATHSIG)
      └─ scheduler process (forked by RQ)          dies with the worker (PR_SET_PDEATHSIG)

The work-horse's pid is written to the worker's Redis hash while it runs, so that
liveness (jobs.queue) counts a running horse as a live execution even if its parent is gone.
"""
from __future__ import annotations

import logging
import time

from rq import Worker

from intake.store.database import session_scope
from intake.store.heartbeat import beat
from intake.store.runtime import get_runtime
from jobs.lifetime import tie_forked_children
from jobs.queue import HORSE_PID_FIELD, JobQueue
from jobs.reconciler import reconcile

log = logging.getLogger(__name__)

WORKER_TTL_SECONDS = 45  # the idle loop wakes every ~30 s to beat and reconcile
MAINTENANCE_INTERVAL_SECONDS = 30
HEARTBEAT_EVERY_SECONDS = 10
# How long the thread reading RQ's command channel waits for a message before it looks
# whether it should stop (see PromptShutdown).
COMMAND_WAIT_SECONDS = 1.0


class PromptShutdown:
    """An RQ worker mixin: stop within a second, not a minute.

    RQ 3.0 reads the worker's command channel (pubsub) in a thread that waits 60 s for a
    message, and redis-py's PubSubWorkerThread.stop() now joins that thread with no time
    limit: when the UNSUBSCRIBE reply woke the read before stop() cleared its flag, the read
    went back to its 60 s wait, and the worker's shutdown (the end of a burst, SIGTERM) hung
    until it ended (seen as tests taking 60 s more in some runs, on both databases). A wait
    of a second costs one idle Redis read a second per worker.
    """

    def subscribe(self):
        # RQ's own subscribe, with the shorter wait.
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=COMMAND_WAIT_SECONDS, daemon=True,
            exception_handler=self._pubsub_exception_handler)


class DutylineWorker(PromptShutdown, Worker):
    """An RQ worker that writes a heartbeat row and runs the reconciler as maintenance."""

    model_name: str | None = None
    model_language: str | None = None
    _last_beat = 0.0

    def work(self, *args, **kwargs):
        """Work the queues; every process RQ forks meanwhile dies with this one."""
        tie_forked_children(True)
        try:
            return super().work(*args, **kwargs)
        finally:
            tie_forked_children(False)

    def fork_work_horse(self, job, queue):
        super().fork_work_horse(job, queue)
        self.connection.hset(self.key, HORSE_PID_FIELD, self.horse_pid)

    def monitor_work_horse(self, job, queue, execution):
        try:
            super().monitor_work_horse(job, queue, execution)
        finally:
            self.connection.hdel(self.key, HORSE_PID_FIELD)

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
