"""Who a confirmed message goes to: the liaison's own leader, unless the officer says otherwise."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from intake.directory.roster import get_leader, list_leaders
from intake.exceptions import ValidationError
from intake.store.models import Leader, Liaison


@dataclass(frozen=True)
class RouteChoice:
    leader: Leader
    is_default: bool
    reason: str


def choose_leader(
    session: Session,
    liaison: Liaison | None,
    override_leader_id: int | None = None,
    override_reason: str = "",
) -> RouteChoice:
    """Pick the leader for a case: the liaison's linked leader, or a reasoned override.

    Raises:
        ValidationError: an override without a reason, or no leader to route to.
    """
    default = liaison.leader if liaison is not None and liaison.leader is not None else None
    if override_leader_id is not None and (default is None or override_leader_id != default.id):
        if default is not None and not override_reason.strip():
            raise ValidationError("say why this case goes to another leader", field="reason",
                                  code="route_reason_required")
        return RouteChoice(get_leader(session, override_leader_id), False, override_reason.strip())
    if default is not None and default.active:
        return RouteChoice(default, True, "")
    leaders = list_leaders(session)
    if not leaders:
        raise ValidationError("the directory has no leader to route to", field="leader_id",
                              code="no_leader_in_directory")
    raise ValidationError("the caller is not a known liaison: choose a leader", field="leader_id",
                          code="leader_required")
