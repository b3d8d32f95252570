"""The directory file, contact duties and contact cards from the command line.

    dutyline directory export FILE.xlsx
    dutyline directory import FILE.xlsx [--dry-run] [--json]
    dutyline bench import [--rows 4000] [--database-url URL]   (cli/bench_import.py)
    dutyline contacts log --leader NAME --liaison NAME [--at DATE] [--note TEXT]
    dutyline report contacts --month YYYY-MM [--json]
    dutyline cards --out FILE.pdf [--leader NAME]

Every change is written to the audit log with the actor "cli".
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from intake.store.audit import CLI
from intake.store.database import session_scope
from intake.exceptions import DutylineError, RowsRejected, ValidationError
from intake.store.runtime import get_runtime



def register(main: click.Group) -> None:
    from cli import bench_import

    main.add_command(directory_group)
    bench_import.register(main)
    main.add_command(contacts_group)
    main.add_command(cards_command)
    # `report` is shared with the rates report; join the group if it is already there.
    report = main.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports; each takes --json.")
        main.add_command(report)
    report.add_command(report_contacts)


def _echo_json(payload) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def _today() -> date:
    return datetime.now(ZoneInfo(get_runtime().settings.timezone)).date()


@click.group("directory")
def directory_group() -> None:
    """Leaders, liaisons and units as an XLSX workbook (one format both ways)."""


@directory_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def directory_export(path: Path) -> None:
    """Write the directory to an XLSX file: sheets leaders, liaisons and units."""
    from intake.directory.workbook import export_directory

    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        # Headers, kinds and yes/no in the bureau's language (DUTYLINE_LANGUAGE).
        path.write_bytes(export_directory(session, runtime.settings.language))
    click.echo(f"wrote {path}")


@directory_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; save nothing.")
@click.option("--json", "as_json", is_flag=True)
def directory_import(path: Path, dry_run: bool, as_json: bool) -> None:
    """Apply an XLSX directory file; any bad row refuses the whole file."""
    from intake.directory.workbook import import_directory

    try:
        # The import reads at most its size limit from the file (workbook_too_large).
        with path.open("rb") as source, session_scope(get_runtime().session_factory) as session:
            report = import_directory(session, source, CLI, dry_run=dry_run)
    except RowsRejected as exc:
        if as_json:
            _echo_json({"error": {"code": exc.code, "message": str(exc)},
                        "problems": [vars(p) for p in exc.rows]})
        else:
            for problem in exc.rows:
                click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _echo_json(report.to_json())
        return
    verb = "would create" if dry_run else "created"
    for sheet in report.created:
        click.echo(f"{sheet}: {verb} {report.created[sheet]}, "
                   f"{'would update' if dry_run else 'updated'} {report.updated[sheet]}, "
                   f"unchanged {report.unchanged[sheet]}"
                   f" (of the updated, deactivated {report.deactivated[sheet]})")
    if dry_run:
        click.echo("dry run: nothing saved")


@click.group("contacts")
def contacts_group() -> None:
    """Contact duties: members' calls to their liaisons."""


@contacts_group.command("log")
@click.option("--leader", "leader_name", required=True, help="The work-group member's name.")
@click.option("--liaison", "liaison_name", required=True, help="One of that member's liaisons.")
@click.option("--at", "day", default=None, help="The day of the call, YYYY-MM-DD (default today).")
@click.option("--note", default="")
def contacts_log(leader_name: str, liaison_name: str, day: str | None, note: str) -> None:
    """Record a member's call to one of their liaisons."""
    from intake.directory.contacts import log_contact
    from intake.directory.roster import find_leader_by_name, find_liaison_by_name

    try:
        on = date.fromisoformat(day) if day else _today()
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--at")
    try:
        with session_scope(get_runtime().session_factory) as session:
            leader = find_leader_by_name(session, leader_name)
            liaison = find_liaison_by_name(session, liaison_name)
            log_contact(session, leader, liaison, CLI, on=on, today=_today(), note=note)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"logged: {leader_name} called {liaison_name} on {on.isoformat()}")


@click.command("contacts")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--json", "as_json", is_flag=True)
def report_contacts(month: str, as_json: bool) -> None:
    """List, per member, the liaisons not contacted in a month."""
    from intake.directory.contacts import list_contact_duties, parse_month

    try:
        first = parse_month(month)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    with session_scope(get_runtime().session_factory) as session:
        duties = list_contact_duties(session, first)
    if as_json:
        _echo_json({"month": month, "members": [d.to_json() for d in duties]})
        return
    for duty in duties:
        owing = "、".join(o["name"] for o in duty.owing) or "—"
        click.echo(f"{duty.leader_name}: {len(duty.contacted)} contacted; not contacted: {owing}")


@click.command("cards")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--leader", "leader_name", default=None, help="Only this member's card.")
def cards_command(out: Path, leader_name: str | None) -> None:
    """Print the work-group members' contact cards to a PDF (ten to an A4 page)."""
    from intake.directory.cards import render_contact_cards
    from intake.directory.roster import find_leader_by_name, list_leaders

    try:
        with session_scope(get_runtime().session_factory) as session:
            leaders = ([find_leader_by_name(session, leader_name)] if leader_name
                       else list_leaders(session))
            pdf = render_contact_cards(leaders)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc
    out.write_bytes(pdf)
    click.echo(f"wrote {len(leaders)} card(s) to {out}")
