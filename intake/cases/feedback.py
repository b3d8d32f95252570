"""Feedback to the liaison and the liaison's rating, which closes the loop or sends it back.

A dissatisfied rating (不满意) does not close the case: it goes back for redo to whoever
answered it — the unit (a return counted on its assignment), the leader (handling, due the
same day again), or the bureau meeting or county.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.clock import Clock, WorkingCalendar
from intake.time.deadlines import same_day_deadline
from intake.exceptions import ValidationError
from intake.rules.lifecycle import (Outcome, begin, close_supervision, move, open_supervision,
                                    parse_choice, set_deadline)
from intake.store.models import Case
from intake.outbox.notifications import (SmsContext, compose_feedback_sms, compose_rating_request,
                                         queue_sms)
from intake.statuses import (CaseStatus, DeadlineKind, FeedbackMethod, NotificationKind,
                             ReturnCategory, Satisfaction, SupervisionCause)
from intake.cases.transfers import send_back_to_unit

FEEDBACK_NOTE_MAX_CHARS = 500
# A liaison silent this many working days after feedback gets one reminder to rate; after
# this many more, the duty room asks them by phone (the rating must not stall).
RATING_REMINDER_WORKING_DAYS = 2
RATE_BY_PHONE_MORE_WORKING_DAYS = 3
# How far back a fed-back day is looked for: longer than any run of days off.
_LOOKBACK_DAYS = 60
# The reason a redo carries: it goes into the unit's SMS and the case's deadline list, so it
# is written in the bureau's language like every other SMS text.
DISSATISFIED_REASON = {"zh-CN": "联络员不满意", "en-US": "liaison dissatisfied"}


def record_feedback(session: Session, who, case: Case, method: str, note: str, clock: Clock,
                    sms: SmsContext) -> Outcome:
    """Record that the leader fed the answer back; by SMS, send it. Ask the liaison to rate."""
    principal = begin(who, "feedback", case)
    method = parse_choice(FeedbackMethod, method, field="method", code="feedback_method_invalid")
    if method == FeedbackMethod.SMS and not note.strip():
        raise ValidationError("write the text to send", field="note", code="note_required")
    if len(note) > FEEDBACK_NOTE_MAX_CHARS:
        raise ValidationError("the note is too long", field="note", code="note_too_long")
    move(session, case, CaseStatus.FED_BACK, principal, "case.fed_back", method=method.value)
    case.feedback_method = method
    case.feedback_note = note.strip()
    case.fed_back_at = clock.now()
    # A feedback deadline missed put the case on the supervision list; feeding back ends that.
    close_supervision(case, clock, note.strip() or method.value)
    outcome = Outcome(case)
    if case.liaison is not None:
        if method == FeedbackMethod.SMS:
            outcome.add(queue_sms(session, kind=NotificationKind.FEEDBACK, liaison=case.liaison,
                                  case=case, actor=principal.actor,
                                  body=compose_feedback_sms(case, note, sms.language)))
        outcome.add(queue_sms(session, kind=NotificationKind.RATING_REQUEST,
                              liaison=case.liaison, case=case, actor=principal.actor,
                              body=compose_rating_request(case, sms.language)))
    return outcome


def rate_case(session: Session, who, case: Case, rating: str, clock: Clock,
              calendar: WorkingCalendar, sms: SmsContext, via: str = "web") -> Outcome:
    """Record the liaison's rating: satisfied closes the case, dissatisfied sends it back."""
    principal = begin(who, "rate", case)
    rating = parse_choice(Satisfaction, rating, field="rating", code="rating_invalid")
    case.satisfaction = rating
    if rating != Satisfaction.DISSATISFIED:
        move(session, case, CaseStatus.CLOSED, principal, "case.closed",
             satisfaction=rating.value, via=via)
        case.closed_at = clock.now()
        return Outcome(case)
    reason = DISSATISFIED_REASON.get(sms.language, DISSATISFIED_REASON["en-US"])
    # As on every route: the history says how the rating came.
    return send_back_for_redo(session, case, principal, clock, calendar, sms,
                              action="case.rated_dissatisfied", reason=reason,
                              satisfaction=Satisfaction.DISSATISFIED.value, via=via)


def send_back_for_redo(session, case: Case, principal, clock: Clock, calendar: WorkingCalendar,
                       sms: SmsContext, *, action: str, reason: str, **details) -> Outcome:
    """Send a fed-back or closed case back for redo to whoever answered it (不满意's rules).

    The unit gets a dissatisfied redo counted on its assignment and three working days; the
    bureau meeting or the county get the case back on the supervision list; the leader gets
    it back in handling, due the same day. A follow-up visit that finds the problem has come
    back (intake.cases.visits) reopens a closed case through this same function.
    """
    answered_from = case.answered_from or CaseStatus.HANDLING
    if answered_from == CaseStatus.RESULT_FILED and case.assignment is not None:
        return send_back_to_unit(session, case, principal, ReturnCategory.DISSATISFIED, reason,
                                 clock, calendar, sms, action, **details)
    if answered_from in (CaseStatus.BUREAU_MEETING, CaseStatus.COUNTY):
        move(session, case, answered_from, principal, action, **details)
        cause = (SupervisionCause.ESCALATION_BUREAU if answered_from == CaseStatus.BUREAU_MEETING
                 else SupervisionCause.ESCALATION_COUNTY)
        open_supervision(session, case, cause, principal, clock, reason)
        return Outcome(case)
    move(session, case, CaseStatus.HANDLING, principal, action, **details)
    set_deadline(session, case, same_day_deadline(clock.now(), clock), DeadlineKind.REDO,
                 principal, clock, reason)
    return Outcome(case)


def rating_reminder_day(fed_back_on: date, calendar: WorkingCalendar) -> date:
    """Return the day a liaison who has not rated gets the one reminder: 2 working days on."""
    return calendar.add_working_days(fed_back_on, RATING_REMINDER_WORKING_DAYS)


def rate_by_phone_day(fed_back_on: date, calendar: WorkingCalendar) -> date:
    """Return the day an unrated case goes on the duty room's list, 3 working days on."""
    return calendar.add_working_days(rating_reminder_day(fed_back_on, calendar),
                                     RATE_BY_PHONE_MORE_WORKING_DAYS)


def list_to_rate_by_phone(session: Session, now: datetime, calendar: WorkingCalendar,
                          tz: str) -> list[Case]:
    """Return the fed-back cases the liaison has not rated by their rate-by-phone day, oldest first.

    The days counted are working days, so the latest fed-back day that is late enough is found
    on the calendar (walking back from today), and the database keeps the cases fed back by then.
    """
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    latest = next((today - timedelta(days=back) for back in range(_LOOKBACK_DAYS + 1)
                   if rate_by_phone_day(today - timedelta(days=back), calendar) <= today), None)
    if latest is None:
        return []
    until = datetime.combine(latest + timedelta(days=1), time(0), tzinfo=zone)
    return list(session.scalars(
        select(Case).where(Case.status == CaseStatus.FED_BACK, Case.fed_back_at < until)
        .order_by(Case.fed_back_at, Case.id)))
