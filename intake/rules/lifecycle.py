"""What every case action shares: the permission check, the move, the history rows, the outcome.

The actions live in modules named for their nouns (cases, transfers, supervision, feedback);
all of them go through `begin` (the permission table) and `move` (the one transition map in
intake/statuses.py, applied by intake.rules.transitions.move_status), and return an `Outcome`:
the work to dispatch once the caller has committed (SMS notification ids). No action commits.

`move` and `note_event` claim the case (a compare-and-set on its version,
intake.rules.transitions.claim_case), so of two people acting at once exactly one wins; the other
gets `Conflict` and the door rolls back everything the action had done.

Audit rows carry what a history sentence needs ("王建国 转交 城关镇卫生院，限 12月1日 17:30 前"):
`by` (the actor's name) and, where it applies, `unit`, `due` and `reason`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TypeVar

from sqlalchemy.orm import Session

from intake.rules.access import Principal, check
from intake.store.audit import Actor, record_event
from intake.clock import Clock
from intake.exceptions import ValidationError
from intake.store.models import Case, DeadlineChange, Notification, SupervisionEntry
from intake.statuses import CaseStatus, DeadlineKind, ImplementationStatus, SupervisionCause
from intake.rules.transitions import claim_case, move_implementation, move_status

Choice = TypeVar("Choice", bound=Enum)


@dataclass
class Outcome:
    """A case after an action, and the SMS to enqueue once the transaction has committed."""

    case: Case
    sms: list[int] = field(default_factory=list)

    def add(self, notification: Notification | None) -> None:
        """Remember a queued SMS (None when the recipient had no phone)."""
        if notification is not None:
            self.sms.append(notification.id)


def parse_choice(choices: type[Choice], value, *, field: str, code: str) -> Choice:
    """Return the member of `choices` that `value` names; refuse anything else with `code`."""
    try:
        return choices(value)
    except ValueError:
        names = ", ".join(member.value for member in choices)
        raise ValidationError(f"{field}: choose one of {names}", field=field, code=code) from None


def begin(who, action: str, case: Case | None) -> Principal:
    """Check the permission table for an action; return who is acting."""
    return check(who, action, case)


def move(session: Session, case: Case, target: CaseStatus, principal: Principal, action: str,
         **details) -> None:
    """Move a case through the transition map and write its audit row, signed with a name."""
    move_status(session, case, target, principal.actor, action, by=principal.name, **details)


def advance(session: Session, case: Case, implementation, target: ImplementationStatus,
            principal: Principal, action: str, **details) -> None:
    """Move one implementation of a decision and write its audit row, signed with a name."""
    move_implementation(session, case, implementation, target, principal.actor, action,
                        by=principal.name, unit=implementation.unit.name, **details)


def note_event(session: Session, case: Case, principal: Principal, action: str, **details) -> None:
    """Claim the case and write an audit row for an event that does not change its status."""
    claim_case(session, case)
    record_event(session, principal.actor, action, case, after={"by": principal.name, **details})


def set_deadline(session: Session, case: Case, new_deadline: datetime | None, kind: DeadlineKind,
                 principal: Principal | Actor, clock: Clock, reason: str = "", *,
                 keep_assignment_due: bool = False) -> DeadlineChange:
    """Put a new deadline in force and keep the change as a row (by a Principal or an Actor).

    `keep_assignment_due` leaves the unit's assignment due at the deadline it missed (a date
    the supervision office set after it), so the rates still count its result as late.
    """
    change = DeadlineChange(case=case, kind=kind, old_deadline=case.deadline_at,
                            new_deadline=new_deadline, reason=reason,
                            changed_by=principal.label, changed_by_user_id=principal.user_id,
                            changed_at=clock.now())
    session.add(change)
    case.deadline_at = new_deadline
    if (case.assignment is not None and case.status in (CaseStatus.TRANSFERRED,)
            and not keep_assignment_due):
        case.assignment.due_at = new_deadline
    return change


def open_supervision(session: Session, case: Case, cause: SupervisionCause, principal: Principal,
                     clock: Clock, reason: str = "") -> SupervisionEntry:
    """Register a case with the supervision office."""
    entry = SupervisionEntry(case=case, cause=cause, reason=reason, opened_at=clock.now(),
                             opened_by=principal.label)
    session.add(entry)
    return entry


def close_supervision(case: Case, clock: Clock, decision: str) -> None:
    """Close the case's open supervision entries with the decision that answered it."""
    for entry in case.supervision_entries:
        if entry.closed_at is None:
            entry.closed_at = clock.now()
            entry.decision = decision


def mark_answered(case: Case, answered_from: CaseStatus, note: str, clock: Clock) -> None:
    """Stamp an answered case: who answered it (for a redo) and when; supervision ends."""
    case.handling_note = note or case.handling_note
    case.answered_from = answered_from
    case.answered_at = clock.now()
    close_supervision(case, clock, note)
