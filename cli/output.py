"""How commands print: `--json` output is one indented JSON document, Chinese left readable."""
from __future__ import annotations

import json

import click


def echo_json(payload) -> None:
    """Print `payload` as JSON; dates and other non-JSON values as their str()."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


BENCH_HELP = "Benchmarks that print figures (--json for machines)."


def add_bench_command(main: click.Group, command: click.Command) -> None:
    """Add `command` under `dutyline bench`, creating the shared group if no module has yet."""
    bench = main.commands.get("bench")
    if not isinstance(bench, click.Group):
        bench = click.Group("bench", help=BENCH_HELP)
        main.add_command(bench)
    bench.add_command(command)


def database_size_mib(url: str) -> float:
    """Return the database's size on disk in MiB: the SQLite file with its WAL, or PostgreSQL's
    pg_database_size (tables, indexes, TOAST)."""
    from pathlib import Path

    from sqlalchemy import text

    from intake.store.database import make_engine

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        return round(size / 2**20, 1)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return round(conn.scalar(text("SELECT pg_database_size(current_database())")) / 2**20, 1)
    finally:
        engine.dispose()
