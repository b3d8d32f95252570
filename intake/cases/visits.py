"""Follow-up visits (回访, 三.4): a visit on a closed case, and what it found.

The supervision office, or the case's leader, schedules a visit on a closed case: the day,
how (phone or in person), and who goes (office staff, or the leader's own accounts). The
sweep reminds each visitor by SMS on the day (intake.sweep). A visitor records the outcome:

    solved          the case stays closed
    partly_solved   the case stays closed; the note says what is left
    came_back       the problem has come back: the case is reopened for redo exactly as a
                    dissatisfied rating (不满意) reopens a fed-back one, through the same
                    function (intake.cases.feedback.send_back_for_redo)

A visit moves through VISIT_TRANSITIONS (intake/statuses.py); every move writes an audit row
on the visit and one on the case (for its history). One winner: every change is a
compare-and-set on the visit's `version`, so of two people recording an outcome at once one
wins and the other gets Conflict before anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from intake.cases.feedback import send_back_for_redo
from intake.clock import Clock, WorkingCalendar
from intake.exceptions import InvalidTransition, NotFound, ValidationError
from intake.outbox.notifications import SmsContext
from intake.rules.access import check, visible_cases_clause
from intake.rules.lifecycle import Outcome, note_event, parse_choice
from intake.statuses import (VISIT_TRANSITIONS, CaseStatus, Role, VisitMethod, VisitOutcome,
                             VisitStatus)
from intake.store.versions import claim_version
from intake.store.audit import record_event
from intake.store.models import Case, FollowUpVisit, FollowUpVisitor, User

NOTE_MAX_CHARS = 1000
MAX_VISITORS = 5
LIST_LIMIT = 500
# The reason a reopened case carries (the unit's SMS, the deadline list), in the bureau's language.
CAME_BACK_REASON = {"zh-CN": "回访发现问题反弹", "en-US": "the follow-up visit found the problem back"}



@dataclass
class VisitPlan:
    """What the scheduler gives: the day, how, who goes (user ids) and what to look at."""

    due_on: date | None
    method: str
    visitor_ids: list[int] = field(default_factory=list)
    note: str = ""


def schedule_visit(session: Session, who, case: Case, plan: VisitPlan, clock: Clock) -> FollowUpVisit:
    """Schedule a follow-up visit on a closed case.

    Raises:
        NotFound, Forbidden: the permission table ("schedule_visit").
        InvalidTransition: the case is not closed.
        ValidationError: no or a past day ("visit_date_invalid"), a method not listed
            ("visit_method_invalid"), no visitor or one who may not go ("visitor_invalid"),
            a note too long ("too_long").
    """
    principal = check(who, "schedule_visit", case)
    if case.status is not CaseStatus.CLOSED:
        raise InvalidTransition("Case", case.status.value, "visit")
    today = clock.today()
    if plan.due_on is None or plan.due_on < today:
        raise ValidationError("choose today or a later day", field="due_on",
                              code="visit_date_invalid")
    method = parse_choice(VisitMethod, plan.method, field="method", code="visit_method_invalid")
    note = _note(plan.note, "note")
    visitors = _visitors(session, case, plan.visitor_ids)
    now = clock.now()
    visit = FollowUpVisit(case=case, case_id=case.id, due_on=plan.due_on, method=method,
                          status=VisitStatus.SCHEDULED, note=note, outcome_note="",
                          scheduled_at=now, scheduled_by=principal.label, finished_by="",
                          version=1)
    session.add(visit)
    visit.visitors = [FollowUpVisitor(user=user, user_id=user.id) for user in visitors]
    session.flush()
    names = [user.name for user in visitors]
    record_event(session, principal.actor, "visit.scheduled", visit,
                 after={"by": principal.name, "status": visit.status.value,
                        "case": case.number, "due_on": plan.due_on.isoformat(),
                        "method": method.value, "visitors": names})
    note_event(session, case, principal, "case.visit_scheduled", visit_id=visit.id,
               due_on=plan.due_on.isoformat(), method=method.value, visitors=names)
    return visit


def record_visit_outcome(session: Session, who, visit: FollowUpVisit, outcome: str, note: str,
                         clock: Clock, calendar: WorkingCalendar, sms: SmsContext,
                         via: str = "web") -> Outcome:
    """Record what the visit found; a problem that came back reopens the case for redo.

    Raises:
        NotFound, Forbidden: the permission table ("record_visit").
        InvalidTransition: the visit is no longer scheduled, or (came back) the case is not
            closed any more.
        Conflict: someone else changed the visit since this request read it.
        ValidationError: an outcome not listed ("visit_outcome_invalid"); came back without a
            note ("note_required").
    """
    case = visit.case
    principal = check(who, "record_visit", case)
    found = parse_choice(VisitOutcome, outcome, field="outcome", code="visit_outcome_invalid")
    note = _note(note, "outcome_note")
    if found is not VisitOutcome.SOLVED and not note:
        # What is left, or what came back, is what the redo (or the next visit) works from.
        raise ValidationError("say what is left or what came back", field="outcome_note",
                              code="visit_note_required")
    _move(session, visit, VisitStatus.DONE)
    visit.outcome, visit.outcome_note = found, note
    visit.finished_at, visit.finished_by = clock.now(), principal.label
    record_event(session, principal.actor, "visit.done", visit,
                 before={"status": VisitStatus.SCHEDULED.value},
                 after={"by": principal.name, "status": VisitStatus.DONE.value,
                        "outcome": found.value, "note": note, "via": via})
    if found is VisitOutcome.CAME_BACK:
        reason = CAME_BACK_REASON.get(sms.language, CAME_BACK_REASON["en-US"])
        return send_back_for_redo(session, case, principal, clock, calendar, sms,
                                  action="case.visit_came_back", reason=reason,
                                  visit_id=visit.id, note=note, via=via)
    note_event(session, case, principal, "case.visit_done", visit_id=visit.id,
               outcome=found.value, note=note, via=via)
    return Outcome(case)


def cancel_visit(session: Session, who, visit: FollowUpVisit, reason: str,
                 clock: Clock) -> FollowUpVisit:
    """Cancel a scheduled visit, with a reason."""
    principal = check(who, "record_visit", visit.case)
    reason = _note(reason, "reason")
    if not reason:
        raise ValidationError("give a reason", field="reason", code="reason_required")
    _move(session, visit, VisitStatus.CANCELLED)
    visit.outcome_note = reason
    visit.finished_at, visit.finished_by = clock.now(), principal.label
    record_event(session, principal.actor, "visit.cancelled", visit,
                 before={"status": VisitStatus.SCHEDULED.value},
                 after={"by": principal.name, "status": VisitStatus.CANCELLED.value,
                        "reason": reason})
    note_event(session, visit.case, principal, "case.visit_cancelled", visit_id=visit.id,
               reason=reason)
    return visit


def get_visit(session: Session, who, visit_id: int) -> FollowUpVisit:
    """Return a visit on a case the person may see (NotFound otherwise: ids cannot be probed)."""
    visit = session.get(FollowUpVisit, visit_id)
    if visit is None:
        raise NotFound(f"visit {visit_id}")
    check(who, "view", visit.case)
    return visit


def list_visits(session: Session, who, *, due_by: date | None = None,
                status: str | None = None, limit: int = LIST_LIMIT) -> list[FollowUpVisit]:
    """Return the visits on cases the person may see, soonest first; `due_by` keeps those due
    on or before that day (today: due or overdue)."""
    query = (select(FollowUpVisit).join(Case, Case.id == FollowUpVisit.case_id)
             .where(visible_cases_clause(who))
             .options(selectinload(FollowUpVisit.visitors).selectinload(FollowUpVisitor.user),
                      selectinload(FollowUpVisit.case)))
    if status:
        query = query.where(FollowUpVisit.status == parse_choice(
            VisitStatus, status, field="status", code="status_invalid"))
    if due_by is not None:
        query = query.where(FollowUpVisit.due_on <= due_by)
    return list(session.scalars(query.order_by(FollowUpVisit.due_on, FollowUpVisit.id)
                                .limit(limit)))


def list_due_visits(session: Session, who, today: date) -> list[FollowUpVisit]:
    """Return the scheduled visits due today or overdue, on cases the person may see."""
    return list_visits(session, who, due_by=today, status=VisitStatus.SCHEDULED.value)


def visits_of_case(session: Session, case: Case) -> list[FollowUpVisit]:
    """Return a case's visits, oldest first (the case page and its JSON show them)."""
    return list(session.scalars(select(FollowUpVisit).where(FollowUpVisit.case_id == case.id)
                                .order_by(FollowUpVisit.due_on, FollowUpVisit.id)))


