"""The four 100% rates (四个100%) for cases received in a period, overall, per unit, per kind and
per work-group member.

| figure              | numerator                                   | denominator                  |
|---------------------|---------------------------------------------|------------------------------|
| completion_rate     | answered (answered, fed_back or closed)     | received                     |
| feedback_rate       | fed back (fed_back or closed)               | answered                     |
| satisfaction_rate   | latest rating satisfied/basically satisfied | rated                        |
| participation_rate  | result filed by the deadline in force       | results in, or deadline past |
| answered_on_time_rate | answered by the deadline in force         | answered                     |
| feedback_on_time_rate | fed back by the feedback deadline         | fed back                     |

"The deadline in force" is one set before it passed: a date the supervision office sets after
a missed deadline keeps the assignment due at the missed one (intake.cases.supervision), and an
answer after it is not on time.

The feedback deadline (`Case.feedback_due_at`, the end of the next working day after the
answer) is the feedback rate's on-time share: a case answered before it existed has none and
counts as on time, as an escalated case without a deadline does for the answer.

A rate whose denominator is zero is None (null in JSON): "no cases" is not "0%".

"Received in a period" reads `Case.created_at` between the local midnights of the first day
and of the day after the last, in the bureau's time zone. A unit's cases are those
transferred to it (any assignment); a kind's cases are those transferred to a unit of that
kind. Participation is counted per assignment: the latest assignment of each case to a unit,
which ends early when the case is reassigned (a unit relieved before its deadline owes
nothing). A returned result awaiting redo is not "in". The overall participation reads each
case's current assignment. A decision's implementations (intake.cases.decisions) count as
assignments of their units, each with its own deadline, and none ends another: a case a
decision gave to two units counts once for each, and in the overall figure twice.

The figures are sums of the kept facts (intake.store.case_facts), rewritten in the same
transaction as every case action, so a report never recounts history. In the bureau's zone
they are read from the day sums (`case_fact_days`: each received day's facts for the bureau,
each unit and each kind; a year is about 9,000 rows per unit scope instead of every case).
The one figure that depends on the report's moment, a transfer whose deadline has passed with
no result, is counted from the facts still awaiting a result, through their partial indexes.
In another zone the fact rows themselves are summed by their receipt index.
The overall participation adds the decisions' implementations of those cases from their own
rows: nothing ends an implementation, so each row is already its whole fact.
The working days from receipt to answer are the answered cases counted per answered day and
per received day (`case_answer_days`), weighed by each day's number of working days before it
(one subtraction per day, not per case), with the calendar as it is when the report is made.

`recount=True` counts the same figures from the history instead (GROUP BY over the cases,
window functions over their assignments, a VALUES table of working-day numbers): the reference
tests/test_case_facts.py checks the facts against, and the way the drill-down lists still find
their cases.
"""
from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import (Date, Integer, String, and_, case as when, column, func,
                        literal_column, or_, select, text)
from sqlalchemy.orm import Session

from intake.clock import BUREAU_TIMEZONE, WorkingCalendar
from intake.exceptions import ValidationError
from intake.store.case_facts import (DAY_COUNTS, FACT_DAY_ZONE, SCOPE_ALL, SCOPE_KIND, SCOPE_UNIT,
                                     local_day_sql)
from intake.store.models import (Case, CaseAnswerDay, CaseAssignment, CaseFactDay, CaseFacts,
                                 CaseUnitFacts, Censure, DeadlineChange, Leader, Notification,
                                 Reminder, Unit)
from intake.statuses import (CaseStatus, CensureKind, CensureStatus, DeadlineKind,
                             ImplementationStatus, ReminderKind, Satisfaction, UnitKind)

ANSWERED_STATES = (CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED)
FED_BACK_STATES = (CaseStatus.FED_BACK, CaseStatus.CLOSED)
SATISFIED_RATINGS = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
# The longest period a report covers: a few years is a review, more is a mistake.
MAX_PERIOD_DAYS = 366 * 5
TREND_MONTHS = 12

# Figure name -> (numerator, denominator), in the order design.md lists them.
RATES = {
    "completion_rate": ("completed", "received"),
    "feedback_rate": ("fed_back", "completed"),
    "satisfaction_rate": ("satisfied", "rated"),
    "participation_rate": ("on_time", "transferred_due"),
    "answered_on_time_rate": ("answered_on_time", "completed"),
    "feedback_on_time_rate": ("fed_back_on_time", "fed_back"),
}
COUNTS = ("received", "completed", "fed_back", "rated", "satisfied", "transferred_due",
          "on_time", "answered_on_time", "fed_back_on_time")
# The figures a person can drill down into (each a list of cases).
DRILL_FIGURES = COUNTS


class Grouping(str, Enum):
    """How a report's rows are grouped."""

    NONE = ""
    UNIT = "unit"
    KIND = "kind"
    LEADER = "leader"  # the work-group member the case was routed to (the year's summary)


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included, in the bureau's time zone."""

    start: date
    end: date

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """Return the period as [start, end) aware datetimes: local midnight to midnight."""
        zone = ZoneInfo(tz)
        return (datetime.combine(self.start, time(), zone),
                datetime.combine(self.end + timedelta(days=1), time(), zone))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Figures:
    """The counts behind the rates, and the working days from receipt to answer."""

    received: int = 0
    completed: int = 0
    fed_back: int = 0
    rated: int = 0
    satisfied: int = 0
    transferred_due: int = 0
    on_time: int = 0
    answered_on_time: int = 0
    fed_back_on_time: int = 0
    working_days_total: int = 0  # summed over answered cases

    def rate(self, name: str) -> float | None:
        """Return a rate as a fraction, or None when nothing is in its denominator."""
        numerator, denominator = RATES[name]
        below = getattr(self, denominator)
        return getattr(self, numerator) / below if below else None

    @property
    def average_working_days(self) -> float | None:
        return self.working_days_total / self.completed if self.completed else None

    def to_json(self) -> dict:
        out: dict = {}
        for name, (numerator, denominator) in RATES.items():
            for count in (denominator, numerator):
                out.setdefault(count, getattr(self, count))
            out[name] = _round(self.rate(name))
        out["average_working_days"] = _round(self.average_working_days, 2)
        return out


