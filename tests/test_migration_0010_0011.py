"""Revisions 0010_extension_rules, 0011_criticism_register and 0014_leader_reports move the rows
already on file: upgraded from 0009 with cases, returns and a flagged unit in it.

The rows are written by the domain at head and the database is taken down to 0009, which
leaves them as 0009 kept them: every return in a row counted in `returns` (0010's downgrade
folds the dissatisfied redos back in), a flagged unit in `criticism_flagged_at` and no
register, no importance, no unknown marks. Then each upgrade is checked for what it makes of
them, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""
from __future__ import annotations

from sqlalchemy import inspect, select, text

from intake.clock import FixedClock
from intake.directory.demo import seed_demo
from intake.store.database import make_engine, make_session_factory, upgrade_database
from intake.store.models import Case, CaseAssignment, Censure, ResultAttachment
from intake.cases.transfers import file_result, return_result, transfer_case
from intake.statuses import CaseImportance
from tests.case_support import CALENDAR, SMS, TUESDAY, add_people, result_form, route_case
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade

CLOCK = FixedClock(TUESDAY, "Asia/Shanghai")


def _returned(session, people, case, unit: str, categories: list[str]) -> None:
    transfer_case(session, people["wang"], case, people["units"][unit].id, CLOCK, CALENDAR, SMS)
    for category in categories:
        file_result(session, people["cg" if unit == "城关镇卫生院" else "xr"], case, result_form(),
                    CLOCK, scan_required=False)
        return_result(session, people["sup"], case, category, "重办", CLOCK, CALENDAR, SMS)


def _seed(session) -> dict:
    seed_demo(session)
    session.commit()
    people = add_people(session)
    flagged = route_case(session, CLOCK)  # format, quality, quality: the third flags the unit
    _returned(session, people, flagged, "城关镇卫生院", ["format", "quality", "quality"])
    flagged.importance = CaseImportance.INSTRUCTION
    mixed = route_case(session, CLOCK)  # a dissatisfied redo, then a quality return
    _returned(session, people, mixed, "县人民医院", ["dissatisfied", "quality"])
    session.add(ResultAttachment(case=flagged, filename="盖章.pdf", content_type="application/pdf",
                                 size=10, sha256="0" * 64, stored_name="old-scan.pdf",
                                 uploaded_by="user:cg"))
    session.commit()
    return {"flagged": flagged.id, "mixed": mixed.id, "flagged_number": flagged.number}


def test_0010_0011_and_0014_migrate_the_rows_0009_kept(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                ids = _seed(session)
            _downgrade(url, "0009_case_version")
            with engine.connect() as conn:
                # As 0009 kept them: every return in a row, and the flag on the assignment.
                returns = dict(conn.execute(text(
                    "SELECT case_id, returns FROM case_assignments")).all())
                assert returns == {ids["flagged"]: 3, ids["mixed"]: 2}
                assert conn.execute(text(
                    "SELECT count(*) FROM case_assignments WHERE criticism_flagged_at IS NOT NULL"
                )).scalar_one() == 1
                assert "censures" not in inspect(conn).get_table_names()

            upgrade_database(url, "0010_extension_rules")
            with engine.connect() as conn:
                counted = {row.case_id: (row.returns, row.dissatisfied_redos) for row in
                           conn.execute(text("SELECT case_id, returns, dissatisfied_redos "
                                             "FROM case_assignments"))}
            # Recounted from the audit rows: the dissatisfied redo stands apart from the streak.
            assert counted == {ids["flagged"]: (3, 0), ids["mixed"]: (1, 1)}

            upgrade_database(url, "0011_criticism_register")
            with engine.connect() as conn:
                importance = set(conn.execute(text("SELECT importance FROM cases")).scalars())
                proposals = conn.execute(text(
                    "SELECT c.kind, c.ground, c.status, c.proposal_key, c.facts, u.name, l.case_id "
                    "FROM censures c JOIN units u ON u.id = c.unit_id "
                    "JOIN censure_cases l ON l.censure_id = c.id")).all()
                flagged_assignment = conn.execute(text(
                    "SELECT id FROM case_assignments WHERE case_id = :c"),
                    {"c": ids["flagged"]}).scalar_one()
            assert importance == {"normal"}  # every case on file before the register is normal
            assert [tuple(p) for p in proposals] == [(
                "criticism", "returned_three_times", "proposed",
                f"returned_three_times:assignment:{flagged_assignment}",
                f"案件 {ids['flagged_number']} 办理结果连续三次因格式或质量被退回",
                "城关镇卫生院", ids["flagged"])]

            upgrade_database(url)  # through 0012 and 0014 to the head
            with make_session_factory(engine)() as session:
                assert {case.id: case.unknown_fields for case in session.scalars(select(Case))} == {
                    ids["flagged"]: {}, ids["mixed"]: {}}
                (censure,) = session.scalars(select(Censure)).all()
                assert censure.version == 1 and censure.scans == []
                (scan,) = session.scalars(select(ResultAttachment)).all()
                assert scan.case_id == ids["flagged"] and scan.censure_id is None
                streaks = {a.case_id: (a.returns, a.dissatisfied_redos)
                           for a in session.scalars(select(CaseAssignment))}
                assert streaks == {ids["flagged"]: (3, 0), ids["mixed"]: (1, 1)}
        finally:
            engine.dispose()
