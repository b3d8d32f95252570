"""Revision 0008_reminders: an overdue entry already on file learns the deadline it was opened
for, urgent calls already on file count as taken on, and the revision downgrades."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.clock import FixedClock
from intake.store.database import (MIGRATIONS_DIR, make_engine, make_session_factory,
                                   upgrade_database)
from intake.directory.demo import seed_demo
from intake.store.models import Call, SupervisionEntry
from intake.cases.supervision import supervise_overdue_cases
from tests.dashboard_support import make_call
from tests.test_migration_0002 import _empty_database

ROUTED = datetime(2026, 9, 29, 2, 0, tzinfo=timezone.utc)


def _downgrade(url: str, revision: str) -> None:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.downgrade(config, revision)


def test_existing_overdue_entries_and_urgent_calls_survive_the_round_trip(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                seed_demo(session)
                session.commit()
                call = make_call(session)
                case, _ = confirm_and_route(
                    session, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                                   summary="药店没有降压药"),
                    Actor("user:duty"), lambda c: "x", "zh-CN", FixedClock(ROUTED))
                supervise_overdue_cases(session, FixedClock(ROUTED + timedelta(days=2)))
                urgent = make_call(session, from_number="+8613812340000")
                urgent.urgent = True
                session.commit()
                deadline, urgent_id = case.deadline_at, urgent.id
            _downgrade(url, "0005_directory_duties")
            upgrade_database(url, "0008_reminders")
            # The models are the head's: read what 0008 moved once the later revisions ran too.
            upgrade_database(url)
            with make_session_factory(engine)() as session:
                (entry,) = session.scalars(select(SupervisionEntry)).all()
                assert entry.cause.value == "overdue" and entry.deadline_at == deadline
                acknowledged = session.get(Call, urgent_id)
                assert acknowledged.urgent_acknowledged_by == "migration"
                assert acknowledged.urgent_acknowledged_at is not None
                assert session.get(Call, call.id).urgent_acknowledged_at is None
        finally:
            engine.dispose()
