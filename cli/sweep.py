"""`dutyline sweep`: run once what the scheduler runs on its own; `dutyline bench sweep`.

The benchmark seeds a fresh database (SQLite, or a scratch PostgreSQL database) with open
cases whose deadlines spread from a week ago to two months ahead, about one in twenty
overdue, and times the sweep: the question alone, the first sweep (which opens the overdue
entries and queues the day's reminders) and a second one at the same moment (nothing to do).
Target: each at most 2 s at 50,000 open cases.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from cli.output import add_bench_command, echo_json
from intake.store.database import scratch_database, session_scope
from intake.store.runtime import get_runtime

TARGET_SECONDS = 2.0
CHUNK = 5000


def parse_moment(text: str | None, tz: str) -> datetime | None:
    """Read --now: ISO 8601; without an offset it is the bureau's local time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time like 2026-10-08T09:00+08:00",
                                 param_hint="--now") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.astimezone(timezone.utc)


@click.command("sweep")
@click.option("--now", "now_text", default=None,
              help="Sweep as of this moment (ISO 8601; local time without an offset).")
@click.option("--dry-run", is_flag=True,
              help="Only list what is due and the censures it would propose; change nothing.")
@click.option("--json", "as_json", is_flag=True)
def sweep_command(now_text: str | None, dry_run: bool, as_json: bool) -> None:
    """Run, once, what the scheduler runs: overdue cases, reminders, contact duties, bulletins."""
    from jobs.queue import connect_redis
    from jobs.schedule import sweep_context, sweep_once

    runtime = get_runtime()
    settings = runtime.settings
    now = parse_moment(now_text, settings.timezone)
    if dry_run:
        from intake.clock import Clock
        from intake.time.calendar import load_calendar
        from intake.sweep import due_work, list_due_proposals

        with session_scope(runtime.session_factory) as session:
            moment = now or Clock(settings.timezone).now()
            due = due_work(session, moment, load_calendar(session), sweep_context(settings))
            # Then the censures that work would propose (criticism ground 3, accountability
            # grounds 1 and 4), so that a dry run shows everything the sweep would write.
            work = [item.to_json() for item in
                    (*due, *list_due_proposals(session, due, moment))]
            session.rollback()
        if as_json:
            echo_json(work)
        else:
            for item in work:
                click.echo(" ".join(f"{k}={v}" for k, v in item.items()
                                    if k != "facts" and v is not None))
        return
    report = sweep_once(connect_redis(settings.effective_redis_url), runtime.session_factory,
                        settings, now=now)
    if report is None:
        raise click.ClickException("another sweep is running; try again in a moment")
    if as_json:
        echo_json(report.to_json())
        return
    click.echo(f"swept as of {report.now.isoformat()}: {len(report.overdue_opened)} case(s) "
               f"newly overdue, {sum(report.reminders.values())} reminder(s) "
               + (", ".join(f"{k} {v}" for k, v in sorted(report.reminders.items())) or ""))


@click.command("sweep")
@click.option("--cases", "n_cases", default=50_000, show_default=True)
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--json", "as_json", is_flag=True)
def bench_sweep(n_cases: int, database_url: str | None, as_json: bool) -> None:
    """Seed --cases open cases and time the sweep (target: 2 s each)."""
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        with scratch_database(database_url, Path(tmp), "dutyline_bench") as url:
            started = time.perf_counter()
            now = _seed(url, n_cases)
            seed_seconds = time.perf_counter() - started
            figures = _measure(url, now)
            backend = url.split(":", 1)[0].split("+", 1)[0]
    report = {"cases": n_cases, "backend": backend, "seed_seconds": round(seed_seconds, 1),
              "load_average": os.getloadavg()[0], "cpus": os.cpu_count(),
              "now": now.isoformat(), "target_seconds": TARGET_SECONDS, **figures,
              "meets_target": all(figures[k] <= TARGET_SECONDS
                                  for k in ("question_seconds", "first_sweep_seconds",
                                            "second_sweep_seconds"))}
    if as_json:
        echo_json(report)
        return
    click.echo(f"{n_cases} open cases on {backend} (seeded in {report['seed_seconds']} s), "
               f"swept as of {report['now']}; load average {report['load_average']:.1f} "
               f"on {report['cpus']} CPUs")
    click.echo(f"  question (due_work)   {figures['question_seconds']:.3f} s   "
               f"{figures['due_items']} item(s)")
    click.echo(f"  first sweep           {figures['first_sweep_seconds']:.3f} s   "
               f"{figures['overdue_opened']} overdue entries, {figures['reminders']} reminders")
    click.echo(f"  second sweep          {figures['second_sweep_seconds']:.3f} s   "
               f"{figures['second_changes']} change(s)")
    click.echo("meets the 2 s target" if report["meets_target"] else "MISSES the 2 s target")
    if not report["meets_target"]:
        sys.exit(1)


