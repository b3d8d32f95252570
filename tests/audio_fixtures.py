"""Synthesise test recordings in a temporary directory.

Speech comes from espeak-ng; resampling and channel changes go through sox, and
compressed formats are encoded with PyAV, so the files do not depend on the
decoder under test (transcription.audio) to be made. Every function takes the
directory to write into and returns the path of the new file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np

ESPEAK = shutil.which("espeak-ng")
SOX = shutil.which("sox")

# PyAV's bundled FFmpeg exposes LAME as "libmp3lame" ("mp3" is the decoder);
# fall back to whichever MP3 encoder a system FFmpeg build offers.
MP3_ENCODERS = ("libmp3lame", "mp3")


def espeak_wav(tmp_path: Path, text: str, voice: str = "ko", rate: int = 16000, name: str | None = None) -> Path:
    """Speak `text` with espeak-ng and return a mono 16-bit WAV at `rate`."""
    tmp_path = Path(tmp_path)
    raw = tmp_path / f"{name or 'speech'}-{voice}-raw.wav"
    subprocess.run([ESPEAK, "-v", voice, "-w", str(raw), text], check=True)
    out = tmp_path / f"{name or 'speech'}-{voice}-{rate}.wav"
    _sox(raw, out, rate=rate, channels=1)
    return out


def make_8k_wav(tmp_path: Path, src: Path) -> Path:
    """Return `src` as Twilio stores recordings: 8 kHz mono 16-bit WAV."""
    out = Path(tmp_path) / f"{Path(src).stem}-8k.wav"
    _sox(src, out, rate=8000, channels=1)
    return out


def make_stereo_44k_wav(tmp_path: Path, src: Path) -> Path:
    """Return `src` as a 44.1 kHz stereo 16-bit WAV (both channels the same)."""
    out = Path(tmp_path) / f"{Path(src).stem}-44k-stereo.wav"
    _sox(src, out, rate=44100, channels=2)
    return out


def make_48k_wav(tmp_path: Path, src: Path) -> Path:
    """Return `src` as a 48 kHz mono 16-bit WAV."""
    out = Path(tmp_path) / f"{Path(src).stem}-48k.wav"
    _sox(src, out, rate=48000, channels=1)
    return out


def make_mp3(tmp_path: Path, src: Path, rate: int = 44100, channels: int = 1) -> Path:
    """Encode `src` as MP3 at `rate` with PyAV's LAME encoder."""
    pcm_wav = Path(tmp_path) / f"{Path(src).stem}-{rate}-{channels}ch-for-mp3.wav"
    _sox(src, pcm_wav, rate=rate, channels=channels)
    out = Path(tmp_path) / f"{Path(src).stem}-{rate}.mp3"
    _encode_with_pyav(pcm_wav, out, codec=mp3_encoder_name(), container_format="mp3")
    return out


def make_ogg_opus(tmp_path: Path, src: Path) -> Path:
    """Encode `src` as 48 kHz Opus in an Ogg container with PyAV."""
    pcm_wav = Path(tmp_path) / f"{Path(src).stem}-48k-for-opus.wav"
    _sox(src, pcm_wav, rate=48000, channels=1)
    out = Path(tmp_path) / f"{Path(src).stem}.ogg"
    _encode_with_pyav(pcm_wav, out, codec="libopus", container_format="ogg")
    return out


def make_silence_wav(tmp_path: Path, seconds: float, rate: int = 16000, name: str = "silence") -> Path:
    """Return a mono 16-bit WAV of digital silence lasting `seconds`."""
    return write_wav(Path(tmp_path) / f"{name}-{seconds}s-{rate}.wav", np.zeros(int(seconds * rate), np.int16), rate)


def make_tone_wav(tmp_path: Path, seconds: float, rate: int = 8000, freq: float = 440.0, name: str = "tone") -> Path:
    """Return a mono 16-bit WAV holding a sine tone lasting `seconds`."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return write_wav(Path(tmp_path) / f"{name}-{seconds}s-{rate}.wav", samples, rate)


def make_unsized_flac(tmp_path: Path, seconds: float, rate: int = 8000) -> Path:
    """Return a FLAC tone written as a stream, so its header states no length.

    A FLAC encoder that cannot seek back leaves STREAMINFO's sample count at 0
    ("unknown"), and FFmpeg then reports no duration at all; only decoding to
    the end finds out how long it is.
    """
    tone = make_tone_wav(tmp_path, seconds, rate=rate, name="unsized-source")
    out = Path(tmp_path) / f"unsized-{seconds}s.flac"
    sink = _UnseekableSink()
    _encode_with_pyav(tone, sink, codec="flac", container_format="flac")
    out.write_bytes(bytes(sink.data))
    return out


def make_truncated(path: Path, keep_bytes: int = 100) -> Path:
    """Return a copy of `path` cut to its first `keep_bytes` bytes, as a failed download leaves it."""
    path = Path(path)
    out = path.with_name(f"{path.stem}-truncated{path.suffix}")
    out.write_bytes(path.read_bytes()[:keep_bytes])
    return out


def make_zero_byte(tmp_path: Path, suffix: str = ".wav") -> Path:
    """Return an empty file with the given suffix."""
    out = Path(tmp_path) / f"empty{suffix}"
    out.write_bytes(b"")
    return out


def make_not_audio(tmp_path: Path) -> Path:
    """Return a text file named like a recording."""
    out = Path(tmp_path) / "not-audio.wav"
    out.write_text("this is a note, not a recording\n" * 20)
    return out


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write mono int16 `samples` as a 16-bit PCM WAV with the standard library."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return Path(path)


def wav_duration(path: Path) -> float:
    """Return a WAV file's length in seconds as sox reports it."""
    out = subprocess.run([SOX, "--i", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def mp3_encoder_name() -> str:
    """Return the MP3 encoder this PyAV build has."""
    for name in MP3_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises different types per version
            continue
        return name
    raise RuntimeError("this PyAV build has no MP3 encoder")


def _sox(src: Path, out: Path, *, rate: int, channels: int) -> None:
    # -D: no dither, so the same input always gives the same file.
    subprocess.run(
        [SOX, "-D", str(src), "-b", "16", "-e", "signed-integer", "-c", str(channels), "-r", str(rate), str(out)],
        check=True,
    )


class _UnseekableSink:
    def __init__(self):
        self.data = bytearray()

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def _encode_with_pyav(src_wav: Path, out, *, codec: str, container_format: str) -> None:
    target = out if isinstance(out, _UnseekableSink) else str(out)
    with av.open(str(src_wav)) as inp, av.open(target, mode="w", format=container_format) as outp:
        in_stream = inp.streams.audio[0]
        rate = in_stream.rate
        # sox writes no channel mask, so PyAV reports "1 channels"; encoders want a named layout.
        layout = {1: "mono", 2: "stereo"}[in_stream.channels]
        stream = outp.add_stream(codec, rate=rate, layout=layout)
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate)
        for frame in inp.decode(in_stream):
            frame.pts = None
            for out_frame in resampler.resample(frame):
                for packet in stream.encode(out_frame):
                    outp.mux(packet)
        for out_frame in resampler.resample(None):
            for packet in stream.encode(out_frame):
                outp.mux(packet)
        for packet in stream.encode(None):
            outp.mux(packet)
