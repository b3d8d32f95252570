"""Decoding recordings of every format we accept into 16 kHz mono PCM."""

import time
import wave

import numpy as np
import pytest

from tests import audio_fixtures as af
from transcription.audio import DecodedAudio, decode_pcm16, is_readable_audio, iter_pcm16, probe_duration
from transcription.exceptions import AudioTooLong, TranscriptionError, UnreadableAudio

KOREAN_TEXT = "안녕하세요 감사합니다"


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def speech(audio_dir):
    return af.espeak_wav(audio_dir, KOREAN_TEXT, voice="ko", rate=16000)


@pytest.fixture(scope="module")
def speech_seconds(speech):
    return af.wav_duration(speech)


MAKERS = {
    "16k-wav": lambda d, src: src,
    "8k-wav": af.make_8k_wav,
    "44k-stereo-wav": af.make_stereo_44k_wav,
    "48k-wav": af.make_48k_wav,
    "mp3": af.make_mp3,
    "ogg-opus": af.make_ogg_opus,
}


@pytest.mark.parametrize("kind", MAKERS)
def test_each_format_decodes_to_16k_mono_of_the_right_length(kind, audio_dir, speech, speech_seconds):
    path = MAKERS[kind](audio_dir, speech)

    decoded = decode_pcm16(path)

    assert isinstance(decoded, DecodedAudio)
    assert decoded.sample_rate == 16000
    assert len(decoded.pcm) % 2 == 0
    assert decoded.duration_seconds == pytest.approx(len(decoded.pcm) / 2 / 16000)
    assert decoded.duration_seconds == pytest.approx(speech_seconds, abs=0.1)
    assert probe_duration(path) == pytest.approx(speech_seconds, abs=0.1)
    assert is_readable_audio(path)


@pytest.mark.parametrize("kind", ["8k-wav", "44k-stereo-wav", "mp3"])
def test_decoded_signal_matches_the_source(kind, audio_dir, speech):
    # Loudness and timing survive conversion: correlate with the 16 kHz original.
    reference = np.frombuffer(decode_pcm16(speech).pcm, "<i2").astype(float)
    converted = np.frombuffer(decode_pcm16(MAKERS[kind](audio_dir, speech)).pcm, "<i2").astype(float)
    n = min(len(reference), len(converted))
    lag = _best_lag(reference[:n], converted[:n])
    assert abs(lag) < 16000 * 0.06  # MP3 encoder delay is a few ms, never a whole word
    a, b = _align(reference[:n], converted[:n], lag)
    assert np.corrcoef(a, b)[0, 1] > 0.8
    assert np.sqrt(np.mean(b**2)) == pytest.approx(np.sqrt(np.mean(a**2)), rel=0.25)


def test_pcm_is_little_endian_mono_not_interleaved_stereo(audio_dir, speech):
    # Stereo folded to mono has the same number of samples per second as mono.
    mono = decode_pcm16(speech)
    stereo = decode_pcm16(af.make_stereo_44k_wav(audio_dir, speech))
    assert abs(len(stereo.pcm) - len(mono.pcm)) < 2 * 160


def test_other_sample_rates_on_request(audio_dir, speech, speech_seconds):
    decoded = decode_pcm16(af.make_8k_wav(audio_dir, speech), sample_rate=8000)
    assert decoded.sample_rate == 8000
    assert len(decoded.pcm) / 2 / 8000 == pytest.approx(speech_seconds, abs=0.1)


def test_chunks_are_half_a_second_except_the_last(audio_dir, speech):
    path = af.make_8k_wav(audio_dir, speech)
    chunks = list(iter_pcm16(path, chunk_seconds=0.5))
    assert len(chunks) >= 4
    assert {len(c) for c in chunks[:-1]} == {16000}
    assert 0 < len(chunks[-1]) <= 16000
    assert b"".join(chunks) == decode_pcm16(path).pcm


def test_silence_decodes_to_zeros(audio_dir):
    decoded = decode_pcm16(af.make_silence_wav(audio_dir, 1.5, rate=8000))
    assert decoded.duration_seconds == pytest.approx(1.5, abs=0.01)
    assert not any(decoded.pcm)


