"""`dutyline worker`: load the Vosk model once, then serve the queues.

    dutyline worker --processes N
      parent: load the model, import and warm the job code ──fork──► N RQ workers
      each RQ worker ──fork──► one work-horse per job (decodes, writes the draft, exits)

The model is loaded in the parent before anything forks, so every worker and every
work-horse shares one copy of its pages (copy-on-write; Kaldi only reads them). Two
decoding slots on one machine should be one `dutyline worker --processes 2`, not two
`dutyline worker`s, which would load the model twice. Each job runs in a fresh work-horse,
so nothing a job allocates outlives it and memory does not grow with the number of jobs.

The job code (transcription.jobs, the extractor's pinyin and number tables) is imported
and exercised in the parent too: otherwise every work-horse would import it again, per job.

Without a model the worker serves only the schedule and SMS queues: the transcription jobs
wait in Redis (they do not fail) until a worker with a model starts.

Unless it runs in burst mode, the worker also forks RQ's cron scheduler (jobs.schedule),
which enqueues the sweep every DUTYLINE_SWEEP_INTERVAL_SECONDS; it dies with the worker.
A thread of the parent (CronSupervisor) watches it: when it dies (kill -9, a crash) it is
reaped at once and forked again, after a wait that doubles from 1 s to 60 s while it keeps
dying young, so that the sweep never stops while the worker runs.

    dutyline worker ─┬─ main thread: the RQ worker(s)
                     └─ CronSupervisor thread ──fork──► cron scheduler ... (dies) ──► reap,
                                                        wait, fork it again
"""
from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from typing import Callable

from intake.store.database import session_scope
from intake.store.heartbeat import beat
from intake.store.runtime import get_runtime
from jobs.lifetime import die_with_parent
from jobs.queue import SMS_QUEUE, TRANSCRIPTION_QUEUE, JobQueue, connect_redis
from jobs.reconciler import reconcile
from jobs.schedule import SCHEDULE_QUEUE, run_cron_scheduler
from jobs.worker import MAINTENANCE_INTERVAL_SECONDS, WORKER_TTL_SECONDS, DutylineWorker
from transcription.worker import try_load_model

log = logging.getLogger(__name__)


def worker_queues(has_model: bool) -> list[str]:
    """Return the queues a worker serves: transcription only when it holds a model."""
    return [SCHEDULE_QUEUE, SMS_QUEUE] + ([TRANSCRIPTION_QUEUE] if has_model else [])


def run_worker(burst: bool = False, name: str | None = None, with_model: bool = True,
               processes: int = 1) -> None:
    """Load the model (if present) once, then work the queues with `processes` RQ workers."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, not {processes}")
    runtime = get_runtime()
    settings = runtime.settings
    model = try_load_model(settings.vosk_model_path) if with_model else None
    if model is None:
        log.warning("no speech model at %s: transcription jobs will wait. Run `dutyline "
                    "fetch-model` or set VOSK_MODEL_PATH.", settings.vosk_model_path)
    else:
        _warm_job_code()
    base = name or f"dutyline-{socket.gethostname()}-{os.getpid()}"
    with session_scope(runtime.session_factory) as session:
        reconcile(session, JobQueue(connect_redis(settings.effective_redis_url)))
    # Dispose before forking: each process opens its own connections (see intake.store.runtime).
    runtime.engine.dispose()
    # Move everything loaded so far out of the cyclic collector's reach: otherwise a
    # collection in a work-horse writes to every object header and copies those pages.
    gc.freeze()
    cron = None if burst else CronSupervisor(lambda: _start_cron(settings))
    if cron is not None:
        cron.start()
    # The live decoder (issue 22) needs the model and a long life: not in burst mode.
    live = None
    if model is not None and settings.live_streams > 0 and not burst:
        live = CronSupervisor(lambda: _start_live_decoder(settings, model, f"{base}-live"),
                              label="the live decoder")
        live.start()
    try:
        if processes == 1:
            _serve(base, model, burst)
            return
        _serve_in_children(base, model, burst, processes)
    finally:
        if live is not None:
            live.stop()
        if cron is not None:
            cron.stop()


# The first restart of a scheduler that died comes after this long; each death within
# CRON_STEADY_SECONDS of its start doubles the wait, up to the maximum.
CRON_RESTART_MIN_SECONDS = 1.0
CRON_RESTART_MAX_SECONDS = 60.0
CRON_STEADY_SECONDS = 60.0
CRON_STOP_SECONDS = 10.0


class CronSupervisor:
    """Keep the cron scheduler child running: reap it when it dies and fork it again.

    The watching is a thread of the worker's parent, which is busy being (or waiting for) the
    RQ worker. A child forked by a thread gets its PR_SET_PDEATHSIG when that *thread*
    ends, so the thread lives until stop(), which then stops the child too.
    """

    def __init__(self, start_child: Callable[[], multiprocessing.Process],
                 label: str = "the cron scheduler"):
        self._start_child = start_child
        self._label = label
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.process: multiprocessing.Process | None = None
        self.restarts = 0

    def start(self) -> None:
        """Fork the scheduler and start watching it."""
        self._thread = threading.Thread(target=self._watch, name="dutyline-cron-supervisor",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, then stop the scheduler (SIGTERM, SIGKILL after 10 s)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        process = self.process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(CRON_STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()

    def _watch(self) -> None:
        delay = CRON_RESTART_MIN_SECONDS
        while True:
            process = self._start_child()
            self.process = process
            started = time.monotonic()
            while not self._stopping.is_set():
                if multiprocessing.connection.wait([process.sentinel], timeout=1.0):
                    break
            if self._stopping.is_set():
                return
            process.join()  # reap it: a dead child nobody waits for stays a zombie
            lived = time.monotonic() - started
            if lived >= CRON_STEADY_SECONDS:
                delay = CRON_RESTART_MIN_SECONDS
            log.error("%s (pid %s) exited with %s after %.0f s; starting it again in %.0f s",
                      self._label, process.pid, process.exitcode, lived, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, CRON_RESTART_MAX_SECONDS)
            self.restarts += 1


def _start_cron(settings) -> multiprocessing.Process:
    """Fork RQ's cron scheduler, which enqueues the sweep on its interval."""
    process = multiprocessing.get_context("fork").Process(
        target=_serve_cron, args=(settings.effective_redis_url,
                                  settings.sweep_interval_seconds, os.getpid()),
        name="dutyline-cron", daemon=True)
    process.start()
    return process


