"""Commendations (表扬信, 锦旗, 媒体表扬) of a work-group member or a unit, for the annual review."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.exceptions import ValidationError
from intake.store.models import Commendation, Leader, Unit
from intake.statuses import CommendationKind

MAX_EVIDENCE_CHARS = 4000


def record_commendation(
    session: Session, *, kind: CommendationKind | str, received_on: date, evidence: str,
    actor: Actor, today: date, leader: Leader | None = None, unit: Unit | None = None,
    giver: str = "",
) -> Commendation:
    """Record a commendation of exactly one member or one unit, with its date and evidence.

    Raises:
        ValidationError: code "kind_unknown", "commendation_target" (none or both of member
            and unit), "evidence_missing", "evidence_too_long" or "date_in_future".
    """
    try:
        kind = CommendationKind(kind)
    except ValueError:
        raise ValidationError(f"unknown commendation kind {kind!r}", field="kind",
                              code="kind_unknown") from None
    if (leader is None) == (unit is None):
        raise ValidationError("a commendation is for one member or one unit",
                              field="target", code="commendation_target")
    evidence = (evidence or "").strip()
    if not evidence:
        raise ValidationError("say what proves the commendation", field="evidence",
                              code="evidence_missing")
    if len(evidence) > MAX_EVIDENCE_CHARS:
        raise ValidationError("the evidence text is too long", field="evidence",
                              code="evidence_too_long")
    if received_on > today:
        raise ValidationError(f"{received_on.isoformat()} is in the future", field="received_on",
                              code="date_in_future")
    commendation = Commendation(kind=kind, received_on=received_on, evidence=evidence,
                                giver=(giver or "").strip()[:200], leader=leader, unit=unit)
    session.add(commendation)
    session.flush()
    record_event(session, actor, "commendation.recorded", commendation,
                 after={"kind": kind, "leader_id": commendation.leader_id,
                        "unit_id": commendation.unit_id, "received_on": received_on})
    return commendation


def list_commendations(session: Session, start: date | None = None,
                       end: date | None = None) -> list[Commendation]:
    """Return the commendations received between two days (inclusive), newest first."""
    query = select(Commendation).order_by(Commendation.received_on.desc(), Commendation.id.desc())
    if start is not None:
        query = query.where(Commendation.received_on >= start)
    if end is not None:
        query = query.where(Commendation.received_on <= end)
    return list(session.scalars(query))


def summarise_commendations(session: Session, year: int) -> list[dict]:
    """Count a year's commendations per member or unit and kind, for the annual summary.

    Returns rows {"target": "leader"|"unit", "id", "name", "letter", "banner", "media",
    "total"}, most commended first.
    """
    rows: dict[tuple[str, int], dict] = {}
    for item in list_commendations(session, date(year, 1, 1), date(year, 12, 31)):
        target, record = ("leader", item.leader) if item.leader else ("unit", item.unit)
        row = rows.setdefault((target, record.id), {
            "target": target, "id": record.id, "name": record.name,
            **{k.value: 0 for k in CommendationKind}, "total": 0})
        row[item.kind.value] += 1
        row["total"] += 1
    return sorted(rows.values(), key=lambda r: (-r["total"], r["target"], r["name"]))
