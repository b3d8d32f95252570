"""The directory: units, leaders, liaisons and the staff who sign in.

Nothing is deleted: a record is edited or deactivated, and every change writes an audit row
with the changed fields before and after, so the history of a person or unit can be read back.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from intake.rules.access import principal_of
from intake.store.audit import Actor, record_event
from intake.store.database import LIKE_ESCAPE, contains_pattern
from intake.exceptions import Forbidden, NotFound, ValidationError
from intake.store.models import Leader, Liaison, Unit, User
from intake.store.text import check_row_text
from intake.directory.phones import optional_phone, require_phone
from intake.statuses import Role, UnitKind

MIN_PASSWORD_LENGTH = 8
# The work system links each work-group member to 2-5 liaisons.
MIN_LIAISONS = 2
MAX_LIAISONS = 5
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Tell whether a password matches the user's stored hash."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Caller:
    """What the hotline needs to know about a liaison ringing in."""

    liaison_id: int
    name: str
    leader_id: int | None


_CALLER_COLUMNS = (Liaison.phone, Liaison.id, Liaison.name, Liaison.leader_id)


def load_callers(session: Session) -> dict[str, Caller]:
    """Return the active liaisons by E.164 phone, for a process to keep between rings."""
    rows = session.execute(select(*_CALLER_COLUMNS).where(Liaison.active.is_(True)))
    return {phone: Caller(liaison_id, name, leader_id) for phone, liaison_id, name, leader_id in rows}


def find_caller(session: Session, e164: str | None) -> Caller | None:
    """Return the active liaison with this E.164 phone, read from the database now."""
    if e164 is None:
        return None
    row = session.execute(select(*_CALLER_COLUMNS)
                          .where(Liaison.phone == e164, Liaison.active.is_(True))).first()
    return Caller(row.id, row.name, row.leader_id) if row else None


def _require_name(raw: str | None) -> str:
    name = (raw or "").strip()
    if not name:
        raise ValidationError("a name is required", field="name", code="name_missing")
    return name


def add_unit(session: Session, name: str, kind: UnitKind, actor: Actor, phone: str = "") -> Unit:
    """Add a handling unit to the directory."""
    name = _require_name(name)
    if session.scalar(select(Unit.id).where(Unit.name == name)):
        raise ValidationError(f"a unit named {name!r} already exists", field="name",
                              code="unit_name_taken")
    unit = Unit(name=name, kind=kind, phone=optional_phone(phone) or None)
    check_row_text(Unit, {"name": unit.name})
    session.add(unit)
    session.flush()
    record_event(session, actor, "unit.created", unit, after={"name": unit.name})
    return unit


def add_leader(
    session: Session, name: str, phone: str, actor: Actor, title: str = "", email: str = "",
    on_duty: bool = False,
) -> Leader:
    """Add a work-group member with their contact card."""
    leader = Leader(name=_require_name(name), phone=require_phone(phone), title=title.strip(),
                    email=email.strip(), on_duty=on_duty)
    check_row_text(Leader, {"name": leader.name, "title": leader.title, "email": leader.email})
    session.add(leader)
    session.flush()
    record_event(session, actor, "leader.created", leader, after={"name": leader.name})
    return leader


def add_liaison(
    session: Session, name: str, phone: str, leader: Leader | None, actor: Actor,
    work_unit: str = "", address: str = "",
) -> Liaison:
    """Add a community liaison linked to a leader."""
    name = _require_name(name)
    e164 = require_phone(phone)
    _refuse_taken_liaison_phone(session, e164)
    liaison = Liaison(name=name, phone=e164, leader=leader, work_unit=work_unit,
                      address=address)
    check_row_text(Liaison, {"name": name, "work_unit": work_unit, "address": address})
    session.add(liaison)
    session.flush()
    record_event(session, actor, "liaison.created", liaison,
                 after={"name": liaison.name, "leader_id": liaison.leader_id})
    return liaison


def create_user(
    session: Session, *, username: str, role: Role | str, name: str, password: str,
    actor: Actor, phone: str = "", leader_id: int | None = None, unit_id: int | None = None,
) -> User:
    """Create a staff account; the password is hashed, never stored."""
    role = Role(role)
    if not username.strip():
        raise ValidationError("a username is required", field="username",
                              code="username_required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters", field="password",
            code="password_too_short"
        )
    if session.scalar(select(User.id).where(User.username == username)):
        raise ValidationError(f"the username {username!r} is taken", field="username",
                              code="username_taken")
    phone = optional_phone(phone)
    if role == Role.LEADER and leader_id is None and phone:
        leader_id = session.scalar(select(Leader.id).where(Leader.phone == phone))
    if role == Role.LEADER and leader_id is None:
        raise ValidationError("a leader account needs a leader in the directory (match by phone)",
                              field="leader_id", code="leader_account_needs_leader")
    if role == Role.UNIT and unit_id is None:
        raise ValidationError("a unit account needs a unit", field="unit_id",
                              code="unit_account_needs_unit")
    check_row_text(User, {"username": username.strip(), "name": name, "phone": phone or ""})
    user = User(username=username.strip(), role=role, name=name, phone=phone,
                password_hash=hash_password(password), leader_id=leader_id, unit_id=unit_id)
    session.add(user)
    session.flush()
    record_event(session, actor, "user.created", user,
                 after={"username": user.username, "role": role.value})
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


def list_users(session: Session) -> list[User]:
    """Return every account, by role then username."""
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def set_user_active(session: Session, user_id: int, active: bool, actor: Actor) -> User:
    """Enable or disable an account; a disabled account cannot sign in or use a session."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if actor.user_id == user.id and not active:
        raise ValidationError("you cannot disable your own account", field="active",
                              code="cannot_disable_self")
    before = user.active
    user.active = active
    if not active:
        user.session_generation += 1  # a copied cookie must not outlive the account
    record_event(session, actor, "user.activated" if active else "user.deactivated", user,
                 before={"active": before}, after={"active": active})
    return user


