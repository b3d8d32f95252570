"""The `dutyline` console script. Commands that report take --json."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from cli.output import echo_json
from intake.store.audit import CLI
from intake.store.database import session_scope, upgrade_database
from intake.exceptions import ConfigurationError
from intake.store.runtime import get_runtime


class _Commands(click.Group):
    """Report a setting that stops the service as one line naming it, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Commands)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """dutyline: the liaison line's voicemail intake and case tracking."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic reports every migration step at INFO, which buries `dutyline run`'s own lines.
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    upgrade_database(get_runtime().settings.database_url)
    click.echo("database is up to date")


@db.command("rebuild-facts")
@click.option("--json", "as_json", is_flag=True)
def db_rebuild_facts(as_json: bool) -> None:
    """Rebuild the rates' kept facts and day sums from the cases (after a bulk edit in SQL)."""
    from intake.store.case_facts import rebuild_all_facts

    started = time.perf_counter()
    with session_scope(get_runtime().session_factory) as session:
        cases, day_rows = rebuild_all_facts(session.connection())
    result = {"cases": cases, "day_rows": day_rows,
              "seconds": round(time.perf_counter() - started, 1)}
    if as_json:
        echo_json(result)
    else:
        click.echo(f"rebuilt the facts of {cases} cases and {day_rows} day rows "
                   f"in {result['seconds']} s")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create a demo directory and demo accounts (once)."""
    from intake.directory.demo import DEMO_PASSWORD, DEMO_USERNAMES, seed_demo

    with session_scope(get_runtime().session_factory) as session:
        created = seed_demo(session)
    click.echo(f"demo accounts {' / '.join(DEMO_USERNAMES)}, password {DEMO_PASSWORD}"
               if created else "the directory already has data; nothing seeded")


@main.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--name", default=None)
@click.option("--processes", default=1, show_default=True,
              help="Decoding processes sharing one loaded model (about one per core).")
def worker_command(burst: bool, name: str | None, processes: int) -> None:
    """Load the speech model once and serve the job queues."""
    from cli.worker import run_worker

    run_worker(burst=burst, name=name, processes=processes)


@main.command("run")
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--web-workers", default=2, show_default=True)
@click.option("--no-seed", is_flag=True, help="Do not create the demo directory.")
def run_command(port: int, host: str, web_workers: int, no_seed: bool) -> None:
    """Run web, worker and (unless REDIS_URL is set) an embedded Redis, on one machine."""
    from cli.supervisor import run_service

    sys.exit(run_service(host=host, port=port, web_workers=web_workers, seed=not no_seed))


@main.group()
def calls() -> None:
    """Inspect calls."""


@calls.command("show")
@click.argument("call_sid")
@click.option("--json", "as_json", is_flag=True)
def calls_show(call_sid: str, as_json: bool) -> None:
    """Print one call's record, by CallSid, id or reference number."""
    record = _load_call_record(call_sid)
    if record is None:
        raise click.ClickException(f"no call {call_sid}")
    if as_json:
        echo_json(record)
        return
    for key in ("call_sid", "reference", "status", "from", "liaison", "urgent",
                "recording_duration", "recording_path", "failure_code", "failure_reason",
                "model_name", "drafted_by", "live_state", "transcript_display", "case_number"):
        value = record[key] if record[key] is not None else ""
        if key == "transcript_display" and record["no_speech"] and record["status"] == "draft":
            value = "(no speech detected)"
        click.echo(f"{key:>20}: {value}")


def _find_call(session, key: str):
    from sqlalchemy import or_, select

    from intake.store.models import Call

    conditions = [Call.call_sid == key, Call.reference == key]
    if key.isdigit():
        conditions.append(Call.id == int(key))
    return session.scalar(select(Call).where(or_(*conditions)))


def _load_call_record(key: str) -> dict | None:
    from intake.calls.voicemail import describe_call

    with session_scope(get_runtime().session_factory) as session:
        call = _find_call(session, key)
        return describe_call(call) if call else None


@calls.command("retry")
@click.argument("call_sid")
@click.option("--json", "as_json", is_flag=True)
def calls_retry(call_sid: str, as_json: bool) -> None:
    """Transcribe a failed call again (by CallSid, id or reference), refetching its audio if needed."""
    from intake.calls.voicemail import retry_transcription
    from intake.exceptions import InvalidTransition
    from jobs.queue import JobQueue, connect_redis

    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        call = _find_call(session, call_sid)
        if call is None:
            raise click.ClickException(f"no call {call_sid}")
        try:
            refetch = retry_transcription(session, call, CLI)
        except InvalidTransition as exc:
            raise click.ClickException(
                f"call {call_sid} is {call.status.value}; only a failed call is retried") from exc
        call_id = call.id
    # After the commit; when Redis is away the reconciler enqueues the QUEUED call later.
    queued = JobQueue(connect_redis(runtime.settings.effective_redis_url)).enqueue_transcription(
        call_id)
    result = {"call_id": call_id, "status": "queued", "refetch": refetch, "enqueued": queued}
    if as_json:
        echo_json(result)
    else:
        click.echo(("fetching the recording again, then transcribing" if refetch
                    else "transcribing the kept recording again")
                   + ("" if queued else "; Redis is unreachable, `dutyline reconcile` will queue it"))


