"""How commands print: `--json` output is one indented JSON document, Chinese left readable."""
from __future__ import annotations

import json

import click


def echo_json(payload) -> None:
    """Print `payload` as JSON; dates and other non-JSON values as their str()."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
