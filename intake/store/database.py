"""The one place that makes engines and sessions. Nothing here runs at import time."""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def make_engine(database_url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so web and worker can share it."""
    if database_url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(database_url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # SQLite's advice for WAL: sync at checkpoints, not on every commit. A commit
            # survives a crash of any process; only an OS crash or power cut can lose the
            # last few. FULL cost an fsync per ring (2-10 ms on a busy disk) for the
            # one-machine default; production's PostgreSQL keeps its own durability.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return create_engine(database_url, **kwargs)


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """Return a LIKE pattern matching `text` anywhere, with its own % and _ taken literally."""
    escaped = (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
               .replace("_", LIKE_ESCAPE + "_"))
    return f"%{escaped}%"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Make sessions; their writes to cached tables bump the change version
    (intake.store.change_tokens) and their writes to cases keep the cases' facts
    (intake.store.case_facts)."""
    from intake.store.case_facts import keep_case_facts
    from intake.store.change_tokens import track_changes

    factory = sessionmaker(bind=engine, expire_on_commit=False)
    track_changes(factory)
    keep_case_facts(factory)  # the rates' per-case facts, in the flush that changes a case
    return factory


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to date with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, revision)


@contextmanager
def scratch_database(server_url: str | None, sqlite_dir: Path, prefix: str) -> Iterator[str]:
    """Yield the URL of a new, migrated database, dropped afterwards (tests, benchmarks).

    With a PostgreSQL server URL a database named `<prefix>_<random>` is created beside the
    one named; without one, a SQLite file in `sqlite_dir` is used.
    """
    if not server_url:
        url = f"sqlite:///{sqlite_dir / f'{prefix}.sqlite3'}"
        upgrade_database(url)
        yield url
        return
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server_url.rsplit("/", 1)[0] + "/" + name
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