def _refuse_taken_liaison_phone(session: Session, e164: str, liaison_id: int | None = None) -> None:
    query = select(Liaison.id).where(Liaison.phone == e164)
    if liaison_id is not None:
        query = query.where(Liaison.id != liaison_id)
    if session.scalar(query):
        raise ValidationError(f"a liaison with phone {e164} already exists", field="phone",
                              code="phone_taken")


def set_password(session: Session, user_id: int, password: str, actor: Actor) -> User:
    """Give an account a new password and end every session it has open."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user.password_hash = hash_password(password)
    user.session_generation += 1
    record_event(session, actor, "user.password_changed", user)
    return user


def end_sessions(session: Session, user: User, actor: Actor) -> None:
    """End every session of an account, on every device."""
    user.session_generation += 1
    record_event(session, actor, "user.sessions_ended", user,
                 after={"session_generation": user.session_generation})


def list_liaisons(session: Session) -> list[Liaison]:
    return list(session.scalars(select(Liaison).order_by(Liaison.leader_id, Liaison.id)))


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.kind, Unit.id)))


def get_leader(session: Session, leader_id: int) -> Leader:
    leader = session.get(Leader, leader_id)
    if leader is None or not leader.active:
        raise NotFound(f"leader {leader_id} does not exist")
    return leader


def list_leaders(session: Session, include_inactive: bool = False) -> list[Leader]:
    """Return the work-group members, active ones only unless asked."""
    query = select(Leader).order_by(Leader.id)
    if not include_inactive:
        query = query.where(Leader.active.is_(True))
    return list(session.scalars(query))


def list_on_duty_leaders(session: Session) -> list[Leader]:
    """Return the leaders who receive urgent alerts at any hour."""
    return list(session.scalars(
        select(Leader).where(Leader.active.is_(True), Leader.on_duty.is_(True)).order_by(Leader.id)
    ))


def search_directory(session: Session, query: str, limit: int = 10) -> list[dict]:
    """Find liaisons and units whose name, unit or phone contains the query (for typeahead)."""
    like = contains_pattern(query.strip())
    results: list[dict] = []
    for liaison in session.scalars(
        select(Liaison).where(
            Liaison.active.is_(True),
            or_(Liaison.name.like(like, escape=LIKE_ESCAPE),
                Liaison.phone.like(like, escape=LIKE_ESCAPE),
                Liaison.work_unit.like(like, escape=LIKE_ESCAPE)),
        ).limit(limit)
    ):
        results.append({"kind": "liaison", "id": liaison.id, "name": liaison.name,
                        "phone": liaison.phone, "unit": liaison.work_unit,
                        "address": liaison.address, "leader_id": liaison.leader_id})
    units = select(Unit).where(Unit.name.like(like, escape=LIKE_ESCAPE)).limit(limit)
    for unit in session.scalars(units):
        results.append({"kind": "unit", "id": unit.id, "name": unit.name})
    return results[:limit]


# ---------------------------------------------------------------- upkeep: edit, deactivate, reassign
LEADER_FIELDS = ("name", "title", "phone", "email", "on_duty", "reports_to_id", "is_head")
LIAISON_FIELDS = ("name", "phone", "work_unit", "address")
UNIT_FIELDS = ("name", "kind", "phone")
USER_FIELDS = ("name", "phone", "leader_id", "unit_id")


def get_liaison(session: Session, liaison_id: int) -> Liaison:
    """Return a liaison, active or not."""
    return _get(session, Liaison, liaison_id)


def get_unit(session: Session, unit_id: int) -> Unit:
    """Return a unit, active or not."""
    return _get(session, Unit, unit_id)


def get_any_leader(session: Session, leader_id: int) -> Leader:
    """Return a leader, active or not (for upkeep; routing uses get_leader)."""
    return _get(session, Leader, leader_id)


def get_user(session: Session, user_id: int) -> User:
    """Return an account, active or not."""
    return _get(session, User, user_id)


def _get(session: Session, model, record_id: int):
    record = session.get(model, record_id)
    if record is None:
        raise NotFound(f"{model.__tablename__} {record_id} does not exist")
    return record


def find_leader_by_name(session: Session, name: str) -> Leader:
    """Return the one active leader with this name; refuse an unknown or ambiguous name."""
    return _one_by_name(session, Leader, name, "leader")


def find_liaison_by_name(session: Session, name: str) -> Liaison:
    """Return the one active liaison with this name; refuse an unknown or ambiguous name."""
    return _one_by_name(session, Liaison, name, "liaison")


def _one_by_name(session: Session, model, name: str, field: str):
    found = list(session.scalars(
        select(model).where(model.name == name.strip(), model.active.is_(True)).limit(2)))
    if not found:
        raise ValidationError(f"no active {field} named {name.strip()!r}", field=field,
                              code=f"unknown_{field}")
    if len(found) > 1:
        raise ValidationError(f"more than one active {field} is named {name.strip()!r}",
                              field=field, code=f"ambiguous_{field}")
    return found[0]


def update_leader(session: Session, leader: Leader, changes: Mapping[str, Any],
                  actor: Actor) -> Leader:
    """Edit a work-group member's card, superior or head flag; audit what changed.

    Raises:
        ValidationError: an empty name, a bad phone, or a superior that is the member or
            reports (directly or not) to the member.
    """
    clean: dict[str, Any] = {}
    for key, value in _known(changes, LEADER_FIELDS).items():
        if key == "name":
            clean[key] = _require_name(value)
        elif key == "phone":
            clean[key] = require_phone(value)
        elif key in ("title", "email"):
            clean[key] = (value or "").strip()
        elif key in ("on_duty", "is_head"):
            clean[key] = bool(value)
        elif key == "reports_to_id":
            clean[key] = _check_superior(session, leader, value)
    _apply(session, leader, clean, actor, "leader.updated")
    if "reports_to_id" in clean:
        session.expire(leader, ["reports_to"])  # reload the relationship from the new id
    return leader


def _check_superior(session: Session, leader: Leader, superior_id: int | None) -> int | None:
    if not superior_id:
        return None
    superior = get_any_leader(session, int(superior_id))
    seen = {leader.id}
    while superior is not None:
        if superior.id in seen:
            raise ValidationError("a member cannot report to themselves, directly or not",
                                  field="reports_to_id", code="reporting_cycle")
        seen.add(superior.id)
        # Follow the id, not the relationship: a loaded relationship can be stale within an
        # import that changes several superiors before it flushes.
        superior = session.get(Leader, superior.reports_to_id) if superior.reports_to_id else None
    return int(superior_id)


def update_liaison(session: Session, liaison: Liaison, changes: Mapping[str, Any],
                   actor: Actor) -> Liaison:
    """Edit a liaison's name, phone, unit or address; the leader changes by reassign_liaison."""
    clean: dict[str, Any] = {}
    for key, value in _known(changes, LIAISON_FIELDS).items():
        if key == "name":
            clean[key] = _require_name(value)
        elif key == "phone":
            clean[key] = require_phone(value)
            _refuse_taken_liaison_phone(session, clean[key], liaison.id)
        else:
            clean[key] = (value or "").strip()
    return _apply(session, liaison, clean, actor, "liaison.updated")


