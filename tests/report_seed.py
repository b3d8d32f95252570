"""A seeded set of cases whose every numerator and denominator is known (tests/test_reports.py).

November 2026, no holidays in it; the report is made on 10 December. Times are Shanghai's.

| case | received | status now   | rating     | answered (deadline) | units: due, result        |
|------|----------|--------------|------------|---------------------|---------------------------|
| c1   | 11-02    | closed       | satisfied  | 11-04 (11-05)       | —                         |
| c2   | 11-03    | fed_back     | —          | 11-03 (11-03)       | 城关 11-06, 11-05          |
| c3   | 11-05    | answered     | —          | 11-12 (11-10)       | 县医院 11-10, 11-11         |
| c4   | 11-10    | handling     | dissatisfied | —                 | —                         |
| c5   | 11-20    | transferred  | —          | —                   | 城关 12-20, none            |
| c6   | 11-21    | transferred  | —          | —                   | 县医院 11-25, none            |
| c7   | 11-25    | closed       | basically  | 12-01 (12-01)       | 县医院 11-28 (relieved 11-26), then 城关 12-01, 11-30 |
| c8   | 11-01 00:30 | routed    | —          | —                   | — (10-31 in UTC)          |
| c9   | 12-01 00:30 | routed    | —          | —                   | — (outside: 11-30 in UTC) |
| c10  | 11-12    | transferred  | —          | —                   | 城关 redo due 11-20; old result 11-14 |
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from intake.store.audit import Actor
from intake.directory.roster import add_unit
from intake.store.models import Case, CaseAssignment, Leader, Unit
from intake.statuses import CaseStatus, Satisfaction, UnitKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)


def local(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


def seed_report_cases(session) -> dict:
    """Create the table's cases in the demo directory plus an idle unit; return them by name."""
    units = {u.name: u for u in session.query(Unit)}
    units["南山乡卫生院"] = add_unit(session, "南山乡卫生院", UnitKind.TOWNSHIP, Actor("test"))
    leader = session.query(Leader).order_by(Leader.id).first()
    cg, xr = units["城关镇卫生院"], units["县人民医院"]
    cases = {}

    def make(name, received, status, *, rating=None, answered=None, deadline=None):
        case = Case(number=f"2026-{len(cases) + 1:06d}", caller_name="张伟", leader=leader,
                    status=status, satisfaction=rating, created_at=received,
                    routed_at=received, answered_at=answered, deadline_at=deadline,
                    summary=f"{name} 药店没有降压药", category="药品供应")
        session.add(case)
        cases[name] = case
        return case

    def assign(case, unit, assigned, due, result=None):
        session.add(CaseAssignment(case=case, unit=unit, unit_id=unit.id, assigned_at=assigned,
                                   due_at=due, result_at=result))
        session.flush()

    S = CaseStatus
    make("c1", local(11, 2), S.CLOSED, rating=Satisfaction.SATISFIED,
         answered=local(11, 4), deadline=local(11, 5, 17, 30))
    c2 = make("c2", local(11, 3, 9), S.FED_BACK, answered=local(11, 3, 15),
              deadline=local(11, 3, 17, 30))
    c3 = make("c3", local(11, 5), S.ANSWERED, answered=local(11, 12),
              deadline=local(11, 10, 17, 30))
    make("c4", local(11, 10), S.HANDLING, rating=Satisfaction.DISSATISFIED,
         deadline=local(11, 10, 17, 30))
    c5 = make("c5", local(11, 20), S.TRANSFERRED, deadline=local(12, 20, 17, 30))
    c6 = make("c6", local(11, 21), S.TRANSFERRED, deadline=local(11, 25, 17, 30))
    c7 = make("c7", local(11, 25), S.CLOSED, rating=Satisfaction.BASICALLY_SATISFIED,
              answered=local(12, 1, 9), deadline=local(12, 1, 17, 30))
    make("c8", datetime(2026, 10, 31, 16, 30, tzinfo=timezone.utc), S.ROUTED)
    make("c9", datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc), S.ROUTED)
    c10 = make("c10", local(11, 12), S.TRANSFERRED, deadline=local(11, 20, 17, 30))
    session.flush()
    assign(c2, cg, local(11, 3, 10), local(11, 6, 17, 30), local(11, 5))
    assign(c3, xr, local(11, 5, 11), local(11, 10, 17, 30), local(11, 11))
    assign(c5, cg, local(11, 20, 11), local(12, 20, 17, 30))
    assign(c6, xr, local(11, 21, 11), local(11, 25, 17, 30))
    assign(c7, xr, local(11, 25, 11), local(11, 28, 17, 30))
    assign(c7, cg, local(11, 26, 11), local(12, 1, 17, 30), local(11, 30))
    assign(c10, cg, local(11, 12, 11), local(11, 20, 17, 30), local(11, 14))
    session.commit()
    return {"cases": cases, "units": units}