def possible_visitors(session: Session, case: Case) -> list[User]:
    """Return the accounts that may go on a visit of this case: office staff, its leader's."""
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.id))
    return [user for user in users if _may_visit(user, case)]


def describe_visit(visit: FollowUpVisit, tz: str, today: date | None = None) -> dict:
    """Return a visit as JSON: case, day, method, visitors, status, outcome."""
    zone = ZoneInfo(tz)

    def iso(moment: datetime | None):
        return moment.astimezone(zone).isoformat() if moment else None

    overdue = (today is not None and visit.status is VisitStatus.SCHEDULED
               and visit.due_on < today)
    return {"id": visit.id, "case": visit.case.number, "due_on": visit.due_on.isoformat(),
            "method": visit.method.value, "status": visit.status.value,
            "overdue": overdue, "note": visit.note,
            "visitors": [{"id": user.id, "name": user.name} for user in visit.visitor_users],
            "outcome": visit.outcome.value if visit.outcome else None,
            "outcome_note": visit.outcome_note, "scheduled_at": iso(visit.scheduled_at),
            "scheduled_by": visit.scheduled_by, "finished_at": iso(visit.finished_at),
            "finished_by": visit.finished_by, "version": visit.version}


def claim_visit(session: Session, visit: FollowUpVisit) -> None:
    """Bump the visit's version if it is still the one this request read; else raise Conflict."""
    claim_version(session, visit)


