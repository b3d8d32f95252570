"""The audit log: every state change has an actor and a time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from intake.store.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who did something: a signed-in user, or a system part (twilio, worker, cli)."""

    label: str
    user_id: int | None = None
    remote_addr: str | None = None
    name: str = ""  # a person's name, for history sentences ("王建国 转交 …")

    @classmethod
    def user(cls, user, remote_addr: str | None = None) -> "Actor":
        return cls(f"user:{user.username}", user.id, remote_addr, user.name)


_INSERT_EVENT = insert(AuditEvent.__table__)

TWILIO = Actor("twilio")
WORKER = Actor("worker")
SYSTEM = Actor("system")
CLI = Actor("cli")  # a `dutyline` command run on the server


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    entity,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit row for an action on an entity (a model instance)."""
    entity_type = type(entity).__tablename__ if entity is not None else action.split(".")[0]
    event = AuditEvent(**_event_values(actor, action, entity_type, getattr(entity, "id", None),
                                       before, after))
    session.add(event)
    return event


def insert_event(session: Session, actor: Actor, action: str, entity_type: str,
                 entity_id: int | None, after: dict[str, Any] | None = None) -> None:
    """Write one audit row with a Core INSERT, for hot paths that hold no ORM object."""
    session.connection().execute(_INSERT_EVENT,
                                 _event_values(actor, action, entity_type, entity_id, None, after))


def insert_events(session: Session, actor: Actor,
                  events: list[tuple[str, str, int | None, dict | None, dict | None]]) -> None:
    """Write many audit rows (action, entity type, entity id, before, after) in one statement."""
    if events:
        session.connection().execute(_INSERT_EVENT, [
            _event_values(actor, action, entity_type, entity_id, before, after)
            for action, entity_type, entity_id, before, after in events])


def _event_values(actor: Actor, action: str, entity_type: str, entity_id: int | None,
                  before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "actor": actor.label,
        "actor_user_id": actor.user_id,
        "remote_addr": actor.remote_addr,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": _jsonable(before),
        "after": _jsonable(after),
    }


def list_events(session: Session, entity_type: str, entity_id: int) -> list[AuditEvent]:
    """Return one entity's audit trail, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out = {}
    for key, value in values.items():
        if hasattr(value, "value") and not isinstance(value, (int, float, str)):
            value = value.value
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, str) and hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out