@dataclass
class ReportRow:
    """One unit's or one kind's figures."""

    figures: Figures
    unit: str | None = None
    unit_id: int | None = None
    kind: UnitKind | None = None
    # A unit's line also shows its longest streak of format/quality returns on one case
    # (criticism ground 1) and, beside it, the redos the liaisons' dissatisfaction caused.
    returns_in_row: int = 0
    dissatisfied_redos: int = 0
    criticisms: int = 0  # confirmed in the period (intake.rules.censures): only these are published
    # Reminders past a deadline (催办) the unit got on the period's cases: "已催办 N 次".
    chases: int = 0
    leader: str | None = None
    leader_id: int | None = None

    def to_json(self) -> dict:
        head: dict = {"unit": self.unit} if self.unit is not None else {}
        if self.leader_id is not None:
            head.update(leader=self.leader, leader_id=self.leader_id)
        if self.unit_id is not None:
            head["unit_id"] = self.unit_id
            head["returns_in_row"] = self.returns_in_row
            head["dissatisfied_redos"] = self.dissatisfied_redos
            head["criticisms"] = self.criticisms
            head["chases"] = self.chases
        if self.kind is not None:
            head["kind"] = self.kind.value
        return {**head, **self.figures.to_json()}


@dataclass
class RatesReport:
    """The rates for a period: the whole bureau, and rows per unit or per kind."""

    period: Period
    total: Figures
    rows: list[ReportRow] = field(default_factory=list)
    grouping: Grouping = Grouping.NONE

    def to_json(self) -> dict:
        return {"from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
                "group": self.grouping.value or None, "total": self.total.to_json(),
                "rows": [row.to_json() for row in self.rows]}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- input
def parse_period(start, end) -> Period:
    """Read a period from two ISO dates (or dates); the end may not come before the start.

    Raises:
        ValidationError: a date that is not YYYY-MM-DD, an end before the start, or a
            period longer than five years.
    """
    first = _parse_date(start, "from")
    last = _parse_date(end, "to")
    if last < first:
        raise ValidationError("the period ends before it starts", field="to",
                              code="period_reversed")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise ValidationError("the period is too long", field="to", code="period_too_long")
    return Period(first, last)


