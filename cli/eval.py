"""`dutyline eval MANIFEST` and `dutyline eval extraction`: how well speech and extraction do.

`dutyline eval MANIFEST` scores a model on a bureau's own recordings.

The manifest has one line per recording, `audio_path<TAB>reference text`; relative paths
are read from the manifest's folder, blank lines and lines starting with # are skipped.
Chinese (and other unspaced scripts) are scored by character error rate, everything else
by word error rate, both with jiwer, over the whole set (errors summed over all files, not
an average of per-file rates). The real-time factor is decoding wall time over audio time.

`dutyline eval extraction [FILE]` scores the caller-detail extractor on transcripts as Vosk
writes them (JSON lines: text, language, expected phones, name, unit, urgent; by default the
held-back set shipped in cli/data). A line counts as right only when all four fields are.
The held-back lines are not the table cases of tests/test_extraction.py, so the score says
how the extractor does on speech it was not tuned on; it is now a regression suite and must
stay whole. cli/data/extraction_everyday.jsonl (issue 24) is scored the same way by naming it.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from intake.store.runtime import get_runtime


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


HELDBACK_EXTRACTION_SET = Path(__file__).resolve().parent / "data" / "extraction_heldback.jsonl"
EXTRACTION_FIELDS = ("phones", "name", "unit", "urgent")


class _EvalGroup(click.Group):
    """`eval` with subcommands, where anything else is a manifest for the audio evaluation."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["audio", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_EvalGroup)
def eval_group() -> None:
    """Score speech recognition (`eval MANIFEST`) or caller-detail extraction (`eval extraction`)."""


def register(group: click.Group) -> None:
    group.add_command(eval_group)


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


@eval_group.command("audio")
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


@dataclass
class ExtractionCase:
    text: str
    language: str
    expected: dict
    kind: str


def read_extraction_set(path: Path) -> list[ExtractionCase]:
    """Parse the JSON lines of an extraction evaluation set.

    Raises:
        click.ClickException: a line is not JSON or lacks text or an expected field.
    """
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            row = json.loads(raw)
            expected = {name: row[name] for name in EXTRACTION_FIELDS}
            cases.append(ExtractionCase(row["text"], row.get("language", "zh-CN"), expected,
                                        row.get("class", "")))
        except (ValueError, KeyError) as exc:
            raise click.ClickException(f"{path}:{number}: {exc!r}") from exc
    if not cases:
        raise click.ClickException(f"{path} has no cases")
    return cases


def score_extraction(cases: list[ExtractionCase]) -> dict:
    """Run the extractor over the cases; return the share right, per field and per class."""
    from transcription.extraction import extract_caller_details

    field_hits = dict.fromkeys(EXTRACTION_FIELDS, 0)
    by_class: dict[str, list[int]] = {}
    misses = []
    for case in cases:
        found = extract_caller_details(case.text, language=case.language).to_json()
        wrong = [name for name in EXTRACTION_FIELDS if found[name] != case.expected[name]]
        for name in EXTRACTION_FIELDS:
            field_hits[name] += name not in wrong
        tally = by_class.setdefault(case.kind, [0, 0])
        tally[0] += not wrong
        tally[1] += 1
        if wrong:
            misses.append({"class": case.kind, "text": case.text, "wrong": {
                name: {"expected": case.expected[name], "found": found[name]} for name in wrong}})
    right = len(cases) - len(misses)
    return {
        "cases": len(cases), "right": right, "score": round(right / len(cases), 4),
        "fields": {name: round(hits / len(cases), 4) for name, hits in field_hits.items()},
        "classes": {kind: {"right": r, "cases": n, "score": round(r / n, 4)}
                    for kind, (r, n) in sorted(by_class.items())},
        "misses": misses,
    }


@eval_group.command("extraction")
@click.argument("dataset", required=False, default=None,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def eval_extraction_command(dataset: Path | None, as_json: bool) -> None:
    """Score caller-detail extraction on transcripts (the held-back set by default)."""
    report = score_extraction(read_extraction_set(dataset or HELDBACK_EXTRACTION_SET))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for miss in report["misses"]:
        click.echo(f"MISS [{miss['class']}] {miss['text']}")
        for name, pair in miss["wrong"].items():
            click.echo(f"     {name}: expected {pair['expected']!r}, found {pair['found']!r}")
    click.echo("   ".join(f"{kind} {c['right']}/{c['cases']}" for kind, c in report["classes"].items()))
    click.echo("fields: " + "  ".join(f"{k} {v:.1%}" for k, v in report["fields"].items()))
    click.echo(f"extraction: {report['right']}/{report['cases']} transcripts fully right "
               f"({report['score']:.1%})")
