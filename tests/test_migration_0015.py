"""Revision 0015_bulletins: a populated database gains an empty archive, keeps every row, and
the revision downgrades (dropping only the archive)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, inspect, select

from intake.reports.archive import keep_bulletin
from intake.reports.rates import month_period
from intake.statuses import BulletinPeriod
from intake.store.audit import Actor
from intake.store.database import make_engine, make_session_factory, upgrade_database
from intake.directory.demo import seed_demo
from intake.store.models import KeptBulletin, Unit, User
from intake.time.calendar import BureauCalendar
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade

BUILT = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


def test_a_populated_database_gains_an_empty_archive_and_loses_nothing(tmp_path):
    with _empty_database(tmp_path) as url:
        # Seeded through the head's models, then taken back to the revision before 0015.
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                seed_demo(session)
                session.commit()
                before = (session.scalar(select(func.count(User.id))),
                          session.scalar(select(func.count(Unit.id))))
            _downgrade(url, "0014_leader_reports")
            engine.dispose()
            assert "bulletins" not in inspect(engine).get_table_names()
            upgrade_database(url, "0015_bulletins")
            engine.dispose()
            assert "bulletins" in inspect(engine).get_table_names()
            upgrade_database(url)  # the kept bulletin reads the facts of a later revision
            with make_session_factory(engine)() as session:
                assert (session.scalar(select(func.count(User.id))),
                        session.scalar(select(func.count(Unit.id)))) == before
                assert session.scalar(select(func.count(KeptBulletin.id))) == 0
                kept = keep_bulletin(session, BulletinPeriod.MONTH, month_period(2026, 11),
                                     seen_version=0, now=BUILT, calendar=BureauCalendar(),
                                     actor=Actor("system:sweep"))
                session.commit()
                assert kept.version == 1 and kept.pdf.startswith(b"%PDF")
            _downgrade(url, "0014_leader_reports")
            engine.dispose()
            assert "bulletins" not in inspect(engine).get_table_names()
            with make_session_factory(engine)() as session:
                assert session.scalar(select(func.count(User.id))) == before[0]
            upgrade_database(url)
        finally:
            engine.dispose()
