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
`rebuild_all_facts` themselves.

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

Day sums: a year at province scale is half a million fact rows, too many to read for every
view. The hook therefore also keeps `case_fact_days` (each day's facts summed, for the bureau,
each unit and each kind) and `case_answer_days` (each day's answered cases by the day they
were answered), by adding what each rewrite changed: the old facts' part is taken away, the
new facts' part added, as one increment per (scope, day) row. An increment is an upsert
(`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`), so two transactions changing cases
of one day both count on PostgreSQL (the second waits for the first's row, held until the
first commits, and adds to it). A flush writes its rows in key order, the bureau's row of the
day first, so two one-case actions never take rows crosswise; only two transactions that
each change cases of several days in several flushes could (PostgreSQL then ends one of them
with a deadlock error). The increments run in the flush that wrote the facts, inside its
savepoint if there is one, so they are undone with it. `rebuild_fact_days` builds them whole
from the facts (the migration, the benches' bulk seeds, `dutyline db rebuild-facts`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import (Date, String, and_, case as when, cast, delete, event, func, insert, literal,
                        or_, select)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, attributes, sessionmaker

from intake.clock import BUREAU_TIMEZONE
from intake.statuses import CaseStatus, DeadlineKind, ImplementationStatus, Satisfaction
from intake.store.models import (Case, CaseAnswerDay, CaseAssignment, CaseFactDay, CaseFacts,
                                 CaseUnitFacts, DeadlineChange, Unit)

ANSWERED_STATES = (CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED)
FED_BACK_STATES = (CaseStatus.FED_BACK, CaseStatus.CLOSED)
SATISFIED_RATINGS = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
CHUNK = 5000
# The day sums are the bureau's days; a report in another zone sums the fact rows instead
# (intake.reports.rates).
FACT_DAY_ZONE = BUREAU_TIMEZONE
_ZONE = ZoneInfo(FACT_DAY_ZONE)
SCOPE_ALL, SCOPE_UNIT, SCOPE_KIND = "all", "unit", "kind"
DAY_COUNTS = ("received", "completed", "fed_back", "rated", "satisfied", "answered_on_time",
              "fed_back_on_time", "due_settled", "on_time")
_FLAGS = ("completed", "fed_back", "rated", "satisfied", "answered_on_time", "fed_back_on_time")


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


def rebuild_all_facts(connection: Connection) -> tuple[int, int]:
    """Rewrite every case's facts and their day sums; return (cases, day rows).

    For writers that bypass the session (bulk seeds) and for an operator's repair
    (`dutyline db rebuild-facts`).
    """
    return rebuild_case_facts(connection), rebuild_fact_days(connection)


