"""The working-day calendar from the command line (design.md "Time").

    dutyline calendar show YEAR [--json]
    dutyline calendar set DATE holiday|workday [--reason TEXT]
    dutyline calendar unset DATE
    dutyline calendar import FILE                 (CSV or XLSX rows: date, kind, reason)
    dutyline calendar due START --working-days N [--json]
    dutyline calendar backtest [--from YEAR --to YEAR] [--json]

Changes are audited with the actor "cli". Bad input changes nothing and exits non-zero.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from intake.store.audit import CLI
from intake.store.database import session_scope
from intake.exceptions import DutylineError, RowsRejected
from intake.store.runtime import get_runtime



def register(group: click.Group) -> None:
    group.add_command(calendar)


def _echo_json(payload) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def _run(work):
    """Run `work(session)` in one transaction; a domain error becomes a clean CLI error."""
    try:
        with session_scope(get_runtime().session_factory) as session:
            return work(session)
    except RowsRejected as exc:
        lines = [str(row) for row in exc.rows]
        raise click.ClickException("nothing imported:\n  " + "\n  ".join(lines)) from exc
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc


def _day(text: str):
    from intake.time.calendar import parse_day

    try:
        return parse_day(text)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def calendar() -> None:
    """Working days: holidays and adjusted workdays (调休) for deadlines and duty hours."""


@calendar.command("show")
@click.argument("year", type=int)
@click.option("--json", "as_json", is_flag=True)
def calendar_show(year: int, as_json: bool) -> None:
    """List a year's holidays and adjusted workdays, and where each comes from."""
    from intake.time.calendar import describe_year, load_calendar

    record = _run(lambda s: describe_year(load_calendar(s), year))
    if as_json:
        _echo_json(record)
        return
    click.echo(f"{year}: {record['source']}"
               + (" — provisional: no official data and no entries" if record["provisional"]
                  else ""))
    for day in record["days"]:
        by = f" [{day['entered_by']} {day['entered_at'][:10]}]" if day["entered_by"] else ""
        doubt = " (provisional)" if day["provisional"] and not record["provisional"] else ""
        click.echo(f"  {day['date']} {day['kind']:<7} {day['source']:<9} {day['reason']}"
                   f"{doubt}{by}")


@calendar.command("set")
@click.argument("day", metavar="DATE")
@click.argument("kind", type=click.Choice(["holiday", "workday"]))
@click.option("--reason", default="", help="Why: the notice's name, or the bureau's own reason.")
def calendar_set(day: str, kind: str, reason: str) -> None:
    """Enter the bureau's holiday or adjusted workday on DATE (it wins over the package)."""
    from intake.time.calendar import (EntryInput, YearSource, load_calendar, parse_kind,
                                      set_calendar_entry)

    the_day = _day(day)

    def work(session):
        before = load_calendar(session).year_source(the_day.year)
        set_calendar_entry(session, EntryInput(the_day, parse_kind(kind), reason), CLI)
        return before

    before = _run(work)
    click.echo(f"{the_day}: {kind}" + (f" ({reason})" if reason else ""))
    if before is YearSource.ESTIMATED:
        click.echo(f"note: {the_day.year} has no official data: weekdays only the estimate keeps "
                   f"off stay provisional; import the whole notice (dutyline calendar import)")


@calendar.command("unset")
@click.argument("day", metavar="DATE")
def calendar_unset(day: str) -> None:
    """Remove the bureau's entry on DATE, so the package (or the estimate) decides again."""
    from intake.time.calendar import remove_calendar_entry

    the_day = _day(day)
    _run(lambda s: remove_calendar_entry(s, the_day, CLI))
    click.echo(f"{the_day}: entry removed")


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calendar_import(file: Path) -> None:
    """Enter every row of a CSV or XLSX file (date, kind, reason) — all of them, or none."""
    from intake.time.calendar import import_calendar_entries, read_calendar_file

    with file.open("rb") as source:  # read only up to the size limit (workbook_too_large)
        count = _run(lambda s: import_calendar_entries(
            s, read_calendar_file(file.name, source), CLI))
    click.echo(f"imported {count} entr{'y' if count == 1 else 'ies'} from {file.name}")


@calendar.command("due")
@click.argument("start", metavar="START")
@click.option("--working-days", "working_days", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
def calendar_due(start: str, working_days: int, as_json: bool) -> None:
    """Print the date N working days after START, and any warning about estimated holidays."""
    from intake.time.calendar import load_calendar

    the_day = _day(start)
    due = _run(lambda s: load_calendar(s).due(the_day, working_days))
    if as_json:
        _echo_json(due.to_json())
        return
    click.echo(due.day.isoformat())
    for warning in due.warnings:
        click.echo(f"warning: {warning}")


@calendar.command("backtest")
@click.option("--from", "first", type=int, default=2020, show_default=True)
@click.option("--to", "last", type=int, default=2026, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def calendar_backtest(first: int, last: int, as_json: bool) -> None:
    """Run the estimate on years that have a notice and print the days it gets wrong."""
    from intake.time.calendar import backtest_estimate

    years = backtest_estimate(first, last)
    if as_json:
        _echo_json(years)
        return
    for year in years:
        click.echo(f"{year['year']}: {year['wrong']} day(s) wrong, "
                   f"{len(year['missed'])} holiday day(s) missed")
        for day in year["missed"]:
            click.echo(f"  missed {day.isoformat()} (off in the notice, worked in the estimate)")
        for day in year["extra"]:
            click.echo(f"  extra  {day.isoformat()} (worked in the notice, off in the estimate)")
