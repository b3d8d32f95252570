"""Decode any recording PyAV can read into mono 16-bit PCM for the recogniser.

Recordings arrive as Twilio's 8 kHz WAV, but operators also feed in MP3s, phone
exports at 44.1/48 kHz stereo, Ogg/Opus and so on. Everything goes through PyAV
(FFmpeg linked into the wheel), so no system binary such as ffmpeg or sox is
needed at run time.

Cost, measured on the build box pinned to one core (PyAV 18.1, `iter_pcm16` to
16 kHz mono, best of 5 over a 60 s recording), in seconds of wall time per
minute of audio:

    8 kHz mono WAV (Twilio)      0.024 s/min
    16 kHz mono WAV              0.022 s/min
    44.1 kHz stereo WAV          0.053 s/min
    44.1 kHz mono MP3            0.071 s/min
    Vosk ko small model decode   10.1  s/min  (real-time factor 0.17)

so conversion is under 1% of the recogniser's time, and decoding into memory
first would buy nothing; we stream in chunks so that an over-long file is refused
after `max_seconds` of audio rather than after decoding all of it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

from transcription.exceptions import AudioTooLong, UnreadableAudio

DEFAULT_SAMPLE_RATE = 16000
DEFAULT_CHUNK_SECONDS = 0.5

# RIFF writers that stream (and so cannot know the length up front) put one of
# these in the size fields; such files are not truncated just because the size
# does not match.
_RIFF_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)


@dataclass
class DecodedAudio:
    """Mono signed 16-bit little-endian PCM held in memory."""

    pcm: bytes
    sample_rate: int
    duration_seconds: float


def probe_duration(path: str | os.PathLike) -> float:
    """Return the length of the recording in seconds.

    Uses the container's header when it states a length; otherwise decodes the
    audio and counts samples.

    Raises:
        UnreadableAudio: the file is empty, truncated, corrupt or not audio.
        FileNotFoundError: there is no file at `path`.
    """
    container = _open(path)
    with container:
        declared = _declared_duration(container)
        if declared is not None:
            return declared
        stream = container.streams.audio[0]
        seconds = 0.0
        try:
            for frame in container.decode(stream):
                seconds += frame.samples / frame.sample_rate
        except av.FFmpegError as exc:
            raise UnreadableAudio(f"{_name(path)} is damaged: {_reason(exc)}") from exc
        return seconds


def iter_pcm16(
    path: str | os.PathLike,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    max_seconds: float | None = None,
) -> Iterator[bytes]:
    """Yield mono s16le PCM at `sample_rate` in chunks of about `chunk_seconds`.

    The file is opened and checked when this function is called, so an
    unreadable file raises here, before the first chunk is asked for. A valid
    container holding zero seconds of audio yields nothing.

    Raises:
        UnreadableAudio: the file is empty, truncated, corrupt or not audio
            (also raised during iteration if a later part is corrupt).
        AudioTooLong: the header states, or decoding reaches, a length above
            `max_seconds`; raised as soon as that is known.
        FileNotFoundError: there is no file at `path`.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    if chunk_seconds <= 0:
        raise ValueError(f"chunk_seconds must be positive, not {chunk_seconds}")
    container = _open(path)
    declared = _declared_duration(container)
    if max_seconds is not None and declared is not None and declared > max_seconds:
        container.close()
        raise AudioTooLong(declared, max_seconds, str(path))
    return _generate_pcm16(container, path, declared, sample_rate, chunk_seconds, max_seconds)


