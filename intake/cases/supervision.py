"""Escalation to the bureau meeting or the county, extensions, and overdue cases.

Each escalation, and each case found overdue, opens a SupervisionEntry with its cause; the
entries close when the case is answered, with the answer as their decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from intake.rules.access import Party, Principal
from intake.store.audit import Actor
from intake.rules.censures import propose_important_matter_late, propose_late_unexplained
from intake.clock import Clock, WorkingCalendar
from intake.exceptions import ExtensionTooLate, Forbidden, InvalidTransition, ValidationError
from intake.rules.lifecycle import Outcome, begin, move, note_event, open_supervision, set_deadline
from intake.store.models import Case, CaseAssignment, DeadlineChange, SupervisionEntry, User
from intake.outbox.notifications import SmsContext, fit_text, queue_sms
from intake.time.deadlines import counted_deadline, counted_in_force
from intake.statuses import (WORKING_STATES, CaseStatus, DeadlineKind, NotificationKind, Role,
                             SupervisionCause)

NOTICE_SEGMENTS = 2  # the extension's reason is cut ("…") to keep the notice this short

ESCALATIONS = {
    "bureau_meeting": (CaseStatus.BUREAU_MEETING, SupervisionCause.ESCALATION_BUREAU,
                       "case.bureau_meeting"),
    "county": (CaseStatus.COUNTY, SupervisionCause.ESCALATION_COUNTY, "case.county"),
}


def escalate_case(session: Session, who, case: Case, to: str, reason: str, clock: Clock) -> Outcome:
    """Send the case to the bureau meeting or the county; either way it is supervised."""
    principal = begin(who, "escalate", case)
    if to not in ESCALATIONS:
        raise ValidationError("escalate to bureau_meeting or county", field="to",
                              code="escalation_target_invalid")
    if not reason.strip():
        raise ValidationError("say why the case is escalated", field="reason",
                              code="reason_required")
    target, cause, action = ESCALATIONS[to]
    move(session, case, target, principal, action, reason=reason.strip())
    open_supervision(session, case, cause, principal, clock, reason.strip())
    return Outcome(case)


def extend_deadline(session: Session, who, case: Case, new_deadline: datetime, reason: str,
                    clock: Clock, sms: SmsContext | None = None) -> Outcome:
    """Give a case that cannot finish in time an explained, later deadline, in force at once.

    An extension by the leader or the unit is told to the supervision office (an SMS to each
    of its staff with a phone, when `sms` is given), which may overrule it. The leader and the
    unit must ask before the deadline in force (及时说明情况); after it only the supervision
    office sets a new date, and the case still counts as late against the deadline it missed.

    Raises:
        ExtensionTooLate: a leader or unit after the deadline in force (409, names it).
    """
    principal = begin(who, "extend", case)
    if case.status not in (CaseStatus.HANDLING, CaseStatus.TRANSFERRED):
        # The state machine has no "extended" state: only a case with a running deadline
        # can be extended, and refusing any other is a 409 like any refused move.
        raise InvalidTransition("Case", case.status.value, "extended")
    if not reason.strip():
        raise ValidationError("an extension needs a reason", field="reason",
                              code="reason_required")
    if new_deadline is None or new_deadline.tzinfo is None:
        raise ValidationError("give the new deadline with its offset", field="deadline",
                              code="deadline_invalid")
    if case.deadline_at is not None and new_deadline <= case.deadline_at:
        raise ValidationError("the new deadline must be later than the one in force",
                              field="deadline", code="deadline_not_later")
    old = case.deadline_at
    missed = old is not None and clock.now() > old
    if missed and principal.party is not Party.SUPERVISOR:
        raise ExtensionTooLate(clock.local(old).isoformat(timespec="minutes"))
    set_deadline(session, case, new_deadline, DeadlineKind.EXTENSION, principal, clock,
                 reason.strip(), keep_assignment_due=missed)
    note_event(session, case, principal, "case.deadline_extended", old=old, due=new_deadline,
               reason=reason.strip(), **({"missed": True} if missed else {}))
    outcome = Outcome(case)
    if sms is not None and principal.party is not Party.SUPERVISOR:
        body = fit_text("extension_notice", sms.language, "reason", reason, NOTICE_SEGMENTS,
                        number=case.number, old=sms.due_text(old), new=sms.due_text(new_deadline),
                        link=sms.case_link(case))
        for user in list_supervision_staff(session):
            outcome.add(queue_sms(session, kind=NotificationKind.EXTENSION_NOTICE, body=body,
                                  actor=principal.actor, case=case, user=user))
    return outcome


def overrule_extension(session: Session, who, case: Case, reason: str, clock: Clock,
                       new_deadline: datetime | None = None,
                       sms: SmsContext | None = None,
                       calendar: WorkingCalendar | None = None) -> Outcome:
    """Set aside the extension in force, for a reason of the supervision office's own.

    The deadline goes back to the one the extension replaced, or to `new_deadline`. With
    `sms`, whoever asked for the extension is texted the deadline now in force: the unit, or
    the leader for a leader's own extension (issue 19 item 1). With `calendar`, a restored
    deadline that was counted in working days is counted again on today's calendar, as a
    recount would have done had the extension not been in force when the calendar changed.

    Raises:
        Forbidden: anyone but the supervision office.
        ValidationError: no reason ("reason_required"), no extension in force
            ("no_extension"), a deadline without its offset ("deadline_invalid").
    """
    principal = begin(who, "extend", case)
    if principal.party is not Party.SUPERVISOR:
        raise Forbidden("only the supervision office overrules an extension")
    if case.status not in (CaseStatus.HANDLING, CaseStatus.TRANSFERRED):
        raise InvalidTransition("Case", case.status.value, "overruled")
    if not reason.strip():
        raise ValidationError("say why the extension is overruled", field="reason",
                              code="reason_required")
    latest = case.deadline_changes[-1] if case.deadline_changes else None
    if latest is None or latest.kind is not DeadlineKind.EXTENSION:
        raise ValidationError("the deadline in force is not an extension", field="deadline",
                              code="no_extension")
    if new_deadline is not None and new_deadline.tzinfo is None:
        raise ValidationError("give the new deadline with its offset", field="deadline",
                              code="deadline_invalid")
    restored = new_deadline or latest.old_deadline
    old = case.deadline_at
    set_deadline(session, case, restored, DeadlineKind.OVERRULED, principal, clock,
                 reason.strip())
    note_event(session, case, principal, "case.extension_overruled", old=old, due=restored,
               reason=reason.strip())
    if new_deadline is None and calendar is not None:
        restored = _recount_restored(session, case, principal, clock, calendar) or restored
    outcome = Outcome(case)
    if sms is not None:
        body = fit_text("extension_overruled", sms.language, "reason", reason, NOTICE_SEGMENTS,
                        number=case.number, due=sms.due_text(restored), link=sms.case_link(case))
        outcome.add(queue_sms(session, kind=NotificationKind.EXTENSION_OVERRULED, body=body,
                              actor=principal.actor, case=case, **_extension_asker(session, case,
                                                                                   latest)))
    return outcome


def _recount_restored(session: Session, case: Case, principal, clock: Clock,
                      calendar: WorkingCalendar) -> datetime | None:
    """Count a restored working-day deadline again on today's calendar; return it if it moved."""
    if not counted_in_force(case.deadline_changes):
        return None
    due = counted_deadline(case.deadline_changes, clock, calendar)
    if due is None or due == case.deadline_at:
        return None
    old = case.deadline_at
    reason = "工作日历在延期期间有变更，恢复的期限按现行日历重新计算"
    set_deadline(session, case, due, DeadlineKind.RECOMPUTED, principal, clock, reason)
    note_event(session, case, principal, "case.deadline_recomputed", old=old, due=due,
               reason=reason)
    return due


