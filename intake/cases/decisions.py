"""Decisions of the bureau meeting or the county, and their implementation by units (督促落实).

    BUREAU_MEETING | COUNTY ──record_decision──┬─► ANSWERED                (no implementation)
                                               └─► DECISION_IMPLEMENTING ─► ANSWERED
                                                     each unit: ASSIGNED ─► RESULT_FILED ─┬─► ACCEPTED
                                                                  ▲                       │
                                                                  └──── returned ─────────┘

The supervision office (or an admin) records the decision: its text, the date and who decided
(局务会议, 县政府 or a person). Each implementation is a CaseAssignment with `decision_id` set,
supervised like a transfer: its own deadline (three working days by default, or a number of
working days, or a date), the unit's written result through the same form and scan rules
(intake.cases.transfers.file_result), the office's verdict (accept_result / return_result, with
the implementation named), reminders, chases and overdue entries by the sweep. The case is
answered when the last implementation is accepted, and gets its feedback deadline then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.clock import Clock, WorkingCalendar
from intake.exceptions import ValidationError
from intake.outbox.notifications import SmsContext, compose_implementation_sms, queue_sms
from intake.rules.lifecycle import (Outcome, begin, mark_answered, move, set_deadline)
from intake.statuses import CaseStatus, DeadlineKind, ImplementationStatus, NotificationKind
from intake.store.audit import record_event
from intake.store.models import Case, CaseAssignment, CaseDecision, Unit
from intake.store.settings import DEFAULT_FEEDBACK_WORKING_DAYS
from intake.time.deadlines import (UNIT_RESULT_WORKING_DAYS, end_of_day, set_feedback_deadline)

MAX_DECIDED_BY_CHARS = 80
# Who decided, when the leader records the meeting's or the county's outcome as the answer.
DECIDING_BODIES = {CaseStatus.BUREAU_MEETING: "局务会议", CaseStatus.COUNTY: "县政府"}
# A decision's implementation may be given at most this many working days; longer work is
# split, or given a date.
MAX_IMPLEMENTATION_WORKING_DAYS = 60


@dataclass(frozen=True)
class ImplementationOrder:
    """One unit asked to carry out a decision, by a deadline.

    `deadline` is a local date (due at its close of business), a number of working days from
    now, or None for the transfer's three working days.
    """

    unit_id: int | None
    deadline: date | int | None = None


def implementation_deadline(order: ImplementationOrder, clock: Clock,
                            calendar: WorkingCalendar) -> datetime:
    """Return when an implementation is due: close of business on its date or working day."""
    today = clock.local(clock.now()).date()
    deadline = order.deadline
    if deadline is None:
        deadline = UNIT_RESULT_WORKING_DAYS
    if isinstance(deadline, bool) or not isinstance(deadline, (int, date)):
        raise ValidationError("give a date or a number of working days", field="deadline",
                              code="implementation_deadline_invalid")
    if isinstance(deadline, int):
        if not 1 <= deadline <= MAX_IMPLEMENTATION_WORKING_DAYS:
            raise ValidationError(
                f"give 1 to {MAX_IMPLEMENTATION_WORKING_DAYS} working days", field="deadline",
                code="implementation_deadline_invalid")
        return end_of_day(calendar.add_working_days(today, deadline), clock)
    if deadline <= today:
        raise ValidationError("the deadline must be a later day", field="deadline",
                              code="implementation_deadline_invalid")
    return end_of_day(deadline, clock)


def record_decision(session: Session, who, case: Case, text: str, decided_at: date | None,
                    decided_by: str, orders: list[ImplementationOrder], clock: Clock,
                    calendar: WorkingCalendar, sms: SmsContext,
                    feedback_days: int = DEFAULT_FEEDBACK_WORKING_DAYS) -> Outcome:
    """Record the meeting's or the county's decision and hand its implementation to units.

    With no implementation (e.g. "no action needed") the decision is the answer. Otherwise
    the case waits in DECISION_IMPLEMENTING, each unit is told by SMS, and the case's deadline
    in force is the latest of theirs.

    Raises:
        ValidationError: empty text or decider, no date, an unknown or repeated unit, a
            deadline not after today.
        InvalidTransition: the case is not before the bureau meeting or the county.
    """
    principal = begin(who, "decide", case)
    text, decided_by = (text or "").strip(), (decided_by or "").strip()
    if not text:
        raise ValidationError("write the decision", field="text", code="decision_text_required")
    if decided_at is None:
        raise ValidationError("give the date of the decision", field="decided_at",
                              code="decided_at_invalid")
    if decided_at > clock.local(clock.now()).date():
        raise ValidationError("a decision cannot be dated in the future", field="decided_at",
                              code="decided_at_invalid")
    if not decided_by or len(decided_by) > MAX_DECIDED_BY_CHARS:
        raise ValidationError("say who decided", field="decided_by",
                              code="decided_by_required")
    units, dues = [], []
    for order in orders:
        unit = session.get(Unit, order.unit_id) if order.unit_id is not None else None
        if unit is None or not unit.active:
            raise ValidationError("choose an existing unit", field="unit_id",
                                  code="unit_unknown")
        if unit in units:
            raise ValidationError("name each unit once", field="unit_id",
                                  code="implementation_unit_repeated")
        units.append(unit)
        dues.append(implementation_deadline(order, clock, calendar))
    decided_in = case.status
    decision = CaseDecision(case=case, text=text, decided_at=decided_at, decided_by=decided_by,
                            decided_in=decided_in, recorded_at=clock.now(),
                            recorded_by=principal.label)
    facts = {"text": text, "decided_by": decided_by, "decided_on": decided_at.isoformat()}
    if not units:
        move(session, case, CaseStatus.ANSWERED, principal, "case.decision_answered", **facts)
        session.add(decision)
        mark_answered(case, decided_in, text, clock)
        set_feedback_deadline(session, case, principal, clock, calendar, feedback_days)
        return Outcome(case)
    move(session, case, CaseStatus.DECISION_IMPLEMENTING, principal, "case.decision_recorded",
         units=[unit.name for unit in units], **facts)
    session.add(decision)
    now = clock.now()
    outcome = Outcome(case)
    for unit, due in zip(units, dues):
        implementation = CaseAssignment(
            case=case, unit=unit, unit_id=unit.id, decision=decision, assigned_at=now,
            assigned_by=principal.label, due_at=due,
            implementation_status=ImplementationStatus.ASSIGNED)
        session.add(implementation)
        session.flush()  # its id goes into the audit row
        record_event(session, principal.actor, "case.implementation_assigned", case,
                     before=None, after={"by": principal.name, "implementation": "assigned",
                                         "implementation_id": implementation.id,
                                         "unit": unit.name, "unit_id": unit.id, "due": due})
        outcome.add(queue_sms(session, kind=NotificationKind.UNIT_IMPLEMENTATION, unit=unit,
                              case=case, actor=principal.actor,
                              body=compose_implementation_sms(case, decision, due, sms)))
    session.flush()
    set_deadline(session, case, latest_due(case), DeadlineKind.TRANSFER, principal, clock,
                 f"{decided_by}研究决定")
    return outcome


def note_outcome_as_decision(session: Session, case: Case, decided_in: CaseStatus, text: str,
                             principal, clock: Clock) -> None:
    """Keep the leader's answer at the meeting or the county as that body's decision, dated today.

    The leader may still record the outcome as the answer (`answer_case`); the case then has
    the same decision row a decision with no implementation leaves, so the case page and the
    API show every meeting's or county's outcome the same way.
    """
    if decided_in not in DECIDING_BODIES:
        return
    session.add(CaseDecision(case=case, text=text, decided_at=clock.local(clock.now()).date(),
                             decided_by=DECIDING_BODIES[decided_in], decided_in=decided_in,
                             recorded_at=clock.now(), recorded_by=principal.label))


def implementation_for_unit(case: Case, unit_id: int | None) -> CaseAssignment:
    """Return the unit's implementation of the case's current decision.

    Raises:
        ValidationError: the unit carries out no part of it.
    """
    for implementation in case.implementations:
        if implementation.unit_id == unit_id:
            return implementation
    raise ValidationError("your unit carries out no part of this decision", field="unit_id",
                          code="implementation_unknown")


def implementation_awaiting_verdict(case: Case, implementation_id: int | None) -> CaseAssignment:
    """Return the implementation a verdict is for: the one named, or the only one filed.

    Raises:
        ValidationError: none named while several wait, or one not of this decision.
    """
    if implementation_id is not None:
        for implementation in case.implementations:
            if implementation.id == implementation_id:
                return implementation
        raise ValidationError("choose an implementation of this case's decision",
                              field="implementation_id", code="implementation_unknown")
    waiting = [i for i in case.implementations
               if i.implementation_status == ImplementationStatus.RESULT_FILED]
    if len(waiting) != 1:
        raise ValidationError("say which unit's result the verdict is for",
                              field="implementation_id", code="implementation_required")
    return waiting[0]


def finish_if_carried_out(session: Session, case: Case, principal, clock: Clock,
                          calendar: WorkingCalendar, feedback_days: int) -> bool:
    """Answer the case once every implementation is accepted; tell whether it did."""
    implementations = case.implementations
    if not implementations or any(i.implementation_status != ImplementationStatus.ACCEPTED
                                  for i in implementations):
        return False
    decision = case.decision
    move(session, case, CaseStatus.ANSWERED, principal, "case.decision_carried_out",
         decided_by=decision.decided_by, units=[i.unit.name for i in implementations])
    mark_answered(case, decision.decided_in, decision.text, clock)
    set_feedback_deadline(session, case, principal, clock, calendar, feedback_days)
    return True


def latest_due(case: Case) -> datetime | None:
    """Return the latest deadline of the decision's implementations: the case's own."""
    dues = [i.due_at for i in case.implementations if i.due_at]
    return max(dues) if dues else None


def list_unit_implementations(session: Session, unit_id: int) -> list[CaseAssignment]:
    """Return the implementations a unit still owes a result for, the earliest due first."""
    return list(session.scalars(
        select(CaseAssignment).join(Case, Case.id == CaseAssignment.case_id)
        .where(CaseAssignment.unit_id == unit_id, CaseAssignment.decision_id.is_not(None),
               CaseAssignment.implementation_status == ImplementationStatus.ASSIGNED,
               Case.status == CaseStatus.DECISION_IMPLEMENTING)
        .order_by(CaseAssignment.due_at, CaseAssignment.id)))


def list_implementations_awaiting_verdict(session: Session) -> list[CaseAssignment]:
    """Return the implementations whose result waits for the supervision office, oldest first."""
    return list(session.scalars(
        select(CaseAssignment).join(Case, Case.id == CaseAssignment.case_id)
        .where(CaseAssignment.decision_id.is_not(None),
               CaseAssignment.implementation_status == ImplementationStatus.RESULT_FILED,
               Case.status == CaseStatus.DECISION_IMPLEMENTING)
        .order_by(CaseAssignment.result_at, CaseAssignment.id)))