def reassign_liaison(session: Session, liaison: Liaison, leader: Leader | None,
                     actor: Actor) -> Liaison:
    """Link a liaison to another work-group member; their future cases route there."""
    if leader is not None and not leader.active:
        raise ValidationError(f"leader {leader.name} is not active", field="leader_id",
                              code="leader_inactive")
    new_id = leader.id if leader is not None else None
    if liaison.leader_id == new_id:
        return liaison
    record_event(session, actor, "liaison.reassigned", liaison,
                 before={"leader_id": liaison.leader_id}, after={"leader_id": new_id})
    liaison.leader = leader
    session.flush()
    return liaison


def update_unit(session: Session, unit: Unit, changes: Mapping[str, Any], actor: Actor) -> Unit:
    """Edit a unit's name, kind or phone."""
    clean: dict[str, Any] = {}
    for key, value in _known(changes, UNIT_FIELDS).items():
        if key == "name":
            clean[key] = _require_name(value)
            if session.scalar(select(Unit.id).where(Unit.name == clean[key], Unit.id != unit.id)):
                raise ValidationError(f"a unit named {clean[key]!r} already exists",
                                      field="name", code="unit_name_taken")
        elif key == "kind":
            try:
                clean[key] = UnitKind(value)
            except ValueError:
                raise ValidationError(f"unknown unit kind {value!r}", field="kind",
                                      code="kind_unknown") from None
        elif key == "phone":
            clean[key] = optional_phone(value) or None
    return _apply(session, unit, clean, actor, "unit.updated")


