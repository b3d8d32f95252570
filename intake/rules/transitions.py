"""The single place where a Call's or a Case's status changes, and where a case is claimed.

One winner: two people may press the same button at the same second, from a page, the API
and an SMS. Every case action therefore claims the case with a compare-and-set on its
`version` before it writes anything of its own:

    UPDATE cases SET version = version + 1 WHERE id = :id AND version = :seen

in the action's own transaction, where `:seen` is the version this request read. No row
updated means someone else committed an action after we read the case: `Conflict`, and the
door rolls the whole transaction back. The UPDATE also holds the row (PostgreSQL: a row lock
until commit; SQLite: the database's one write lock, which a write statement takes before it
reads, so it compares against the latest committed version), so from the claim to the commit
nobody else can act on the case. Confirming a call claims the call the same way, on its status.

Why an explicit Core UPDATE rather than SQLAlchemy's `version_id_col`: the mapper option
bumps the version only when a flush finds the Case row itself dirty, and only at that flush,
usually the commit, after the action has queued its rows, composed its SMS and wherever an
autoflush happens to run, as an ORM StaleDataError each door would have to translate. A
claim here runs at the move, before the action's own rows, raises the domain's Conflict,
and does not depend on which columns an action happens to change.
"""
from __future__ import annotations

from sqlalchemy import update

from intake.store.versions import claim_version
from intake.store.audit import Actor, record_event
from intake.exceptions import Conflict, InvalidTransition
from intake.store.models import Call, Case
from intake.statuses import (CALL_TRANSITIONS, CASE_TRANSITIONS, IMPLEMENTATION_TRANSITIONS,
                             CallStatus, CaseStatus, ImplementationStatus)

_CALLS = Call.__table__


def move_status(session, entity, target, actor: Actor, action: str, **details) -> None:
    """Check a move against its transition map, claim a case, apply the move, write the audit row.

    Raises:
        InvalidTransition: the map does not allow the move.
        Conflict: the case changed since this request read it (someone else acted first).
    """
    transitions = CALL_TRANSITIONS if isinstance(target, CallStatus) else CASE_TRANSITIONS
    current = entity.status
    if target not in transitions[current]:
        raise InvalidTransition(type(entity).__name__, current.value, target.value)
    if isinstance(entity, Case):
        claim_case(session, entity)
    entity.status = target
    record_event(
        session,
        actor,
        action,
        entity,
        before={"status": current.value},
        after={"status": target.value, **details},
    )


def move_implementation(session, case: Case, implementation, target: ImplementationStatus,
                        actor: Actor, action: str, **details) -> None:
    """Move one implementation of a decision (a CaseAssignment) and write its audit row.

    The row is the case's, so the case history shows it; the case is claimed like any action,
    so of two verdicts on the same case at once one wins.

    Raises:
        InvalidTransition: IMPLEMENTATION_TRANSITIONS does not allow the move.
        Conflict: the case changed since this request read it.
    """
    current = implementation.implementation_status
    if current is None or target not in IMPLEMENTATION_TRANSITIONS[current]:
        raise InvalidTransition("Implementation", current.value if current else "none",
                                target.value)
    claim_case(session, case)
    implementation.implementation_status = target
    record_event(session, actor, action, case,
                 before={"implementation": current.value},
                 after={"implementation": target.value, "implementation_id": implementation.id,
                        **details})


def claim_case(session, case: Case) -> None:
    """Bump the case's version if it is still the one this request read; else raise Conflict."""
    if case.id is None:
        return  # a case opened in this same transaction: nobody else can have seen it
    claim_version(session, case)


def expect_version(case: Case, seen: int | None) -> None:
    """Refuse to act on a case that moved on since the person looked at it (None: no check).

    A page carries the version it showed, and an API client may send it (If-Match), so an
    action taken on a stale view is a Conflict even when the other action committed before
    this request read the case; claim_case covers the requests that overlap.
    """
    if seen is not None and seen != case.version:
        raise Conflict("Case", case.id, seen)


def claim_call(session, call: Call) -> None:
    """Hold the call if its status is still the one this request read; else raise Conflict."""
    seen = call.status
    # The status is rewritten as it is: on PostgreSQL that locks the row (a second confirm
    # waits, then finds the status changed); on SQLite it takes the write lock.
    claimed = session.connection().execute(
        update(_CALLS).where(_CALLS.c.id == call.id, _CALLS.c.status == seen)
        .values(status=_CALLS.c.status)).rowcount
    if claimed != 1:
        raise Conflict("Call", call.id, seen.value)


__all__ = ["move_status", "move_implementation", "claim_case", "claim_call", "expect_version", "CallStatus", "CaseStatus"]
