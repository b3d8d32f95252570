"""Per-case facts the rates count, kept in the same transaction as the case action.

The rates report (intake.reports.rates) used to recount every case of the period from its
history on every view: window functions over the assignments, a subquery over the deadline
changes. It now sums `case_facts` (one row per case) and `case_unit_facts` (one row per case
and unit it was transferred to), found by the receipt index.

The facts are rewritten in one place: a session hook (`keep_case_facts`, installed by
make_session_factory) notes every case whose row, assignments or deadline changes a flush
wrote, and every case of a unit whose kind changed, and rewrites their facts in that flush.
No case action calls anything: an action added later gets its facts kept for free, as long
as it writes through the session (a bulk UPDATE on these tables would not be seen; there is
none). Writers that bypass the ORM (the benches' bulk seed, the migration) call
`rebuild_case_facts` themselves.

What a fact means is the definition in intake.reports.rates' docstring; the one figure that
depends on the moment of the report, whether a deadline with no result has passed, is kept
as the deadline (`current_due_at`, `due_at`) and compared with the report's `now` in SQL.

A decision's implementations (CaseAssignment rows with `decision_id`) are assignments of
their units that run side by side: none ends another, and one is waiting for a result while
its `implementation_status` is ASSIGNED (returned for redo, or not yet filed). In a unit's
row and a kind's they count as a transfer does. The overall figure counts every one of them
beside the case's current transfer, so a case a decision gave to two units counts twice; a
case has a variable number of them, each with its own deadline, so `case_facts` keeps only
the current transfer, and the report sums the implementations from their own rows (each
already holds its whole fact: nothing later ends it), found through the facts' receipt
index (intake.reports.rates._FactSums.implementations).
tests/test_case_facts.py checks on random histories that the kept facts give exactly what
recounting the history gives.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, attributes, sessionmaker

from intake.statuses import CaseStatus, DeadlineKind, ImplementationStatus, Satisfaction
from intake.store.models import (Case, CaseAssignment, CaseFacts, CaseUnitFacts, DeadlineChange,
                                 Unit)

ANSWERED_STATES = (CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED)
FED_BACK_STATES = (CaseStatus.FED_BACK, CaseStatus.CLOSED)
SATISFIED_RATINGS = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
CHUNK = 5000
_PENDING = "dutyline_case_facts_pending"


def keep_case_facts(factory: sessionmaker) -> None:
    """Rewrite the facts of every case a flush of a session from `factory` touched."""
    event.listen(factory, "after_flush", _after_flush)


def _after_flush(session: Session, _context) -> None:
    case_ids: set[int] = set()
    units: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            case_ids.add(obj.id)
        elif isinstance(obj, (CaseAssignment, DeadlineChange)):
            if obj.case_id is not None:
                case_ids.add(obj.case_id)
            # A row moved to another case changes the old one too.
            for old in attributes.get_history(obj, "case_id").deleted or ():
                if old is not None:
                    case_ids.add(old)
        elif isinstance(obj, Unit) and obj in session.dirty and \
                attributes.get_history(obj, "kind").has_changes():
            units.add(obj.id)
    case_ids.discard(None)
    connection = session.connection()
    if units:
        case_ids.update(connection.scalars(select(CaseAssignment.case_id).where(
            CaseAssignment.unit_id.in_(units)).distinct()))
    if case_ids:
        rebuild_case_facts(connection, case_ids)


def rebuild_case_facts(connection: Connection, case_ids: Iterable[int] | None = None) -> int:
    """Rewrite the facts of these cases (all cases: None) from their rows; return how many.

    Cases that no longer exist lose their facts.
    """
    if case_ids is None:
        connection.execute(delete(CaseUnitFacts))
        connection.execute(delete(CaseFacts))
        done, last = 0, 0
        while True:
            chunk = list(connection.scalars(select(Case.id).where(Case.id > last)
                                            .order_by(Case.id).limit(CHUNK)))
            if not chunk:
                return done
            done += _write(connection, chunk, replace=False)
            last = chunk[-1]
    ids = sorted(set(case_ids))
    done = 0
    for start in range(0, len(ids), CHUNK):
        done += _write(connection, ids[start:start + CHUNK], replace=True)
    return done


def _write(connection: Connection, ids: list[int], *, replace: bool) -> int:
    if replace:
        connection.execute(delete(CaseUnitFacts).where(CaseUnitFacts.case_id.in_(ids)))
        connection.execute(delete(CaseFacts).where(CaseFacts.case_id.in_(ids)))
    cases = connection.execute(select(
        Case.id, Case.created_at, Case.answered_at, Case.status, Case.satisfaction,
        Case.deadline_at, Case.feedback_due_at, Case.fed_back_at).where(Case.id.in_(ids))).all()
    spans = defaultdict(list)
    for row in connection.execute(
            select(CaseAssignment.case_id, CaseAssignment.unit_id, CaseAssignment.assigned_at,
                   CaseAssignment.due_at, CaseAssignment.result_at, CaseAssignment.returns,
                   CaseAssignment.dissatisfied_redos, CaseAssignment.decision_id,
                   CaseAssignment.implementation_status, Unit.kind)
            .join(Unit, Unit.id == CaseAssignment.unit_id)
            .where(CaseAssignment.case_id.in_(ids)).order_by(CaseAssignment.id)):
        spans[row.case_id].append(row)
    # A date the supervision office set after the deadline it replaced had passed: an answer
    # by the new date is not on time (intake.cases.supervision).
    late_set = set(connection.scalars(select(DeadlineChange.case_id).where(
        DeadlineChange.case_id.in_(ids), DeadlineChange.kind == DeadlineKind.EXTENSION,
        DeadlineChange.old_deadline.is_not(None),
        DeadlineChange.changed_at > DeadlineChange.old_deadline).distinct()))
    case_rows, unit_rows = [], []
    for case in cases:
        own = _case_flags(case, case.id in late_set)
        assignments = spans.get(case.id, [])
        # The current transfer: the latest assignment, unless it is a decision's
        # implementation (the implementations ended the transfer before them).
        current = None
        if assignments and assignments[-1].decision_id is None:
            current = _span(case, assignments, len(assignments) - 1)
        case_rows.append({"case_id": case.id, "received_at": case.created_at,
                          "answered_at": case.answered_at, **own,
                          "transferred": int(current is not None),
                          "current_due_at": current["due_at"] if current else None,
                          "current_result_in": current["result_in"] if current else 0,
                          "current_on_time": current["on_time"] if current else 0})
        unit_rows += _unit_rows(case, own, assignments)
    if case_rows:
        connection.execute(insert(CaseFacts), case_rows)
    if unit_rows:
        connection.execute(insert(CaseUnitFacts), unit_rows)
    return len(case_rows)


def _case_flags(case, deadline_set_late: bool) -> dict:
    completed = case.status in ANSWERED_STATES
    fed_back = case.status in FED_BACK_STATES
    # Escalated cases may run without a deadline: none was missed.
    answered_on_time = completed and not deadline_set_late and (
        case.deadline_at is None or _before(case.answered_at, case.deadline_at))
    # No feedback deadline (answered before the rule) missed none.
    fed_back_on_time = fed_back and (
        case.feedback_due_at is None or _before(case.fed_back_at, case.feedback_due_at))
    return {"completed": int(completed), "fed_back": int(fed_back),
            "rated": int(case.satisfaction is not None),
            "satisfied": int(case.satisfaction in SATISFIED_RATINGS),
            "answered_on_time": int(answered_on_time), "fed_back_on_time": int(fed_back_on_time)}


def _span(case, assignments, index: int) -> dict:
    """One assignment as the participation rate reads it (intake.reports.rates)."""
    row = assignments[index]
    # A transfer ends when the case goes to another assignment; a decision's implementation
    # is never ended by another.
    ended_at = None
    if row.decision_id is None and index + 1 < len(assignments):
        ended_at = assignments[index + 1].assigned_at
    # A result returned for redo is not in: the current assignment of a TRANSFERRED case is
    # waiting for a (new) result, and so is an implementation back at (or still at) ASSIGNED.
    awaiting = (ended_at is None and row.implementation_status is None
                and case.status == CaseStatus.TRANSFERRED) or \
        row.implementation_status == ImplementationStatus.ASSIGNED
    result_in = row.result_at is not None and not awaiting
    return {"due_at": row.due_at, "current": int(ended_at is None),
            "result_in": int(result_in),
            "on_time": int(result_in and _before(row.result_at, row.due_at)),
            "missed_before_ended": int(ended_at is not None and row.due_at is not None
                                       and row.due_at < ended_at)}


def _unit_rows(case, own: dict, assignments) -> list[dict]:
    latest_by_unit: dict[int, int] = {}
    latest_by_kind: dict = {}
    returns: dict[int, int] = defaultdict(int)
    redos: dict[int, int] = defaultdict(int)
    for index, row in enumerate(assignments):
        latest_by_unit[row.unit_id] = index
        latest_by_kind[row.kind] = index
        returns[row.unit_id] = max(returns[row.unit_id], row.returns or 0)
        redos[row.unit_id] += row.dissatisfied_redos or 0
    kind_latest = set(latest_by_kind.values())
    rows = []
    for unit_id, index in latest_by_unit.items():
        rows.append({"case_id": case.id, "unit_id": unit_id, "kind": assignments[index].kind,
                     "latest_of_kind": int(index in kind_latest),
                     "received_at": case.created_at, "answered_at": case.answered_at, **own,
                     **_span(case, assignments, index),
                     "returns_in_row": returns[unit_id], "dissatisfied_redos": redos[unit_id]})
    return rows


def _before(moment, deadline) -> bool:
    """`moment <= deadline`, false when either is missing (as SQL's NULL comparison is)."""
    return moment is not None and deadline is not None and moment <= deadline
