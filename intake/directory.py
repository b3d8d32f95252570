"""The directory: units, leaders, liaisons and the staff who sign in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from intake.access import principal_of
from intake.audit import Actor, record_event
from intake.exceptions import Forbidden, NotFound, ValidationError
from intake.models import Leader, Liaison, Unit, User
from intake.phones import to_e164
from intake.statuses import Role, UnitKind

MIN_PASSWORD_LENGTH = 8
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


def _require_phone(raw: str, field: str = "phone") -> str:
    e164 = to_e164(raw)
    if e164 is None:
        raise ValidationError(f"not a valid phone number: {raw!r}", field=field, code="phone_invalid")
    return e164


def add_unit(session: Session, name: str, kind: UnitKind, actor: Actor, phone: str = "") -> Unit:
    """Add a handling unit to the directory."""
    if not name.strip():
        raise ValidationError("a unit needs a name", field="name", code="name_required")
    if session.scalar(select(Unit.id).where(Unit.name == name.strip())):
        raise ValidationError(f"a unit named {name.strip()!r} already exists", field="name",
                              code="unit_name_taken")
    unit = Unit(name=name.strip(), kind=kind, phone=phone)
    session.add(unit)
    session.flush()
    record_event(session, actor, "unit.created", unit, after={"name": unit.name})
    return unit


def add_leader(
    session: Session, name: str, phone: str, actor: Actor, title: str = "", email: str = "",
    on_duty: bool = False,
) -> Leader:
    """Add a work-group member with their contact card."""
    leader = Leader(name=name.strip(), phone=_require_phone(phone), title=title, email=email,
                    on_duty=on_duty)
    session.add(leader)
    session.flush()
    record_event(session, actor, "leader.created", leader, after={"name": leader.name})
    return leader


def add_liaison(
    session: Session, name: str, phone: str, leader: Leader | None, actor: Actor,
    work_unit: str = "", address: str = "",
) -> Liaison:
    """Add a community liaison linked to a leader."""
    e164 = _require_phone(phone)
    if session.scalar(select(Liaison.id).where(Liaison.phone == e164)):
        raise ValidationError(f"a liaison with phone {e164} already exists", field="phone",
                              code="liaison_phone_taken")
    liaison = Liaison(name=name.strip(), phone=e164, leader=leader, work_unit=work_unit,
                      address=address)
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
    if role == Role.LEADER and leader_id is None and phone:
        leader_id = session.scalar(select(Leader.id).where(Leader.phone == to_e164(phone)))
    if role == Role.LEADER and leader_id is None:
        raise ValidationError("a leader account needs a leader in the directory (match by phone)",
                              field="leader_id", code="leader_account_needs_leader")
    if role == Role.UNIT and unit_id is None:
        raise ValidationError("a unit account needs a unit", field="unit_id",
                              code="unit_account_needs_unit")
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
    record_event(session, actor, "user.activated" if active else "user.deactivated", user,
                 before={"active": before}, after={"active": active})
    return user


def list_liaisons(session: Session) -> list[Liaison]:
    return list(session.scalars(select(Liaison).order_by(Liaison.leader_id, Liaison.id)))


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.kind, Unit.id)))


def get_leader(session: Session, leader_id: int) -> Leader:
    leader = session.get(Leader, leader_id)
    if leader is None or not leader.active:
        raise NotFound(f"leader {leader_id} does not exist")
    return leader


def list_leaders(session: Session) -> list[Leader]:
    return list(session.scalars(select(Leader).where(Leader.active.is_(True)).order_by(Leader.id)))


def list_on_duty_leaders(session: Session) -> list[Leader]:
    """Return the leaders who receive urgent alerts at any hour."""
    return list(session.scalars(
        select(Leader).where(Leader.active.is_(True), Leader.on_duty.is_(True)).order_by(Leader.id)
    ))


def search_directory(session: Session, query: str, limit: int = 10) -> list[dict]:
    """Find liaisons and units whose name, unit or phone contains the query (for typeahead)."""
    like = f"%{query.strip()}%"
    results: list[dict] = []
    for liaison in session.scalars(
        select(Liaison).where(
            Liaison.active.is_(True),
            or_(Liaison.name.like(like), Liaison.phone.like(like), Liaison.work_unit.like(like)),
        ).limit(limit)
    ):
        results.append({"kind": "liaison", "id": liaison.id, "name": liaison.name,
                        "phone": liaison.phone, "unit": liaison.work_unit,
                        "address": liaison.address, "leader_id": liaison.leader_id})
    for unit in session.scalars(select(Unit).where(Unit.name.like(like)).limit(limit)):
        results.append({"kind": "unit", "id": unit.id, "name": unit.name})
    return results[:limit]


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
