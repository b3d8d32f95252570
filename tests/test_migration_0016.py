"""Revision 0016_notices_visits: a database with closed cases upgrades, keeps them as they were,
and takes a follow-up visit and a public notice on them; the revision downgrades."""
from __future__ import annotations

from sqlalchemy import inspect, select

from intake.cases.notices import NoticeDraft, write_notice
from intake.cases.visits import VisitPlan, schedule_visit
from intake.clock import Clock
from intake.directory.demo import seed_demo
from intake.statuses import CaseStatus
from intake.store.database import make_engine, make_session_factory, upgrade_database
from intake.store.models import Case
from tests.case_support import add_people
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade
from tests.test_visits import closed_directly

NEW_TABLES = {"follow_up_visits", "follow_up_visitors", "public_notices", "public_notice_cases",
              "notice_publications"}


def test_closed_cases_on_file_take_visits_and_notices_after_the_upgrade(tmp_path):
    clock = Clock("Asia/Shanghai")
    with _empty_database(tmp_path) as url:
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                seed_demo(session)
                session.commit()
                people = add_people(session)
                number = closed_directly(session, people, clock).number
            _downgrade(url, "0015_bulletins")
            assert not NEW_TABLES & set(inspect(engine).get_table_names())
            upgrade_database(url)
            assert NEW_TABLES <= set(inspect(engine).get_table_names())
            with make_session_factory(engine)() as session:
                case = session.scalar(select(Case).where(Case.number == number))
                assert case.status is CaseStatus.CLOSED and case.satisfaction.value == "satisfied"
                people = {u.username: u for u in session.scalars(select(type(people["sup"])))}
                visit = schedule_visit(session, people["sup"], case, VisitPlan(
                    clock.today(), "phone", [people["sup"].id]), clock)
                notice = write_notice(session, people["sup"], NoticeDraft(
                    "药店缺药问题", "群众反映药店缺药", "协调配送", "已恢复供应", [number]), clock)
                session.commit()
                assert visit.id and notice.cases == [case]
        finally:
            engine.dispose()
