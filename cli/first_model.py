"""The first `dutyline run` without a speech model fetches one in the background.

    dutyline run ─► no model for DUTYLINE_LANGUAGE at the default path?
        └─ yes: a thread downloads it from the model site (VOSK_MODEL_SITE), printing progress,
                while web and worker already take calls (the audio is kept, jobs wait);
                installed ─► the supervisor restarts the worker, which loads it
                unreachable ─► the same message `dutyline fetch-model` prints, and calls
                               keep waiting for `dutyline fetch-model --zip FILE`

A VOSK_MODEL_PATH that names some other folder is the operator's own choice: nothing is
fetched for it.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

from intake.store.settings import MODEL_NAMES, Settings
from transcription.models_store import ModelInstallError, download_model, model_zip_url

# Print a new progress figure at most this often (as a fraction of the whole).
PROGRESS_STEP = 0.1


def model_is_present(path: Path) -> bool:
    """Tell whether a folder holds a Vosk model (its acoustic model folder)."""
    return (path / "am").is_dir()


def should_fetch_model(settings: Settings) -> bool:
    """Tell whether `dutyline run` should fetch the language's model itself."""
    path = settings.vosk_model_path
    return not model_is_present(path) and path.name == MODEL_NAMES[settings.language]


class ModelFetch:
    """Download the language's model in a daemon thread; `installed` is set on success."""

    def __init__(self, settings: Settings, out: TextIO | None = None):
        self.settings = settings
        self.out = out or sys.stdout
        self.installed = threading.Event()
        self.finished = threading.Event()
        self.error: str | None = None
        self._shown = -1.0
        self._thread = threading.Thread(target=self._run, name="model-fetch", daemon=True)

    def start(self) -> "ModelFetch":
        """Announce the download and begin it in the background."""
        url = model_zip_url(self.settings.language, self.settings.model_site)
        self._say(f"no speech model yet: fetching {url} in the background; "
                  f"calls are taken and kept meanwhile")
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            path = download_model(self.settings.language, self.settings.vosk_model_path.parent,
                                  site=self.settings.model_site, on_progress=self._progress)
        except ModelInstallError as exc:
            self.error = str(exc)
            self._say(f"speech model not fetched: {exc}")
        else:
            self._say(f"speech model installed at {path}")
            self.installed.set()
        finally:
            self.finished.set()

    def _progress(self, done: int, total: int | None) -> None:
        if not total:
            return
        fraction = done / total
        if fraction - self._shown < PROGRESS_STEP and done < total:
            return
        self._shown = fraction
        self._say(f"fetching speech model: {done / 1e6:.1f} of {total / 1e6:.1f} MB "
                  f"({fraction:.0%})")

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)
