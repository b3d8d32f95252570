"""The rates report, the bulletin and the weekly analysis from the command line, and their bench.

    dutyline report rates --from DATE --to DATE [--group unit|kind] [--unit NAME]
                          [--format json|csv|xlsx] [--out FILE] [--now ISO]
    dutyline report bulletin --from DATE --to DATE --out FILE.docx [--now ISO]
    dutyline report weekly [--week DATE] [--json]
    dutyline bench reports [--cases 50000] [--database-url URL] [--json]

Bad input (an end before the start, an unknown unit, a bad date) exits with status 2.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import click

from cli.output import add_bench_command, database_size_mib

from intake.store.database import scratch_database, session_scope
from intake.exceptions import ValidationError
from intake.store.runtime import get_runtime

BENCH_TARGET_SECONDS = 0.3  # the year's rates per unit at 500,000 cases (issue 21)
BENCH_PAGE_TARGET_SECONDS = 0.5  # the whole /reports page for the year
BENCH_UNITS = 24
BENCH_CHUNK = 5000


def register(main: click.Group) -> None:
    report = main.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports; each takes --json.")
        main.add_command(report)
    report.add_command(report_rates)
    report.add_command(report_bulletin)
    report.add_command(report_weekly)
    add_bench_command(main, bench_reports)


def _echo_json(payload) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def _now(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give an ISO time with its offset", param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its offset", param_hint="--now")
    return moment


def _bad(exc: ValidationError, hint: str | None = None):
    return click.BadParameter(str(exc), param_hint=hint or f"--{exc.field or 'from'}")


@click.command("rates")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (bureau time).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option("--group", "group", default="", type=click.Choice(["", "unit", "kind"]),
              help="Rows per unit (the cases transferred to it) or per kind of unit.")
@click.option("--unit", "unit_name", default=None, help="Only this unit's row (name or id).")
@click.option("--format", "fmt", default="json", type=click.Choice(["json", "csv", "xlsx"]),
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", "now", default=None, help="Report as of this moment (ISO, with offset).")
def report_rates(start, end, group, unit_name, fmt, as_json, out, now) -> None:
    """Print the four rates for cases received in a period, overall and per unit."""
    from intake.time.calendar import load_calendar
    from intake.reports.exports import render_rates_csv, render_rates_xlsx
    from intake.reports.rates import Grouping, compute_rates, find_unit, parse_period

    if as_json:
        fmt = "json"
    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    try:
        period = parse_period(start, end)
    except ValidationError as exc:
        raise _bad(exc) from exc
    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        try:
            unit = find_unit(session, unit_name) if unit_name else None
        except ValidationError as exc:
            raise _bad(exc, "--unit") from exc
        report = compute_rates(session, period, now=_now(now), calendar=load_calendar(session),
                               tz=runtime.settings.timezone, grouping=Grouping(group), unit=unit)
    if fmt == "json":
        content = (json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n").encode()
    elif fmt == "csv":
        content = render_rates_csv(report)
    else:
        content = render_rates_xlsx(report)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        out.write_bytes(content)
        click.echo(f"wrote {out}", err=True)


@click.command("bulletin")
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .docx file to write.")
@click.option("--now", "now", default=None)
def report_bulletin(start, end, out, now) -> None:
    """Write the period's supervision bulletin (通报) as a printable DOCX."""
    from intake.reports.bulletin import compose_bulletin, render_bulletin_docx
    from intake.time.calendar import load_calendar
    from intake.reports.rates import parse_period

    try:
        period = parse_period(start, end)
    except ValidationError as exc:
        raise _bad(exc) from exc
    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        bulletin = compose_bulletin(session, period, now=_now(now),
                                    calendar=load_calendar(session), tz=runtime.settings.timezone)
        out.write_bytes(render_bulletin_docx(bulletin, runtime.settings.timezone))
    click.echo(f"wrote {out}")


@click.command("weekly")
@click.option("--week", "week", default=None,
              help="Any day of the week to analyse, YYYY-MM-DD (default: the last full week).")
@click.option("--now", "now", default=None)
@click.option("--json", "as_json", is_flag=True)
def report_weekly(week, now, as_json) -> None:
    """Print the weekly analysis (民情分析) and the Monday digest SMS it makes."""
    from intake.reports.weekly import analyse_week, compose_weekly_digest, week_of

    runtime = get_runtime()
    moment = _now(now)
    try:
        first = week_of(date.fromisoformat(week)) if week else None
    except ValueError:
        raise click.BadParameter("give the day as YYYY-MM-DD", param_hint="--week") from None
    with session_scope(runtime.session_factory) as session:
        analysis = analyse_week(session, first, now=moment, tz=runtime.settings.timezone)
        digest = compose_weekly_digest(analysis, runtime.settings.language)
    if as_json:
        _echo_json({**analysis.to_json(), "digest": digest})
        return
    click.echo(digest)


