"""`dutyline bench import`: a directory import while cases are being entered.

    dutyline bench import [--rows 4000] [--database-url URL] [--writers 1] [--json]

On a fresh database (SQLite, or a scratch PostgreSQL database), a generated workbook of
--rows rows (one leader in five, one unit in twenty, the rest liaisons) is imported twice:
first as all new records, then with every leader's title and every liaison's address
changed. Meanwhile --writers other processes enter a case every 50 ms each, as the duty room
does through POST /api/v1/cases (intake.cases.handling.create_case, then commit). The command prints
each import's time and the case writes' p50, p99 and max while an import ran, beside the
same figures with no import running. Target: the writes' p99 during an import at most 1 s.
"""
from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

import click

from cli.output import add_bench_command, echo_json
from intake.store.database import scratch_database, session_scope

TARGET_P99_SECONDS = 1.0
WRITE_INTERVAL_SECONDS = 0.05
BASELINE_SECONDS = 1.5
DUTY_USERNAME = "bench-duty"
CALLER_PHONE = "+8613700000001"


def register(main: click.Group) -> None:
    add_bench_command(main, bench_import)


@click.command("import")
@click.option("--rows", "n_rows", default=4000, show_default=True,
              help="Rows in the generated directory workbook, over its three sheets.")
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--writers", default=1, show_default=True,
              help="Processes entering cases during the imports.")
@click.option("--json", "as_json", is_flag=True)
def bench_import(n_rows: int, database_url: str | None, writers: int, as_json: bool) -> None:
    """Import a --rows directory workbook while cases are entered; print the writes' p99."""
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        with scratch_database(database_url, Path(tmp), "dutyline_bench_import") as url:
            _seed(url)
            result = _measure(url, n_rows, writers)
            backend = url.split(":", 1)[0].split("+", 1)[0]
    report = {"rows": n_rows, "backend": backend, "writers": writers,
              "load_average": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
              "target_p99_seconds": TARGET_P99_SECONDS, **result}
    report["meets_target"] = all(run["writes"]["p99_s"] is not None
                                 and run["writes"]["p99_s"] <= TARGET_P99_SECONDS
                                 and not run["writes"]["failed"] for run in result["imports"])
    if as_json:
        echo_json(report)
    else:
        _print(report)
    if not report["meets_target"]:
        sys.exit(1)


def _print(report: dict) -> None:
    click.echo(f"directory import of {report['rows']} rows on {report['backend']}, "
               f"{report['writers']} process(es) entering a case every "
               f"{int(WRITE_INTERVAL_SECONDS * 1000)} ms; load average "
               f"{report['load_average']} on {report['cpus']} CPUs")
    base = report["baseline"]
    click.echo(f"  no import       case writes p50 {base['p50_s']:.3f} s  p99 {base['p99_s']:.3f} s"
               f"  max {base['max_s']:.3f} s  ({base['count']} writes)")
    for run in report["imports"]:
        writes = run["writes"]
        click.echo(f"  import ({run['kind']:<7}) {run['seconds']:.2f} s (check alone, dry run: "
                   f"{run['dry_run_seconds']:.2f} s); {run['summary']}")
        if writes["count"]:
            click.echo(f"    case writes during it: p50 {writes['p50_s']:.3f} s  "
                       f"p99 {writes['p99_s']:.3f} s  max {writes['max_s']:.3f} s  "
                       f"({writes['count']} writes, {writes['failed']} failed)")
        else:
            click.echo("    no case write overlapped the import")
    click.echo("meets the 1 s p99 target" if report["meets_target"]
               else "MISSES the 1 s p99 target")


def _seed(url: str) -> None:
    from intake.store.audit import Actor
    from intake.store.database import make_engine, make_session_factory
    from intake.directory.roster import add_leader, add_liaison, create_user
    from intake.statuses import Role

    engine = make_engine(url)
    seed = Actor("bench")
    with session_scope(make_session_factory(engine)) as session:
        leader = add_leader(session, "值班领导", "+8613700000099", seed)
        add_liaison(session, "来电联络员", CALLER_PHONE, leader, seed)
        create_user(session, username=DUTY_USERNAME, role=Role.DUTY, name="值班员",
                    password="bench-password", actor=seed)
    engine.dispose()


