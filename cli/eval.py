"""`dutyline eval MANIFEST`: accuracy and speed of a model on a bureau's own recordings.

The manifest has one line per recording, `audio_path<TAB>reference text`; relative paths
are read from the manifest's folder, blank lines and lines starting with # are skipped.
Chinese (and other unspaced scripts) are scored by character error rate, everything else
by word error rate, both with jiwer, over the whole set (errors summed over all files, not
an average of per-file rates). The real-time factor is decoding wall time over audio time.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from intake.runtime import get_runtime


@dataclass
class ManifestLine:
    audio: Path
    reference: str


@dataclass
class FileScore:
    audio: str
    reference: str
    hypothesis: str
    errors: int
    reference_units: int
    error_rate: float
    audio_seconds: float
    decode_seconds: float


def register(group: click.Group) -> None:
    group.add_command(eval_command)


def read_manifest(path: Path) -> list[ManifestLine]:
    """Parse `audio_path<TAB>reference text` lines.

    Raises:
        click.ClickException: a line has no tab, or names a file that does not exist.
    """
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" not in raw:
            raise click.ClickException(f"{path}:{number}: expected audio_path<TAB>reference text")
        audio, reference = raw.split("\t", 1)
        audio_path = Path(audio.strip())
        if not audio_path.is_absolute():
            audio_path = path.parent / audio_path
        if not audio_path.is_file():
            raise click.ClickException(f"{path}:{number}: no such file {audio_path}")
        lines.append(ManifestLine(audio_path, reference.strip()))
    if not lines:
        raise click.ClickException(f"{path} lists no recordings")
    return lines


def metric_for(language: str) -> str:
    """Return "cer" for Chinese (written without spaces) and "wer" otherwise."""
    return "cer" if language.lower().startswith(("zh", "ja")) else "wer"


def normalise(text: str, metric: str) -> str:
    """Prepare text for scoring: lower case; for CER, no spaces at all (Vosk spaces words)."""
    text = " ".join(text.lower().split())
    return text.replace(" ", "") if metric == "cer" else text


def score(references: list[str], hypotheses: list[str], metric: str) -> tuple[int, int]:
    """Return (errors, reference units) summed over the pairs, as jiwer counts them."""
    import jiwer

    refs = [normalise(r, metric) for r in references]
    hyps = [normalise(h, metric) for h in hypotheses]
    errors = units = 0
    for ref, hyp in zip(refs, hyps):
        if not ref:
            # jiwer refuses an empty reference; every hypothesised unit is an insertion.
            errors += len(hyp) if metric == "cer" else len(hyp.split())
            continue
        out = (jiwer.process_characters if metric == "cer" else jiwer.process_words)(ref, hyp)
        errors += out.substitutions + out.deletions + out.insertions
        units += out.hits + out.substitutions + out.deletions
    return errors, units


@click.command("eval")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_path", default=None, help="A Vosk model directory.")
@click.option("--language", default=None, type=click.Choice(["zh-CN", "en-US"]),
              help="Decides CER (zh-CN) or WER (en-US); DUTYLINE_LANGUAGE by default.")
@click.option("--metric", default=None, type=click.Choice(["cer", "wer"]),
              help="Override the metric the language implies.")
@click.option("--json", "as_json", is_flag=True)
def eval_command(manifest: Path, model_path: str | None, language: str | None,
                 metric: str | None, as_json: bool) -> None:
    """Score a model on `audio_path<TAB>reference` lines: CER or WER, real-time factor."""
    from transcription.engine import load_model, transcribe_file
    from transcription.exceptions import TranscriptionError

    settings = get_runtime().settings
    metric = metric or metric_for(language or settings.language)
    lines = read_manifest(manifest)
    try:
        model = load_model(model_path or settings.vosk_model_path)
    except TranscriptionError as exc:
        raise click.ClickException(str(exc)) from exc
    rows: list[FileScore] = []
    for line in lines:
        start = time.perf_counter()
        try:
            transcript = transcribe_file(model, line.audio)
        except TranscriptionError as exc:
            raise click.ClickException(f"{line.audio}: {exc}") from exc
        elapsed = time.perf_counter() - start
        errors, units = score([line.reference], [transcript.text], metric)
        rows.append(FileScore(
            audio=str(line.audio), reference=line.reference, hypothesis=transcript.text,
            errors=errors, reference_units=units,
            error_rate=round(errors / units, 4) if units else float(errors > 0),
            audio_seconds=round(transcript.duration_seconds, 3), decode_seconds=round(elapsed, 3),
        ))
    errors, units = score([r.reference for r in rows], [r.hypothesis for r in rows], metric)
    audio_seconds = sum(r.audio_seconds for r in rows)
    decode_seconds = sum(r.decode_seconds for r in rows)
    summary = {
        "model_name": model.name, "model_version": model.version, "metric": metric,
        "files": len(rows), "errors": errors, "reference_units": units,
        metric: round(errors / units, 4) if units else None,
        "audio_seconds": round(audio_seconds, 3), "decode_seconds": round(decode_seconds, 3),
        "real_time_factor": round(decode_seconds / audio_seconds, 4) if audio_seconds else None,
        "per_file": [asdict(r) for r in rows],
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row.error_rate:7.2%}  {row.audio_seconds:7.1f} s  {row.decode_seconds:6.2f} s  "
                   f"{row.audio}\n         ref: {row.reference}\n         hyp: {row.hypothesis}")
    click.echo(f"{metric.upper()} {summary[metric]:.2%} over {len(rows)} file(s) "
               f"({errors} errors / {units}); real-time factor {summary['real_time_factor']:.3f}; "
               f"model {model.name} {model.version}")
