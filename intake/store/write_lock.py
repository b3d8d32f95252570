"""One SQLite writer at a time, waiting in the kernel instead of in SQLite's busy handler.

SQLite lets one connection write at a time. A second writer that finds the database locked
sleeps in SQLite's busy handler (1, 2, 5, 10, ... 100 ms between tries), so under a burst of
short transactions most of its wait is sleep after the lock was already free: that was the
tail of the ring webhook's latency. `write_transaction` first takes a threading lock (the
threads of this process), then an flock on a file beside the database (the other
processes); both wake the next waiter the moment the holder lets go. Only then does it
BEGIN IMMEDIATE, which no other hotline writer can be holding. Other writers (the worker,
the dashboard) keep SQLite's own locking; they are rare next to rings.

On PostgreSQL there is nothing to serialise: `write_transaction` just commits.

`durable=False` lets one transaction commit without waiting for the disk; the ring webhook
uses it because its row is re-created by the recording callbacks if a crash loses it.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.orm import Session

LOCK_SUFFIX = "-writers.lock"


class _FileLock:
    """A threading lock plus an flock, for one database file."""

    def __init__(self, path: str):
        self.path = path
        self.thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def fd(self) -> int:
        # A descriptor inherited across fork() shares its flock with the parent: reopen.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.thread_lock:
            fd = self.fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


_locks: dict[str, _FileLock] = {}
_locks_guard = threading.Lock()


def _lock_for(database: str) -> _FileLock:
    path = os.path.abspath(database) + LOCK_SUFFIX
    with _locks_guard:
        return _locks.setdefault(path, _FileLock(path))


@contextmanager
def write_transaction(session: Session, *, durable: bool = True) -> Iterator[None]:
    """Run the block as one write transaction and commit it; on SQLite, one writer at a time.

    Reads made earlier in the session stay outside the lock; on error everything rolls back.

    Args:
        durable: False commits on PostgreSQL without waiting for the WAL flush
            (synchronous_commit=off, this transaction only): the commit is visible to
            everyone at once, but a database-server crash in the next moment may lose it.
            Only for rows that a later step re-creates when missing. SQLite commits the
            same way always (intake.store.database: synchronous=NORMAL in WAL mode).
    """
    bind = session.get_bind()
    database = bind.url.database if bind.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        try:
            if not durable and bind.dialect.name == "postgresql":
                session.connection().exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return
    with _lock_for(database).held():
        try:
            connection = session.connection()
            # Python's sqlite3 has not begun a transaction yet (earlier reads run without
            # one), so this BEGIN is the transaction the inserts and the commit belong to.
            if not connection.connection.dbapi_connection.in_transaction:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