def _extension_asker(session: Session, case: Case, extension: DeadlineChange) -> dict:
    """Name who asked for an extension, as queue_sms's recipient: its unit or its leader."""
    asker = session.get(User, extension.changed_by_user_id) \
        if extension.changed_by_user_id is not None else None
    if asker is not None and asker.role is Role.LEADER:
        return {"leader": case.leader}
    if asker is not None and asker.role is Role.UNIT:
        return {"unit": case.unit}
    # The office's own extension, or one whose author left no account: the one doing the work.
    return {"unit": case.unit} if case.status is CaseStatus.TRANSFERRED else {"leader": case.leader}


EXTENSIONS_LISTED_DAYS = 7


@dataclass(frozen=True)
class RecentExtension:
    """An extension the supervision office may want to look at, and whether it still holds."""

    change: DeadlineChange
    case: Case
    in_force: bool  # the case's latest deadline, on a case still running: overrulable


def list_recent_extensions(session: Session, now: datetime,
                           days: int = EXTENSIONS_LISTED_DAYS) -> list[RecentExtension]:
    """Return the extensions of the last `days` days, newest first, each marked in force or not."""
    changes = session.scalars(
        select(DeadlineChange).where(DeadlineChange.kind == DeadlineKind.EXTENSION,
                                     DeadlineChange.changed_at >= now - timedelta(days=days))
        .options(selectinload(DeadlineChange.case))
        .order_by(DeadlineChange.changed_at.desc(), DeadlineChange.id.desc()))
    found = []
    for change in changes:
        case = change.case
        latest = case.deadline_changes[-1] if case.deadline_changes else None
        found.append(RecentExtension(change, case, in_force=latest is change and case.status in (
            CaseStatus.HANDLING, CaseStatus.TRANSFERRED)))
    return found


