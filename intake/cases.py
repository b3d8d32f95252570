"""Cases: the bureau's written rules as a state machine (diagram in intake/statuses.py).

One function per transition. Each checks the move, stamps times, sets deadlines and writes
an audit row (through intake.transitions.move_status); nothing else assigns case.status.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.audit import Actor, record_event
from intake.calls import get_call
from intake.deadlines import same_day_deadline, unit_result_deadline
from intake.exceptions import NotFound, ValidationError
from intake.models import Call, Case, CaseCounter, Liaison, Unit, UnitResult, utcnow
from intake.notifications import compose_case_sms, queue_sms
from intake.routing import choose_leader
from intake.statuses import CallStatus, CaseStatus
from intake.transitions import move_status

# Three returns in a row flag the unit for a criticism notice (通报批评).
REDO_LIMIT_FOR_CRITICISM = 3
SATISFACTION_CHOICES = ("satisfied", "basically_satisfied", "dissatisfied")
FEEDBACK_METHODS = ("phone", "written", "sms", "in_person")
SUMMARY_MAX_CHARS = 200


@dataclass
class Confirmation:
    """What the duty officer confirmed about a call."""

    caller_name: str
    caller_unit: str = ""
    caller_phone: str = ""
    liaison_id: int | None = None
    leader_id: int | None = None
    route_reason: str = ""
    category: str = ""
    urgent: bool = False
    summary: str = ""

    def validate(self) -> None:
        if not self.caller_name.strip():
            raise ValidationError("enter the caller's name", field="caller_name")
        if len(self.summary) > SUMMARY_MAX_CHARS:
            raise ValidationError(
                f"keep the summary under {SUMMARY_MAX_CHARS} characters", field="summary"
            )


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def find_case_by_number(session: Session, number: str) -> Case | None:
    return session.scalar(select(Case).where(Case.number == number))


def confirm_call(
    session: Session, call_id: int, confirmation: Confirmation, actor: Actor
) -> Case:
    """Turn a reviewed call into a case routed to a leader, in one step.

    Raises:
        ValidationError: missing name, no leader to route to, or an override without reason.
        InvalidTransition: the call is already confirmed or not yet recorded.
    """
    confirmation.validate()
    call = get_call(session, call_id)
    liaison = session.get(Liaison, confirmation.liaison_id) if confirmation.liaison_id else None
    route = choose_leader(session, liaison, confirmation.leader_id, confirmation.route_reason)
    move_status(session, call, CallStatus.CONFIRMED, actor, "call.confirmed")
    case = Case(
        number=_next_case_number(session),
        call=call,
        caller_name=confirmation.caller_name.strip(),
        caller_unit=confirmation.caller_unit.strip(),
        caller_phone=confirmation.caller_phone.strip(),
        liaison_id=liaison.id if liaison else None,
        leader=route.leader,
        category=confirmation.category,
        urgent=confirmation.urgent or call.urgent,
        summary=confirmation.summary.strip() or default_summary(call),
        route_reason=route.reason,
        status=CaseStatus.ROUTED,
    )
    session.add(case)
    session.flush()
    record_event(session, actor, "case.routed", case, after={
        "status": CaseStatus.ROUTED.value, "number": case.number, "leader_id": route.leader.id,
        "default_leader": route.is_default, "reason": route.reason,
        "caller_name": case.caller_name, "caller_unit": case.caller_unit,
        "caller_phone": case.caller_phone,
    })
    return case


def default_summary(call: Call) -> str:
    """Return the transcript's first sentence, as the summary's default."""
    text = call.transcript_for_display
    for stop in "。！？.!?":
        if stop in text:
            text = text.split(stop, 1)[0]
    return text[:60]


def acknowledge_case(session: Session, case: Case, actor: Actor, via: str = "web") -> bool:
    """Record that the leader has seen the case (已收到); return False if already done."""
    if case.acknowledged_at is not None:
        return False
    case.acknowledged_at = utcnow()
    if case.status == CaseStatus.ROUTED:
        move_status(session, case, CaseStatus.ACKNOWLEDGED, actor, "case.acknowledged", via=via)
    else:
        record_event(session, actor, "case.acknowledged", case, after={"via": via})
    return True


def handle_directly(session: Session, case: Case, actor: Actor, now: datetime, tz: str) -> None:
    """The leader handles the case personally; it is due the same day."""
    move_status(session, case, CaseStatus.HANDLING, actor, "case.handling")
    case.deadline_at = same_day_deadline(now, tz)


def transfer_to_unit(
    session: Session, case: Case, unit_id: int, actor: Actor, now: datetime, tz: str
) -> None:
    """Transfer the case to a medical unit, due in three working days."""
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise ValidationError("choose an existing unit", field="unit_id")
    move_status(session, case, CaseStatus.TRANSFERRED, actor, "case.transferred", unit_id=unit.id)
    case.unit = unit
    case.deadline_at = unit_result_deadline(now, tz)


def escalate_to_bureau(session: Session, case: Case, actor: Actor) -> None:
    """Send the case to the bureau meeting; it is registered with the supervision office."""
    move_status(session, case, CaseStatus.BUREAU_MEETING, actor, "case.bureau_meeting")
    case.supervised = True


def escalate_to_county(session: Session, case: Case, actor: Actor) -> None:
    """Report a major, wide-reaching matter to the county committee and government."""
    move_status(session, case, CaseStatus.COUNTY, actor, "case.county")
    case.supervised = True


def extend_deadline(session: Session, case: Case, new_deadline: datetime, reason: str,
                    actor: Actor) -> None:
    """Give a case that cannot finish in time an explained new deadline."""
    if not reason.strip():
        raise ValidationError("an extension needs a reason", field="reason")
    if case.deadline_at is not None and new_deadline <= case.deadline_at:
        raise ValidationError("the new deadline must be later", field="deadline")
    before = case.deadline_at
    case.deadline_at = new_deadline
    case.deadline_reason = reason.strip()
    record_event(session, actor, "case.deadline_extended", case,
                 before={"deadline": before}, after={"deadline": new_deadline, "reason": reason})


def file_unit_result(session: Session, case: Case, result: UnitResult, actor: Actor) -> None:
    """File a unit's written result; every element of the prescribed format is required."""
    missing = [name for name in ("facts_true", "causes", "measures", "liaison_opinion",
                                 "signed_by") if not (getattr(result, name) or "").strip()]
    if missing:
        raise ValidationError("the result is incomplete: " + ", ".join(missing), field=missing[0])
    if not result.sealed:
        raise ValidationError("the result must carry the unit's official seal", field="sealed")
    move_status(session, case, CaseStatus.RESULT_FILED, actor, "case.result_filed")
    # case.unit_id is only set at the next flush after a transfer: take the id from the unit.
    result.unit_id = case.unit.id
    result.case = case
    session.add(result)