def _parse_date(value, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationError("give the date as YYYY-MM-DD", field=name,
                              code="date_invalid") from None


def parse_grouping(value: str | None) -> Grouping:
    """Read a grouping: "", "unit" or "kind" (per member is the year summary's own)."""
    try:
        grouping = Grouping((value or "").strip())
        if grouping is Grouping.LEADER:
            raise ValueError(grouping)
        return grouping
    except ValueError:
        raise ValidationError("group by unit or kind", field="group",
                              code="group_invalid") from None


def find_unit(session: Session, key: str | int) -> Unit:
    """Return a unit by id or exact name.

    Raises:
        ValidationError: no such unit (code unit_unknown).
    """
    text = str(key).strip()
    unit = session.get(Unit, int(text)) if text.isdigit() else None
    if unit is None:
        unit = session.scalar(select(Unit).where(Unit.name == text))
    if unit is None:
        raise ValidationError(f"no unit {text}", field="unit", code="unit_unknown")
    return unit


def month_period(year: int, month: int) -> Period:
    """Return one calendar month."""
    return Period(date(year, month, 1), date(year, month, month_calendar.monthrange(year, month)[1]))


def quarter_period(year: int, quarter: int) -> Period:
    """Return one quarter (1–4)."""
    first = 3 * (quarter - 1) + 1
    return Period(date(year, first, 1), month_period(year, first + 2).end)


def year_period(year: int) -> Period:
    """Return one calendar year."""
    return Period(date(year, 1, 1), date(year, 12, 31))


# ---------------------------------------------------------------- predicates
def _completed():
    return Case.status.in_(ANSWERED_STATES)


def _fed_back():
    return Case.status.in_(FED_BACK_STATES)


def _rated():
    return Case.satisfaction.is_not(None)


def _satisfied():
    return Case.satisfaction.in_(SATISFIED_RATINGS)


def _answered_on_time():
    # Escalated cases may run without a deadline: none was missed. A date the supervision
    # office set after a missed deadline does not make the answer timely.
    return and_(_completed(), or_(Case.deadline_at.is_(None), Case.answered_at <= Case.deadline_at),
                ~_set_after_missed_deadline())


def _set_after_missed_deadline():
    """Whether a new date was put in force after the deadline it replaced had passed."""
    return select(DeadlineChange.id).where(
        DeadlineChange.case_id == Case.id, DeadlineChange.kind == DeadlineKind.EXTENSION,
        DeadlineChange.old_deadline.is_not(None),
        DeadlineChange.changed_at > DeadlineChange.old_deadline).exists()


def _fed_back_on_time():
    # A feedback recorded after its deadline counts against the on-time share; no deadline
    # (answered before the rule) missed none.
    return and_(_fed_back(), or_(Case.feedback_due_at.is_(None),
                                 Case.fed_back_at <= Case.feedback_due_at))


CASE_PREDICATES = {"completed": _completed, "fed_back": _fed_back, "rated": _rated,
                   "satisfied": _satisfied, "answered_on_time": _answered_on_time,
                   "fed_back_on_time": _fed_back_on_time}


def _count(predicate):
    return func.coalesce(func.sum(when((predicate, 1), else_=0)), 0)


def _assignment_spans(in_period, days=None, numbered: Grouping = Grouping.NONE):
    """Each assignment of the period's cases, with the moment a later assignment of the case
    ended it (None: the current one).

    Args:
        days: a _DaySums, to add the case's working days to its answer.
        numbered: UNIT adds `nth`, KIND adds `kind` and `nth_of_kind`: 1 for the latest
            assignment of the case to that unit, or to a unit of that kind. (Each numbering
            is one more sort, so only the one asked for is made.)
    """
    columns = [
        CaseAssignment.id.label("id"), CaseAssignment.case_id.label("case_id"),
        CaseAssignment.unit_id.label("unit_id"), CaseAssignment.due_at.label("due_at"),
        CaseAssignment.result_at.label("result_at"),
        # A transfer ends when the case goes to another assignment; a decision's
        # implementations run side by side, and none ends another.
        when((CaseAssignment.decision_id.is_(None), func.lead(CaseAssignment.assigned_at).over(
            partition_by=CaseAssignment.case_id, order_by=CaseAssignment.id)),
            else_=None).label("ended_at"),
        CaseAssignment.implementation_status.label("implementation_status"),
    ]
    if numbered == Grouping.UNIT:
        columns.append(func.row_number().over(
            partition_by=(CaseAssignment.case_id, CaseAssignment.unit_id),
            order_by=CaseAssignment.id.desc()).label("nth"))
    elif numbered == Grouping.KIND:
        # A case moved between two township centres counts once for the kind.
        columns += [Unit.kind.label("kind"), func.row_number().over(
            partition_by=(CaseAssignment.case_id, Unit.kind),
            order_by=CaseAssignment.id.desc()).label("nth_of_kind")]
    query = select(*columns).join(Case, Case.id == CaseAssignment.case_id).where(in_period)
    if numbered == Grouping.KIND:
        query = query.join(Unit, Unit.id == CaseAssignment.unit_id)
    if days is not None:
        query = days.join(query.add_columns(days.per_case.label("working_days")))
    return query.subquery("spans")


def _participation(spans, now: datetime):
    """Return (due, on time) predicates over an assignment span joined to its case."""
    # A result returned for redo is not in: the current assignment of a TRANSFERRED case
    # is waiting for a (new) result, and so is an implementation of a decision back at
    # "assigned" (an implementation counts for its unit as a transfer does).
    awaiting = or_(
        and_(spans.c.ended_at.is_(None), spans.c.implementation_status.is_(None),
             Case.status == CaseStatus.TRANSFERRED),
        # IS NOT NULL first: a transfer's NULL status must make this false, not unknown.
        and_(spans.c.implementation_status.is_not(None),
             spans.c.implementation_status == ImplementationStatus.ASSIGNED))
    result_in = and_(spans.c.result_at.is_not(None), ~awaiting)
    deadline_passed = or_(
        and_(spans.c.ended_at.is_(None), spans.c.due_at < now),
        and_(spans.c.ended_at.is_not(None), spans.c.due_at < spans.c.ended_at))
    due = or_(result_in, deadline_passed)
    on_time = and_(result_in, spans.c.due_at.is_not(None), spans.c.result_at <= spans.c.due_at)
    return due, on_time


# ---------------------------------------------------------------- counting
def compute_rates(session: Session, period: Period, *, now: datetime,
                  calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE,
                  grouping: Grouping = Grouping.NONE, unit: Unit | None = None,
                  recount: bool = False) -> RatesReport:
    """Count the rates for cases received in a period, overall and grouped.

    Args:
        now: the report's moment (a deadline past `now` with no result counts as missed).
        calendar: working days, for the average time to an answer.
        grouping: rows per unit (every unit, those without cases too), per kind, or per
            work-group member (every member, those without cases too).
        unit: only this unit's row (implies grouping per unit).
        recount: count from the history instead of the kept facts (the reference).
    """
    start, end = period.bounds(tz)
    if recount:
        in_period = and_(Case.created_at >= start, Case.created_at < end)
        total = _total_figures(session, in_period, now, tz,
                               _ordinals_for(session, calendar, period, now, tz))
    else:
        total = _FactSums(session, period, now, calendar, tz).total()
    report = RatesReport(period, total, grouping=Grouping.UNIT if unit else grouping)
    if report.grouping != Grouping.NONE:
        report.rows = compute_rows(session, period, report.grouping, now=now, calendar=calendar,
                                   tz=tz, unit=unit, recount=recount)
    return report


def compute_rows(session: Session, period: Period, grouping: Grouping, *, now: datetime,
                 calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE,
                 unit: Unit | None = None, recount: bool = False) -> list[ReportRow]:
    """Count only the rows of a report: per unit (every unit, or `unit`) or per kind."""
    start, end = period.bounds(tz)
    in_period = and_(Case.created_at >= start, Case.created_at < end)
    sums = None if recount else _FactSums(session, period, now, calendar, tz)
    ordinals = _ordinals_for(session, calendar, period, now, tz) if recount else None
    if grouping == Grouping.UNIT:
        units = [unit] if unit else list(session.scalars(
            select(Unit).order_by(Unit.kind, Unit.name)))
        rows = [ReportRow(Figures(), unit=u.name, unit_id=u.id, kind=u.kind) for u in units]
        by_unit = {row.unit_id: row.figures for row in rows}
        if recount:
            _fill_rows(session, in_period, now, tz, ordinals, Grouping.UNIT, by_unit,
                       unit_filter=unit.id if unit else None)
            _fill_returns(session, in_period, {row.unit_id: row for row in rows})
        else:
            sums.fill_units(by_unit, unit.id if unit else None)
            sums.fill_returns({row.unit_id: row for row in rows})
        _fill_criticisms(session, start, end, {row.unit_id: row for row in rows})
        _fill_chases(session, in_period, {row.unit_id: row for row in rows})
        return rows
    if grouping == Grouping.LEADER:
        rows = [ReportRow(Figures(), leader=leader.name, leader_id=leader.id)
                for leader in session.scalars(select(Leader).order_by(Leader.id))]
        # Per member is counted from the history: the facts are kept per case and per unit.
        _fill_leader_rows(session, in_period, now, tz,
                          ordinals if ordinals is not None
                          else _ordinals_for(session, calendar, period, now, tz),
                          {row.leader_id: row.figures for row in rows})
        return rows
    if grouping == Grouping.KIND:
        rows = [ReportRow(Figures(), kind=kind) for kind in UnitKind]
        by_kind = {row.kind: row.figures for row in rows}
        if recount:
            _fill_rows(session, in_period, now, tz, ordinals, Grouping.KIND, by_kind)
        else:
            sums.fill_kinds(by_kind)
        return rows
    return []


class _FactSums:
    """The figures of a period summed from the kept facts (intake.store.case_facts)."""

    def __init__(self, session: Session, period: Period, now: datetime,
                 calendar: WorkingCalendar, tz: str):
        self.session, self.now, self.tz = session, now, tz
        self.start, self.end = period.bounds(tz)
        # Working days count answers up to the day after the later of the period's end and
        # today, as the recount's table of days does; an answer outside counts no days.
        last = max(period.end, now.astimezone(ZoneInfo(tz)).date()) + timedelta(days=1)
        self.answers_from, self.answers_until = Period(period.start, last).bounds(tz)
        self.ordinals = _ordinal_dict(calendar, period.start, last)
        # The day sums are the bureau's days: a report in another zone sums the fact rows.
        self.by_day = tz == FACT_DAY_ZONE
        self.period, self.last_answer_day = period, last

    def total(self) -> Figures:
        figures = Figures()
        if self.by_day:
            self._sum_days(SCOPE_ALL, {None: figures}, lambda key: None)
            self._add_awaiting(self._awaiting_total(), {None: figures})
        else:
            self._fill(CaseFacts, None, self._total_due(), CaseFacts.current_on_time,
                       {None: figures})
        self.implementations({None: figures})
        return figures

    def fill_units(self, by_unit: dict, unit_id: int | None) -> None:
        if self.by_day:
            self._sum_days(SCOPE_UNIT, by_unit, int,
                           only=None if unit_id is None else str(unit_id))
            awaiting = self._awaiting_units(CaseUnitFacts.unit_id)
            if unit_id is not None:
                awaiting = awaiting.where(CaseUnitFacts.unit_id == unit_id)
            self._add_awaiting(awaiting, by_unit)
            return
        where = [CaseUnitFacts.unit_id == unit_id] if unit_id is not None else []
        self._fill(CaseUnitFacts, CaseUnitFacts.unit_id, self._unit_due(), CaseUnitFacts.on_time,
                   by_unit, where)

    def fill_kinds(self, by_kind: dict) -> None:
        if self.by_day:
            self._sum_days(SCOPE_KIND, by_kind, _key)
            self._add_awaiting(self._awaiting_units(CaseUnitFacts.kind).where(
                CaseUnitFacts.latest_of_kind == 1), by_kind)
            return
        self._fill(CaseUnitFacts, CaseUnitFacts.kind, self._unit_due(), CaseUnitFacts.on_time,
                   by_kind, [CaseUnitFacts.latest_of_kind == 1])

    def fill_returns(self, by_unit: dict) -> None:
        facts = CaseUnitFacts
        # Only rows with a return or a redo count; the same words as the partial index
        # ix_case_unit_facts_returned, written as literals so SQLite matches it.
        returned = or_(facts.returns_in_row > literal_column("0"),
                       facts.dissatisfied_redos > literal_column("0"))
        query = (select(facts.unit_id, func.max(facts.returns_in_row),
                        func.sum(facts.dissatisfied_redos))
                 .where(*self._in_period(facts), returned).group_by(facts.unit_id))
        for unit_id, streak, dissatisfied in self.session.execute(query):
            row = by_unit.get(unit_id)
            if row is not None:
                row.returns_in_row, row.dissatisfied_redos = int(streak or 0), int(dissatisfied or 0)

    def monthly(self, by_month: dict) -> None:
        """Fill {"2026-11": Figures} with the total figures of the cases received each month."""
        if self.by_day:
            self._sum_days(SCOPE_ALL, by_month, None)
            day = _local_day(self.session, CaseFacts.received_at, self.tz)
            self._add_awaiting(self._awaiting_total().add_columns(day.label("day"))
                               .group_by(day), by_month, by_month_of_day=True)
        else:
            self._fill(CaseFacts, None, self._total_due(), CaseFacts.current_on_time, by_month,
                       by_month_of_day=True)
        self.implementations(by_month, by_month_of_day=True)

    # -------------------------------------------------------- from the day sums
    def _sum_days(self, scope: str, by_key: dict, key_of, only: str | None = None) -> None:
        """Add a scope's day sums to by_key[key_of(scope_key)] (key_of None: per month).

        `only`: one scope key (one unit's row).
        """
        days, answers = CaseFactDay, CaseAnswerDay
        per_month = key_of is None

        def target(value):
            return by_key.get(str(value)[:7] if per_month else key_of(value))

        key = days.received_day if per_month else days.scope_key
        query = (select(key.label("key"), *(func.sum(getattr(days, name)).label(name)
                                            for name in DAY_COUNTS))
                 .where(days.scope == scope, days.received_day >= self.period.start,
                        days.received_day <= self.period.end,
                        *([days.scope_key == only] if only is not None else [])).group_by(key))
        for found in self.session.execute(query):
            figures = target(found.key)
            if figures is None:
                continue
            for name in ("received", *_FACT_FLAGS, "on_time"):
                setattr(figures, name, getattr(figures, name) + int(getattr(found, name) or 0))
            figures.transferred_due += int(found.due_settled or 0)
        # Working days: the answers counted per day answered, each day weighed by its number,
        # minus the same per day received, for answers from the period's first day to the
        # table's last. (Joining a table of the days' numbers instead made SQLite scan every
        # pair of days.)
        key = answers.received_day if per_month else answers.scope_key
        answer_where = [answers.scope == scope, answers.received_day >= self.period.start,
                        answers.received_day <= self.period.end,
                        answers.answered_day >= self.period.start,
                        answers.answered_day <= self.last_answer_day,
                        *([answers.scope_key == only] if only is not None else [])]
        for weighed, sign in ((answers.answered_day, 1), (answers.received_day, -1)):
            group = [key] if weighed is key else [key, weighed]
            query = (select(key.label("key"), weighed.label("weighed"),
                            func.sum(answers.answered).label("answered"))
                     .where(*answer_where).group_by(*group))
            for found in self.session.execute(query):
                figures = target(found.key)
                if figures is not None:
                    figures.working_days_total += sign * int(found.answered) * self.ordinals.get(
                        str(found.weighed), 0)

    def _awaiting_total(self):
        """Overall: current transfers still waiting for their result whose deadline has passed."""
        facts = CaseFacts
        # Literal 1 and 0, the words of the partial index ix_case_facts_awaiting (SQLite
        # matches an index's WHERE by its words; a bound parameter would not match).
        return select(func.count().label("due")).where(
            facts.transferred == literal_column("1"),
            facts.current_result_in == literal_column("0"),
            *self._in_period(facts), facts.current_due_at < self.now)

    def _awaiting_units(self, key):
        facts = CaseUnitFacts
        return (select(key.label("key"), func.count().label("due"))
                .where(facts.current == literal_column("1"), facts.result_in == literal_column("0"),
                       *self._in_period(facts), facts.due_at < self.now).group_by(key))

    def _add_awaiting(self, query, by_key: dict, by_month_of_day: bool = False) -> None:
        for found in self.session.execute(query):
            if by_month_of_day:
                figures = by_key.get(str(found.day)[:7])
            else:
                figures = by_key.get(_key(found.key) if "key" in found._fields else None)
            if figures is not None:
                figures.transferred_due += int(found.due or 0)

    def _total_due(self):
        facts = CaseFacts
        return and_(facts.transferred == 1,
                    or_(facts.current_result_in == 1, facts.current_due_at < self.now))

    def implementations(self, by_key: dict, by_month_of_day: bool = False) -> None:
        """Add the decisions' implementations of the period's cases to the overall participation.

        Each counts beside the case's current transfer (`case_facts` keeps that one); a case
        has any number of them, each with its own deadline, and nothing later ends one, so
        its row is its whole fact.
        """
        impl = CaseAssignment
        # Implementations are few (escalated cases only): start from them, by the decision_id
        # index, and look each case's receipt up by its key, rather than probe the
        # assignments of every case of the period. `> 0` (ids are positive) is a range both
        # databases read from that index; SQLite's planner scans the table for IS NOT NULL.
        received = (select(CaseFacts.received_at)
                    .where(CaseFacts.case_id == impl.case_id, *self._in_period(CaseFacts))
                    .scalar_subquery())
        rows = (select(impl.due_at, impl.result_at, impl.implementation_status,
                       received.label("received_at"))
                .where(impl.decision_id > 0).subquery("implementations"))
        # Back at (or still at) ASSIGNED: its result is awaited (returned for redo).
        result_in = and_(rows.c.result_at.is_not(None),
                         or_(rows.c.implementation_status.is_(None),
                             rows.c.implementation_status != ImplementationStatus.ASSIGNED))
        due = or_(result_in, rows.c.due_at < self.now)
        on_time = and_(result_in, rows.c.due_at.is_not(None), rows.c.result_at <= rows.c.due_at)
        keys = [_local_day(self.session, rows.c.received_at, self.tz).label("day")] \
            if by_month_of_day else []
        query = (select(*keys, _count(due).label("transferred_due"),
                        _count(on_time).label("on_time"))
                 .where(rows.c.received_at.is_not(None)).group_by(*keys))
        for found in self.session.execute(query):
            figures = by_key.get(str(found.day)[:7]) if by_month_of_day else by_key.get(None)
            if figures is not None:
                figures.transferred_due += int(found.transferred_due or 0)
                figures.on_time += int(found.on_time or 0)

    def _unit_due(self):
        facts = CaseUnitFacts
        return or_(facts.result_in == 1, and_(facts.current == 1, facts.due_at < self.now),
                   facts.missed_before_ended == 1)

    def _in_period(self, facts):
        return [facts.received_at >= self.start, facts.received_at < self.end]

    def _fill(self, facts, key, due, on_time, by_key: dict, where=(),
              by_month_of_day: bool = False) -> None:
        received_day = _local_day(self.session, facts.received_at, self.tz).label("day")
        answered_day = _local_day(self.session, facts.answered_at, self.tz).label("day")
        # The trend adds up days into months; the rest groups by the key alone.
        keys = [received_day] if by_month_of_day else \
            [key.label("key")] if key is not None else []

        def target(found):
            if by_month_of_day:
                return by_key.get(str(found.day)[:7])
            return by_key.get(_key(found.key) if key is not None else None)

        counts = (select(*keys, func.count().label("received"),
                         *(func.sum(getattr(facts, name)).label(name) for name in _FACT_FLAGS),
                         _count(due).label("transferred_due"), func.sum(on_time).label("on_time"))
                  .where(*self._in_period(facts), *where).group_by(*keys))
        for found in self.session.execute(counts):
            figures = target(found)
            if figures is not None:
                for name in ("received", *_FACT_FLAGS, "transferred_due", "on_time"):
                    setattr(figures, name, getattr(figures, name) + int(getattr(found, name) or 0))
        # Working days: the answered cases (answered within the table of days) counted per
        # day answered, minus the same counted per day received, each weighed by its number.
        timed = and_(facts.completed == 1, facts.answered_at >= self.answers_from,
                     facts.answered_at < self.answers_until)
        by = [key.label("key")] if key is not None else []
        for group, weighed, sign in (
                ([*keys, answered_day.label("weighed")] if by_month_of_day
                 else [*by, answered_day.label("weighed")], "weighed", 1),
                ([received_day] if by_month_of_day else [*by, received_day], "day", -1)):
            query = (select(*group, func.count().label("timed"))
                     .where(*self._in_period(facts), *where, timed).group_by(*group))
            for found in self.session.execute(query):
                figures = target(found)
                if figures is not None:
                    figures.working_days_total += sign * int(found.timed) * self.ordinals.get(
                        str(getattr(found, weighed)), 0)


def _ordinals_for(session, calendar, period: Period, now: datetime, tz: str):
    # Answers come after receipt and by `now`; a day beyond both is not needed.
    last = max(period.end, now.astimezone(ZoneInfo(tz)).date()) + timedelta(days=1)
    return _day_ordinals(session, calendar, period.start, last)


def _case_counts():
    return [func.count(Case.id).label("received")] + [
        _count(predicate()).label(name) for name, predicate in CASE_PREDICATES.items()]


class _DaySums:
    """Working days from receipt to answer, per case, as SQL.

    `ordinals` numbers each day by the working days before it, so the working days between
    two days are a subtraction the database can sum.
    """

    def __init__(self, session, tz, ordinals):
        self.received_n = ordinals.alias("received_n")
        self.answered_n = ordinals.alias("answered_n")
        self.received = _local_day(session, Case.created_at, tz)
        self.answered = _local_day(session, Case.answered_at, tz)
        self.per_case = when((_completed(), self.answered_n.c.n - self.received_n.c.n), else_=0)

    def join(self, query):
        # Every received day is in the table (the period's own days); an answer may be missing.
        return (query.join(self.received_n, self.received_n.c.day == self.received)
                .outerjoin(self.answered_n, self.answered_n.c.day == self.answered))


def _total_figures(session, in_period, now, tz, ordinals) -> Figures:
    days = _DaySums(session, tz, ordinals)
    working_days = func.coalesce(func.sum(days.per_case), 0).label("working_days_total")
    found = session.execute(days.join(select(*_case_counts(), working_days).select_from(Case))
                            .where(in_period)).one()
    total = Figures(**{k: int(v or 0) for k, v in found._asdict().items()})
    spans = _assignment_spans(in_period)
    due, on_time = _participation(spans, now)
    found = session.execute(
        select(_count(due).label("transferred_due"), _count(and_(due, on_time)).label("on_time"))
        .select_from(spans).join(Case, Case.id == spans.c.case_id)
        .where(spans.c.ended_at.is_(None))).one()
    total.transferred_due, total.on_time = int(found.transferred_due), int(found.on_time)
    return total


def _fill_rows(session, in_period, now, tz, ordinals, grouping, by_key, unit_filter=None):
    # Each (case, unit) once: the latest assignment of the case to the unit.
    spans = _assignment_spans(in_period, _DaySums(session, tz, ordinals), numbered=grouping)
    due, on_time = _participation(spans, now)
    by_unit = grouping == Grouping.UNIT
    key = spans.c.unit_id if by_unit else spans.c.kind
    query = (select(key.label("key"), *_case_counts(), _count(due).label("transferred_due"),
                    _count(and_(due, on_time)).label("on_time"),
                    func.coalesce(func.sum(spans.c.working_days), 0).label("working_days_total"))
             .select_from(spans).join(Case, Case.id == spans.c.case_id))
    query = query.where((spans.c.nth if by_unit else spans.c.nth_of_kind) == 1).group_by(key)
    if unit_filter is not None:
        query = query.where(spans.c.unit_id == unit_filter)
    for found in session.execute(query):
        figures = by_key.get(_key(found.key))
        if figures is not None:
            for name, value in found._asdict().items():
                if name != "key":
                    setattr(figures, name, int(value or 0))


def _fill_leader_rows(session, in_period, now, tz, ordinals, by_leader: dict) -> None:
    """Count each member's cases (those routed to them) as the total counts the bureau's."""
    days = _DaySums(session, tz, ordinals)
    working_days = func.coalesce(func.sum(days.per_case), 0).label("working_days_total")
    query = (days.join(select(Case.leader_id.label("key"), *_case_counts(), working_days)
                       .select_from(Case))
             .where(in_period).group_by(Case.leader_id))
    for found in session.execute(query):
        figures = by_leader.get(found.key)
        if figures is not None:
            for name, value in found._asdict().items():
                if name != "key":
                    setattr(figures, name, int(value or 0))
    # Participation reads each case's current assignment, as the total does.
    spans = _assignment_spans(in_period)
    due, on_time = _participation(spans, now)
    query = (select(Case.leader_id, _count(due), _count(and_(due, on_time)))
             .select_from(spans).join(Case, Case.id == spans.c.case_id)
             .where(spans.c.ended_at.is_(None)).group_by(Case.leader_id))
    for leader_id, transferred_due, in_time in session.execute(query):
        figures = by_leader.get(leader_id)
        if figures is not None:
            figures.transferred_due, figures.on_time = int(transferred_due), int(in_time)


def _fill_returns(session, in_period, by_unit: dict) -> None:
    # The streak is per assignment; the unit's line shows its longest and sums the redos.
    query = (select(CaseAssignment.unit_id, func.max(CaseAssignment.returns),
                    func.sum(CaseAssignment.dissatisfied_redos))
             .join(Case, Case.id == CaseAssignment.case_id).where(in_period)
             .group_by(CaseAssignment.unit_id))
    for unit_id, streak, dissatisfied in session.execute(query):
        row = by_unit.get(unit_id)
        if row is not None:
            row.returns_in_row, row.dissatisfied_redos = int(streak or 0), int(dissatisfied or 0)


def _fill_criticisms(session, start, end, by_unit: dict) -> None:
    # Criticisms confirmed in the period, whatever the period of their cases.
    query = (select(Censure.unit_id, func.count(Censure.id))
             .where(Censure.kind == CensureKind.CRITICISM,
                    Censure.status == CensureStatus.CONFIRMED, Censure.unit_id.is_not(None),
                    Censure.decided_at >= start, Censure.decided_at < end)
             .group_by(Censure.unit_id))
    for unit_id, count in session.execute(query):
        row = by_unit.get(unit_id)
        if row is not None:
            row.criticisms = int(count)


def _fill_chases(session, in_period, by_unit: dict) -> None:
    # Each chase is an SMS to the unit that had the case that day (the reminder's notification
    # names it), so a case that moved to another unit leaves its chases with the first.
    query = (select(Notification.unit_id, func.count(Reminder.id))
             .join(Notification, Notification.id == Reminder.notification_id)
             .join(Case, Case.id == Reminder.case_id)
             .where(Reminder.kind == ReminderKind.UNIT_CHASE, in_period,
                    Notification.unit_id.is_not(None))
             .group_by(Notification.unit_id))
    for unit_id, count in session.execute(query):
        row = by_unit.get(unit_id)
        if row is not None:
            row.chases = int(count)


_FACT_FLAGS = ("completed", "fed_back", "rated", "satisfied", "answered_on_time",
               "fed_back_on_time")


def _ordinal_dict(calendar: WorkingCalendar, first: date, last: date) -> dict[str, int]:
    """Each day from `first` to `last` ("2026-11-02") and the working days in (first, day]."""
    ordinals, count, day = {}, 0, first
    while day <= last:
        if day > first and calendar.is_working_day(day):
            count += 1
        ordinals[day.isoformat()] = count
        day += timedelta(days=1)
    return ordinals


def _day_ordinals(session, calendar: WorkingCalendar, first: date, last: date):
    """A table of each day from `first` to `last` and the working days in (first, day]."""
    return _ordinals_table(session, _ordinal_dict(calendar, first, last))


def _ordinals_table(session, ordinals: dict[str, int]):
    """The days of an _ordinal_dict as a table (day, n) for a query to join."""
    is_pg = session.get_bind().dialect.name == "postgresql"
    # Only dates and integers we made go into this text, so it is written as literals:
    # a VALUES list of bound parameters costs SQLAlchemy ~0.1 s to compile per query.
    rows = [f"(DATE '{day}', {n})" if is_pg else f"('{day}', {n})"
            for day, n in ordinals.items()]
    # VALUES columns are column1, column2 on both databases.
    return (text(f"SELECT column1 AS day, column2 AS n FROM (VALUES {', '.join(rows)}) AS v")
            .columns(column("day", Date if is_pg else String), column("n", Integer))
            .cte("workday_ordinals"))


def _key(value):
    # SQLite returns the kind column as the enum already; a raw string comes back elsewhere.
    if isinstance(value, str) and not isinstance(value, UnitKind):
        try:
            return UnitKind(value)
        except ValueError:
            return value
    return value


def _local_day(session: Session, column, tz: str):
    """A SQL expression for a UTC timestamp's day in the bureau's time zone."""
    return local_day_sql(session.get_bind().dialect.name, column, tz)


# ---------------------------------------------------------------- trend and drill-down
def compute_trend(session: Session, last_month: date, *, now: datetime,
                  calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE,
                  months: int = TREND_MONTHS, recount: bool = False) -> list[tuple[Period, Figures]]:
    """Return the overall figures for each of the `months` months ending with `last_month`.

    From the kept facts: sums per received day, added up per month. With `recount`: two
    GROUP BY queries over the history of the whole span, by the local month a case was received.
    """
    index = last_month.year * 12 + last_month.month - 1
    periods = [month_period(*_year_month(index - back)) for back in range(months - 1, -1, -1)]
    span = Period(periods[0].start, periods[-1].end)
    if not recount:
        by_month = {p.start.strftime("%Y-%m"): Figures() for p in periods}
        _FactSums(session, span, now, calendar, tz).monthly(by_month)
        return [(p, by_month[p.start.strftime("%Y-%m")]) for p in periods]
    start, end = span.bounds(tz)
    in_span = and_(Case.created_at >= start, Case.created_at < end)
    month = _local_month(session, Case.created_at, tz)
    days = _DaySums(session, tz, _ordinals_for(session, calendar, span, now, tz))
    by_month = {p.start.strftime("%Y-%m"): Figures() for p in periods}
    working_days = func.coalesce(func.sum(days.per_case), 0).label("working_days_total")
    query = days.join(select(month.label("month"), *_case_counts(), working_days)
                      .select_from(Case)).where(in_span).group_by(month)
    for found in session.execute(query):
        figures = by_month.get(found.month)
        if figures is not None:
            for name, value in found._asdict().items():
                if name != "month":
                    setattr(figures, name, int(value or 0))
    spans = _assignment_spans(in_span)
    due, on_time = _participation(spans, now)
    query = (select(month.label("month"), _count(due).label("transferred_due"),
                    _count(and_(due, on_time)).label("on_time"))
             .select_from(spans).join(Case, Case.id == spans.c.case_id)
             .where(spans.c.ended_at.is_(None)).group_by(month))
    for found in session.execute(query):
        figures = by_month.get(found.month)
        if figures is not None:
            figures.transferred_due, figures.on_time = int(found.transferred_due), int(found.on_time)
    return [(p, by_month[p.start.strftime("%Y-%m")]) for p in periods]


def _year_month(index: int) -> tuple[int, int]:
    year, month0 = divmod(index, 12)
    return year, month0 + 1


def _local_month(session: Session, column, tz: str):
    """A SQL expression for a UTC timestamp's month ("2026-11") in the bureau's time zone."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(tz, column), "YYYY-MM")
    return func.substr(_local_day(session, column, tz), 1, 7)


def list_report_cases(session: Session, period: Period, figure: str, *, now: datetime,
                      tz: str = BUREAU_TIMEZONE, unit: Unit | None = None,
                      kind: UnitKind | None = None, missed: bool = False,
                      limit: int = 500) -> list[Case]:
    """Return the cases behind one number of a report, oldest first.

    Args:
        figure: one of DRILL_FIGURES ("received", "completed", "on_time", ...).
        unit, kind: the row the number sits in (None: the total).
        missed: the complement within the denominator's cases, e.g. answered but not fed back.

    Raises:
        ValidationError: an unknown figure (code figure_unknown).
    """
    if figure not in DRILL_FIGURES:
        raise ValidationError("no such figure", field="figure", code="figure_unknown")
    start, end = period.bounds(tz)
    query = select(Case).where(Case.created_at >= start, Case.created_at < end)
    if unit is not None or kind is not None:
        scope = select(CaseAssignment.case_id).join(Unit, Unit.id == CaseAssignment.unit_id)
        scope = scope.where(CaseAssignment.unit_id == unit.id) if unit is not None else \
            scope.where(Unit.kind == kind)
        query = query.where(Case.id.in_(scope))
    if figure in ("transferred_due", "on_time"):
        numbered = Grouping.UNIT if unit is not None else \
            Grouping.KIND if kind is not None else Grouping.NONE
        spans = _assignment_spans(and_(Case.created_at >= start, Case.created_at < end),
                                  numbered=numbered)
        due, on_time = _participation(spans, now)
        chosen = select(spans.c.case_id).select_from(spans).join(Case, Case.id == spans.c.case_id)
        if unit is None and kind is None:
            chosen = chosen.where(spans.c.ended_at.is_(None))
        else:
            chosen = chosen.where(
                and_(spans.c.nth == 1, spans.c.unit_id == unit.id) if unit is not None
                else and_(spans.c.nth_of_kind == 1, spans.c.kind == kind))
        wanted = due if figure == "transferred_due" else and_(due, on_time)
        if missed and figure == "on_time":
            wanted = and_(due, ~on_time)
        query = query.where(Case.id.in_(chosen.where(wanted)))
    elif figure != "received":
        predicate = CASE_PREDICATES[figure]()
        if missed:
            denominator = next(d for n, d in RATES.values() if n == figure)
            base = CASE_PREDICATES.get(denominator)
            predicate = and_(base(), ~predicate) if base else ~predicate
        query = query.where(predicate)
    return list(session.scalars(query.order_by(Case.created_at, Case.id).limit(limit)))


PRESETS = ("month", "quarter", "year", "custom")


def resolve_period(preset: str, value: str, start: str, end: str, today: date) -> Period:
    """Read the period picker: a month "2026-11", a quarter "2026-Q4", a year "2026", or from/to.

    Without a value, the preset means the one containing `today`.

    Raises:
        ValidationError: an unknown preset or a value that does not read (code period_invalid),
            or a bad custom period (see parse_period).
    """
    value = (value or "").strip()
    try:
        if preset == "custom" or (start and end and not value):
            return parse_period(start, end)
        if preset == "month":
            year, month = (int(p) for p in value.split("-")) if value else (today.year,
                                                                               today.month)
            return month_period(year, month)
        if preset == "quarter":
            if value:
                year_text, quarter_text = value.upper().split("-Q")
                year, quarter = int(year_text), int(quarter_text)
            else:
                year, quarter = today.year, (today.month - 1) // 3 + 1
            if not 1 <= quarter <= 4:
                raise ValueError(value)
            return quarter_period(year, quarter)
        if preset == "year":
            return year_period(int(value) if value else today.year)
    except ValueError:
        raise ValidationError("choose a month, quarter or year", field="period",
                              code="period_invalid") from None
    raise ValidationError("choose a month, quarter or year", field="period",
                          code="period_invalid")
