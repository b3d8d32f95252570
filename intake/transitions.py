"""The single place where a Call's or a Case's status changes."""
from __future__ import annotations

from intake.audit import Actor, record_event
from intake.exceptions import InvalidTransition
from intake.statuses import CALL_TRANSITIONS, CASE_TRANSITIONS, CallStatus, CaseStatus


def move_status(session, entity, target, actor: Actor, action: str, **details) -> None:
    """Check a move against its transition map, apply it and write the audit row."""
    transitions = CALL_TRANSITIONS if isinstance(target, CallStatus) else CASE_TRANSITIONS
    current = entity.status
    if target not in transitions[current]:
        raise InvalidTransition(type(entity).__name__, current.value, target.value)
    entity.status = target
    record_event(
        session,
        actor,
        action,
        entity,
        before={"status": current.value},
        after={"status": target.value, **details},
    )


__all__ = ["move_status", "CallStatus", "CaseStatus"]