def accept_result(session: Session, case: Case, actor: Actor) -> None:
    """The supervision office accepts the unit's result."""
    result = _latest_result(case)
    result.verdict = "accepted"
    move_status(session, case, CaseStatus.ANSWERED, actor, "case.result_accepted")
    case.answered_at = utcnow()
    case.redo_count = 0


def return_for_redo(session: Session, case: Case, reason: str, actor: Actor, now: datetime,
                    tz: str) -> None:
    """Return a weak result to the unit; the third return in a row flags a criticism notice."""
    if not reason.strip():
        raise ValidationError("say why the result is returned", field="reason")
    result = _latest_result(case)
    result.verdict = "returned"
    result.verdict_reason = reason.strip()
    move_status(session, case, CaseStatus.TRANSFERRED, actor, "case.returned_for_redo",
                reason=reason.strip())
    case.redo_count += 1
    case.deadline_at = unit_result_deadline(now, tz)
    if case.redo_count >= REDO_LIMIT_FOR_CRITICISM and not case.criticism_flagged:
        case.criticism_flagged = True
        record_event(session, actor, "unit.criticism_flagged", case,
                     after={"unit_id": case.unit_id, "redo_count": case.redo_count})


def answer_case(session: Session, case: Case, note: str, actor: Actor) -> None:
    """Record the leader's (or the meeting's) answer to the liaison's message."""
    if not note.strip():
        raise ValidationError("describe how the matter was handled", field="note")
    move_status(session, case, CaseStatus.ANSWERED, actor, "case.answered")
    case.handling_note = note.strip()
    case.answered_at = utcnow()


