"""Exceptions raised by the transcription package.

Every error this package raises on purpose derives from one base class, so that a
job can catch "anything the transcriber refused" in one place and let real bugs
propagate to RQ's failed-job registry::

    TranscriptionError
     ├── UnreadableAudio   the file is zero bytes, truncated, corrupt, or not audio
     ├── AudioTooLong      the recording is longer than the configured limit
     └── ModelMissing      no usable Vosk model directory was found
"""


class TranscriptionError(Exception):
    """Base class for every error the transcription package raises on purpose."""


class UnreadableAudio(TranscriptionError):
    """The file cannot be decoded as audio; the message says why in plain words."""


class AudioTooLong(TranscriptionError):
    """The recording is longer than the allowed limit."""

    def __init__(self, duration_seconds: float, limit_seconds: float, path: str | None = None):
        self.duration_seconds = duration_seconds
        self.limit_seconds = limit_seconds
        self.path = path
        where = f" ({path})" if path else ""
        super().__init__(
            f"recording{where} is at least {duration_seconds:.1f} s long, "
            f"over the limit of {limit_seconds:.1f} s"
        )


class ModelMissing(TranscriptionError):
    """No usable Vosk model was found; the message tells the operator how to get one."""

    def __init__(self, path: str | None, reason: str):
        self.path = path
        self.reason = reason
        where = f" at {path}" if path else ""
        super().__init__(
            f"no usable Vosk speech model{where}: {reason}. "
            "Run `dutyline fetch-model`, or set VOSK_MODEL_PATH to a Vosk model directory."
        )
