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
