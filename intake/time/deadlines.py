"""The bureau's deadlines: direct handling the same day, a unit's result in three working days,
the leader's feedback to the liaison by the end of the next working day after the answer.

The working days come from the injected `WorkingCalendar` (intake/clock.py); the clock says
which time zone "the same day" and "close of business" are in.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.clock import Clock, WorkingCalendar
from intake.rules.lifecycle import set_deadline
from intake.rules.access import Principal
from intake.store.models import Case, DeadlineChange
from intake.store.settings import DEFAULT_FEEDBACK_WORKING_DAYS
from intake.statuses import CaseStatus, DeadlineKind

UNIT_RESULT_WORKING_DAYS = 3
END_OF_WORKING_DAY = time(17, 30)


def end_of_day(day: date, clock: Clock) -> datetime:
    """Return the close of business on a local date, as an aware datetime."""
    return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=clock.tz)


def same_day_deadline(start: datetime, clock: Clock) -> datetime:
    """Direct handling is due the same day: midnight at the end of the start's local date."""
    local = clock.local(start)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=clock.tz)


def unit_result_deadline(start: datetime, clock: Clock, calendar: WorkingCalendar) -> datetime:
    """A transferred case is due at close of business, three working days after the start."""
    due_day = calendar.add_working_days(clock.local(start).date(), UNIT_RESULT_WORKING_DAYS)
    return end_of_day(due_day, clock)


def feedback_deadline(answered: datetime, clock: Clock, calendar: WorkingCalendar,
                      working_days: int = DEFAULT_FEEDBACK_WORKING_DAYS) -> datetime:
    """Feedback is due at close of business, `working_days` working days after the answer."""
    due_day = calendar.add_working_days(clock.local(answered).date(), working_days)
    return end_of_day(due_day, clock)


def set_feedback_deadline(session: Session, case: Case, principal: Principal | Actor,
                          clock: Clock, calendar: WorkingCalendar,
                          working_days: int = DEFAULT_FEEDBACK_WORKING_DAYS) -> DeadlineChange:
    """Give an answered case its feedback deadline, kept as a deadline-change row.

    The deadline in force (`deadline_at`) stays the answer's own, so "answered on time" still
    reads it; the feedback deadline lives beside it in `feedback_due_at`.
    """
    due = feedback_deadline(clock.now(), clock, calendar, working_days)
    change = DeadlineChange(case=case, kind=DeadlineKind.FEEDBACK,
                            old_deadline=case.feedback_due_at, new_deadline=due, reason="",
                            changed_by=principal.label, changed_by_user_id=principal.user_id,
                            changed_at=clock.now())
    session.add(change)
    case.feedback_due_at = due
    return change


# Deadlines counted in working days from a start; an extension or an overruling is a date a
# person chose, and stays as it is.
_COUNTED = (DeadlineKind.TRANSFER, DeadlineKind.REDO)


def deadline_is_provisional(case: Case, calendar: WorkingCalendar, clock: Clock) -> bool:
    """Tell whether the deadline in force was counted over days the calendar only estimates.

    Asked on display, not stored: once the bureau enters the year's notice, the same
    deadline stops being provisional (or is recounted) without touching the case. Only a
    counted deadline (a transfer, a redo or a recount) can be; a date a person chose cannot.
    """
    changes = case.deadline_changes
    if case.deadline_at is None or not changes or changes[-1].kind not in (
            *_COUNTED, DeadlineKind.RECOMPUTED):
        return False
    starts = [c.changed_at for c in changes if c.kind in _COUNTED]
    if not starts:
        return False
    start = clock.local(starts[-1]).date()
    due = clock.local(case.deadline_at).date()
    # The days counted are those after the start, up to and including the due day.
    return any(calendar.is_provisional(start + timedelta(days=n))
               for n in range(1, (due - start).days + 1))


def recompute_deadlines(session: Session, calendar: WorkingCalendar, clock: Clock, actor: Actor,
                        reason: str) -> list[Case]:
    """Count again the working-day deadlines of transferred cases, after a calendar change.

    A case whose deadline in force was counted (a transfer or a redo, or an earlier
    recount) gets its deadline counted from the same start on the changed calendar; each
    one that moves gets a deadline-change row and an audit row. Returns the cases moved.
    """
    latest: dict[int, DeadlineChange] = {}
    counted_from: dict[int, datetime] = {}
    for change in session.scalars(
            select(DeadlineChange).join(Case, Case.id == DeadlineChange.case_id)
            .where(Case.status == CaseStatus.TRANSFERRED).order_by(DeadlineChange.id)):
        latest[change.case_id] = change
        if change.kind in _COUNTED:
            counted_from[change.case_id] = change.changed_at
    moved = []
    for case_id, change in latest.items():
        if change.kind not in (*_COUNTED, DeadlineKind.RECOMPUTED) or case_id not in counted_from:
            continue
        due = unit_result_deadline(counted_from[case_id], clock, calendar)
        case = session.get(Case, case_id)
        if case.deadline_at is None or due == case.deadline_at:
            continue
        old = case.deadline_at
        set_deadline(session, case, due, DeadlineKind.RECOMPUTED, actor, clock, reason)
        record_event(session, actor, "case.deadline_recomputed", case,
                     after={"by": actor.name or actor.label, "old": old, "due": due,
                            "reason": reason})
        moved.append(case)
    return moved