def test_wav_with_empty_data_chunk_is_empty_audio_not_an_error(audio_dir):
    path = audio_dir / "no-frames.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    assert list(iter_pcm16(path)) == []
    assert decode_pcm16(path).duration_seconds == 0
    assert probe_duration(path) == 0
    assert is_readable_audio(path)


@pytest.mark.parametrize("kind", ["8k-wav", "mp3"])
def test_truncated_file_is_unreadable(kind, audio_dir, speech):
    path = af.make_truncated(MAKERS[kind](audio_dir, speech))
    assert path.stat().st_size == 100
    with pytest.raises(UnreadableAudio):
        decode_pcm16(path)
    with pytest.raises(UnreadableAudio):
        probe_duration(path)
    assert not is_readable_audio(path)


def test_wav_cut_short_mid_download_is_unreadable(audio_dir, speech):
    source = af.make_8k_wav(audio_dir, speech)
    path = af.make_truncated(source, keep_bytes=source.stat().st_size // 2)
    with pytest.raises(UnreadableAudio, match="truncated"):
        decode_pcm16(path)
    assert not is_readable_audio(path)


def test_zero_byte_file_is_unreadable(audio_dir):
    path = af.make_zero_byte(audio_dir)
    with pytest.raises(UnreadableAudio, match="empty"):
        decode_pcm16(path)
    with pytest.raises(UnreadableAudio):
        list(iter_pcm16(path))
    assert not is_readable_audio(path)


def test_text_file_is_unreadable(audio_dir):
    path = af.make_not_audio(audio_dir)
    with pytest.raises(UnreadableAudio):
        decode_pcm16(path)
    assert not is_readable_audio(path)


def test_unreadable_audio_is_a_transcription_error():
    assert issubclass(UnreadableAudio, TranscriptionError)
    assert issubclass(AudioTooLong, TranscriptionError)


def test_missing_file_raises_file_not_found(audio_dir):
    with pytest.raises(FileNotFoundError):
        decode_pcm16(audio_dir / "never-written.wav")
    assert not is_readable_audio(audio_dir / "never-written.wav")


def test_max_seconds_refuses_long_file_from_its_header(audio_dir):
    path = af.make_tone_wav(audio_dir, 30, rate=8000)
    with pytest.raises(AudioTooLong) as info:
        iter_pcm16(path, max_seconds=10)
    assert info.value.limit_seconds == 10
    assert info.value.duration_seconds == pytest.approx(30, abs=0.01)


def test_max_seconds_stops_decoding_early_when_header_does_not_say(audio_dir):
    # A stream-written FLAC states no length, so the limit is enforced while
    # decoding: the error comes after ~limit seconds of audio, not at the end.
    path = af.make_unsized_flac(audio_dir, seconds=600)
    assert probe_duration(path) == pytest.approx(600, abs=0.01)  # found only by decoding it all
    consumed = 0
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as info:
        for chunk in iter_pcm16(path, max_seconds=5):
            consumed += len(chunk)
    assert consumed / 2 / 16000 <= 5
    assert 5 < info.value.duration_seconds < 6
    assert time.perf_counter() - started < 1.0  # decoding all 10 minutes would take longer


def test_max_seconds_allows_a_file_within_the_limit(audio_dir, speech, speech_seconds):
    decoded = decode_pcm16(af.make_mp3(audio_dir, speech), max_seconds=speech_seconds + 1)
    assert decoded.duration_seconds == pytest.approx(speech_seconds, abs=0.1)


def test_decode_pcm16_applies_max_seconds(audio_dir):
    with pytest.raises(AudioTooLong):
        decode_pcm16(af.make_tone_wav(audio_dir, 12, rate=16000), max_seconds=3)


def _best_lag(a, b):
    corr = np.correlate(b[:16000], a[:16000], mode="full")
    return int(np.argmax(corr)) - (16000 - 1)


def _align(a, b, lag):
    if lag > 0:
        b = b[lag:]
    elif lag < 0:
        a = a[-lag:]
    n = min(len(a), len(b))
    return a[:n], b[:n]