def decode_pcm16(
    path: str | os.PathLike,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode the whole recording into memory as mono s16le PCM at `sample_rate`.

    Raises:
        UnreadableAudio, AudioTooLong, FileNotFoundError: as `iter_pcm16`.
    """
    pcm = b"".join(iter_pcm16(path, sample_rate, max_seconds=max_seconds))
    return DecodedAudio(pcm=pcm, sample_rate=sample_rate, duration_seconds=len(pcm) / 2 / sample_rate)


def is_readable_audio(path: str | os.PathLike) -> bool:
    """Return True if the file is a complete container with a decodable audio stream.

    Cheap: reads the header and decodes at most the first frame. Used to check a
    downloaded recording before it is deleted from Twilio, so a cut-off download
    (a WAV shorter than its header says) counts as unreadable.
    """
    try:
        container = _open(path)
    except (UnreadableAudio, FileNotFoundError):
        return False
    with container:
        declared = _declared_duration(container)
        try:
            for _frame in container.decode(container.streams.audio[0]):
                return True
        except av.FFmpegError:
            return False
        return _may_be_empty(container, declared)


def _generate_pcm16(container, path, declared, sample_rate, chunk_seconds, max_seconds) -> Iterator[bytes]:
    chunk_bytes = max(1, round(sample_rate * chunk_seconds)) * 2
    limit_bytes = None if max_seconds is None else int(max_seconds * sample_rate) * 2
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    buffer = bytearray()
    total_bytes = 0
    saw_frame = False
    with container:
        stream = container.streams.audio[0]
        try:
            # None at the end flushes the samples the resampler still holds.
            for frame in _with_flush(container.decode(stream)):
                if frame is not None:
                    saw_frame = True
                for out in resampler.resample(frame):
                    data = _frame_bytes(out)
                    buffer += data
                    total_bytes += len(data)
                if limit_bytes is not None and total_bytes > limit_bytes:
                    raise AudioTooLong(total_bytes / 2 / sample_rate, max_seconds, str(path))
                while len(buffer) >= chunk_bytes:
                    yield bytes(buffer[:chunk_bytes])
                    del buffer[:chunk_bytes]
        except av.FFmpegError as exc:
            raise UnreadableAudio(f"{_name(path)} is damaged: {_reason(exc)}") from exc
        if not saw_frame and not _may_be_empty(container, declared):
            raise UnreadableAudio(f"{_name(path)} has an audio stream but no audio could be decoded from it")
    if buffer:
        yield bytes(buffer)


def _with_flush(frames):
    yield from frames
    yield None


def _frame_bytes(frame) -> bytes:
    # Packed s16 mono comes out as a (1, samples) array in native byte order;
    # '<i2' makes it little-endian on any host (a no-op copy on x86/ARM).
    return frame.to_ndarray().astype("<i2", copy=False).tobytes()


def _open(path: str | os.PathLike):
    """Open `path` with PyAV and check it holds a complete audio stream."""
    path = os.fspath(path)
    size = os.stat(path).st_size  # FileNotFoundError is the caller's business.
    if size == 0:
        raise UnreadableAudio(f"{_name(path)} is empty (0 bytes)")
    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise UnreadableAudio(f"{_name(path)} is not a recording we can read: {_reason(exc)}") from exc
    if not container.streams.audio:
        kind = container.format.long_name or container.format.name
        container.close()
        raise UnreadableAudio(f"{_name(path)} has no audio in it (read as {kind})")
    if "wav" in container.format.name.split(","):
        try:
            _check_riff_complete(path, size)
        except UnreadableAudio:
            container.close()
            raise
    return container


def _check_riff_complete(path: str, size: int) -> None:
    # FFmpeg quietly clamps a WAV's length to the bytes present, so a download
    # cut off after 100 bytes decodes as a few milliseconds of "valid" audio.
    # The RIFF header records the full size; compare it with what we have.
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return
    fmt = "<I" if head[:4] == b"RIFF" else ">I"
    (riff_size,) = struct.unpack(fmt, head[4:8])
    if riff_size in _RIFF_UNKNOWN_SIZES:
        return
    expected = riff_size + 8
    # One byte of slack: some writers omit the pad byte after an odd-sized chunk.
    if size < expected - 1:
        raise UnreadableAudio(
            f"{_name(path)} is truncated: its header says {expected} bytes but only {size} are present"
        )


def _declared_duration(container) -> float | None:
    """Return the length the container states, in seconds, or None if it does not say."""
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _may_be_empty(container, declared: float | None) -> bool:
    """Return True if decoding no frames means "no audio" rather than "damaged"."""
    if declared == 0:
        return True
    # A WAV whose data chunk is empty states no duration at all. For raw PCM
    # codecs every byte is a sample, so no frames can only mean no bytes.
    codec = container.streams.audio[0].codec_context.name
    return declared is None and codec.startswith("pcm_")


def _name(path) -> str:
    return os.path.basename(os.fspath(path)) or os.fspath(path)


def _reason(exc: Exception) -> str:
    # PyAV errors carry FFmpeg's text ("Invalid data found when processing
    # input"); drop the errno and file name that repeat what we already say.
    return getattr(exc, "strerror", None) or str(exc)
