"""Urgent matters up the chain (逐级汇报): who has taken an urgent call on.

An urgent call alerts the on-duty leaders at once (intake.outbox.notifications.raise_urgent_alert).
Until one of them takes it on — replies "1" to the alert, or the call's case is
acknowledged — the sweep (intake.sweep) alerts the leaders they report to after
DUTYLINE_URGENT_ESCALATION_MINUTES, and the bureau head after twice that.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.clock import Clock
from intake.store.models import Call, Leader, Notification
from intake.statuses import NotificationKind

# An alert older than this is not what a bare "1" answers.
ACKNOWLEDGE_WINDOW = timedelta(days=2)
URGENT_KINDS = (NotificationKind.URGENT_ALERT, NotificationKind.URGENT_ESCALATION)


def acknowledge_urgent_call(session: Session, call: Call, actor: Actor, clock: Clock) -> bool:
    """Record that someone took an urgent call on; return False if it already was."""
    if call.urgent_acknowledged_at is not None:
        return False
    call.urgent_acknowledged_at = clock.now()
    call.urgent_acknowledged_by = actor.label
    record_event(session, actor, "call.urgent_acknowledged", call,
                 after={"by": actor.name or actor.label})
    return True


def find_urgent_call_awaiting(session: Session, leader: Leader, now: datetime) -> Call | None:
    """Return the oldest urgent call this leader was alerted to and nobody has taken on."""
    return session.scalar(
        select(Call).join(Notification, Notification.call_id == Call.id)
        .where(Notification.leader_id == leader.id, Notification.kind.in_(URGENT_KINDS),
               Call.urgent.is_(True), Call.urgent_acknowledged_at.is_(None),
               Call.started_at >= now - ACKNOWLEDGE_WINDOW)
        .order_by(Call.started_at, Call.id).limit(1))
