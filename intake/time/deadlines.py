"""The bureau's deadlines: direct handling the same day, a unit's result in three working days,
the leader's feedback to the liaison by the end of the next working day after the answer.

The working days come from the injected `WorkingCalendar` (intake/clock.py); the clock says
which time zone "the same day" and "close of business" are in.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from intake.store.audit import Actor, record_event
from intake.clock import Clock, WorkingCalendar
from intake.exceptions import Conflict
from intake.rules.lifecycle import set_deadline
from intake.rules.transitions import claim_case
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
    # The recount's own rule says which deadlines are counted (a restored count included).
    if (case.deadline_at is None or not changes or changes[-1].kind is DeadlineKind.FEEDBACK
            or not counted_in_force(changes)):
        return False
    starts = [c.changed_at for c in changes if c.kind in _COUNTED]
    if not starts:
        return False
    start = clock.local(starts[-1]).date()
    due = clock.local(case.deadline_at).date()
    # The days counted are those after the start, up to and including the due day.
    return any(calendar.is_provisional(start + timedelta(days=n))
               for n in range(1, (due - start).days + 1))


def counted_in_force(changes: list[DeadlineChange]) -> bool:
    """Tell whether the deadline in force was counted in working days (the recount rule).

    Counted: a transfer, a redo, a recount, and an overruling that put back the deadline the
    extension replaced (it restores a count). A person's date, an extension or an overruling to a
    date of the office's own, is a date and stays one.
    """
    changes = [c for c in changes if c.kind is not DeadlineKind.FEEDBACK]
    if not changes:
        return False
    latest = changes[-1]
    if latest.kind in (*_COUNTED, DeadlineKind.RECOMPUTED):
        return True
    if latest.kind is DeadlineKind.OVERRULED and len(changes) >= 2:
        overruled = changes[-2]
        return (overruled.kind is DeadlineKind.EXTENSION
                and latest.new_deadline == overruled.old_deadline
                and counted_in_force(changes[:-2]))
    return False


def counted_deadline(changes: list[DeadlineChange], clock: Clock,
                     calendar: WorkingCalendar) -> datetime | None:
    """Count the unit's deadline again from its last start (a transfer or a redo), or None."""
    starts = [c.changed_at for c in changes if c.kind in _COUNTED]
    return unit_result_deadline(starts[-1], clock, calendar) if starts else None


def recompute_deadlines(session: Session, calendar: WorkingCalendar, clock: Clock, actor: Actor,
                        reason: str) -> list[Case]:
    """Count again, after a calendar change, every working-day deadline that has not passed.

    The one rule (issue 19 item 8): a transferred case whose deadline in force was counted in
    working days (see counted_in_force: a transfer, a redo, a recount, or an overruling that
    put a counted deadline back) and has not passed at `clock.now()` is counted again from its
    start on the changed calendar. An extension, or an overruling to the office's own date, is
    a date a person chose and stays; a deadline already missed stays missed.

    Each case is claimed with the same compare-and-set on its version as every case action,
    against the version read when its deadline was judged, so a recount never undoes an
    extension (or any action) committed in between: that case is left as the other action
    left it. Each case moved gets a deadline-change row and an audit row. Returns the cases moved.
    """
    now = clock.now()
    moved = []
    for case in session.scalars(
            select(Case).where(Case.status == CaseStatus.TRANSFERRED, Case.deadline_at > now)
            .options(selectinload(Case.deadline_changes)).order_by(Case.id)):
        if not counted_in_force(case.deadline_changes):
            continue
        due = counted_deadline(case.deadline_changes, clock, calendar)
        if due is None or due == case.deadline_at:
            continue
        try:
            claim_case(session, case)
        except Conflict:
            continue  # acted on since we read it: that action's deadline stands
        old = case.deadline_at
        set_deadline(session, case, due, DeadlineKind.RECOMPUTED, actor, clock, reason)
        record_event(session, actor, "case.deadline_recomputed", case,
                     after={"by": actor.name or actor.label, "old": old, "due": due,
                            "reason": reason})
        moved.append(case)
    return moved