def update_user(session: Session, user: User, changes: Mapping[str, Any], actor: Actor) -> User:
    """Edit an account's name, phone, or the leader or unit it acts for."""
    clean: dict[str, Any] = {}
    for key, value in _known(changes, USER_FIELDS).items():
        if key == "name":
            clean[key] = _require_name(value)
        elif key == "phone":
            clean[key] = optional_phone(value)
        elif key == "leader_id":
            clean[key] = get_any_leader(session, int(value)).id if value else None
        elif key == "unit_id":
            clean[key] = get_unit(session, int(value)).id if value else None
    if user.role == Role.LEADER and clean.get("leader_id", user.leader_id) is None:
        raise ValidationError("a leader account needs a leader", field="leader_id",
                              code="leader_missing")
    if user.role == Role.UNIT and clean.get("unit_id", user.unit_id) is None:
        raise ValidationError("a unit account needs a unit", field="unit_id",
                              code="unit_missing")
    return _apply(session, user, clean, actor, "user.updated")


def set_active(session: Session, record: Leader | Liaison | Unit, active: bool,
               actor: Actor) -> Leader | Liaison | Unit:
    """Deactivate (or reactivate) a leader, liaison or unit; the record and its history stay."""
    if record.active == active:
        return record
    kind = {"leaders": "leader", "liaisons": "liaison", "units": "unit"}[record.__tablename__]
    record_event(session, actor, f"{kind}.{'activated' if active else 'deactivated'}", record,
                 before={"active": record.active}, after={"active": active})
    record.active = active
    session.flush()
    return record