def _move(session: Session, visit: FollowUpVisit, target: VisitStatus) -> None:
    if target not in VISIT_TRANSITIONS[visit.status]:
        raise InvalidTransition("FollowUpVisit", visit.status.value, target.value)
    claim_visit(session, visit)
    visit.status = target


def _may_visit(user: User, case: Case) -> bool:
    role = user.role if isinstance(user.role, Role) else Role(user.role)
    return role is Role.SUPERVISOR or (role is Role.LEADER and user.leader_id is not None
                                       and user.leader_id == case.leader_id)


def _visitors(session: Session, case: Case, ids) -> list[User]:
    if not isinstance(ids, (list, tuple)) or not ids or len(ids) > MAX_VISITORS:
        raise ValidationError("choose who goes", field="visitor_ids", code="visitor_invalid")
    wanted = sorted({int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)})
    if len(wanted) != len(set(ids)):
        raise ValidationError("choose who goes", field="visitor_ids", code="visitor_invalid")
    users = list(session.scalars(select(User).where(User.id.in_(wanted))))
    if len(users) != len(wanted) or not all(u.active and _may_visit(u, case) for u in users):
        # Office staff, or the case's own leader: the people who know the case.
        raise ValidationError("a visitor must be office staff or the case's leader",
                              field="visitor_ids", code="visitor_invalid")
    return sorted(users, key=lambda u: u.id)


def _note(text: str | None, name: str) -> str:
    if text is not None and not isinstance(text, str):
        raise ValidationError(f"{name} must be text", field=name, code="text_required")
    text = (text or "").strip()
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError("the note is too long", field=name, code="too_long")
    return text


__all__ = ["VisitPlan", "schedule_visit", "record_visit_outcome", "cancel_visit", "get_visit",
           "list_visits", "list_due_visits", "visits_of_case", "possible_visitors",
           "describe_visit", "claim_visit", "CAME_BACK_REASON"]