def list_supervision_staff(session: Session) -> list[User]:
    """Return the supervision office's active accounts that have a phone for SMS."""
    return list(session.scalars(select(User).where(
        User.role == Role.SUPERVISOR, User.active.is_(True), User.phone != "").order_by(User.id)))


ESCALATION_CAUSES = (SupervisionCause.ESCALATION_BUREAU, SupervisionCause.ESCALATION_COUNTY)


def list_escalations(session: Session, limit: int = 200) -> list[SupervisionEntry]:
    """Return the register of escalated cases, open ones first, each with its decision."""
    return list(session.scalars(
        select(SupervisionEntry).where(SupervisionEntry.cause.in_(ESCALATION_CAUSES))
        .order_by(SupervisionEntry.closed_at.is_not(None), SupervisionEntry.opened_at.desc(),
                  SupervisionEntry.id.desc())
        .limit(limit)))


def list_results_awaiting_verdict(session: Session) -> list[Case]:
    """Return the cases whose unit result waits for the supervision office, oldest first."""
    return list(session.scalars(select(Case).where(Case.status == CaseStatus.RESULT_FILED)
                                .order_by(Case.deadline_at, Case.id)))


SUPERVISION_OFFICE = Principal(Party.SUPERVISOR, "督办室", "system:overdue")


def list_overdue_cases(session: Session, now: datetime) -> list[Case]:
    """Return the cases past their deadline with no overdue entry for the deadline in force."""
    already = select(SupervisionEntry.id).where(
        SupervisionEntry.case_id == Case.id, SupervisionEntry.cause == SupervisionCause.OVERDUE,
        SupervisionEntry.deadline_at == Case.deadline_at)
    return list(session.scalars(select(Case).where(
        Case.status.in_(WORKING_STATES), Case.deadline_at < now, ~already.exists())
        .order_by(Case.deadline_at, Case.id)))


def supervise_overdue_cases(session: Session, clock: Clock, actor: Actor | None = None) -> list[Case]:
    """Hand every overdue case to the supervision office; return those newly registered.

    Running it again registers nothing new until a case misses another deadline; the
    scheduled sweep (intake.sweep) does the same in bulk.
    """
    principal = SUPERVISION_OFFICE if actor is None else Principal(
        Party.SUPERVISOR, actor.name or actor.label, actor.label, actor.user_id)
    overdue = list_overdue_cases(session, clock.now())
    for case in overdue:
        entry = open_supervision(session, case, SupervisionCause.OVERDUE, principal, clock)
        entry.deadline_at = case.deadline_at
        note_event(session, case, principal, "case.overdue_supervised", due=case.deadline_at)
        propose_late_unexplained(session, case, clock.now())
        propose_important_matter_late(session, case, clock.now())
    return overdue
