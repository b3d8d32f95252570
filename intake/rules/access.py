"""Who may do what to which case: one table, used by the pages, the JSON API and SMS replies.

A rule reads: action × party × relation to the case × state → allowed. The parties are the
dashboard roles plus the liaison (who acts only by SMS). The relation is how the party stands
to this case: its leader, its unit (any unit it was ever assigned to), its liaison, or anyone.

`check` raises NotFound when the party may not even see the case (so ids cannot be probed)
and Forbidden when they may see it but not take that action; InvalidTransition comes later,
from the state machine, for a state the action's rule does not list.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import exists, or_, select

from intake.store.audit import Actor
from intake.exceptions import Forbidden, NotFound
from intake.store.models import Case, CaseAssignment, Leader, Liaison
from intake.statuses import CaseStatus, Role


class Party(str, Enum):
    ADMIN = "admin"
    DUTY = "duty"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    UNIT = "unit"
    LIAISON = "liaison"


class Relation(str, Enum):
    ITS_LEADER = "its_leader"
    ITS_UNIT = "its_unit"
    ITS_LIAISON = "its_liaison"
    ANYONE = "anyone"


# The action names of design.md's case API; the follow-up visits on a closed case
# (intake.cases.visits); then those on the registers of criticism and accountability
# (intake.rules.censures) and the notices to the public (intake.cases.notices), which are
# checked without a case.
CASE_ACTIONS = ("create", "view", "acknowledge", "handle", "transfer", "escalate", "extend",
                "result", "accept", "return", "answer", "decide", "feedback", "rate",
                "mark_importance")
VISIT_ACTIONS = ("schedule_visit", "record_visit")
REGISTER_ACTIONS = ("censure", "read_censures", "notice")
# The bulletin archive (intake.reports.archive), also checked without a case.
BULLETIN_ACTIONS = ("read_bulletins", "keep_bulletins")
ACTIONS = CASE_ACTIONS + VISIT_ACTIONS + REGISTER_ACTIONS + BULLETIN_ACTIONS

S = CaseStatus
ALL_STATES = frozenset(CaseStatus)
OPEN_STATES = ALL_STATES - {S.CLOSED}
_LEADER_ACTING = frozenset({S.ROUTED, S.ACKNOWLEDGED})

# action -> {(party, relation): states in which it is allowed}. "create" has no case yet,
# so its states are ignored.
RULES: dict[str, dict[tuple[Party, Relation], frozenset[CaseStatus]]] = {
    # A leader enters only the reports made to them directly (一.3), into their own queue
    # (intake.cases.handling.create_case holds them to channel `leader` and their own id).
    "create": {(Party.DUTY, Relation.ANYONE): ALL_STATES, (Party.ADMIN, Relation.ANYONE): ALL_STATES,
               (Party.LEADER, Relation.ANYONE): ALL_STATES},
    "view": {(Party.ADMIN, Relation.ANYONE): ALL_STATES, (Party.DUTY, Relation.ANYONE): ALL_STATES,
             (Party.SUPERVISOR, Relation.ANYONE): ALL_STATES,
             (Party.LEADER, Relation.ITS_LEADER): ALL_STATES,
             (Party.UNIT, Relation.ITS_UNIT): ALL_STATES,
             (Party.LIAISON, Relation.ITS_LIAISON): ALL_STATES},
    "acknowledge": {(Party.LEADER, Relation.ITS_LEADER): OPEN_STATES},
    "handle": {(Party.LEADER, Relation.ITS_LEADER): _LEADER_ACTING},
    "transfer": {(Party.LEADER, Relation.ITS_LEADER): _LEADER_ACTING | {S.HANDLING, S.TRANSFERRED}},
    "escalate": {(Party.LEADER, Relation.ITS_LEADER): _LEADER_ACTING | {
        S.HANDLING, S.TRANSFERRED, S.RESULT_FILED, S.BUREAU_MEETING}},
    "extend": {(Party.LEADER, Relation.ITS_LEADER): frozenset({S.HANDLING, S.TRANSFERRED}),
               (Party.UNIT, Relation.ITS_UNIT): frozenset({S.TRANSFERRED}),
               (Party.SUPERVISOR, Relation.ANYONE): frozenset({S.HANDLING, S.TRANSFERRED})},
    # A unit files its result on a transfer, or on its implementation of a decision.
    "result": {(Party.UNIT, Relation.ITS_UNIT): frozenset({S.TRANSFERRED, S.DECISION_IMPLEMENTING})},
    "accept": {(Party.SUPERVISOR, Relation.ANYONE): frozenset(
        {S.RESULT_FILED, S.DECISION_IMPLEMENTING})},
    "return": {(Party.SUPERVISOR, Relation.ANYONE): frozenset(
        {S.RESULT_FILED, S.DECISION_IMPLEMENTING})},
    "answer": {(Party.LEADER, Relation.ITS_LEADER): frozenset(
        {S.HANDLING, S.BUREAU_MEETING, S.COUNTY})},
    # Record the bureau meeting's or the county's decision and who carries it out (督促落实).
    "decide": {(Party.SUPERVISOR, Relation.ANYONE): frozenset({S.BUREAU_MEETING, S.COUNTY}),
               (Party.ADMIN, Relation.ANYONE): frozenset({S.BUREAU_MEETING, S.COUNTY})},
    "feedback": {(Party.LEADER, Relation.ITS_LEADER): frozenset({S.ANSWERED})},
    # The duty room marks importance at the confirm step ("create"); afterwards the office.
    "mark_importance": {(Party.SUPERVISOR, Relation.ANYONE): OPEN_STATES},
    "rate": {(Party.DUTY, Relation.ANYONE): frozenset({S.FED_BACK}),
             (Party.LEADER, Relation.ITS_LEADER): frozenset({S.FED_BACK}),
             (Party.LIAISON, Relation.ITS_LIAISON): frozenset({S.FED_BACK})},
    # 回访 (三.4): the office, or the case's leader, schedules a visit on a closed case; they
    # record what it found (or cancel it) whatever the case has become since.
    "schedule_visit": {(Party.SUPERVISOR, Relation.ANYONE): frozenset({S.CLOSED}),
                       (Party.LEADER, Relation.ITS_LEADER): frozenset({S.CLOSED})},
    "record_visit": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES,
                     (Party.LEADER, Relation.ITS_LEADER): ALL_STATES},
    # Record, confirm, dismiss or withdraw a criticism or an accountability: the office acts
    # for the leading group (领导小组办公室). Admins read the registers too.
    "censure": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES},
    "read_censures": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES,
                      (Party.ADMIN, Relation.ANYONE): ALL_STATES},
    # The 通报 archive: the office and the admins read every kept bulletin and may keep a new
    # version (or a period the schedule missed); nobody changes a kept one.
    "read_bulletins": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES,
                       (Party.ADMIN, Relation.ANYONE): ALL_STATES},
    "keep_bulletins": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES,
                       (Party.ADMIN, Relation.ANYONE): ALL_STATES},
    # Mark cases 群众普遍关心, write the public notice, record where it was published (三.4).
    "notice": {(Party.SUPERVISOR, Relation.ANYONE): ALL_STATES},
}


@dataclass(frozen=True)
class Principal:
    """Someone acting on a case: a signed-in user, or a leader or liaison replying by SMS."""

    party: Party
    name: str
    label: str  # the audit log's actor label
    user_id: int | None = None
    leader_id: int | None = None
    unit_id: int | None = None
    liaison_id: int | None = None
    active: bool = True
    remote_addr: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.label, self.user_id, self.remote_addr, self.name)


def principal_of(who, remote_addr: str | None = None) -> Principal:
    """Return the Principal for a User (or pass a Principal through).

    Views pass `principal_of(current_user(), request.remote_addr)` so the audit row keeps
    the address; a bare User works too.
    """
    if isinstance(who, Principal):
        return who
    role = who.role.value if isinstance(who.role, Role) else who.role
    return Principal(Party(role), who.name, f"user:{who.username}", who.id,
                     who.leader_id, who.unit_id, None, bool(who.active), remote_addr)


def sms_leader(leader: Leader) -> Principal:
    """Return the Principal of a leader replying by SMS."""
    return Principal(Party.LEADER, leader.name, f"sms:{leader.phone}", leader_id=leader.id,
                     active=bool(leader.active))


def sms_liaison(liaison: Liaison) -> Principal:
    """Return the Principal of a liaison replying by SMS."""
    return Principal(Party.LIAISON, liaison.name, f"sms:{liaison.phone}", liaison_id=liaison.id,
                     active=bool(liaison.active))


def relations(principal: Principal, case: Case | None, action: str = "view") -> set[Relation]:
    """Return how a principal stands to a case (always including ANYONE).

    A unit sees every case it was ever assigned, but acts only on its current assignment
    or on its implementation of the case's current decision.
    """
    found = {Relation.ANYONE}
    if case is None:
        return found
    if principal.leader_id is not None and principal.leader_id == case.leader_id:
        found.add(Relation.ITS_LEADER)
    if principal.unit_id is not None:
        if action == "view":
            units = {a.unit_id for a in case.assignments}
        elif case.status == CaseStatus.DECISION_IMPLEMENTING:
            units = {a.unit_id for a in case.implementations}
        else:
            units = {case.unit_id}
        if principal.unit_id in units:
            found.add(Relation.ITS_UNIT)
    if principal.liaison_id is not None and principal.liaison_id == case.liaison_id:
        found.add(Relation.ITS_LIAISON)
    return found


def _rule_states(action: str, principal: Principal, case: Case | None) -> frozenset[CaseStatus] | None:
    """Return the states in which the principal may take the action, or None for no rule."""
    if action not in RULES:
        raise ValueError(f"unknown action {action!r}")
    if not principal.active:
        return None
    states: set[CaseStatus] = set()
    matched = False
    for relation in relations(principal, case, action):
        allowed = RULES[action].get((principal.party, relation))
        if allowed is not None:
            matched = True
            states |= allowed
    return frozenset(states) if matched else None


def visible(who, case: Case) -> bool:
    """Tell whether someone may see a case at all."""
    return _rule_states("view", principal_of(who), case) is not None


def allowed(who, action: str, case: Case | None) -> bool:
    """Tell whether someone may take an action on a case in its current state."""
    principal = principal_of(who)
    states = _rule_states(action, principal, case)
    if states is None:
        return False
    return case is None or action == "create" or case.status in states


def check(who, action: str, case: Case | None) -> Principal:
    """Return the Principal if they may take the action; raise NotFound or Forbidden otherwise.

    Raises:
        NotFound: they may not see the case.
        Forbidden: they may see it but the table gives them no such action on it. A state
            the action's rule does not list is left to the state machine (InvalidTransition).
    """
    principal = principal_of(who)
    if case is not None and action != "create" and not visible(principal, case):
        raise NotFound(f"case {case.id}")
    if _rule_states(action, principal, case) is None:
        raise Forbidden(f"{principal.party.value} may not {action} case "
                        f"{case.number if case else ''}".strip())
    return principal


def visible_cases_clause(who):
    """Return a WHERE clause selecting the cases someone may see (for the inbox and lists)."""
    principal = principal_of(who)
    if not principal.active:
        return Case.id.is_(None)
    keys = {party for (party, _relation) in RULES["view"]}
    if principal.party not in keys:
        return Case.id.is_(None)
    clauses = []
    for (party, relation) in RULES["view"]:
        if party != principal.party:
            continue
        if relation == Relation.ANYONE:
            return Case.id.is_not(None)
        if relation == Relation.ITS_LEADER and principal.leader_id is not None:
            clauses.append(Case.leader_id == principal.leader_id)
        if relation == Relation.ITS_UNIT and principal.unit_id is not None:
            clauses.append(exists(select(CaseAssignment.id).where(
                CaseAssignment.case_id == Case.id, CaseAssignment.unit_id == principal.unit_id)))
        if relation == Relation.ITS_LIAISON and principal.liaison_id is not None:
            clauses.append(Case.liaison_id == principal.liaison_id)
    return or_(*clauses) if clauses else Case.id.is_(None)
