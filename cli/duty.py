"""Hotline administration: duty hours, prompt audio, and local recording retention.

    dutyline duty show [--json]
    dutyline duty set-phone NUMBER
    dutyline duty add-period WEEKDAY START END        (mon..sun or 0..6, HH:MM, end exclusive)
    dutyline duty clear [--weekday WEEKDAY]
    dutyline duty holiday DAY [--staffed [--from HH:MM --to HH:MM]] [--note TEXT] [--remove]
                                                      (a holiday goes into the working calendar)
    dutyline prompt-audio set LANGUAGE KEY URL | clear LANGUAGE KEY | show [--json]
    dutyline purge-recordings [--days N] [--dry-run] [--json]

Every change is written to the audit log with the actor "cli".
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import click

from cli.output import echo_json
from intake.store.audit import CLI
from intake.store.database import session_scope
from intake.time.duty import WEEKDAYS
from intake.exceptions import DutylineError
from intake.store.runtime import get_runtime



def register(group: click.Group) -> None:
    group.add_command(duty)
    group.add_command(prompt_audio)
    group.add_command(purge_recordings_command)


class _Weekday(click.ParamType):
    name = "weekday"

    def convert(self, value, param, ctx):
        from intake.time.duty import parse_weekday

        try:
            return parse_weekday(value)
        except DutylineError as exc:
            self.fail(str(exc), param, ctx)


class _Clock(click.ParamType):
    name = "HH:MM"

    def convert(self, value, param, ctx):
        from intake.time.duty import parse_clock

        if isinstance(value, time):
            return value
        try:
            return parse_clock(value)
        except DutylineError as exc:
            self.fail(str(exc), param, ctx)


WEEKDAY, CLOCK = _Weekday(), _Clock()


def _run(change):
    """Run one change in a transaction; a domain error becomes a clean CLI error."""
    try:
        with session_scope(get_runtime().session_factory) as session:
            return change(session)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def duty() -> None:
    """Duty hours: when calls are put through to the duty phone before voicemail."""


@duty.command("show")
@click.option("--json", "as_json", is_flag=True)
def duty_show(as_json: bool) -> None:
    """Print the duty phone, the weekly schedule and the date exceptions."""
    from intake.time.duty import describe_duty
    from intake.store.models import utcnow

    settings = get_runtime().settings
    record = _run(lambda s: describe_duty(s, utcnow(), settings.timezone))
    if as_json:
        echo_json(record)
        return
    click.echo(f"duty phone: {record['duty_phone'] or '(not set: every call goes to voicemail)'}")
    click.echo(f"on duty now ({record['timezone']}): {'yes' if record['on_duty_now'] else 'no'}")
    for period in record["periods"]:
        click.echo(f"  {WEEKDAYS[period['weekday']]} {period['starts']}-{period['ends']}")
    for exc in record["exceptions"]:
        hours = f" {exc['starts']}-{exc['ends']}" if exc["starts"] else ""
        state = "staffed" if exc["staffed"] else "closed"
        click.echo(f"  {exc['day']} {state}{hours} {exc['note']}".rstrip())


@duty.command("set-phone")
@click.argument("number")
def duty_set_phone(number: str) -> None:
    """Set the phone that calls are put through to during duty hours."""
    from intake.time.duty import set_duty_phone

    e164 = _run(lambda s: set_duty_phone(s, number, CLI))
    click.echo(f"duty phone set to {e164}")


@duty.command("add-period")
@click.argument("weekday", type=WEEKDAY)
@click.argument("starts", type=CLOCK)
@click.argument("ends", type=CLOCK)
def duty_add_period(weekday: int, starts: time, ends: time) -> None:
    """Add a weekly staffed window, e.g. `mon 08:30 17:30`."""
    from intake.time.duty import add_duty_period

    _run(lambda s: add_duty_period(s, weekday, starts, ends, CLI))
    click.echo(f"added {WEEKDAYS[weekday]} {starts:%H:%M}-{ends:%H:%M}")


@duty.command("clear")
@click.option("--weekday", type=WEEKDAY, default=None, help="Only this weekday's windows.")
def duty_clear(weekday: int | None) -> None:
    """Remove the weekly windows (all, or one weekday's)."""
    from intake.time.duty import clear_duty_periods

    removed = _run(lambda s: clear_duty_periods(s, CLI, weekday))
    click.echo(f"removed {removed} window(s)")


@duty.command("holiday")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--staffed", is_flag=True, help="An extra duty day instead of a holiday.")
@click.option("--from", "starts", type=CLOCK, default=None)
@click.option("--to", "ends", type=CLOCK, default=None)
@click.option("--note", default="")
@click.option("--remove", is_flag=True, help="Drop the date's override or holiday entry.")
def duty_holiday(day: datetime, staffed: bool, starts: time | None, ends: time | None,
                 note: str, remove: bool) -> None:
    """Make one date a holiday (default) or a staffed duty day.

    A holiday goes into the working calendar, the same one deadlines count with, as if
    entered by `dutyline calendar set DATE holiday`; --staffed overrides the weekly schedule.
    """
    from intake.time.duty import remove_duty_exception, set_duty_exception
    from intake.time.calendar import (EntryInput, load_calendar, remove_calendar_entry,
                                      set_calendar_entry)
    from intake.store.models import DayKind

    the_day: date = day.date()
    if remove:
        def drop(session) -> list[str]:
            dropped = ["exception"] if remove_duty_exception(session, the_day, CLI) else []
            entry = load_calendar(session).entry(the_day)
            if entry is not None and entry.kind is DayKind.HOLIDAY:
                remove_calendar_entry(session, the_day, CLI)
                dropped.append("holiday")
            return dropped

        dropped = _run(drop)
        outcome = " and ".join(dropped) + " removed" if dropped else "nothing to remove"
        click.echo(f"{the_day}: {outcome}")
        return
    if starts is not None or ends is not None or staffed:
        # The hours are checked where the screen's are (set_duty_exception): both or
        # neither, only on a staffed day, end after start.
        _run(lambda s: set_duty_exception(s, the_day, True, CLI, starts, ends, note))
        click.echo(f"{the_day}: staffed")
        return
    _run(lambda s: set_calendar_entry(s, EntryInput(the_day, DayKind.HOLIDAY, note), CLI))
    click.echo(f"{the_day}: holiday (working calendar: duty phone closed, deadlines skip it)")


@click.group("prompt-audio")
def prompt_audio() -> None:
    """Replace a spoken prompt with an uploaded recording played by <Play>."""


def _check_prompt(language: str, key: str) -> None:
    from ivr.prompts import PROMPTS

    if key not in PROMPTS[language]:
        raise click.BadParameter(f"unknown prompt {key!r}; one of: "
                                 + ", ".join(sorted(PROMPTS[language])))


@prompt_audio.command("set")
@click.argument("language", type=click.Choice(["zh-CN", "en-US"]))
@click.argument("key")
@click.argument("url")
def prompt_audio_set(language: str, key: str, url: str) -> None:
    """Play the audio at URL (an https address Twilio can fetch) instead of saying KEY."""
    from intake.time.duty import set_prompt_audio

    _check_prompt(language, key)
    _run(lambda s: set_prompt_audio(s, language, key, url, CLI))
    click.echo(f"{language} {key}: plays {url}")


@prompt_audio.command("clear")
@click.argument("language", type=click.Choice(["zh-CN", "en-US"]))
@click.argument("key")
def prompt_audio_clear(language: str, key: str) -> None:
    """Go back to the spoken prompt for KEY."""
    from intake.time.duty import clear_prompt_audio

    _check_prompt(language, key)
    cleared = _run(lambda s: clear_prompt_audio(s, language, key, CLI))
    click.echo(f"{language} {key}: {'spoken again' if cleared else 'was not replaced'}")


@prompt_audio.command("show")
@click.option("--json", "as_json", is_flag=True)
def prompt_audio_show(as_json: bool) -> None:
    """List the prompts replaced by audio, per language."""
    from intake.time.duty import prompt_audio_urls

    record = _run(lambda s: {lang: prompt_audio_urls(s, lang) for lang in ("zh-CN", "en-US")})
    if as_json:
        echo_json(record)
        return
    for language, urls in record.items():
        for key, url in sorted(urls.items()):
            click.echo(f"{language} {key}: {url}")


@click.command("purge-recordings")
@click.option("--days", type=int, default=None,
              help="Keep this many days of audio (default RECORDING_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@click.option("--json", "as_json", is_flag=True)
def purge_recordings_command(days: int | None, dry_run: bool, as_json: bool) -> None:
    """Delete local audio of finished calls older than the retention period (audited)."""
    from intake.calls.voicemail import list_calls_with_expired_audio, mark_audio_purged
    from intake.store.models import utcnow

    runtime = get_runtime()
    days = runtime.settings.recording_retention_days if days is None else days
    if days < 1:
        raise click.BadParameter("keep at least one day of audio", param_hint="--days")
    cutoff = utcnow() - timedelta(days=days)
    purged, freed = [], 0
    with session_scope(runtime.session_factory) as session:
        for call in list_calls_with_expired_audio(session, cutoff):
            path = Path(call.recording_path)
            if not dry_run:
                freed += path.stat().st_size if path.exists() else 0
                path.unlink(missing_ok=True)
                mark_audio_purged(session, call, CLI, days)
                session.commit()  # one call at a time: an interrupted purge stays truthful
            purged.append({"call_id": call.id, "reference": call.reference, "path": str(path)})
    report = {"retention_days": days, "cutoff": cutoff.isoformat(), "dry_run": dry_run,
              "purged": purged, "bytes_freed": freed}
    if as_json:
        echo_json(report)
    else:
        verb = "would delete" if dry_run else "deleted"
        click.echo(f"{verb} the audio of {len(purged)} call(s) recorded before "
                   f"{cutoff:%Y-%m-%d} ({freed} bytes)")
