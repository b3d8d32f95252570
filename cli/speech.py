"""Speech commands: fetch-model, transcribe, extract."""
from __future__ import annotations

import click

from cli.output import echo_json
from intake.store.runtime import get_runtime


def register(group: click.Group) -> None:
    group.add_command(extract_command)
    group.add_command(transcribe_command)
    group.add_command(fetch_model_command)


@click.command("extract")
@click.option("--text", required=True, help="A transcript, as Vosk emits it.")
@click.option("--from", "caller_number", default=None, help="Caller ID, if known.")
@click.option("--language", default=None, type=click.Choice(["zh-CN", "en-US"]))
@click.option("--json", "as_json", is_flag=True)
def extract_command(text: str, caller_number: str | None, language: str | None,
                    as_json: bool) -> None:
    """Draft caller details (phones, name, unit, address, urgency) from a transcript."""
    from transcription.extraction import extract_caller_details

    settings = get_runtime().settings
    details = extract_caller_details(text, language=language or settings.language,
                                     caller_number=caller_number,
                                     urgent_keywords=list(settings.urgent_keywords) or None)
    result = details.to_json()
    if as_json:
        echo_json(result)
    else:
        for key in ("phones", "name", "unit", "address", "urgent"):
            click.echo(f"{key:>8}: {result.get(key)}")


@click.command("transcribe")
@click.argument("audio", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_path", default=None, help="A Vosk model directory.")
@click.option("--json", "as_json", is_flag=True)
def transcribe_command(audio: str, model_path: str | None, as_json: bool) -> None:
    """Decode a file and draft caller details, without the queue."""
    from transcription.engine import load_model, transcribe_file
    from transcription.exceptions import TranscriptionError
    from transcription.extraction import extract_caller_details

    settings = get_runtime().settings
    try:
        model = load_model(model_path or settings.vosk_model_path)
        transcript = transcribe_file(model, audio)
    except TranscriptionError as exc:
        raise click.ClickException(str(exc)) from exc
    details = extract_caller_details(transcript.text, language=settings.language)
    payload = {"text": transcript.text, "display_text": transcript.display_text(),
               "words": transcript.words, "duration_seconds": transcript.duration_seconds,
               "no_speech": transcript.no_speech, "model_name": transcript.model_name,
               "model_version": transcript.model_version, "extracted": details.to_json()}
    if as_json:
        echo_json(payload)
    else:
        click.echo(payload["display_text"] or "(no speech detected)")


@click.command("fetch-model")
@click.option("--language", default=None, type=click.Choice(["zh-CN", "en-US"]))
@click.option("--zip", "zip_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Install from a local zip (for offline sites).")
@click.option("--sha256", default=None, help="The digest the zip must have.")
def fetch_model_command(language: str | None, zip_path: str | None, sha256: str | None) -> None:
    """Download (checksum verified) or install from a zip the language's Vosk model."""
    from transcription.models_store import ModelInstallError, download_model, install_model_zip

    settings = get_runtime().settings
    language = language or settings.language
    target_root = settings.vosk_model_path.parent
    try:
        path = (install_model_zip(zip_path, target_root, sha256) if zip_path
                else download_model(language, target_root, sha256, site=settings.model_site))
    except ModelInstallError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"model installed at {path}; set VOSK_MODEL_PATH={path} if it is not the default")
