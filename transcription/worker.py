"""The speech model a worker process holds; loaded once, before RQ forks work-horses.

Forked work-horses share the parent's model pages copy-on-write, so N concurrent
decodes cost one model's memory, not N.
"""
from __future__ import annotations

import logging

from transcription.engine import SpeechModel, load_model
from transcription.exceptions import ModelMissing

log = logging.getLogger(__name__)

_model: SpeechModel | None = None


def install_model(model: SpeechModel | None) -> None:
    global _model
    _model = model


def current_model() -> SpeechModel:
    """Return the loaded model, or raise ModelMissing."""
    if _model is None:
        raise ModelMissing(None, "this worker has not loaded a model")
    return _model


def try_load_model(path) -> SpeechModel | None:
    """Load the model at `path`, or return None (and say why) when it is not there."""
    try:
        model = load_model(path)
    except ModelMissing as exc:
        log.warning("%s", exc)
        return None
    install_model(model)
    return model