# ---------------------------------------------------------------- bench
@click.command("reports")
@click.option("--cases", "n_cases", default=50_000, show_default=True)
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--repeat", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_reports(n_cases: int, database_url: str | None, repeat: int, as_json: bool) -> None:
    """Seed a year of --cases cases and time the year's rates report, per unit and overall."""
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        with scratch_database(database_url, Path(tmp), "dutyline_bench_reports") as url:
            seed_started = time.perf_counter()
            year = _seed_cases(url, n_cases)
            seed_seconds = time.perf_counter() - seed_started
            timings, totals = _time_reports(url, year, repeat)
            timings["page_year"] = _time_page(url, Path(tmp), year, repeat)
            size_mib = database_size_mib(url)
            backend = url.split(":", 1)[0].split("+", 1)[0]
    result = {"cases": n_cases, "backend": backend, "seed_seconds": round(seed_seconds, 1),
              "database_mib": size_mib,
              "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
              "target_seconds": BENCH_TARGET_SECONDS, "timings": timings, "total": totals,
              "page_target_seconds": BENCH_PAGE_TARGET_SECONDS,
              "meets_target": timings["year_per_unit"]["median_s"] <= BENCH_TARGET_SECONDS
              and timings["page_year"]["median_s"] <= BENCH_PAGE_TARGET_SECONDS}
    if as_json:
        _echo_json(result)
        return
    click.echo(f"{n_cases} cases over {year} on {backend} (seeded in {result['seed_seconds']} s), "
               f"{size_mib} MiB on disk")
    for name, t in timings.items():
        click.echo(f"  {name:<16} p50 {t['median_s']:.3f} s   p95 {t['p95_s']:.3f} s"
                   f"   max {t['max_s']:.3f} s"
                   f"   this process's CPU {t['median_cpu_s']:.3f} s   rows {t['rows']}")
    click.echo("  (page_year: GET /reports for the year through the app: per unit, per kind, "
               "and the 12-month trend)")
    click.echo("  total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    click.echo(f"  load average at the end: {load} on {os.cpu_count()} CPUs")
    click.echo(f"targets: rates per unit {BENCH_TARGET_SECONDS} s, page {BENCH_PAGE_TARGET_SECONDS} s: "
               + ("met" if result["meets_target"] else "MISSED"))


def _seed_cases(url: str, n_cases: int) -> int:
    from sqlalchemy import insert

    from intake.store.audit import Actor
    from intake.store.database import make_engine, make_session_factory
    from intake.directory.roster import add_leader, add_unit, create_user
    from intake.store.case_facts import rebuild_case_facts
    from intake.store.models import Case, CaseAssignment
    from intake.statuses import CaseStatus, Role, Satisfaction, UnitKind

    engine = make_engine(url)
    rng = random.Random(20261126)
    actor = Actor("bench")
    year = 2025
    with session_scope(make_session_factory(engine)) as session:
        leader_ids = [add_leader(session, f"领导{i}", f"+86139000{i:05d}", actor).id
                      for i in range(20)]
        unit_ids = [add_unit(session, f"单位{i}", UnitKind.TOWNSHIP if i % 3 else UnitKind.COUNTY,
                             actor).id for i in range(BENCH_UNITS)]
        create_user(session, username="bench", role=Role.SUPERVISOR, name="bench",
                    password=secrets.token_hex(8), actor=actor)
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    finished = [CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED, CaseStatus.CLOSED,
                CaseStatus.CLOSED]
    ratings = [Satisfaction.SATISFIED] * 8 + [Satisfaction.BASICALLY_SATISFIED,
                                              Satisfaction.DISSATISFIED]
    case_rows, assignment_rows = [], []
    with engine.begin() as conn:
        for i in range(n_cases):
            received = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            transferred = rng.random() < 0.45
            status = rng.choice(finished) if rng.random() < 0.9 else (
                CaseStatus.TRANSFERRED if transferred else CaseStatus.HANDLING)
            answered = received + timedelta(hours=rng.randrange(2, 24 * 7)) \
                if status in finished else None
            deadline = received + timedelta(days=3 if transferred else 0, hours=8)
            case_rows.append({
                "id": i + 1, "number": f"{year}-{i + 1:06d}", "channel": "voicemail",
                "caller_name": "联络员", "caller_unit": "", "caller_phone": "",
                "leader_id": rng.choice(leader_ids), "category": rng.choice(["医保", "药品", "服务"]),
                "urgent": False, "summary": "", "status": status.value, "route_reason": "",
                "handling_note": "", "feedback_note": "",
                "satisfaction": rng.choice(ratings).value if status == CaseStatus.CLOSED else None,
                "created_at": received, "routed_at": received, "answered_at": answered,
                "deadline_at": deadline})
            if transferred:
                due = deadline
                result = received + timedelta(hours=rng.randrange(4, 24 * 5)) \
                    if status != CaseStatus.TRANSFERRED else None
                assignment_rows.append({
                    "case_id": i + 1, "unit_id": rng.choice(unit_ids), "assigned_at": received,
                    "assigned_by": "bench", "due_at": due, "result_at": result, "returns": 0})
            if len(case_rows) >= BENCH_CHUNK:
                conn.execute(insert(Case.__table__), case_rows)
                conn.execute(insert(CaseAssignment.__table__), assignment_rows)
                case_rows, assignment_rows = [], []
        if case_rows:
            conn.execute(insert(Case.__table__), case_rows)
            conn.execute(insert(CaseAssignment.__table__), assignment_rows)
        # Bulk rows bypass the session hook that keeps the rates' facts: build them, as the
        # migration does for cases already on file.
        rebuild_case_facts(conn)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))")
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return year


