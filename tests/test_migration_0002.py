"""Revision 0002_case_history turns a 0001 case's unit/deadline/redo/supervised columns into rows."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import text

from intake.store.database import make_engine, upgrade_database

TRANSFERRED_AT = datetime(2026, 9, 29, 2, 0, tzinfo=timezone.utc)
DUE = datetime(2026, 10, 9, 9, 30, tzinfo=timezone.utc)
FILED = datetime(2026, 10, 8, 3, 0, tzinfo=timezone.utc)


@contextmanager
def _empty_database(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    name = f"dutyline_migrate_{secrets.token_hex(4)}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _ts(engine, moment: datetime):
    # 0001 stores naive UTC on SQLite and aware timestamps on PostgreSQL.
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def _seed_0001(engine) -> None:
    with engine.begin() as conn:
        t = lambda m: _ts(engine, m)  # noqa: E731
        conn.execute(text("INSERT INTO units (id, name, kind, phone, active) "
                          "VALUES (1, '城关镇卫生院', 'township', '+8657188880001', true)"))
        conn.execute(text("INSERT INTO leaders (id, name, title, phone, email, on_duty, active) "
                          "VALUES (1, '王建国', '', '+8613900000001', '', false, true)"))
        case_columns = ("number, caller_name, caller_unit, caller_phone, leader_id, category, "
                        "urgent, summary, status, route_reason, deadline_reason, supervised, "
                        "redo_count, criticism_flagged, handling_note, feedback_note, created_at")
        conn.execute(text(
            f"INSERT INTO cases (id, unit_id, deadline_at, {case_columns}) VALUES "
            "(1, 1, :due, '2026-000001', '张伟', '', '', 1, '', false, '药店没有药', "
            "'result_filed', '', '需要现场核实', false, 2, false, '', '', :created)"),
            {"due": t(DUE), "created": t(TRANSFERRED_AT)})
        conn.execute(text(
            f"INSERT INTO cases (id, unit_id, deadline_at, {case_columns}) VALUES "
            "(2, NULL, NULL, '2026-000002', '刘芳', '', '', 1, '', false, '', "
            "'bureau_meeting', '', '', true, 0, false, '', '', :created)"),
            {"created": t(TRANSFERRED_AT)})
        conn.execute(text(
            "INSERT INTO unit_results (case_id, unit_id, facts_true, causes, measures, "
            "liaison_opinion, signed_by, sealed, submitted_at, verdict, verdict_reason) VALUES "
            "(1, 1, 'true', '配送延误', '已补货', '满意', '李院长', true, :filed, NULL, '')"),
            {"filed": t(FILED)})
        conn.execute(text(
            "INSERT INTO audit_events (at, actor, action, entity_type, entity_id) "
            "VALUES (:at, 'user:wang', 'case.transferred', 'cases', 1)"),
            {"at": t(TRANSFERRED_AT)})


def test_a_transferred_case_with_a_result_becomes_rows(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url, "0001")
        engine = make_engine(url)
        try:
            _seed_0001(engine)
            upgrade_database(url, "0002_case_history")
            with engine.connect() as conn:
                rows = lambda sql: [tuple(r) for r in conn.execute(text(sql))]  # noqa: E731
                [assignment] = rows("SELECT id, case_id, unit_id, assigned_by, returns, "
                                    "due_at, result_at FROM case_assignments")
                assert assignment[1:5] == (1, 1, "user:wang", 2)
                assert _aware(assignment[5]) == DUE and _aware(assignment[6]) == FILED
                assert rows("SELECT case_id, assignment_id FROM unit_results") == [
                    (1, assignment[0])]
                [change] = rows("SELECT case_id, kind, reason, new_deadline FROM deadline_changes")
                assert change[:3] == (1, "extension", "需要现场核实")
                assert _aware(change[3]) == DUE
                assert rows("SELECT case_id, cause, closed_at FROM supervision_entries") == [
                    (2, "escalation_bureau", None)]
                assert rows("SELECT id, channel FROM cases ORDER BY id") == [
                    (1, "voicemail"), (2, "voicemail")]
        finally:
            engine.dispose()
        upgrade_database(url)  # today's models describe the head, not 0002
        _check_models_read_it(url)


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _check_models_read_it(url) -> None:
    from intake.store.database import make_session_factory
    from intake.store.models import Case

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            transferred, escalated = session.get(Case, 1), session.get(Case, 2)
            assert transferred.unit.name == "城关镇卫生院" and transferred.redo_count == 2
            assert transferred.deadline_reason == "需要现场核实" and not transferred.supervised
            assert escalated.supervised and escalated.unit is None
    finally:
        engine.dispose()
