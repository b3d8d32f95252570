"""Cases: confirming a call (or entering one by hand), acknowledging, handling and answering.

The state machine is drawn in intake/statuses.py; transfers and results are in
intake/cases/transfers.py, escalation, extensions and overdue cases in intake/cases/supervision.py,
feedback and rating in intake/cases/feedback.py. Every action checks the permission table,
moves the state, writes the audit row and returns an Outcome; none of them commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.calls.voicemail import DIAL_ANSWERED, find_liaison_by_number, get_call
from intake.clock import BUREAU_TIMEZONE, Clock, WorkingCalendar
from intake.time.deadlines import (deadline_is_provisional, same_day_deadline,
                                   set_feedback_deadline)
from intake.store.settings import DEFAULT_FEEDBACK_WORKING_DAYS
from intake.exceptions import Forbidden, ValidationError
from intake.cases.decisions import note_outcome_as_decision
from intake.cases.history import list_case_history
from intake.time.calendar import load_calendar
from intake.rules.lifecycle import (Outcome, begin, mark_answered, move, note_event, parse_choice,
                                    set_deadline)
from intake.store.models import Call, Case, CaseCounter, Liaison
from intake.outbox.notifications import SmsContext, compose_case_sms, queue_sms
from intake.directory.phones import require_phone
from intake.calls.routing import RouteChoice, choose_leader
from intake.cases.intake_fields import read_unknown_marks, settle_intake_fields
from intake.directory.roster import get_leader
from intake.rules.access import Party
from intake.rules.censures import count_chases
from intake.statuses import (CallStatus, CaseChannel, CaseImportance, CaseStatus, DeadlineKind,
                             NotificationKind)
from intake.rules.transitions import claim_call, move_status

SUMMARY_MAX_CHARS = 200
IMPORTANCE_REASON_MAX_CHARS = 500
_UPSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
CONTENT_MAX_CHARS = 10000


@dataclass
class Confirmation:
    """What the duty officer confirmed about a call (or took down for a case entered by hand)."""

    caller_name: str
    caller_unit: str = ""
    caller_phone: str = ""
    liaison_id: int | None = None
    leader_id: int | None = None
    route_reason: str = ""
    category: str = ""
    urgent: bool = False
    summary: str = ""
    # 重要事项 or 领导批示件, set by the duty officer at the confirm step (normal by default).
    importance: CaseImportance | str = CaseImportance.NORMAL

    def validate(self, name_marked_unknown: bool = False) -> None:
        if not self.caller_name.strip() and not name_marked_unknown:
            raise ValidationError("enter the caller's name", field="caller_name",
                                  code="caller_name_required")
        if len(self.summary) > SUMMARY_MAX_CHARS:
            raise ValidationError(f"keep the summary under {SUMMARY_MAX_CHARS} characters",
                                  field="summary", code="summary_too_long")


def confirm_call(session: Session, call_id: int, confirmation: Confirmation, actor: Actor,
                 clock: Clock | None = None) -> Case:
    """Turn a reviewed call into a case routed to a leader, in one step.

    Raises:
        ValidationError: missing name, no leader to route to, or an override without reason.
        InvalidTransition: the call is already confirmed or not yet recorded.
        Conflict: someone else confirmed (or otherwise moved) the call since it was read.
    """
    clock = clock or Clock()
    confirmation.validate()
    importance = parse_choice(CaseImportance, confirmation.importance or CaseImportance.NORMAL,
                              field="importance", code="importance_invalid")
    call = get_call(session, call_id)
    liaison = session.get(Liaison, confirmation.liaison_id) if confirmation.liaison_id else None
    route = choose_leader(session, liaison, confirmation.leader_id, confirmation.route_reason)
    # Two officers confirming one call at once: the first claim wins, the second is a Conflict
    # (the unique call_id on cases would otherwise refuse it only at commit, as a 500).
    claim_call(session, call)
    move_status(session, call, CallStatus.CONFIRMED, actor, "call.confirmed")
    return _open_case(session, confirmation, liaison, route, actor, clock, call=call,
                      # A call the duty phone answered came in live, not as a voicemail.
                      channel=(CaseChannel.PHONE if call.dial_status == DIAL_ANSWERED
                               else CaseChannel.VOICEMAIL),
                      summary=confirmation.summary.strip() or default_summary(call),
                      urgent=confirmation.urgent or call.urgent, importance=importance)


def confirm_and_route(session: Session, call_id: int, confirmation: Confirmation, actor: Actor,
                      case_link, language: str, clock: Clock | None = None):
    """Confirm a call into a case, route it and queue the leader's SMS; return both.

    Args:
        case_link: a function from Case to the absolute URL of its leader page.
    """
    case = confirm_call(session, call_id, confirmation, actor, clock)
    notification = queue_sms(session, kind=NotificationKind.CASE_ROUTED, leader=case.leader,
                             body=compose_case_sms(case, case_link(case), language),
                             actor=actor, case=case)
    return case, notification


@dataclass
class CaseEntry:
    """A case the duty room enters by hand (design.md POST /api/v1/cases)."""

    caller_name: str
    content: str
    caller_unit: str = ""
    caller_phone: str = ""
    liaison_id: int | None = None
    leader_id: int | None = None
    route_reason: str = ""
    urgent: bool = False
    received_at: datetime | None = None
    channel: CaseChannel | str = CaseChannel.PHONE
    category: str = ""
    importance: CaseImportance | str = CaseImportance.NORMAL
    # {field: why it is unknown} (intake.cases.intake_fields). None: an older client that does
    # not know the marks, held only to a name and content as before; a leader, the case page
    # and any client that sends the map (even {}) must give or mark all four fields.
    unknown_fields: dict | None = None


def create_case(session: Session, who, entry: CaseEntry, clock: Clock, sms: SmsContext) -> Outcome:
    """Open a case that did not come through voicemail and route it to the liaison's leader.

    Without `liaison_id` the liaison is found by `caller_phone`, as for a call. A leader
    records a report made to them directly (一.3): channel `leader`, into their own queue,
    whoever the liaison's linked leader is.

    Raises:
        Forbidden: the actor may not enter cases, or a leader names another leader's queue.
        ValidationError: missing name or content, a bad channel or phone, no leader.
        IntakeIncomplete: (a leader, or a client sending `unknown_fields`) an intake field
            neither given nor marked unknown with a reason.
    """
    principal = begin(who, "create", None)
    channel = parse_choice(CaseChannel, entry.channel, field="channel", code="channel_invalid")
    importance = parse_choice(CaseImportance, entry.importance or CaseImportance.NORMAL,
                              field="importance", code="importance_invalid")
    if channel == CaseChannel.VOICEMAIL:
        raise ValidationError("voicemail cases are confirmed from their call", field="channel",
                              code="channel_invalid")
    by_leader = principal.party is Party.LEADER
    if by_leader:
        if channel is not CaseChannel.LEADER:
            raise ValidationError("a leader records the reports made to them", field="channel",
                                  code="channel_invalid")
        if principal.leader_id is None or entry.leader_id not in (None, principal.leader_id):
            raise Forbidden("a leader records reports into their own queue only")
    # Every field of 一.4 given or marked unknown with a reason: always for a leader; for the
    # duty room's page and any client that speaks the marks. Older API clients keep working.
    complete_intake = by_leader or entry.unknown_fields is not None
    marks = read_unknown_marks(entry.unknown_fields)
    if not entry.content.strip() and not (complete_intake and "content" in marks):
        raise ValidationError("say what the liaison reported", field="content",
                              code="content_required")
    if len(entry.content) > CONTENT_MAX_CHARS:
        raise ValidationError("the content is too long", field="content", code="content_too_long")
    phone = ""
    if entry.caller_phone.strip():
        phone = require_phone(entry.caller_phone, field="caller_phone")
    if entry.received_at is not None and entry.received_at.tzinfo is None:
        raise ValidationError("give the time with its offset", field="received_at",
                              code="time_without_offset")
    if entry.liaison_id is not None:
        liaison = session.get(Liaison, entry.liaison_id)
        if liaison is None:
            raise ValidationError("no such liaison", field="liaison_id", code="liaison_unknown")
    else:
        liaison = find_liaison_by_number(session, phone) if phone else None
    if complete_intake and not phone and liaison is not None:
        phone = liaison.phone or ""  # the directory knows how to reach a known liaison
    confirmation = Confirmation(
        caller_name=entry.caller_name or (liaison.name if liaison else ""),
        caller_unit=entry.caller_unit or (liaison.work_unit if liaison else ""),
        caller_phone=phone, liaison_id=liaison.id if liaison else None,
        leader_id=entry.leader_id, route_reason=entry.route_reason, category=entry.category,
        urgent=entry.urgent, summary=entry.content.strip()[:SUMMARY_MAX_CHARS])
    unknown = {}
    if complete_intake:
        unknown = settle_intake_fields({
            "caller_name": confirmation.caller_name, "caller_unit": confirmation.caller_unit,
            "caller_phone": confirmation.caller_phone, "content": entry.content}, marks)
    confirmation.validate(name_marked_unknown="caller_name" in unknown)
    if by_leader:
        leader = get_leader(session, principal.leader_id)
        default = liaison.leader if liaison is not None else None
        # The liaison chose this leader (一.3): no reason to give, the channel says it.
        route = RouteChoice(leader, default is not None and default.id == leader.id, "")
    else:
        route = choose_leader(session, liaison, confirmation.leader_id, confirmation.route_reason)
    case = _open_case(session, confirmation, liaison, route, principal.actor, clock, call=None,
                      channel=channel, summary=entry.content.strip(), urgent=entry.urgent,
                      created_at=entry.received_at, unknown_fields=unknown,
                      importance=importance)
    if by_leader:
        # The leader took the report down: it has reached them, and no SMS need tell them so.
        return acknowledge_case(session, principal, case, clock)
    outcome = Outcome(case)
    outcome.add(queue_sms(session, kind=NotificationKind.CASE_ROUTED, leader=case.leader,
                          body=compose_case_sms(case, sms.case_link(case), sms.language),
                          actor=principal.actor, case=case))
    return outcome


def _open_case(session: Session, confirmation: Confirmation, liaison: Liaison | None,
               route: RouteChoice, actor: Actor, clock: Clock, *, call: Call | None,
               channel: CaseChannel, summary: str, urgent: bool,
               created_at: datetime | None = None, unknown_fields: dict | None = None,
               importance: CaseImportance = CaseImportance.NORMAL) -> Case:
    now = clock.now()
    case = Case(
        number=_next_case_number(session, clock), call=call, channel=channel,
        caller_name=confirmation.caller_name.strip(),
        caller_unit=confirmation.caller_unit.strip(),
        caller_phone=confirmation.caller_phone.strip(),
        liaison_id=liaison.id if liaison else None, leader=route.leader,
        category=confirmation.category, urgent=urgent, summary=summary,
        route_reason=route.reason, status=CaseStatus.ROUTED,
        created_at=created_at or now, routed_at=now, unknown_fields=dict(unknown_fields or {}),
        importance=importance,
    )
    session.add(case)
    session.flush()
    # The same-day clock starts when the case reaches the leader: one who never acts is overdue.
    set_deadline(session, case, same_day_deadline(now, clock), DeadlineKind.SAME_DAY, actor, clock)
    record_event(session, actor, "case.routed", case, after={
        "status": CaseStatus.ROUTED.value, "number": case.number, "leader_id": route.leader.id,
        "leader": route.leader.name, "by": actor.name, "channel": channel.value,
        "default_leader": route.is_default, "reason": route.reason,
        "caller_name": case.caller_name, "caller_unit": case.caller_unit,
        "caller_phone": case.caller_phone, "unknown_fields": case.unknown_fields,
        "importance": importance.value,
    })
    return case


def default_summary(call: Call) -> str:
    """Return the transcript's first sentence, as the summary's default."""
    text = call.transcript_for_display
    for stop in "。！？.!?":
        if stop in text:
            text = text.split(stop, 1)[0]
    return text[:60]


def acknowledge_case(session: Session, who, case: Case, clock: Clock, via: str = "web") -> Outcome:
    """Record that the leader has seen the case (已收到); a repeat changes nothing."""
    principal = begin(who, "acknowledge", case)
    if case.acknowledged_at is not None:
        return Outcome(case)
    case.acknowledged_at = clock.now()
    if case.status == CaseStatus.ROUTED:
        move(session, case, CaseStatus.ACKNOWLEDGED, principal, "case.acknowledged", via=via)
    else:
        note_event(session, case, principal, "case.acknowledged", via=via)
    return Outcome(case)


def handle_case(session: Session, who, case: Case, note: str, clock: Clock,
                calendar: WorkingCalendar) -> Outcome:
    """The leader handles the case personally; due the same day it reached them."""
    principal = begin(who, "handle", case)
    move(session, case, CaseStatus.HANDLING, principal, "case.handling", note=note.strip())
    if note.strip():
        case.handling_note = note.strip()
    # The same-day clock runs from when the case reached the leader, not from when they act.
    due = same_day_deadline(case.routed_at or case.created_at, clock)
    if case.deadline_at != due:
        set_deadline(session, case, due, DeadlineKind.SAME_DAY, principal, clock)
    return Outcome(case)


def mark_importance(session: Session, who, case: Case, importance, reason: str,
                    clock: Clock) -> Outcome:
    """Mark a case normal, important (重要事项) or a leader's instruction (领导批示件).

    The supervision office may change the mark the duty room gave at the confirm step, at
    any time before the case is closed; the change is an audit row with the previous mark.
    Marking a case as it already is changes nothing.

    Raises:
        Forbidden: anyone but the supervision office.
        ValidationError: not one of the three marks; a reason too long.
    """
    principal = begin(who, "mark_importance", case)
    new = parse_choice(CaseImportance, importance, field="importance", code="importance_invalid")
    reason = (reason or "").strip()
    if len(reason) > IMPORTANCE_REASON_MAX_CHARS:
        raise ValidationError("the reason is too long", field="reason", code="too_long")
    previous = case.importance or CaseImportance.NORMAL
    if new is previous:
        return Outcome(case)
    note_event(session, case, principal, "case.importance_changed", importance=new.value,
               previous=previous.value, reason=reason)
    case.importance = new
    return Outcome(case)


def answer_case(session: Session, who, case: Case, note: str, clock: Clock,
                calendar: WorkingCalendar | None = None,
                feedback_days: int = DEFAULT_FEEDBACK_WORKING_DAYS) -> Outcome:
    """Record the leader's answer (direct handling, or the meeting's or the county's outcome).

    The feedback to the liaison falls due `feedback_days` working days later (the calendar is
    read from the database when not given).
    """
    principal = begin(who, "answer", case)
    if not note.strip():
        raise ValidationError("describe how the matter was handled", field="note",
                              code="note_required")
    answered_from = case.status
    move(session, case, CaseStatus.ANSWERED, principal, "case.answered", note=note.strip())
    note_outcome_as_decision(session, case, answered_from, note.strip(), principal, clock)
    mark_answered(case, answered_from, note.strip(), clock)
    set_feedback_deadline(session, case, principal, clock,
                          calendar if calendar is not None else load_calendar(session),
                          feedback_days)
    return Outcome(case)


def describe_case(session: Session, case: Case, now: datetime, *, tz: str | None = None,
                  language: str = "zh-CN", calendar: WorkingCalendar | None = None) -> dict:
    """Return a case as a plain record (design.md's case JSON), its history oldest first.

    Times are ISO 8601 with the offset of `tz` (the bureau's zone; UTC when not given). Each
    history entry carries `at`, `actor` (a person's name where the action was signed with
    one), `action`, `text` (the sentence in `language`, intake/cases/history.py) and the audit
    row's details (unit, due, reason…). `deadline_provisional` tells whether the deadline
    in force was counted over holidays the calendar only estimates (`calendar`; the
    bureau's, from the database, when not given).
    """
    zone = ZoneInfo(tz) if tz else None
    if calendar is None:
        calendar = load_calendar(session)

    def iso(moment):
        if moment is None:
            return None
        return (moment.astimezone(zone) if zone else moment).isoformat()

    history = [{"at": iso(entry.at), "actor": entry.actor, "action": entry.action,
                "text": entry.text, "details": entry.details}
               for entry in list_case_history(session, case, language, tz or BUREAU_TIMEZONE)]
    return {
        "number": case.number, "status": case.status.value, "version": case.version,
        "channel": case.channel.value,
        "caller_name": case.caller_name, "caller_unit": case.caller_unit,
        "caller_phone": case.caller_phone, "summary": case.summary, "urgent": case.urgent,
        "unknown_fields": dict(case.unknown_fields or {}),
        "importance": (case.importance or CaseImportance.NORMAL).value,
        "chases": count_chases(session, case.id),
        "leader": case.leader.name if case.leader else None, "leader_id": case.leader_id,
        "liaison": case.liaison.name if case.liaison else None, "liaison_id": case.liaison_id,
        "unit": case.unit.name if case.unit else None, "unit_id": case.unit_id,
        "deadline": iso(case.deadline_at), "deadline_reason": case.deadline_reason,
        "deadline_provisional": deadline_is_provisional(case, calendar,
                                                        Clock(tz or BUREAU_TIMEZONE)),
        "overdue": case.is_overdue(now),
        "feedback_due": iso(case.feedback_due_at),
        "redo_count": case.redo_count, "supervised": case.supervised,
        "satisfaction": case.satisfaction.value if case.satisfaction else None,
        "feedback_method": case.feedback_method.value if case.feedback_method else None,
        "handling_note": case.handling_note, "feedback_note": case.feedback_note,
        "created_at": iso(case.created_at), "routed_at": iso(case.routed_at),
        "acknowledged_at": iso(case.acknowledged_at), "answered_at": iso(case.answered_at),
        "fed_back_at": iso(case.fed_back_at), "closed_at": iso(case.closed_at),
        "assignments": [{"unit": a.unit.name, "unit_id": a.unit_id,
                         "assigned_at": iso(a.assigned_at),
                         "due_at": iso(a.due_at), "result_at": iso(a.result_at),
                         "returns": a.returns, "dissatisfied_redos": a.dissatisfied_redos,
                         "criticism_flagged": a.criticism_flagged_at is not None}
                        for a in case.assignments],
        "results": [{"id": r.id, "unit_id": r.unit_id, "facts_true": r.facts_true,
                     "causes": r.causes, "measures": r.measures,
                     "liaison_opinion": r.liaison_opinion, "signed_by": r.signed_by,
                     "sealed": r.sealed, "submitted_at": iso(r.submitted_at),
                     "verdict": r.verdict.value if r.verdict else None,
                     "return_category": r.return_category.value if r.return_category else None,
                     "verdict_reason": r.verdict_reason, "verdict_at": iso(r.verdict_at)}
                    for r in case.results],
        "attachments": [{"id": a.id, "result_id": a.result_id, "filename": a.filename,
                         "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
                         "uploaded_at": iso(a.uploaded_at)}
                        for a in case.attachments],
        "deadline_changes": [{"kind": d.kind.value, "old": iso(d.old_deadline),
                              "new": iso(d.new_deadline), "reason": d.reason,
                              "by": d.changed_by, "at": iso(d.changed_at)}
                             for d in case.deadline_changes],
        "supervision": [{"cause": e.cause.value, "reason": e.reason, "opened_at": iso(e.opened_at),
                         "closed_at": iso(e.closed_at), "decision": e.decision}
                        for e in case.supervision_entries],
        "decision": _describe_decision(case, now, iso),
        "history": history,
    }


def _describe_decision(case: Case, now: datetime, iso) -> dict | None:
    decision = case.decision
    if decision is None:
        return None
    return {"text": decision.text, "decided_at": decision.decided_at.isoformat(),
            "decided_by": decision.decided_by, "recorded_at": iso(decision.recorded_at),
            "implementations": [
                {"id": i.id, "unit": i.unit.name, "unit_id": i.unit_id,
                 "status": i.implementation_status.value, "due_at": iso(i.due_at),
                 "result_at": iso(i.result_at), "accepted_at": iso(i.accepted_at),
                 "returns": i.returns, "overdue": i.is_overdue(now)}
                for i in case.implementations]}


def _next_case_number(session: Session, clock: Clock) -> str:
    # The series follows the bureau's local year: a case confirmed at 01:00 Beijing time on
    # 1 January (still 31 December in UTC) starts the new year's numbers.
    # One atomic statement takes the next number (an upsert that creates the year's row or
    # bumps it, RETURNING the value): on PostgreSQL it holds the row lock, on SQLite the
    # write lock, until the case's own transaction ends. A SELECT ... FOR UPDATE did nothing
    # on SQLite (its reads run outside the transaction), so two creators read the same
    # value. In the case's transaction, a case that is not stored gives its number back:
    # the register has no gaps and no duplicates.
    year = clock.today().year
    table = CaseCounter.__table__
    connection = session.connection()
    insert = _UPSERTS[connection.dialect.name](table).values(year=year, last_value=1)
    value = connection.execute(
        insert.on_conflict_do_update(index_elements=[table.c.year],
                                     set_={"last_value": table.c.last_value + 1})
        .returning(table.c.last_value)).scalar_one()
    return _format_case_number(year, value)


def peek_next_case_number(session: Session, clock: Clock) -> str:
    """Return the number the next confirmed case gets, unless someone confirms one first."""
    year = clock.today().year
    last = session.scalar(select(CaseCounter.last_value).where(CaseCounter.year == year))
    return _format_case_number(year, (last or 0) + 1)


def _format_case_number(year: int, value: int) -> str:
    return f"{year}-{value:06d}"


__all__ = ["Confirmation", "CaseEntry", "confirm_call", "confirm_and_route",
           "create_case", "default_summary", "acknowledge_case", "handle_case", "answer_case",
           "describe_case"]
