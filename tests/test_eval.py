"""`dutyline eval`: CER/WER with jiwer and the real-time factor, on real Vosk decoding."""
from __future__ import annotations

import json

import jiwer
import pytest
from click.testing import CliRunner

from cli.eval import normalise, read_manifest, score
from tests import audio_fixtures as af

SENTENCES = ["안녕하세요 감사합니다", "저는 김민수입니다"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval-audio")
    return [af.make_8k_wav(d, af.espeak_wav(d, text, voice="ko", name=f"s{i}"))
            for i, text in enumerate(SENTENCES)]


def _run(args):
    from cli.main import main

    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _decode(speech_model, path) -> str:
    from transcription.engine import transcribe_file

    return transcribe_file(speech_model, path).text


def test_eval_reports_jiwer_cer_rtf_and_per_file_rows(settings, tmp_path, recordings, speech_model):
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("# audio<TAB>reference\n\n" + "".join(
        f"{p}\t{text}\n" for p, text in zip(recordings, SENTENCES)), encoding="utf-8")

    report = json.loads(_run(["eval", str(manifest), "--json", "--language", "zh-CN"]).output)

    assert report["metric"] == "cer" and report["files"] == 2
    hypotheses = [row["hypothesis"] for row in report["per_file"]]
    # Decoding is dither-free, so the same model gives the same words here.
    assert hypotheses == [_decode(speech_model, p) for p in recordings]
    # The same strings through jiwer directly (spaces removed for a character rate).
    expected = jiwer.cer([s.replace(" ", "") for s in SENTENCES],
                         [h.replace(" ", "") for h in hypotheses])
    assert report["cer"] == pytest.approx(expected, abs=1e-4)
    for row, reference in zip(report["per_file"], SENTENCES):
        assert row["reference"] == reference
        assert row["error_rate"] == pytest.approx(
            jiwer.cer(reference.replace(" ", ""), row["hypothesis"].replace(" ", "")), abs=1e-4)
        assert row["audio_seconds"] > 0 and row["decode_seconds"] > 0
    total_audio = sum(r["audio_seconds"] for r in report["per_file"])
    total_decode = sum(r["decode_seconds"] for r in report["per_file"])
    assert report["real_time_factor"] == pytest.approx(total_decode / total_audio, rel=1e-2)
    assert report["model_name"] == speech_model.name


def test_a_perfect_reference_scores_zero(settings, tmp_path, recordings, speech_model):
    # Use what the model hears as the reference: no errors, by CER and by WER.
    hypothesis = _decode(speech_model, recordings[0])
    assert hypothesis
    manifest = tmp_path / "perfect.tsv"
    manifest.write_text(f"{recordings[0].name}\t{hypothesis}\n", encoding="utf-8")
    (tmp_path / recordings[0].name).write_bytes(recordings[0].read_bytes())  # a relative path

    for language, metric in (("zh-CN", "cer"), ("en-US", "wer")):
        report = json.loads(_run(["eval", str(manifest), "--json", "--language", language]).output)
        assert report["metric"] == metric
        assert report[metric] == 0.0
        assert report["errors"] == 0


def test_plain_output_prints_rows_and_the_total(settings, tmp_path, recordings):
    manifest = tmp_path / "m.tsv"
    manifest.write_text(f"{recordings[1]}\t{SENTENCES[1]}\n", encoding="utf-8")
    out = _run(["eval", str(manifest), "--language", "en-US"]).output
    assert f"ref: {SENTENCES[1]}" in out
    assert "WER" in out and "real-time factor" in out


@pytest.mark.parametrize("refs, hyps, metric", [
    (["我 是 张 伟", "城关镇 卫生院"], ["我 是 张 为", "城关 卫生院"], "cer"),
    (["my name is john", "the county hospital"], ["my name john", "a county hospital now"], "wer"),
])
def test_score_sums_errors_like_jiwer_over_the_set(refs, hyps, metric):
    errors, units = score(refs, hyps, metric)
    measure = jiwer.cer if metric == "cer" else jiwer.wer
    expected = measure([normalise(r, metric) for r in refs], [normalise(h, metric) for h in hyps])
    assert errors / units == pytest.approx(expected)
    assert score(refs, refs, metric)[0] == 0


def test_a_bad_manifest_line_is_reported(tmp_path):
    import click

    manifest = tmp_path / "bad.tsv"
    manifest.write_text("no-tab-here\n", encoding="utf-8")
    with pytest.raises(click.ClickException, match="expected audio_path<TAB>reference"):
        read_manifest(manifest)
    manifest.write_text("missing.wav\tsomething\n", encoding="utf-8")
    with pytest.raises(click.ClickException, match="no such file"):
        read_manifest(manifest)