def rebuild_case_facts(connection: Connection, case_ids: Iterable[int] | None = None) -> int:
    """Rewrite the facts of these cases (all cases: None) from their rows; return how many.

    Cases that no longer exist lose their facts. Given cases, their days' sums change with
    them; all cases (revision 0017 builds them so, before the day sums exist) leave the day
    sums to rebuild_fact_days.
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
    days: dict = defaultdict(lambda: [0] * len(DAY_COUNTS))
    answers: dict = defaultdict(int)

    def among(column):
        # A whole rebuild goes through the cases in id order, a chunk at a time: a range
        # is the same rows as the list and costs no bound parameter per id.
        return column.in_(ids) if replace else column.between(ids[0], ids[-1])

    if replace:
        # What the old facts added to their days is taken away before they go.
        old_cases, old_units = _read_facts(connection, among(CaseFacts.case_id),
                                           among(CaseUnitFacts.case_id))
        _add_fact_days(days, answers, old_cases, old_units, sign=-1)
        connection.execute(delete(CaseUnitFacts).where(among(CaseUnitFacts.case_id)))
        connection.execute(delete(CaseFacts).where(among(CaseFacts.case_id)))
    cases = connection.execute(select(
        Case.id, Case.created_at, Case.answered_at, Case.status, Case.satisfaction,
        Case.deadline_at, Case.feedback_due_at, Case.fed_back_at).where(among(Case.id))).all()
    spans = defaultdict(list)
    for row in connection.execute(
            select(CaseAssignment.case_id, CaseAssignment.unit_id, CaseAssignment.assigned_at,
                   CaseAssignment.due_at, CaseAssignment.result_at, CaseAssignment.returns,
                   CaseAssignment.dissatisfied_redos, CaseAssignment.decision_id,
                   CaseAssignment.implementation_status, Unit.kind)
            .join(Unit, Unit.id == CaseAssignment.unit_id)
            .where(among(CaseAssignment.case_id)).order_by(CaseAssignment.id)):
        spans[row.case_id].append(row)
    # A date the supervision office set after the deadline it replaced had passed: an answer
    # by the new date is not on time (intake.cases.supervision).
    late_set = set(connection.scalars(select(DeadlineChange.case_id).where(
        among(DeadlineChange.case_id), DeadlineChange.kind == DeadlineKind.EXTENSION,
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
    if replace:
        _add_fact_days(days, answers, case_rows, unit_rows, sign=1)
        _increment_days(connection, days, answers)
    return len(case_rows)


# ---------------------------------------------------------------- day sums
def rebuild_fact_days(connection: Connection) -> int:
    """Build `case_fact_days` and `case_answer_days` whole from the facts; return their rows.

    Six INSERT … SELECT … GROUP BY statements, so the database does the adding. The day is
    the bureau's as the hook's `_fact_day` reckons it: PostgreSQL converts with the zone's
    rules; SQLite adds the zone's offset, exact for China, which has kept one offset since
    1991 (tests/test_case_facts.py checks a rebuild against the hook's sums). Reads only
    the facts' columns of revision 0019_fact_days (a later revision that changes what a
    fact means rebuilds these itself).
    """
    connection.execute(delete(CaseAnswerDay))
    connection.execute(delete(CaseFactDay))
    facts, units = CaseFacts.__table__.c, CaseUnitFacts.__table__.c
    unit_due = or_(units.result_in == 1, units.missed_before_ended == 1)
    scopes = (
        (facts, SCOPE_ALL, None, [], and_(facts.transferred == 1, facts.current_result_in == 1),
         facts.current_on_time),
        (units, SCOPE_UNIT, cast(units.unit_id, String), [], unit_due, units.on_time),
        (units, SCOPE_KIND, cast(units.kind, String), [units.latest_of_kind == 1], unit_due,
         units.on_time),
    )
    for columns, scope, key, where, due_settled, on_time in scopes:
        keys = [key] if key is not None else []  # the bureau's rows have one key, ""
        received_day = local_day_sql(connection.dialect.name, columns.received_at)
        counts = [func.count(), *(func.sum(columns[name]) for name in _FLAGS),
                  func.sum(when((due_settled, 1), else_=0)), func.sum(on_time)]
        connection.execute(insert(CaseFactDay).from_select(
            ["scope", "scope_key", "received_day", *DAY_COUNTS],
            select(literal(scope), key if key is not None else literal(""), received_day,
                   *counts).where(*where).group_by(*keys, received_day)))
        answered_day = local_day_sql(connection.dialect.name, columns.answered_at)
        connection.execute(insert(CaseAnswerDay).from_select(
            ["scope", "scope_key", "received_day", "answered_day", "answered"],
            select(literal(scope), key if key is not None else literal(""), received_day,
                   answered_day, func.count())
            .where(*where, columns.completed == 1, columns.answered_at.is_not(None))
            .group_by(*keys, received_day, answered_day)))
    return sum(connection.scalar(select(func.count()).select_from(model))
               for model in (CaseFactDay, CaseAnswerDay))


def local_day_sql(dialect: str, column, tz: str = FACT_DAY_ZONE):
    """A SQL expression for a UTC timestamp's day in the zone `tz`."""
    if dialect == "postgresql":
        return cast(func.timezone(tz, column), Date)
    # SQLite keeps naive UTC text. The bureau's zone (China) has had no daylight saving since
    # 1991, so one fixed offset is exact; a zone with DST would be off by an hour at its edges.
    offset = datetime.now(ZoneInfo(tz)).utcoffset() or timedelta()
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _fact_day(moment: datetime) -> date:
    """The bureau's day of a UTC moment (naive values are UTC, as SQLite returns them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(_ZONE).date()


def _add_fact_days(days: dict, answers: dict, case_facts: Iterable[Mapping],
                  unit_facts: Iterable[Mapping], *, sign: int) -> None:
    """Add (sign 1) or take away (-1) what these fact rows count to their days."""
    for fact in case_facts:
        _add_fact(days, answers, (SCOPE_ALL, ""), fact, sign,
                  due_settled=fact["transferred"] and fact["current_result_in"],
                  on_time=fact["current_on_time"])
    for fact in unit_facts:
        due_settled = fact["result_in"] or fact["missed_before_ended"]
        _add_fact(days, answers, (SCOPE_UNIT, str(fact["unit_id"])), fact, sign,
                  due_settled=due_settled, on_time=fact["on_time"])
        if fact["latest_of_kind"]:
            kind = getattr(fact["kind"], "value", fact["kind"])
            _add_fact(days, answers, (SCOPE_KIND, kind), fact, sign,
                      due_settled=due_settled, on_time=fact["on_time"])


def _add_fact(days, answers, scope: tuple[str, str], fact: Mapping, sign: int, *,
              due_settled, on_time) -> None:
    received = _fact_day(fact["received_at"])
    sums = days[(*scope, received)]  # in DAY_COUNTS order: received, the flags, due, on time
    sums[0] += sign
    for index, name in enumerate(_FLAGS, start=1):
        sums[index] += sign * fact[name]
    sums[-2] += sign * int(bool(due_settled))
    sums[-1] += sign * int(on_time)
    # The working days to an answer count answered cases only (as the rates read them).
    if fact["completed"] and fact["answered_at"] is not None:
        answers[(*scope, received, _fact_day(fact["answered_at"]))] += sign


def _read_facts(connection: Connection, case_where, unit_where) -> tuple[list, list]:
    cases = connection.execute(select(
        CaseFacts.received_at, CaseFacts.answered_at,
        *(getattr(CaseFacts, name) for name in _FLAGS), CaseFacts.transferred,
        CaseFacts.current_result_in, CaseFacts.current_on_time).where(case_where)).mappings().all()
    units = connection.execute(select(
        CaseUnitFacts.unit_id, CaseUnitFacts.kind, CaseUnitFacts.latest_of_kind,
        CaseUnitFacts.received_at, CaseUnitFacts.answered_at,
        *(getattr(CaseUnitFacts, name) for name in _FLAGS), CaseUnitFacts.result_in,
        CaseUnitFacts.missed_before_ended, CaseUnitFacts.on_time)
        .where(unit_where)).mappings().all()
    return cases, units


def _day_rows(days: dict, answers: dict) -> tuple[list[dict], list[dict]]:
    # Key order: two transactions incrementing the same rows take them in the same order.
    day_rows = [{"scope": scope, "scope_key": key, "received_day": day,
                 **dict(zip(DAY_COUNTS, sums))}
                for (scope, key, day), sums in sorted(days.items()) if any(sums)]
    answer_rows = [{"scope": scope, "scope_key": key, "received_day": day,
                    "answered_day": answered, "answered": count}
                   for (scope, key, day, answered), count in sorted(answers.items()) if count]
    return day_rows, answer_rows


def _increment_days(connection: Connection, days: dict, answers: dict) -> None:
    day_rows, answer_rows = _day_rows(days, answers)
    for model, rows, counts in ((CaseFactDay, day_rows, DAY_COUNTS),
                                (CaseAnswerDay, answer_rows, ("answered",))):
        if rows:
            connection.execute(_upsert_adding(connection, model, counts), rows)


def _upsert_adding(connection: Connection, model, counts: tuple[str, ...]):
    """INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n, on either database."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = model.__table__
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in counts})


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
