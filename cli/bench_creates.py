"""`dutyline bench creates`: many clients entering cases at once through the API, for N seconds.

It starts the production web server (gunicorn serving `dashboard.app:create_app()`, the
helpers of `dutyline bench ivr`) over a fresh database with the demo directory, gives the
duty account a bearer token, and runs --clients threads that each `POST /api/v1/cases` in a
loop until --seconds have passed. It prints the requests, the errors (server errors apart),
p50/p99 latency, and whether the case numbers in the database run 1, 2, 3… with no gap and
no duplicate (issue 16 item 2; target: 20 clients for 60 s, 0 server errors, consecutive).
"""
from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import click

from cli.output import add_bench_command

from cli.embedded_redis import start_embedded_redis
from cli.bench_ivr import (DEFAULT_THREADS, DEFAULT_WORKERS, Server, _free_port,
                           _prepare_instance, summarise)

DEFAULT_CLIENTS = 20
DEFAULT_SECONDS = 60.0
REQUEST_TIMEOUT = 60  # a request slower than this counts as an error
BODY = {"caller_name": "张伟", "caller_phone": "+8613812345678", "channel": "phone",
        "content": "村卫生室没有降压药"}


def register(group: click.Group) -> None:
    add_bench_command(group, bench_creates_command)


def run_clients(base: str, token: str, clients: int, seconds: float) -> dict:
    """Create cases from `clients` threads for `seconds`; return latencies and answers."""
    import requests

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    deadline_box: list[float] = []

    def client() -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        http.get(f"{base}/healthz", timeout=REQUEST_TIMEOUT)  # open the connection first
        if barrier.wait() == 0:
            deadline_box.append(time.monotonic() + seconds)
        barrier.wait()
        deadline = deadline_box[0]
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = http.post(f"{base}/api/v1/cases", json=BODY,
                                   timeout=REQUEST_TIMEOUT).status_code
            except requests.RequestException:
                status = 0  # no answer at all
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT + 30)
    return {"latencies": latencies, "statuses": statuses, "wall": time.monotonic() - started}


def check_numbers(database_url: str) -> dict:
    """Return how many cases are stored and whether each year's numbers run 1..n."""
    from sqlalchemy import select

    from intake.store.database import make_engine, make_session_factory
    from intake.store.models import Case

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            numbers = list(session.scalars(select(Case.number)))
    finally:
        engine.dispose()
    by_year: dict[str, list[int]] = {}
    for number in numbers:
        year, value = number.split("-")
        by_year.setdefault(year, []).append(int(value))
    consecutive = all(sorted(values) == list(range(1, len(values) + 1))
                      for values in by_year.values())
    return {"stored": len(numbers), "consecutive": consecutive,
            "years": {year: len(values) for year, values in sorted(by_year.items())}}


def _issue_duty_token(database_url: str) -> str:
    from sqlalchemy import select

    from intake.store.audit import CLI
    from intake.store.database import make_engine, make_session_factory, session_scope
    from intake.store.models import User
    from intake.directory.tokens import issue_token

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            user = session.scalar(select(User).where(User.username == "duty"))
            _row, token = issue_token(session, user, CLI)
    finally:
        engine.dispose()
    return token


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def benchmark(clients: int, seconds: float, database_url: str | None = None,
              workers: int = DEFAULT_WORKERS, threads: int = DEFAULT_THREADS) -> dict:
    """Run the creators against a fresh server and database; return the figures."""
    from intake.store.database import scratch_database

    directory = Path(tempfile.mkdtemp(prefix="dutyline-bench-creates-"))
    try:
        with contextlib.ExitStack() as stack:
            url = None
            if database_url:
                # A scratch database beside the one named, dropped afterwards.
                url = stack.enter_context(
                    scratch_database(database_url, directory, "dutyline_bench_creates"))
            port = _free_port()
            env = _prepare_instance(directory, url, port)
            # Its own Redis, as `dutyline run` has: every create enqueues the leader's SMS.
            socket_path = directory / "redis.sock"
            redis_server = start_embedded_redis(directory, socket_path)
            stack.callback(_stop, redis_server)
            env["REDIS_URL"] = f"unix://{socket_path}"
            token = _issue_duty_token(env["DATABASE_URL"])
            base = f"http://127.0.0.1:{port}"
            with Server("dashboard.app:create_app()", env, port, workers, threads):
                run = run_clients(base, token, clients, seconds)
            numbers = check_numbers(env["DATABASE_URL"])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    statuses = run["statuses"]
    created = statuses.get(201, 0)
    errors = sum(count for status, count in statuses.items() if status != 201)
    server_errors = sum(count for status, count in statuses.items() if status >= 500 or status == 0)
    figures = summarise("dutyline", clients, run["latencies"], errors, run["wall"])
    return {
        "database": "postgresql" if database_url else "sqlite",
        "clients": clients, "seconds": seconds,
        "gunicorn": {"workers": workers, "threads": threads, "worker_class": "gthread"},
        "requests": figures.requests, "created": created, "errors": errors,
        "server_errors": server_errors,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "rps": figures.rps, "p50_ms": figures.p50_ms, "p99_ms": figures.p99_ms,
        "stored": numbers["stored"], "numbers_consecutive": numbers["consecutive"],
        "meets_target": bool(server_errors == 0 and numbers["consecutive"]
                             and numbers["stored"] == created),
    }


@click.command("creates")
@click.option("--clients", default=DEFAULT_CLIENTS, show_default=True)
@click.option("--seconds", default=DEFAULT_SECONDS, show_default=True, type=float)
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True)
@click.option("--threads", default=DEFAULT_THREADS, show_default=True)
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--json", "as_json", is_flag=True)
def bench_creates_command(clients: int, seconds: float, workers: int, threads: int,
                          database_url: str | None, as_json: bool) -> None:
    """Create cases from many clients at once over HTTP; check the numbers have no gap."""
    report = benchmark(clients, seconds, database_url, workers, threads)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"POST /api/v1/cases, {clients} clients for {seconds:g} s, gunicorn "
               f"{workers}x{threads} gthread, {report['database']}")
    click.echo(f"requests {report['requests']}  created {report['created']}  "
               f"errors {report['errors']} (server errors {report['server_errors']})  "
               f"{report['rps']:.1f} req/s  p50 {report['p50_ms']:.1f} ms  "
               f"p99 {report['p99_ms']:.1f} ms")
    click.echo(f"answers {report['statuses']}; {report['stored']} cases stored, numbers "
               + ("consecutive" if report["numbers_consecutive"] else "NOT consecutive"))
    click.echo("target met" if report["meets_target"] else
               "target NOT met (0 server errors, every created case stored, numbers consecutive)")
