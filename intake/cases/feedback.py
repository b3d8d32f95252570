"""Feedback to the liaison and the liaison's rating, which closes the loop or sends it back.

A dissatisfied rating (不满意) does not close the case: it goes back for redo to whoever
answered it — the unit (a return counted on its assignment), the leader (handling, due the
same day again), or the bureau meeting or county.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from intake.clock import Clock, WorkingCalendar
from intake.time.deadlines import same_day_deadline
from intake.exceptions import ValidationError
from intake.rules.lifecycle import (Outcome, begin, move, open_supervision, parse_choice,
                                    set_deadline)
from intake.store.models import Case
from intake.outbox.notifications import (SmsContext, compose_feedback_sms, compose_rating_request,
                                         queue_sms)
from intake.statuses import (CaseStatus, DeadlineKind, FeedbackMethod, NotificationKind,
                             ReturnCategory, Satisfaction, SupervisionCause)
from intake.cases.transfers import send_back_to_unit

FEEDBACK_NOTE_MAX_CHARS = 500
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
    return _redo_after_dissatisfaction(session, case, principal, clock, calendar, sms, via)


def _redo_after_dissatisfaction(session, case: Case, principal, clock: Clock,
                                calendar: WorkingCalendar, sms: SmsContext, via: str) -> Outcome:
    answered_from = case.answered_from or CaseStatus.HANDLING
    reason = DISSATISFIED_REASON.get(sms.language, DISSATISFIED_REASON["en-US"])
    if answered_from == CaseStatus.RESULT_FILED and case.assignment is not None:
        return send_back_to_unit(session, case, principal, ReturnCategory.DISSATISFIED, reason,
                                 clock, calendar, sms, "case.rated_dissatisfied",
                                 # as on the other routes: the history says how the rating came
                                 satisfaction=Satisfaction.DISSATISFIED.value, via=via)
    if answered_from in (CaseStatus.BUREAU_MEETING, CaseStatus.COUNTY):
        move(session, case, answered_from, principal, "case.rated_dissatisfied",
             satisfaction=Satisfaction.DISSATISFIED.value, via=via)
        cause = (SupervisionCause.ESCALATION_BUREAU if answered_from == CaseStatus.BUREAU_MEETING
                 else SupervisionCause.ESCALATION_COUNTY)
        open_supervision(session, case, cause, principal, clock, reason)
        return Outcome(case)
    move(session, case, CaseStatus.HANDLING, principal, "case.rated_dissatisfied",
         satisfaction=Satisfaction.DISSATISFIED.value, via=via)
    set_deadline(session, case, same_day_deadline(clock.now(), clock), DeadlineKind.REDO,
                 principal, clock, reason)
    return Outcome(case)
