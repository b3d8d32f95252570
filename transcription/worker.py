"""The speech model a worker process holds; loaded once, before RQ forks work-horses.

Forked work-horses share the parent's model pages copy-on-write, so N concurrent
decodes cost one model's memory, not N.
"""
from __future__ import annotations

import logging
from typing import Callable

from intake.inbound import JobQueue

from transcription.engine import SpeechModel, load_model
from transcription.exceptions import ModelMissing

log = logging.getLogger(__name__)

_model: SpeechModel | None = None
# The job queue adapter lives on the web side (ivr.queueing.JobQueue), which this package
# may not import; the worker's entry point (cli/worker.py) installs it here.
_job_queue_factory: Callable[[object], JobQueue] | None = None


def install_model(model: SpeechModel | None) -> None:
    global _model
    _model = model


def current_model() -> SpeechModel:
    """Return the loaded model, or raise ModelMissing."""
    if _model is None:
        raise ModelMissing(None, "this worker has not loaded a model")
    return _model


def install_job_queue_factory(factory: Callable[[object], JobQueue] | None) -> None:
    """Tell jobs how to build a job queue on a Redis connection."""
    global _job_queue_factory
    _job_queue_factory = factory


def job_queue_for(connection) -> JobQueue:
    """Return the installed job queue adapter on `connection`."""
    if _job_queue_factory is None:
        raise RuntimeError("no job queue adapter installed; cli/worker.py installs it at start")
    return _job_queue_factory(connection)


def try_load_model(path) -> SpeechModel | None:
    """Load the model at `path`, or return None (and say why) when it is not there."""
    try:
        model = load_model(path)
    except ModelMissing as exc:
        log.warning("%s", exc)
        return None
    install_model(model)
    return model
