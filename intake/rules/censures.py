"""The registers of criticism (通报批评, 四.5) and accountability (问责, 四.6).

One table holds both (Censure, with its kind). The supervision office records a censure
with its ground, target, cases and facts (confirmed at once: it is the office's own
decision), and may withdraw a confirmed one with a reason. The system *proposes* what the
rules make automatic; the office confirms or dismisses every proposal with a reason, and
only confirmed censures are published:

    criticism ground 1       a unit's result returned for format or quality 3 times in a row
                             (intake.cases.transfers.send_back_to_unit)
    criticism ground 3       a transferred case's deadline passes with no extension filed
                             before it (the overdue sweep, intake.sweep)
    accountability ground 1  a case marked important (重要事项) or a leader's instruction
                             (领导批示件) misses its deadline (the same sweep)

Statuses move through CENSURE_TRANSITIONS (intake/statuses.py); every move writes an audit
row on the censure. Proposals are idempotent by `proposal_key` (unique in the database).
Every decision is a compare-and-set on the entry's `version` (`claim_censure`), so of two
office users deciding one entry at once exactly one wins and the other gets Conflict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.rules.access import check
from intake.store.versions import claim_version
from intake.store.audit import Actor, record_event
from intake.clock import Clock
from intake.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from intake.rules.lifecycle import parse_choice
from intake.store.models import Case, Censure, CensureCase, Reminder, Unit
from intake.statuses import (CENSURE_TRANSITIONS, GROUNDS_BY_KIND, CaseImportance, CaseStatus,
                             CensureGround, CensureKind, CensureStatus, ReminderKind,
                             ReturnCategory)

PROPOSER = Actor("system:rules", name="规则提示")
# Criticism ground 1 (四.5(1)): a result returned this many times in a row for these reasons.
# A dissatisfied liaison's redo is its own ground for redo (四.4(3)) and does not count.
RETURNS_FOR_CRITICISM = 3
STREAK_CATEGORIES = (ReturnCategory.FORMAT, ReturnCategory.QUALITY)
FACTS_MAX_CHARS = 2000
REASON_MAX_CHARS = 500
PERSON_MAX_CHARS = 60
LIST_LIMIT = 500


@dataclass
class CensureEntry:
    """What the office records: the ground, who, the cases (numbers) and the facts."""

    ground: str
    facts: str
    case_numbers: list[str] = field(default_factory=list)
    unit_id: int | None = None
    duty_room: bool = False
    person: str = ""


def record_censure(session: Session, who, kind: CensureKind, entry: CensureEntry,
                   clock: Clock) -> Censure:
    """Record a criticism or an accountability the office has decided; it is confirmed.

    Raises:
        Forbidden: anyone but the supervision office.
        ValidationError: a ground of the other register ("ground_invalid"), no target
            ("censure_target_required"), an unknown unit or case, no facts.
    """
    principal = check(who, "censure", None)
    ground = _ground(kind, entry.ground)
    facts = (entry.facts or "").strip()
    if not facts:
        raise ValidationError("state the facts", field="facts", code="facts_required")
    if len(facts) > FACTS_MAX_CHARS:
        raise ValidationError("the facts are too long", field="facts", code="too_long")
    person = (entry.person or "").strip()
    if len(person) > PERSON_MAX_CHARS:
        raise ValidationError("the name is too long", field="person", code="too_long")
    unit = None
    if entry.unit_id is not None:
        unit = session.get(Unit, entry.unit_id)
        if unit is None:
            raise ValidationError("choose an existing unit", field="unit_id", code="unit_unknown")
    duty_room = bool(entry.duty_room)
    if duty_room and ground is not CensureGround.DUTY_FAILURE:
        # The rules name the duty room in ground 5 only.
        raise ValidationError("only ground duty_failure names the duty room", field="duty_room",
                              code="ground_invalid")
    if unit is None and not duty_room and not (kind is CensureKind.ACCOUNTABILITY and person):
        raise ValidationError("name the unit (or the duty room, or the person held to account)",
                              field="unit_id", code="censure_target_required")
    cases = _cases(session, entry.case_numbers)
    now = clock.now()
    censure = Censure(kind=kind, ground=ground, status=CensureStatus.CONFIRMED,
                      unit_id=unit.id if unit else None, unit=unit, duty_room=duty_room,
                      person=person, facts=facts, created_at=now, created_by=principal.label,
                      decided_at=now, decided_by=principal.label, decision_reason="",
                      withdrawn_by="", withdraw_reason="")
    session.add(censure)
    censure.links = [CensureCase(case=case, case_id=case.id) for case in cases]
    session.flush()
    record_event(session, principal.actor, f"{kind.value}.recorded", censure,
                 after={"by": principal.name, "status": censure.status.value,
                        "ground": ground.value, "unit": unit.name if unit else None,
                        "duty_room": duty_room, "person": person,
                        "cases": [case.number for case in cases]})
    return censure


def propose_censure(session: Session, kind: CensureKind, ground: CensureGround, *,
                    key: str, facts: str, now: datetime, unit_id: int | None = None,
                    person: str = "", cases: list[Case] = ()) -> Censure | None:
    """Propose a censure the rules make automatic, once per `key`; return it, or None if on file.

    A concurrent sweep that proposed the same key first wins through the unique key: the
    insert runs in a savepoint, and the loser's proposal is dropped without harm.
    """
    if ground not in GROUNDS_BY_KIND[kind]:
        raise ValueError(f"{ground.value} is not a ground of {kind.value}")
    if session.scalar(select(Censure.id).where(Censure.proposal_key == key)) is not None:
        return None
    censure = Censure(kind=kind, ground=ground, status=CensureStatus.PROPOSED, unit_id=unit_id,
                      duty_room=False, person=person, facts=facts, proposal_key=key,
                      created_at=now, created_by=PROPOSER.label, decided_by="",
                      decision_reason="", withdrawn_by="", withdraw_reason="")
    try:
        with session.begin_nested():
            session.add(censure)
            censure.links = [CensureCase(case=case, case_id=case.id) for case in cases]
            session.flush()
    except IntegrityError:
        return None
    record_event(session, PROPOSER, f"{kind.value}.proposed", censure,
                 after={"by": PROPOSER.name, "status": censure.status.value,
                        "ground": ground.value, "unit_id": unit_id, "key": key,
                        "cases": [case.number for case in cases]})
    return censure


def late_unexplained_key(case_id: int, deadline: datetime) -> str:
    """Return the key that proposes criticism ground 3 once per case and missed deadline."""
    return f"late_unexplained:case:{case_id}:{deadline.astimezone(timezone.utc):%Y%m%dT%H%M}"


def late_unexplained_facts(number: str) -> str:
    """Return the facts of a ground-3 proposal (kept in the bureau's language)."""
    return f"案件 {number} 超过办理期限，期限届满前未说明情况申请延期"


def propose_late_unexplained(session: Session, case: Case, now: datetime) -> Censure | None:
    """Propose criticism ground 3 for a transferred case whose deadline in force has passed."""
    if case.status is not CaseStatus.TRANSFERRED or case.unit_id is None or case.deadline_at is None:
        return None
    return propose_censure(session, CensureKind.CRITICISM, CensureGround.LATE_UNEXPLAINED,
                           key=late_unexplained_key(case.id, case.deadline_at),
                           facts=late_unexplained_facts(case.number), now=now,
                           unit_id=case.unit_id, cases=[case])


def important_matter_key(case_id: int, deadline: datetime) -> str:
    """Return the key that proposes accountability ground 1 once per case and missed deadline."""
    return f"important_matter_late:case:{case_id}:{deadline.astimezone(timezone.utc):%Y%m%dT%H%M}"


def important_matter_facts(number: str, importance: CaseImportance) -> str:
    """Return the facts of a ground-1 accountability proposal."""
    what = "领导批示件" if importance is CaseImportance.INSTRUCTION else "重要事项"
    return f"{what} {number} 超过办理期限"


def propose_important_matter_late(session: Session, case: Case, now: datetime) -> Censure | None:
    """Propose accountability ground 1 for an important case whose deadline has passed.

    It holds to account the unit the case is with, or else the leader handling it.
    """
    importance = case.importance or CaseImportance.NORMAL
    if importance is CaseImportance.NORMAL or case.deadline_at is None:
        return None
    unit_id = case.unit_id if case.status is CaseStatus.TRANSFERRED else None
    person = "" if unit_id else (case.leader.name if case.leader else "")
    return propose_censure(session, CensureKind.ACCOUNTABILITY,
                           CensureGround.IMPORTANT_MATTER_LATE,
                           key=important_matter_key(case.id, case.deadline_at),
                           facts=important_matter_facts(case.number, importance), now=now,
                           unit_id=unit_id, person=person, cases=[case])


def confirm_censure(session: Session, who, censure: Censure, reason: str, clock: Clock,
                    seen_version: int | None = None) -> Censure:
    """Confirm a proposal, with a reason; from now on it is published.

    Raises:
        Conflict: someone else decided the entry since it was read (or since `seen_version`).
    """
    return _decide(session, who, censure, CensureStatus.CONFIRMED, reason, clock, seen_version)


def dismiss_censure(session: Session, who, censure: Censure, reason: str, clock: Clock,
                    seen_version: int | None = None) -> Censure:
    """Dismiss a proposal, with a reason; it is never published (Conflict as for confirming)."""
    return _decide(session, who, censure, CensureStatus.DISMISSED, reason, clock, seen_version)


def withdraw_censure(session: Session, who, censure: Censure, reason: str, clock: Clock,
                     seen_version: int | None = None) -> Censure:
    """Withdraw a confirmed censure, with a reason; it is no longer published (Conflict too)."""
    return _decide(session, who, censure, CensureStatus.WITHDRAWN, reason, clock, seen_version)


def claim_censure(session: Session, censure: Censure, seen_version: int | None = None) -> None:
    """Bump the entry's version if it is still the one read (or `seen_version`); else Conflict.

    The page carries the version it showed and the API takes `If-Match` or `version`, so a
    decision taken on a stale view is refused even when the other one committed first; the
    UPDATE … WHERE version = :seen settles the two that overlap, on SQLite and PostgreSQL.
    """
    claim_version(session, censure, seen_version)


def _decide(session: Session, who, censure: Censure, target: CensureStatus, reason: str,
            clock: Clock, seen_version: int | None = None) -> Censure:
    principal = check(who, "censure", None)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("give a reason", field="reason", code="reason_required")
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError("the reason is too long", field="reason", code="too_long")
    if seen_version is not None and seen_version != censure.version:
        raise Conflict("Censure", censure.id, seen_version)
    current = censure.status
    if target not in CENSURE_TRANSITIONS[current]:
        raise InvalidTransition("Censure", current.value, target.value)
    # Claimed before anything of the decision is written: the loser writes nothing.
    claim_censure(session, censure)
    censure.status = target
    now = clock.now()
    if target is CensureStatus.WITHDRAWN:
        censure.withdrawn_at, censure.withdrawn_by, censure.withdraw_reason = (
            now, principal.label, reason)
    else:
        censure.decided_at, censure.decided_by, censure.decision_reason = (
            now, principal.label, reason)
    record_event(session, principal.actor, f"{censure.kind.value}.{target.value}", censure,
                 before={"status": current.value},
                 after={"by": principal.name, "status": target.value, "reason": reason})
    return censure


def get_censure(session: Session, who, kind: CensureKind, censure_id: int) -> Censure:
    """Return one censure of a register for someone who may read it."""
    check(who, "read_censures", None)
    censure = session.get(Censure, censure_id)
    if censure is None or censure.kind is not kind:
        raise NotFound(f"{kind.value} {censure_id}")
    return censure


def list_censures(session: Session, who, kind: CensureKind, *, status: str | None = None,
                  unit_id: int | None = None, limit: int = LIST_LIMIT) -> list[Censure]:
    """Return a register's censures, newest first, by status and unit."""
    check(who, "read_censures", None)
    query = select(Censure).where(Censure.kind == kind)
    if status:
        query = query.where(Censure.status == parse_choice(
            CensureStatus, status, field="status", code="status_invalid"))
    if unit_id is not None:
        query = query.where(Censure.unit_id == unit_id)
    return list(session.scalars(query.order_by(Censure.created_at.desc(), Censure.id.desc())
                                .limit(limit)))


def list_published(session: Session, kind: CensureKind, start=None, end=None) -> list[Censure]:
    """Return the confirmed censures of a register (confirmed in [start, end) when given)."""
    query = select(Censure).where(Censure.kind == kind,
                                  Censure.status == CensureStatus.CONFIRMED)
    if start is not None:
        query = query.where(Censure.decided_at >= start)
    if end is not None:
        query = query.where(Censure.decided_at < end)
    return list(session.scalars(query.order_by(Censure.decided_at, Censure.id)))


def describe_censure(censure: Censure, tz) -> dict:
    """Return a censure as JSON: ground, status, target, cases, facts and decisions."""

    def iso(moment):
        return moment.astimezone(tz).isoformat() if moment else None

    return {"id": censure.id, "kind": censure.kind.value, "ground": censure.ground.value,
            "status": censure.status.value, "version": censure.version,
            "unit_id": censure.unit_id,
            "unit": censure.unit.name if censure.unit else None,
            "duty_room": censure.duty_room, "person": censure.person,
            "cases": [case.number for case in censure.cases], "facts": censure.facts,
            "proposed": censure.proposal_key is not None,
            "created_at": iso(censure.created_at), "created_by": censure.created_by,
            "decided_at": iso(censure.decided_at), "decided_by": censure.decided_by,
            "decision_reason": censure.decision_reason,
            "withdrawn_at": iso(censure.withdrawn_at), "withdrawn_by": censure.withdrawn_by,
            "withdraw_reason": censure.withdraw_reason,
            "scans": [{"id": scan.id, "filename": scan.filename, "content_type": scan.content_type,
                       "size": scan.size, "sha256": scan.sha256} for scan in censure.scans]}


def count_chases(session: Session, case_id: int) -> int:
    """Return how many times the case's unit was chased (催办) past a deadline (the sweep's)."""
    return session.scalar(select(func.count(Reminder.id)).where(
        Reminder.kind == ReminderKind.UNIT_CHASE, Reminder.case_id == case_id)) or 0


def _ground(kind: CensureKind, value) -> CensureGround:
    ground = parse_choice(CensureGround, value, field="ground", code="ground_invalid")
    if ground not in GROUNDS_BY_KIND[kind]:
        raise ValidationError(f"{ground.value} is not a ground of {kind.value}", field="ground",
                              code="ground_invalid")
    return ground


def _cases(session: Session, numbers) -> list[Case]:
    if isinstance(numbers, str) or not isinstance(numbers, (list, tuple)):
        raise ValidationError("list the case numbers", field="cases", code="cases_invalid")
    wanted = []
    for number in numbers:
        if not isinstance(number, str):
            raise ValidationError("list the case numbers", field="cases", code="cases_invalid")
        if number.strip() and number.strip() not in wanted:
            wanted.append(number.strip())
    found = {case.number: case for case in session.scalars(
        select(Case).where(Case.number.in_(wanted)))} if wanted else {}
    missing = [number for number in wanted if number not in found]
    if missing:
        raise ValidationError(f"no such case: {', '.join(missing)}", field="cases",
                              code="case_unknown")
    return [found[number] for number in wanted]


__all__ = ["CensureEntry", "record_censure", "propose_censure", "confirm_censure",
           "dismiss_censure", "withdraw_censure", "get_censure", "list_censures",
           "list_published", "describe_censure", "PROPOSER"]