def _serve_cron(redis_url: str, interval_seconds: int, parent_pid: int) -> None:
    # SIGTERM, not SIGKILL: the scheduler then unregisters itself from Redis.
    die_with_parent(signal.SIGTERM, parent_pid)
    run_cron_scheduler(redis_url, interval_seconds)


def _start_live_decoder(settings, model, name: str) -> multiprocessing.Process:
    """Fork the live decoder, which shares the parent's model pages (copy-on-write)."""
    process = multiprocessing.get_context("fork").Process(
        target=_serve_live, args=(settings.effective_redis_url, model, name, os.getpid()),
        name="dutyline-live", daemon=True)
    process.start()
    return process


def _serve_live(redis_url: str, model, name: str, parent_pid: int) -> None:
    die_with_parent(signal.SIGTERM, parent_pid)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    runtime = get_runtime()
    from transcription.live import run_live_decoder

    run_live_decoder(model, runtime.settings, runtime.session_factory,
                     connect_redis(redis_url), name, stopping)


def _serve_in_children(base: str, model, burst: bool, processes: int) -> None:
    """Fork `processes` RQ workers; if one dies, stop the rest and exit non-zero so that the
    supervisor (systemd, `dutyline run`) restarts the whole tree with its shared model."""
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_serve_child, args=(f"{base}-{i + 1}", model, burst,
                                                          os.getpid()),
                                name=f"{base}-{i + 1}") for i in range(processes)]
    for child in children:
        child.start()
    stopping = False

    def forward(signum, _frame):
        nonlocal stopping
        stopping = True
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    crashed = None
    try:
        pending = list(children)
        while pending:
            ready = multiprocessing.connection.wait([c.sentinel for c in pending])
            for child in [c for c in pending if c.sentinel in ready]:
                child.join()
                pending.remove(child)
                if child.exitcode != 0 and not stopping:
                    crashed = child
                    log.error("worker %s exited with %s; stopping the others", child.name,
                              child.exitcode)
                    forward(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if crashed is not None:
        raise SystemExit(1)


def _serve_child(name: str, model, burst: bool, parent_pid: int) -> None:
    # A SIGKILLed `dutyline worker` runs no handler: the kernel must stop its RQ workers.
    die_with_parent(signal.SIGKILL, parent_pid)
    _serve(name, model, burst)


def _serve(name: str, model, burst: bool) -> None:
    runtime = get_runtime()
    settings = runtime.settings
    worker = DutylineWorker(
        worker_queues(model is not None), connection=connect_redis(settings.effective_redis_url),
        name=name, worker_ttl=WORKER_TTL_SECONDS,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
    )
    worker.model_name = model.name if model else None
    worker.model_language = settings.language if model else None
    with session_scope(runtime.session_factory) as session:
        beat(session, worker.name, worker.model_name, worker.model_language, "starting")
    runtime.engine.dispose()
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    with session_scope(runtime.session_factory) as session:
        beat(session, worker.name, worker.model_name, worker.model_language, "stopped")


def _warm_job_code() -> None:
    """Import the job and run the extractor once here, so that work-horses inherit both."""
    importlib.import_module("transcription.jobs")  # loaded once here, shared by every fork
    from transcription.extraction import DirectoryEntry, DirectoryIndex, extract_caller_details

    index = DirectoryIndex([DirectoryEntry("liaison", 0, "张伟", "+8613800000000", "城关镇卫生院")])
    for language, text in (("zh-CN", "我 是 城关镇 卫生院 的 张 伟 电话 幺 三 八 零 零 零 零 零 零 零 零 紧急"),
                           ("en-US", "my name is john from the county hospital call five five five")):
        extract_caller_details(text, language=language, directory=index)
