"""A demo directory for a fresh install: two of everything, so filters are real."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor
from intake.directory.roster import (add_leader, add_liaison, add_unit, create_user, find_user,
                                     verify_password)
from intake.store.models import Leader
from intake.statuses import Role, UnitKind

DEMO_PASSWORD = "dutyline-demo"
DEMO = Actor("seed-demo")
DEMO_USERNAME = "duty"
# Every account seed_demo creates, one per role at least, in the order the hint names them.
DEMO_USERNAMES = ("duty", "admin", "wang", "li", "duban", "chengguan", "renmin")


def demo_hint() -> str:
    """Return the line that tells a first run how to sign in to every demo account."""
    others = ", ".join(name for name in DEMO_USERNAMES if name != DEMO_USERNAME)
    return (f"sign in as {DEMO_USERNAME} / {DEMO_PASSWORD} (also {others}); "
            f"change these demo passwords before real use")


def seed_demo(session: Session) -> bool:
    """Create the demo directory and accounts; return False if a directory already exists."""
    if session.scalar(select(Leader.id).limit(1)) is not None:
        return False
    chengguan = add_unit(session, "城关镇卫生院", UnitKind.TOWNSHIP, DEMO, phone="+8657188880001")
    hospital = add_unit(session, "县人民医院", UnitKind.COUNTY, DEMO, phone="+8657188880002")
    wang = add_leader(session, "王建国", "+8613900000001", DEMO, title="副局长",
                      email="wang@example.gov.cn", on_duty=True)
    li = add_leader(session, "李红", "+8613900000002", DEMO, title="医政科科长",
                    email="li@example.gov.cn")
    add_liaison(session, "张伟", "+8613812345678", wang, DEMO, work_unit="城关镇东门社区",
                address="城关镇东门村12号")
    add_liaison(session, "刘芳", "+8613812340000", wang, DEMO, work_unit="南山乡卫生院")
    add_liaison(session, "陈明", "+8613712345678", li, DEMO, work_unit="县人民医院")
    create_user(session, username="admin", role=Role.ADMIN, name="管理员",
                password=DEMO_PASSWORD, actor=DEMO)
    create_user(session, username="duty", role=Role.DUTY, name="值班员小周",
                password=DEMO_PASSWORD, actor=DEMO, phone="+8613900000009")
    create_user(session, username="wang", role=Role.LEADER, name="王建国",
                password=DEMO_PASSWORD, actor=DEMO, leader_id=wang.id, phone=wang.phone)
    create_user(session, username="li", role=Role.LEADER, name="李红",
                password=DEMO_PASSWORD, actor=DEMO, leader_id=li.id, phone=li.phone)
    # With a phone, so that the extension notices the README promises reach the office.
    create_user(session, username="duban", role=Role.SUPERVISOR, name="督办室老孙",
                password=DEMO_PASSWORD, actor=DEMO, phone="+8613900000008")
    create_user(session, username="chengguan", role=Role.UNIT, name="城关镇卫生院办公室",
                password=DEMO_PASSWORD, actor=DEMO, unit_id=chengguan.id)
    create_user(session, username="renmin", role=Role.UNIT, name="县人民医院医务科",
                password=DEMO_PASSWORD, actor=DEMO, unit_id=hospital.id)
    return True


def demo_password_unchanged(session: Session) -> bool:
    """Tell whether the demo duty account still signs in with the published demo password."""
    user = find_user(session, DEMO_USERNAME)
    return user is not None and user.active and verify_password(user, DEMO_PASSWORD)
