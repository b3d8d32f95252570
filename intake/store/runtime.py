"""Settings and database handles for code that runs outside a web request (jobs, CLI).

Built lazily, once per process: a forked RQ work-horse must not reuse its parent's
database connections, so the cache is keyed by process id.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from intake.store.database import make_engine, make_session_factory
from intake.store.settings import Settings, load_settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]


_runtime: Runtime | None = None
_runtime_pid: int | None = None


def get_runtime() -> Runtime:
    """Return this process's settings, engine and session factory."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        settings = load_settings()
        engine = make_engine(settings.database_url)
        _runtime = Runtime(settings, engine, make_session_factory(engine))
        _runtime_pid = os.getpid()
    return _runtime


def reset_runtime() -> None:
    """Forget the cached runtime (tests change the environment between cases)."""
    global _runtime, _runtime_pid
    if _runtime is not None:
        _runtime.engine.dispose()
    _runtime, _runtime_pid = None, None