def build_workbook(n_rows: int, edition: int = 0) -> bytes:
    """Return a valid directory workbook of n_rows rows; another edition changes every title
    and address."""
    from openpyxl import Workbook

    from intake.directory.workbook import SHEETS

    n_leaders, n_units = max(1, n_rows // 5), max(1, n_rows // 20)
    n_liaisons = max(0, n_rows - n_leaders - n_units)
    book = Workbook(write_only=True)
    header = {name: [f"{label} {key}" for key, label in columns]
              for name, columns in SHEETS.items()}
    leaders = book.create_sheet("leaders")
    leaders.append(header["leaders"])
    for i in range(n_leaders):
        superior = f"+86139{(i // 10) * 10:08d}" if i % 10 else ""
        leaders.append([f"领导{i}", f"职务{edition}", f"+86139{i:08d}", f"l{i}@example.cn",
                        "否", "是" if i == 0 else "否", superior, "是"])
    liaisons = book.create_sheet("liaisons")
    liaisons.append(header["liaisons"])
    for i in range(n_liaisons):
        liaisons.append([f"联络员{i}", f"+86136{i:08d}", f"社区{i % 50}", f"地址{edition}-{i}",
                         f"+86139{i % n_leaders:08d}", "是"])
    units = book.create_sheet("units")
    units.append(header["units"])
    for i in range(n_units):
        units.append([f"卫生院{i}", "township" if i % 3 else "county", "", "是"])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _measure(url: str, n_rows: int, writers: int) -> dict:
    from intake.store.audit import Actor
    from intake.store.database import make_engine, make_session_factory
    from intake.directory.workbook import import_directory

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    results = context.Queue()
    ready = context.Barrier(writers + 1)
    processes = [context.Process(target=_enter_cases, args=(url, stop, ready, results),
                                 daemon=True) for _ in range(writers)]
    for process in processes:
        process.start()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = Actor("bench")
    runs = []
    try:
        ready.wait(timeout=120)
        baseline = (time.monotonic(), time.monotonic() + BASELINE_SECONDS)
        time.sleep(BASELINE_SECONDS)
        for edition, kind in enumerate(("create", "update")):
            data = build_workbook(n_rows, edition)
            with session_scope(factory) as session:
                started = time.perf_counter()
                import_directory(session, data, actor, dry_run=True)
                dry = time.perf_counter() - started
            time.sleep(0.3)
            with session_scope(factory) as session:
                began = time.monotonic()
                report = import_directory(session, data, actor)
                ended = time.monotonic()
            runs.append({"kind": kind, "window": (began, ended), "seconds": ended - began,
                         "dry_run_seconds": dry, "report": report.to_json()})
            time.sleep(0.5)
    finally:
        stop.set()
        samples = []
        for _ in processes:
            samples.extend(results.get(timeout=60))
        for process in processes:
            process.join(timeout=30)
        engine.dispose()
    imports = []
    for run in runs:
        began, ended = run["window"]
        # A write that was under way at any moment of the import.
        during = [(latency, failed) for start, latency, failed in samples
                  if start < ended and start + latency > began]
        report = run["report"]
        summary = ", ".join(f"{sheet} {report['created'][sheet]} new / "
                            f"{report['updated'][sheet]} changed" for sheet in report["created"])
        imports.append({"kind": run["kind"], "seconds": round(run["seconds"], 3),
                        "dry_run_seconds": round(run["dry_run_seconds"], 3),
                        "summary": summary, "writes": _stats(during)})
    start, end = baseline
    quiet = [(latency, failed) for began, latency, failed in samples
             if start <= began and began + latency <= end]
    return {"baseline": _stats(quiet), "imports": imports}


def _stats(writes: list[tuple[float, bool]]) -> dict:
    if not writes:
        return {"count": 0, "failed": 0, "p50_s": None, "p99_s": None, "max_s": None}
    # A failed write counts with the time it waited before giving up.
    ordered = sorted(latency for latency, _failed in writes)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"count": len(ordered), "failed": sum(failed for _latency, failed in writes),
            "p50_s": round(statistics.median(ordered), 4), "p99_s": round(p99, 4),
            "max_s": round(ordered[-1], 4)}


def _enter_cases(url: str, stop, ready, results) -> None:
    """Enter a case every WRITE_INTERVAL_SECONDS until told to stop; send back the latencies."""
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    from intake.cases.handling import CaseEntry, create_case
    from intake.clock import Clock
    from intake.store.database import make_engine, make_session_factory
    from intake.store.models import User
    from intake.outbox.notifications import SmsContext

    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = Clock()
    sms = SmsContext.for_site("https://dutyline.example")
    samples: list[tuple[float, float, bool]] = []  # (start, seconds, failed)
    try:
        with factory() as session:
            duty = session.scalar(select(User).where(User.username == DUTY_USERNAME))
            session.expunge(duty)
        ready.wait(timeout=120)
        while not stop.is_set():
            began = time.monotonic()
            failed = False
            with factory() as session:
                try:
                    create_case(session, duty, CaseEntry(
                        caller_name="", content="药店没有降压药", caller_phone=CALLER_PHONE),
                        clock, sms)
                    session.commit()
                except OperationalError:  # SQLite gave up waiting for the lock (30 s)
                    session.rollback()
                    failed = True
            samples.append((began, time.monotonic() - began, failed))
            time.sleep(max(0.0, WRITE_INTERVAL_SECONDS - (time.monotonic() - began)))
    finally:
        results.put(samples)
        engine.dispose()