def record_feedback(session: Session, case: Case, method: str, note: str, actor: Actor) -> None:
    """Record that the leader fed the answer back to the liaison."""
    if method not in FEEDBACK_METHODS:
        raise ValidationError("choose how the liaison was told", field="method")
    move_status(session, case, CaseStatus.FED_BACK, actor, "case.fed_back", method=method)
    case.feedback_method = method
    case.feedback_note = note.strip()
    case.fed_back_at = utcnow()


def rate_satisfaction(session: Session, case: Case, rating: str, actor: Actor) -> None:
    """Record the liaison's satisfaction, closing the two-way loop."""
    if rating not in SATISFACTION_CHOICES:
        raise ValidationError("unknown satisfaction rating", field="rating")
    move_status(session, case, CaseStatus.CLOSED, actor, "case.closed", satisfaction=rating)
    case.satisfaction = rating
    case.closed_at = utcnow()


def supervise_overdue_cases(session: Session, now: datetime, actor: Actor) -> list[Case]:
    """Hand every overdue, unexplained case to the supervision office; return those newly flagged."""
    open_states = (CaseStatus.HANDLING, CaseStatus.TRANSFERRED)
    overdue = list(session.scalars(select(Case).where(
        Case.status.in_(open_states), Case.deadline_at < now, Case.supervised.is_(False))))
    for case in overdue:
        case.supervised = True
        record_event(session, actor, "case.overdue_supervised", case,
                     after={"deadline": case.deadline_at})
    return overdue


def _latest_result(case: Case) -> UnitResult:
    pending = [r for r in case.results if r.verdict is None]
    if not pending:
        raise ValidationError("there is no unit result waiting for a verdict")
    return max(pending, key=lambda r: r.id or 0)


def _next_case_number(session: Session) -> str:
    # The counter row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises
    # writers) so two officers confirming at once never get the same number.
    year = utcnow().year
    counter = session.scalar(
        select(CaseCounter).where(CaseCounter.year == year).with_for_update()
    )
    if counter is None:
        counter = CaseCounter(year=year, last_value=0)
        session.add(counter)
    counter.last_value += 1
    session.flush()
    return _format_case_number(year, counter.last_value)


def peek_next_case_number(session: Session) -> str:
    """Return the number the next confirmed case gets, unless someone confirms one first."""
    year = utcnow().year
    last = session.scalar(select(CaseCounter.last_value).where(CaseCounter.year == year))
    return _format_case_number(year, (last or 0) + 1)


def _format_case_number(year: int, value: int) -> str:
    return f"{year}-{value:06d}"


def confirm_and_route(
    session: Session,
    call_id: int,
    confirmation: Confirmation,
    actor: Actor,
    case_link,
    language: str,
):
    """Confirm a call into a case, route it and queue the leader's SMS; return both.

    Args:
        case_link: a function from Case to the absolute URL of its leader page.
    """
    case = confirm_call(session, call_id, confirmation, actor)
    body = compose_case_sms(case, case_link(case), language)
    notification = queue_sms(session, kind="case_routed", leader=case.leader, body=body,
                             actor=actor, case=case)
    return case, notification
