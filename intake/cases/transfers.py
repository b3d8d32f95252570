"""Transfers to units, the units' written results, and the supervision office's verdicts.

A transfer opens a CaseAssignment (unit, assigned at, due). A result returned for format or
quality counts on that assignment: three in a row flag the unit for a criticism notice
(通报批评, ground 1); a new unit starts again at zero, and acceptance ends the streak. A redo
because the liaison was dissatisfied is its own ground (四.4(3)): counted beside the streak,
never in it.

The same result form, verdicts and returns serve a decision's implementations
(intake.cases.decisions): on a case in DECISION_IMPLEMENTING the result is the filing unit's
implementation, and a verdict names the implementation it is for (or finds the only one filed).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from intake.cases.attachments import Upload, store_attachment
from intake.cases.decisions import (finish_if_carried_out, implementation_awaiting_verdict,
                                    implementation_for_unit, latest_due)
from intake.rules.censures import RETURNS_FOR_CRITICISM, STREAK_CATEGORIES, propose_censure

from intake.clock import Clock, WorkingCalendar
from intake.time.calendar import load_calendar
from intake.time.deadlines import set_feedback_deadline, unit_result_deadline
from intake.store.settings import DEFAULT_FEEDBACK_WORKING_DAYS
from intake.exceptions import InvalidTransition, ValidationError
from intake.rules.lifecycle import (Outcome, advance, begin, mark_answered, move, note_event,
                                    parse_choice, set_deadline)
from intake.store.models import Case, CaseAssignment, Unit, UnitResult
from intake.outbox.notifications import (SmsContext, compose_leader_result_sms, compose_unit_sms,
                                         queue_sms)
from intake.statuses import (CaseStatus, CensureGround, CensureKind, DeadlineKind,
                             ImplementationStatus, NotificationKind, ReturnCategory, Verdict)

# Three format or quality returns in a row flag the unit for a criticism notice (通报批评).
FACTS_CHOICES = ("true", "partly", "false")
REQUIRED_RESULT_TEXT = ("causes", "measures", "liaison_opinion", "signed_by")


@dataclass
class ResultForm:
    """A unit's written result, with every element the bureau's rules prescribe."""

    facts_true: str
    causes: str
    measures: str
    liaison_opinion: str
    signed_by: str
    sealed: bool

    def validate(self) -> None:
        if self.facts_true not in FACTS_CHOICES:
            raise ValidationError("say whether the facts are true", field="facts_true",
                                  code="facts_true_required")
        for name in REQUIRED_RESULT_TEXT:
            if not (getattr(self, name) or "").strip():
                raise ValidationError(f"the result is incomplete: {name}", field=name,
                                      code="result_incomplete")
        if not self.sealed:
            raise ValidationError("the result must carry the unit's official seal",
                                  field="sealed", code="seal_required")


def transfer_case(session: Session, who, case: Case, unit_id: int, clock: Clock,
                  calendar: WorkingCalendar, sms: SmsContext) -> Outcome:
    """Transfer the case to a unit, due at close of business on the third working day."""
    principal = begin(who, "transfer", case)
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit is None or not unit.active:
        raise ValidationError("choose an existing unit", field="unit_id", code="unit_unknown")
    now = clock.now()
    due = unit_result_deadline(now, clock, calendar)
    move(session, case, CaseStatus.TRANSFERRED, principal, "case.transferred", unit_id=unit.id,
         unit=unit.name, due=due)
    session.add(CaseAssignment(case=case, unit=unit, unit_id=unit.id, assigned_at=now,
                               assigned_by=principal.label, due_at=due))
    set_deadline(session, case, due, DeadlineKind.TRANSFER, principal, clock)
    outcome = Outcome(case)
    outcome.add(queue_sms(session, kind=NotificationKind.UNIT_TRANSFER, unit=unit, case=case,
                          body=compose_unit_sms(NotificationKind.UNIT_TRANSFER, case, sms),
                          actor=principal.actor))
    return outcome


def file_result(session: Session, who, case: Case, form: ResultForm, clock: Clock,
                scan: Upload | None = None, recordings_dir: Path | None = None,
                sms: SmsContext | None = None, scan_required: bool = True) -> Outcome:
    """File the unit's written result, with its signed and sealed scan.

    The result goes to the supervision office and, by SMS when `sms` is given, to the
    liaison's leader (三.3).

    Every prescribed element is required. The scan (already checked by
    intake.cases.attachments.read_upload) is written only once the permission, the form and the
    state have all been accepted, so a refused result stores nothing. A sealed result needs
    its scan, so that what is filed shows the seal, unless the bureau turned that off
    (`scan_required`, from DUTYLINE_RESULT_SCAN_REQUIRED).
    """
    principal = begin(who, "result", case)
    form.validate()
    if form.sealed and scan is None and scan_required:
        raise ValidationError("attach the scan of the signed and sealed result",
                              field="attachment", code="attachment_required")
    if scan is not None and recordings_dir is None:
        raise ValueError("a scan needs the recordings folder to be stored in")
    if case.status is CaseStatus.DECISION_IMPLEMENTING:
        assignment = implementation_for_unit(case, principal.unit_id)
        advance(session, case, assignment, ImplementationStatus.RESULT_FILED, principal,
                "case.implementation_result_filed")
    else:
        assignment = case.assignment
        move(session, case, CaseStatus.RESULT_FILED, principal, "case.result_filed",
             unit=assignment.unit.name)
    now = clock.now()
    session.flush()  # the assignment made by a transfer in this same session needs its id
    result = UnitResult(
        case=case, unit_id=assignment.unit_id, assignment_id=assignment.id,
        facts_true=form.facts_true, causes=form.causes.strip(), measures=form.measures.strip(),
        liaison_opinion=form.liaison_opinion.strip(), signed_by=form.signed_by.strip(),
        sealed=form.sealed, submitted_at=now)
    session.add(result)
    assignment.result_at = now
    if scan is not None:
        session.flush()
        store_attachment(session, principal, case, result, scan, recordings_dir, clock)
    return _tell_leader(session, case, principal, NotificationKind.LEADER_RESULT_FILED, sms,
                        assignment.unit)


def _tell_leader(session: Session, case: Case, principal, kind: NotificationKind,
                 sms: SmsContext | None, unit=None) -> Outcome:
    outcome = Outcome(case)
    if sms is not None and case.leader is not None:
        outcome.add(queue_sms(session, kind=kind, leader=case.leader, case=case,
                              body=compose_leader_result_sms(kind, case, sms, unit),
                              actor=principal.actor))
    return outcome


def accept_result(session: Session, who, case: Case, clock: Clock,
                  sms: SmsContext | None = None, calendar: WorkingCalendar | None = None,
                  feedback_days: int = DEFAULT_FEEDBACK_WORKING_DAYS,
                  implementation_id: int | None = None) -> Outcome:
    """The supervision office accepts the unit's result; the case is answered.

    On a decision's implementation (`implementation_id`, or the only one filed) only that
    implementation is accepted; the case is answered with the last of them.

    The leader hears of it by SMS when `sms` is given: it is theirs to feed back now, by the
    end of `feedback_days` working days (the calendar is read from the database when not given).
    """
    principal = begin(who, "accept", case)
    if case.status is CaseStatus.DECISION_IMPLEMENTING:
        return _accept_implementation(session, principal, case, clock, sms, calendar,
                                      feedback_days, implementation_id)
    result = _pending_result(case)
    move(session, case, CaseStatus.ANSWERED, principal, "case.result_accepted",
         unit=case.unit.name)
    result.verdict = Verdict.ACCEPTED
    result.verdict_at = clock.now()
    case.assignment.returns = 0
    mark_answered(case, CaseStatus.RESULT_FILED, result.measures, clock)
    set_feedback_deadline(session, case, principal, clock,
                          calendar if calendar is not None else load_calendar(session),
                          feedback_days)
    return _tell_leader(session, case, principal, NotificationKind.LEADER_RESULT_ACCEPTED, sms)


def _accept_implementation(session: Session, principal, case: Case, clock: Clock,
                           sms: SmsContext | None, calendar: WorkingCalendar | None,
                           feedback_days: int, implementation_id: int | None) -> Outcome:
    implementation = implementation_awaiting_verdict(case, implementation_id)
    advance(session, case, implementation, ImplementationStatus.ACCEPTED, principal,
            "case.implementation_accepted")
    result = _pending_result(case, implementation.id)
    result.verdict = Verdict.ACCEPTED
    result.verdict_at = implementation.accepted_at = clock.now()
    implementation.returns = 0
    calendar = calendar if calendar is not None else load_calendar(session)
    if finish_if_carried_out(session, case, principal, clock, calendar, feedback_days):
        return _tell_leader(session, case, principal, NotificationKind.LEADER_RESULT_ACCEPTED,
                            sms, implementation.unit)
    return Outcome(case)


def return_result(session: Session, who, case: Case, category: str, reason: str, clock: Clock,
                  calendar: WorkingCalendar, sms: SmsContext,
                  implementation_id: int | None = None) -> Outcome:
    """Return a weak result to the unit for redo, with a category and a reason.

    On a decision's implementation (`implementation_id`, or the only one filed) that unit
    carries it out again, in three working days; the others are not touched.
    """
    principal = begin(who, "return", case)
    category = parse_choice(ReturnCategory, category, field="category",
                            code="return_category_invalid")
    if not reason.strip():
        raise ValidationError("say why the result is returned", field="reason",
                              code="reason_required")
    implementation = None
    if case.status is CaseStatus.DECISION_IMPLEMENTING:
        implementation = implementation_awaiting_verdict(case, implementation_id)
        # Refused as the move it is (409), before a missing result would read as bad input.
        if implementation.implementation_status is not ImplementationStatus.RESULT_FILED:
            raise InvalidTransition("Implementation", implementation.implementation_status.value,
                                    ImplementationStatus.ASSIGNED.value)
    result = _pending_result(case, implementation.id if implementation else None)
    result.verdict = Verdict.RETURNED
    result.return_category = category
    result.verdict_reason = reason.strip()
    result.verdict_at = clock.now()
    if implementation is not None:
        return send_back_to_unit(session, case, principal, category, reason.strip(), clock,
                                 calendar, sms, "case.implementation_returned",
                                 implementation=implementation)
    return send_back_to_unit(session, case, principal, category, reason.strip(), clock,
                             calendar, sms, "case.returned_for_redo")


def send_back_to_unit(session: Session, case: Case, principal, category: ReturnCategory,
                      reason: str, clock: Clock, calendar: WorkingCalendar, sms: SmsContext,
                      action: str, implementation=None, **details) -> Outcome:
    """Count a return on the unit's assignment, give it three working days again, tell it.

    With `implementation`, that implementation of a decision goes back to ASSIGNED and the
    case stays where it is; the case's deadline in force stays the latest of its units'.
    """
    assignment = implementation if implementation is not None else case.assignment
    due = unit_result_deadline(clock.now(), clock, calendar)
    if implementation is not None:
        advance(session, case, implementation, ImplementationStatus.ASSIGNED, principal, action,
                category=category.value, reason=reason, due=due, **details)
        implementation.due_at = due
    else:
        move(session, case, CaseStatus.TRANSFERRED, principal, action,
             unit=assignment.unit.name, category=category.value, reason=reason, due=due,
             **details)
    if category in STREAK_CATEGORIES:
        assignment.returns += 1
    else:
        assignment.dissatisfied_redos = (assignment.dissatisfied_redos or 0) + 1
    if implementation is None:
        set_deadline(session, case, due, DeadlineKind.REDO, principal, clock, reason)
    elif latest_due(case) != case.deadline_at:
        set_deadline(session, case, latest_due(case), DeadlineKind.REDO, principal, clock, reason)
    if category in STREAK_CATEGORIES and assignment.returns == RETURNS_FOR_CRITICISM:
        # A third format/quality return in a row proposes criticism ground 1; after an
        # acceptance ended the streak, a new streak of three proposes again.
        session.flush()
        key = f"returned_three_times:assignment:{assignment.id}"
        if assignment.criticism_flagged_at is not None:
            key += f":{clock.now():%Y%m%dT%H%M%S%f}"
        else:
            assignment.criticism_flagged_at = clock.now()
            note_event(session, case, principal, "unit.criticism_flagged",
                       unit=assignment.unit.name, unit_id=assignment.unit_id,
                       returns=assignment.returns)
        propose_censure(session, CensureKind.CRITICISM, CensureGround.RETURNED_THREE_TIMES,
                        key=key, now=clock.now(), unit_id=assignment.unit_id, cases=[case],
                        facts=f"案件 {case.number} 办理结果连续 {assignment.returns} 次因格式或质量被退回")
    outcome = Outcome(case)
    outcome.add(queue_sms(session, kind=NotificationKind.UNIT_RETURN, unit=assignment.unit,
                          case=case, actor=principal.actor,
                          body=compose_unit_sms(NotificationKind.UNIT_RETURN, case, sms, reason,
                                                due=due)))
    return outcome


def _pending_result(case: Case, assignment_id: int | None = None) -> UnitResult:
    pending = [r for r in case.results if r.verdict is None
               and (assignment_id is None or r.assignment_id == assignment_id)]
    if not pending:
        raise ValidationError("there is no unit result waiting for a verdict",
                              code="no_pending_result")
    return max(pending, key=lambda r: r.id or 0)


def latest_return(case: Case) -> UnitResult | None:
    """Return the result the unit now in charge must redo: its latest, returned; else None.

    None once another unit has the case (its predecessor's result is not its to edit) and
    whenever the case is not waiting for a result.
    """
    if case.status is not CaseStatus.TRANSFERRED or not case.results:
        return None
    last = case.results[-1]
    if last.verdict is not Verdict.RETURNED or last.unit_id != case.unit_id:
        return None
    return last
