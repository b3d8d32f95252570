"""A change token for the data that web processes keep in memory between requests.

A ring reads the directory (who is calling), the duty schedule and the uploaded prompts,
which change a few times a year. Each web process keeps them (`VersionedCache`) and, per
request, reads one short row instead: the token under VERSION_KEY in setting_values. Any
flush or bulk statement that touches a watched table writes a new random token in the same
transaction, so every process sees the change the moment it commits, whichever process or
command made it — the dashboard, `dutyline duty ...`, a directory import.

A module that adds data the hotline caches (a holiday calendar, say) calls `watch_tables`
with its table names; nothing else needs to remember to invalidate anything.
"""
from __future__ import annotations

import secrets
from itertools import chain
from typing import Callable, Generic, TypeVar

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from intake.store.models import SettingValue

VERSION_KEY = "cache.version"
WATCHED_TABLES: set[str] = {
    "liaisons", "leaders", "units", "duty_periods", "duty_exceptions", "setting_values",
    "calendar_entries",  # duty hours close on the calendar's holidays
}
_UPSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_TABLE = SettingValue.__table__
_READ_VERSION = select(_TABLE.c.value).where(_TABLE.c.key == VERSION_KEY)
_NEVER = object()

T = TypeVar("T")


def watch_tables(*names: str) -> None:
    """Make writes to these tables invalidate every process's cached copies."""
    WATCHED_TABLES.update(names)


def track_changes(factory: sessionmaker) -> None:
    """Bump the version whenever a session from `factory` writes a watched table."""
    event.listen(factory, "before_flush", _bump_on_flush)
    event.listen(factory, "do_orm_execute", _bump_on_statement)


def read_version(session: Session) -> str | None:
    """Return the current change token (None before the first watched write)."""
    # Core on the session's connection: this runs on every ring, and the ORM's execute
    # machinery costs more than the query.
    return session.connection().execute(_READ_VERSION).scalar()


def lock_version(session: Session) -> str | None:
    """Return the change token, and on PostgreSQL hold its row until the transaction ends.

    Every watched write rewrites that row, so none can commit between this read and the
    end of the transaction: a compare-and-set for work checked outside it (a directory
    import). SQLite needs no lock: its writers are serialised already.
    """
    return session.connection().execute(_READ_VERSION.with_for_update()).scalar()


def bump_version(session: Session) -> None:
    """Write a new change token in the session's transaction."""
    connection = session.connection()
    token = secrets.token_hex(8)
    upsert = _UPSERTS[connection.dialect.name](_TABLE).values(key=VERSION_KEY, value=token)
    # Core on the connection, not the session: it must not re-enter these ORM hooks.
    connection.execute(upsert.on_conflict_do_update(index_elements=[_TABLE.c.key],
                                                    set_={"value": token}))


def _bump_on_flush(session: Session, _context, _instances) -> None:
    for instance in chain(session.new, session.dirty, session.deleted):
        if getattr(type(instance), "__tablename__", None) in WATCHED_TABLES:
            bump_version(session)
            return


def _bump_on_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            bump_version(state.session)


class VersionedCache(Generic[T]):
    """One value loaded from the database, reused until the change token moves.

    Threads may race to reload; the worst case is one extra load, never a stale value kept
    under a newer token (the token is read before the value is loaded).
    """

    def __init__(self, load: Callable[[Session], T]):
        self._load = load
        self._entry: tuple[object, T | None] = (_NEVER, None)

    def get(self, session: Session) -> T:
        """Return the cached value, reloading it if a watched table changed since."""
        version = read_version(session)
        cached_version, value = self._entry
        if cached_version != version:
            value = self._load(session)
            self._entry = (version, value)
        return value