def _seed(url: str, n_cases: int) -> datetime:
    from sqlalchemy import insert, select, text

    from intake.store.audit import Actor
    from intake.store.database import make_engine, make_session_factory
    from intake.store.case_facts import rebuild_all_facts
    from intake.directory.roster import add_leader, add_unit, create_user
    from intake.store.models import Case, CaseAssignment, utcnow
    from intake.statuses import CaseStatus, Role, UnitKind

    rng = random.Random(10)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed = Actor("bench")
    tz = ZoneInfo("Asia/Shanghai")
    # Thursday 8 October 2026, 16:30: units, leaders and the digest all have work.
    now = datetime(2026, 10, 8, 16, 30, tzinfo=tz).astimezone(timezone.utc)
    with session_scope(factory) as session:
        units = [add_unit(session, f"卫生院{i:02d}", UnitKind.TOWNSHIP, seed,
                          phone=f"+86571888{i:05d}") for i in range(30)]
        leaders = [add_leader(session, f"领导{i:02d}", f"+86139{i:08d}", seed)
                   for i in range(20)]
        create_user(session, username="sup", role=Role.SUPERVISOR, name="督办员",
                    password="bench-password", actor=seed, phone="+8613900099999")
        session.flush()
        unit_ids, leader_ids = [u.id for u in units], [leader.id for leader in leaders]
    with session_scope(factory) as session:
        for start in range(0, n_cases, CHUNK):
            rows, assignments = [], []
            for n in range(start, min(n_cases, start + CHUNK)):
                transferred = rng.random() < 0.7
                # One case in twenty is past its deadline; the rest are due within 60 days.
                days = -rng.uniform(0, 7) if rng.random() < 0.05 else rng.uniform(0, 60)
                rows.append({"number": f"2026-{n + 1:06d}", "caller_name": f"联络员{n % 500}",
                             "summary": "药店没有降压药", "leader_id": rng.choice(leader_ids),
                             "status": (CaseStatus.TRANSFERRED if transferred
                                        else CaseStatus.HANDLING).value,
                             "deadline_at": now + timedelta(days=days),
                             "created_at": now - timedelta(days=3), "routed_at": now})
                if transferred:
                    assignments.append(n)
            session.execute(insert(Case), rows)
            ids = dict(session.execute(select(Case.number, Case.id).where(
                Case.number.in_([r["number"] for r in rows]))).all())
            session.execute(insert(CaseAssignment), [
                {"case_id": ids[f"2026-{n + 1:06d}"], "unit_id": rng.choice(unit_ids),
                 "assigned_at": utcnow(), "assigned_by": "bench", "returns": 0}
                for n in assignments])
        # Bulk statements pass the flush hook that keeps the rates' facts: build them here.
        rebuild_all_facts(session.connection())
    if engine.dialect.name == "postgresql":
        # Autovacuum would analyse the new rows within a minute; do it now, as it would.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    return now


def _measure(url: str, now: datetime) -> dict:
    from intake.store.database import make_engine, make_session_factory
    from intake.time.calendar import load_calendar
    from intake.sweep import SweepContext, apply_work, due_work

    engine = make_engine(url)
    factory = make_session_factory(engine)
    context = SweepContext("https://dutyline.example", "zh-CN", "Asia/Shanghai", 10)
    with session_scope(factory) as session:
        started = time.perf_counter()
        work = due_work(session, now, load_calendar(session), context)
        question = time.perf_counter() - started
        session.rollback()
    timings, reports = [], []
    for _ in range(2):
        with session_scope(factory) as session:
            started = time.perf_counter()
            calendar = load_calendar(session)
            report = apply_work(session, due_work(session, now, calendar, context), now, context)
            session.commit()
            timings.append(time.perf_counter() - started)
            reports.append(report)
    engine.dispose()
    first, second = reports
    return {"question_seconds": round(question, 3), "due_items": len(work),
            "first_sweep_seconds": round(timings[0], 3),
            "overdue_opened": len(first.overdue_opened),
            "reminders": sum(first.reminders.values()),
            "second_sweep_seconds": round(timings[1], 3),
            "second_changes": len(second.overdue_opened) + sum(second.reminders.values())}


def register(main: click.Group) -> None:
    main.add_command(sweep_command)
    add_bench_command(main, bench_sweep)
