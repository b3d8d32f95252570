"""The rates report, the bulletin and the weekly analysis from the command line, and their bench.

    dutyline report rates --from DATE --to DATE [--group unit|kind] [--unit NAME]
                          [--format json|csv|xlsx] [--out FILE] [--now ISO]
    dutyline report bulletin --from DATE --to DATE [--format docx|pdf] --out FILE [--now ISO]
    dutyline report weekly [--week DATE] [--json]
    dutyline report year --year YYYY [--format json|docx|pdf] [--output FILE] [--now ISO]
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
# Documents take seconds, not milliseconds: fewer samples than the rates.
DOCUMENT_REPEAT = 2


def register(main: click.Group) -> None:
    report = main.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports; each takes --json.")
        main.add_command(report)
    report.add_command(report_rates)
    report.add_command(report_bulletin)
    report.add_command(report_weekly)
    report.add_command(report_year)
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
@click.option("--format", "fmt", default=None, type=click.Choice(["docx", "pdf"]),
              help="Default: from the --out file's extension, else docx.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .docx or .pdf file to write.")
@click.option("--now", "now", default=None)
def report_bulletin(start, end, fmt, out, now) -> None:
    """Write the period's supervision bulletin (通报) as a printable DOCX or PDF (not kept)."""
    from intake.reports.bulletin import (compose_bulletin, render_bulletin_docx,
                                         render_bulletin_pdf)
    from intake.time.calendar import load_calendar
    from intake.reports.rates import parse_period

    fmt = fmt or ("pdf" if out.suffix.lower() == ".pdf" else "docx")
    try:
        period = parse_period(start, end)
    except ValidationError as exc:
        raise _bad(exc) from exc
    runtime = get_runtime()
    render = render_bulletin_pdf if fmt == "pdf" else render_bulletin_docx
    with session_scope(runtime.session_factory) as session:
        bulletin = compose_bulletin(session, period, now=_now(now),
                                    calendar=load_calendar(session), tz=runtime.settings.timezone)
        out.write_bytes(render(bulletin, runtime.settings.timezone))
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


@click.command("year")
@click.option("--year", "year_text", required=True, help="The calendar year, YYYY.")
@click.option("--format", "fmt", default="json", type=click.Choice(["json", "docx", "pdf"]),
              show_default=True)
@click.option("--output", "--out", "out", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (required for docx and pdf; json goes to stdout).")
@click.option("--now", "now", default=None, help="Count as of this moment (ISO, with offset).")
def report_year(year_text, fmt, out, now) -> None:
    """Write the year's summary (年度工作总结): rates per unit and member, duties, praise, censures."""
    from intake.reports.year import (compose_year_summary, parse_year, render_year_docx,
                                     render_year_pdf)
    from intake.time.calendar import load_calendar

    try:
        year = parse_year(year_text)
    except ValidationError as exc:
        raise _bad(exc, "--year") from exc
    if fmt != "json" and out is None:
        raise click.UsageError(f"--format {fmt} needs --output FILE")
    runtime = get_runtime()
    tz = runtime.settings.timezone
    with session_scope(runtime.session_factory) as session:
        summary = compose_year_summary(session, year, now=_now(now),
                                       calendar=load_calendar(session), tz=tz)
        if fmt == "json":
            content = (json.dumps(summary.to_json(tz), ensure_ascii=False, indent=2)
                       + "\n").encode()
        else:
            content = (render_year_pdf if fmt == "pdf" else render_year_docx)(summary, tz)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    out.write_bytes(content)
    click.echo(f"wrote {out}", err=True)


# ---------------------------------------------------------------- bench
@click.command("reports")
@click.option("--cases", "n_cases", default=50_000, show_default=True)
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--repeat", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_reports(n_cases: int, database_url: str | None, repeat: int, as_json: bool) -> None:
    """Seed a year of --cases cases; time the rates, a monthly bulletin and the year's summary."""
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        with scratch_database(database_url, Path(tmp), "dutyline_bench_reports") as url:
            seed_started = time.perf_counter()
            year = _seed_cases(url, n_cases)
            seed_seconds = time.perf_counter() - seed_started
            timings, totals = _time_reports(url, year, repeat)
            timings["page_year"] = _time_page(url, Path(tmp), year, repeat)
            timings.update(_time_documents(url, year, max(1, min(repeat, DOCUMENT_REPEAT))))
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
               "and the 12-month trend; no target)")
    click.echo("  (bulletin_month: December's bulletin as the sweep keeps it, gathered and "
               "rendered as DOCX and PDF, rows = its overdue cases; year_summary: the year's "
               "summary, DOCX and PDF, rows = members; no target)")
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
    from intake.store.case_facts import rebuild_all_facts
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
        rebuild_all_facts(conn)
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


def _time_documents(url: str, year: int, repeat: int) -> dict:
    """Time the monthly bulletin and the year's summary, each gathered and rendered both ways."""
    from intake.reports.bulletin import build_bulletin_document, compose_bulletin
    from intake.reports.documents import render_docx, render_pdf
    from intake.reports.rates import month_period
    from intake.reports.year import build_year_document, compose_year_summary
    from intake.store.database import make_engine, make_session_factory
    from intake.time.calendar import load_calendar

    engine = make_engine(url)
    now = datetime(year + 1, 1, 4, 1, 0, tzinfo=timezone.utc)  # the first working day after

    def bulletin(session, calendar):
        gathered = compose_bulletin(session, month_period(year, 12), now=now, calendar=calendar)
        document = build_bulletin_document(gathered)
        return len(gathered.overdue), len(render_docx(document)) + len(render_pdf(document))

    def summary(session, calendar):
        gathered = compose_year_summary(session, year, now=now, calendar=calendar)
        document = build_year_document(gathered)
        return len(gathered.members), len(render_docx(document)) + len(render_pdf(document))

    timings = {}
    with session_scope(make_session_factory(engine)) as session:
        calendar = load_calendar(session)
        for name, build in (("bulletin_month", bulletin), ("year_summary", summary)):
            samples, cpu = [], []
            for attempt in range(repeat + 1):
                started, cpu_started = time.perf_counter(), time.process_time()
                rows, size = build(session, calendar)
                if attempt:  # the first run loads the font and warms the caches
                    samples.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
            timings[name] = {"median_s": round(statistics.median(samples), 3),
                             "p95_s": _p95(samples), "max_s": round(max(samples), 3),
                             "median_cpu_s": round(statistics.median(cpu), 3),
                             "rows": rows, "bytes": size}
    engine.dispose()
    return timings


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
