"""Contact duties: each work-group member calls each of their liaisons at least once a month.

`members_owing_contacts(session, month)` is the pure question the 25th-of-month reminder asks;
the scheduled job that sends the SMS applies its answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.directory.roster import list_leaders
from intake.exceptions import ValidationError
from intake.store.models import ContactLog, Leader, Liaison

MAX_NOTE_CHARS = 500
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    """Return the first day of a YYYY-MM month.

    Raises:
        ValidationError: code "month_invalid" for anything else.
    """
    match = _MONTH.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError(f"not a month (YYYY-MM): {text!r}", field="month",
                              code="month_invalid")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: date) -> tuple[date, date]:
    """Return the first day of the month holding `month` and the first day of the next."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def log_contact(session: Session, leader: Leader, liaison: Liaison, actor: Actor, *,
                on: date, today: date, note: str = "") -> ContactLog:
    """Record that a member called one of their own liaisons on a day.

    Raises:
        ValidationError: code "liaison_not_members" for another member's liaison,
            "liaison_inactive" for a deactivated one, "date_in_future" for a day after today,
            "note_too_long" for a note over 500 characters.
    """
    if liaison.leader_id != leader.id:
        raise ValidationError(f"{liaison.name} is not one of {leader.name}'s liaisons",
                              field="liaison", code="liaison_not_members")
    if not liaison.active:
        raise ValidationError(f"{liaison.name} is no longer an active liaison", field="liaison",
                              code="liaison_inactive")
    if on > today:
        raise ValidationError(f"{on.isoformat()} is in the future", field="at",
                              code="date_in_future")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError("the note is too long", field="note", code="note_too_long")
    entry = ContactLog(leader_id=leader.id, liaison_id=liaison.id, contacted_on=on, note=note)
    session.add(entry)
    session.flush()
    record_event(session, actor, "contact.logged", entry,
                 after={"leader_id": leader.id, "liaison_id": liaison.id,
                        "contacted_on": on, "note": note})
    return entry


@dataclass
class MemberDuty:
    """One member's contact duty for a month: whom they called and whom they still owe."""

    leader_id: int
    leader_name: str
    leader_phone: str
    contacted: list[dict] = field(default_factory=list)  # {"id", "name", "last"}
    owing: list[dict] = field(default_factory=list)  # {"id", "name", "phone"}

    def to_json(self) -> dict:
        return {"leader_id": self.leader_id, "leader": self.leader_name,
                "contacted": [{**c, "last": c["last"].isoformat()} for c in self.contacted],
                "owing": self.owing}


def list_contact_duties(session: Session, month: date) -> list[MemberDuty]:
    """Return, per active member, their active liaisons contacted and not contacted in a month."""
    first, following = month_bounds(month)
    last_call: dict[tuple[int, int], date] = {}
    for liaison_id, leader_id, day in session.execute(
        select(ContactLog.liaison_id, ContactLog.leader_id, ContactLog.contacted_on)
        .where(ContactLog.contacted_on >= first, ContactLog.contacted_on < following)
    ):
        # Only a call by the liaison's current member counts, not one by a former member.
        last_call[(liaison_id, leader_id)] = max(day, last_call.get((liaison_id, leader_id), day))
    liaisons_by_leader: dict[int, list[Liaison]] = {}
    for liaison in session.scalars(
        select(Liaison).where(Liaison.active.is_(True), Liaison.leader_id.is_not(None))
        .order_by(Liaison.id)
    ):
        liaisons_by_leader.setdefault(liaison.leader_id, []).append(liaison)
    duties = []
    for leader in list_leaders(session):
        duty = MemberDuty(leader.id, leader.name, leader.phone)
        for liaison in liaisons_by_leader.get(leader.id, []):
            day = last_call.get((liaison.id, leader.id))
            if day is None:
                duty.owing.append({"id": liaison.id, "name": liaison.name,
                                   "phone": liaison.phone})
            else:
                duty.contacted.append({"id": liaison.id, "name": liaison.name, "last": day})
        duties.append(duty)
    return duties


def members_owing_contacts(session: Session, month: date) -> list[MemberDuty]:
    """Return the active members who have not yet called every liaison of theirs in a month."""
    return [duty for duty in list_contact_duties(session, month) if duty.owing]


def list_member_contacts(session: Session, leader: Leader, month: date) -> MemberDuty:
    """Return one member's duty for a month (the leader's phone page)."""
    for duty in list_contact_duties(session, month):
        if duty.leader_id == leader.id:
            return duty
    return MemberDuty(leader.id, leader.name, leader.phone)