def _time_reports(url: str, year: int, repeat: int) -> tuple[dict, dict]:
    from intake.store.database import make_engine, make_session_factory
    from intake.time.calendar import load_calendar
    from intake.reports.rates import Grouping, compute_rates, year_period

    engine = make_engine(url)
    now = datetime(year + 1, 1, 15, tzinfo=timezone.utc)
    runs = {"year_per_unit": Grouping.UNIT, "year_per_kind": Grouping.KIND,
            "year_total": Grouping.NONE}
    timings, totals = {}, {}
    with session_scope(make_session_factory(engine)) as session:
        calendar = load_calendar(session)
        for name, grouping in runs.items():
            samples, cpu = [], []
            for attempt in range(repeat + 1):
                started, cpu_started = time.perf_counter(), time.process_time()
                report = compute_rates(session, year_period(year), now=now, calendar=calendar,
                                       grouping=grouping)
                elapsed = time.perf_counter() - started
                if attempt:  # the first run warms the database's and the calendar's caches
                    samples.append(elapsed)
                    cpu.append(time.process_time() - cpu_started)
            # CPU time of this process: on SQLite it includes the database's own work, so on a
            # shared machine it shows what the wall time would be without the neighbours.
            timings[name] = {"median_s": round(statistics.median(samples), 3),
                             "p95_s": _p95(samples),
                             "max_s": round(max(samples), 3),
                             "median_cpu_s": round(statistics.median(cpu), 3),
                             "rows": len(report.rows)}
            totals = report.to_json()["total"]
    engine.dispose()
    return timings, totals


def _time_page(url: str, tmp: Path, year: int, repeat: int) -> dict:
    """Time GET /reports?preset=year in-process: the whole page a supervisor opens."""
    from sqlalchemy import select

    from dashboard.app import create_app
    from intake.store.models import User
    from intake.store.settings import load_settings
    from web.services import EXTENSION_KEY

    env = dict(os.environ, DATABASE_URL=url, DUTYLINE_INSTANCE=str(tmp / "instance"),
               SECRET_KEY="bench")
    app = create_app({"DUTYLINE_SETTINGS": load_settings(env), "TESTING": True})
    with app.extensions[EXTENSION_KEY].session_factory() as session:
        user_id, generation = session.execute(
            select(User.id, User.session_generation).where(User.username == "bench")).one()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["user_id"] = user_id
        cookie["generation"] = generation  # what a real sign-in stores (dashboard/auth.py)
    samples, cpu = [], []
    for attempt in range(repeat + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get("/reports", query_string={"preset": "year", "value": str(year)})
        if response.status_code != 200:
            raise click.ClickException(f"/reports answered {response.status_code}")
        if attempt:
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return {"median_s": round(statistics.median(samples), 3), "p95_s": _p95(samples),
            "max_s": round(max(samples), 3),
            "median_cpu_s": round(statistics.median(cpu), 3),
            "rows": response.get_data(as_text=True).count("<tr data-unit=")}


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)], 3)
