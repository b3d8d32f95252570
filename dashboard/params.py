"""Numbers read from URLs and query strings, bounded to what the database can hold.

A path or query number beyond a 32-bit INTEGER column used to reach the database and come
back as a 500 (SQLite: "Python int too large"; PostgreSQL: "integer out of range"). Ids
are matched by a bounded URL converter, so a too-large id is simply a page that does not
exist (404); a too-large page number is a bad request (400).
"""
from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_DATABASE_ID = 2**31 - 1  # INTEGER on PostgreSQL and the largest id SQLite hands out here
MAX_PAGE = 100_000


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` limited to 1..MAX_DATABASE_ID, so no other number reaches a query."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_DATABASE_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def page_number(name: str = "page") -> int:
    """Return the 1-based page number of the query string; 400 when it is absurd."""
    raw = request.args.get(name, "")
    if raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        abort(400)
    return int(raw)