def _known(changes: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))}",
                              field=sorted(unknown)[0], code="field_unknown")
    return dict(changes)


def _apply(session: Session, record, clean: dict[str, Any], actor: Actor, action: str):
    check_row_text(type(record), clean)
    before = {k: getattr(record, k) for k, v in clean.items() if getattr(record, k) != v}
    if not before:
        return record
    after = {k: clean[k] for k in before}
    record_event(session, actor, action, record, before=before, after=after)
    for key, value in after.items():
        setattr(record, key, value)
    session.flush()
    return record


@dataclass(frozen=True)
class LoadWarning:
    """A member linked to fewer or more liaisons than the work system allows."""

    leader_id: int
    leader_name: str
    liaisons: int
    problem: str  # "too_few" | "too_many"


def list_unlinked_liaisons(session: Session) -> list[Liaison]:
    """Return active liaisons whose member is missing or deactivated: their calls route nowhere."""
    return list(session.scalars(
        select(Liaison).outerjoin(Leader, Liaison.leader_id == Leader.id)
        .where(Liaison.active.is_(True), or_(Leader.id.is_(None), Leader.active.is_(False)))
        .order_by(Liaison.id)))


def check_liaison_load(session: Session) -> list[LoadWarning]:
    """Return the active members with fewer than 2 or more than 5 active liaisons."""
    counts = dict(session.execute(
        select(Liaison.leader_id, func.count(Liaison.id))
        .where(Liaison.active.is_(True), Liaison.leader_id.is_not(None))
        .group_by(Liaison.leader_id)).all())
    warnings = []
    for leader in list_leaders(session):
        count = counts.get(leader.id, 0)
        if count < MIN_LIAISONS or count > MAX_LIAISONS:
            warnings.append(LoadWarning(leader.id, leader.name, count,
                                        "too_few" if count < MIN_LIAISONS else "too_many"))
    return warnings


# design.md: the duty room, leaders, the supervision office and admins read the directory
# (to route, transfer and follow cases); a unit account does not.
DIRECTORY_READERS = frozenset({"admin", "duty", "leader", "supervisor"})


def describe_directory(session: Session, who) -> dict:
    """Return the active leaders, liaisons and units as plain records, for those who may read them.

    Raises:
        Forbidden: a unit account, or a disabled one.
    """
    principal = principal_of(who)
    if principal.party.value not in DIRECTORY_READERS or not principal.active:
        raise Forbidden(f"{principal.party.value} may not read the directory")
    return {
        "leaders": [{"id": leader.id, "name": leader.name, "title": leader.title,
                     "phone": leader.phone, "email": leader.email, "on_duty": leader.on_duty}
                    for leader in list_leaders(session)],
        "liaisons": [{"id": liaison.id, "name": liaison.name, "phone": liaison.phone,
                      "work_unit": liaison.work_unit, "address": liaison.address,
                      "leader_id": liaison.leader_id}
                     for liaison in list_liaisons(session) if liaison.active],
        "units": [{"id": unit.id, "name": unit.name, "kind": unit.kind.value, "phone": unit.phone}
                  for unit in list_units(session) if unit.active],
    }