@main.command("reconcile")
@click.option("--json", "as_json", is_flag=True)
def reconcile_command(as_json: bool) -> None:
    """Enqueue transcriptions and SMS that a Redis outage or dead worker left behind."""
    from jobs.queue import JobQueue, connect_redis
    from jobs.reconciler import reconcile

    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        report = reconcile(session, JobQueue(connect_redis(runtime.settings.effective_redis_url)))
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(f"enqueued {len(report.calls_enqueued)} transcription(s), "
                   f"{len(report.sms_enqueued)} SMS"
                   + (" — Redis is unreachable" if report.redis_unreachable else ""))
    if report.redis_unreachable:
        sys.exit(1)


@main.command("simulate-call")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--wav", "wav", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--from", "from_number", required=True)
@click.option("--to", "to_number", default="+8657112345")
@click.option("--digits", default=None, help="Keys pressed at the menu (1 = urgent).")
@click.option("--wait", is_flag=True, help="Return once the call has a draft or has failed.")
@click.option("--timeout", default=300, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def simulate_call(url, wav, from_number, to_number, digits, wait, timeout, as_json) -> None:
    """Play Twilio's part of a call against a running server (signed webhooks, served WAV)."""
    import requests

    from cli.simulate import FINAL_STATES, RecordingServer, TwilioSimulator
    from intake.store.settings import load_webhook_signing

    # Over HTTP only: no settings load, which would create an instance folder here.
    signing = load_webhook_signing()
    simulator = TwilioSimulator(url, signing.auth_token, signing.public_base_url)
    with RecordingServer(Path(wav)) as server:
        try:
            sids = simulator.call(Path(wav), from_number, server.base_url, to_number, digits)
        except requests.HTTPError as exc:
            # 403 is the usual one: this side signs with a different token or public URL.
            raise click.ClickException(
                f"{exc}; sign with the server's TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL") from exc
        deadline = time.monotonic() + timeout
        # Keep serving the audio until the worker has fetched it (or, with --wait, until done).
        while True:
            record = simulator.fetch_call(sids["call_sid"])
            done = record and record["status"] in FINAL_STATES
            fetched = record and record["recording_path"]
            if done or (fetched and not wait):
                break
            if time.monotonic() >= deadline:
                if wait:
                    raise click.ClickException(
                        f"call {sids['call_sid']} not finished in {timeout}s")
                break
            time.sleep(0.5)
    if record is None:
        raise click.ClickException(f"the server does not know call {sids['call_sid']}")
    if as_json:
        echo_json(record)
    else:
        click.echo(f"{record['call_sid']}: {record['status']} {record['transcript_display']}")


@main.command("simulate-sms")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--from", "from_number", required=True, help="The sender, as a leader or liaison.")
@click.option("--body", required=True, help='The text, e.g. "1" or "1 2026-000003".')
@click.option("--to", "to_number", default="+8657112345")
@click.option("--json", "as_json", is_flag=True)
def simulate_sms(url, from_number, body, to_number, as_json) -> None:
    """Send one SMS reply to a running server as Twilio would (signed), print its answer."""
    import requests

    from cli.simulate import TwilioSimulator
    from intake.store.settings import load_webhook_signing

    # Signed exactly as simulate-call signs, so the same token and public URL apply.
    signing = load_webhook_signing()
    simulator = TwilioSimulator(url, signing.auth_token, signing.public_base_url)
    try:
        result = simulator.sms(from_number, body, to_number)
    except requests.HTTPError as exc:
        raise click.ClickException(
            f"{exc}; sign with the server's TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL") from exc
    except requests.ConnectionError as exc:
        raise click.ClickException(f"no dutyline server answers at {url}") from exc
    if as_json:
        echo_json(result)
    else:
        click.echo("\n".join(result["replies"]) or "(no reply)")


@main.command("health")
@click.option("--json", "as_json", is_flag=True)
def health_command(as_json: bool) -> None:
    """Check the database, Redis, the workers and the model, with details; exit 1 if down."""
    from dashboard.health import COMPONENTS, build_report

    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        report = build_report(runtime.settings, session)
    if as_json:
        echo_json(report)
    else:
        for name in COMPONENTS:
            detail = report[name].get("error") or report[name].get("hint") or ""
            click.echo(f"{name:<9} {report[name]['status']:<9} {detail}".rstrip())
        for worker in report["worker"]["workers"]:
            click.echo(f"  worker {worker['name']} {worker['state']} seen {worker['seen_at']}"
                       f" model {worker['model'] or '-'}")
    if report["status"] == "down":
        sys.exit(1)


def _register_optional_commands() -> None:
    # Command groups owned by other modules register themselves here.
    from cli import bench_creates, bench_dashboard, bench_ivr, bench_transcription, duty, speech, users
    from cli import bench_live
    from cli import calendar as working_calendar
    from cli import directory as directory_commands
    from cli import eval as evaluation
    from cli import sweep
    from cli import reports as report_commands

    speech.register(main)
    duty.register(main)
    bench_ivr.register(main)
    bench_creates.register(main)
    users.register(main)
    bench_dashboard.register(main)
    bench_transcription.register(main)
    bench_live.register(main)
    evaluation.register(main)
    working_calendar.register(main)
    directory_commands.register(main)
    sweep.register(main)
    report_commands.register(main)


_register_optional_commands()
