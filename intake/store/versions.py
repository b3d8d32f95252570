"""One compare-and-set for every row that carries a `version`: a case, a register entry, a
follow-up visit, a public notice. Of two people acting on one row at the same moment, the one
whose UPDATE … WHERE version = :seen matches wins; the other is told by Conflict."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from intake.exceptions import Conflict


def claim_version(session: Session, row, seen: int | None = None) -> None:
    """Bump the row's version if it is still `seen` (default: the one this request read).

    Core on the session's connection: no autoflush, so nothing of the action is written before
    the claim, and the bump is not left for a later flush to forget.

    Raises:
        Conflict: someone else changed the row since it was read.
    """
    table = type(row).__table__
    seen = row.version if seen is None else seen
    claimed = session.connection().execute(
        update(table).where(table.c.id == row.id, table.c.version == seen)
        .values(version=table.c.version + 1)).rowcount
    if claimed != 1:
        raise Conflict(type(row).__name__, row.id, seen)
    set_committed_value(row, "version", seen + 1)
