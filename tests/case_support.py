"""Helpers for tests that carry cases through the domain: the extra accounts and a routed case."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.directory.roster import create_user
from intake.time.calendar import BureauCalendar
from intake.store.models import Unit, User
from intake.outbox.notifications import SmsContext
from intake.cases.transfers import ResultForm
from tests.dashboard_support import make_call

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
# Tuesday 29 September 2026, 10:00 in Shanghai: three working days later is 9 October,
# because 1–7 October are the National Day holiday.
TUESDAY = datetime(2026, 9, 29, 2, 0, tzinfo=timezone.utc)
CALENDAR = BureauCalendar()
SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}", "zh-CN", TZ)
# The smallest files each kind's magic bytes accept; the checks read content, not names.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def add_people(demo) -> dict:
    """Add a supervision-office account and one account per unit to the demo; return them all."""
    units = {u.name: u for u in demo.query(Unit)}
    seed = Actor("test")
    create_user(demo, username="sup", role="supervisor", name="督办员", password="dutyline-demo",
                actor=seed)
    create_user(demo, username="cg", role="unit", name="城关镇卫生院办事员",
                password="dutyline-demo", actor=seed, unit_id=units["城关镇卫生院"].id)
    create_user(demo, username="xr", role="unit", name="县人民医院办事员",
                password="dutyline-demo", actor=seed, unit_id=units["县人民医院"].id)
    demo.commit()
    people = {u.username: u for u in demo.query(User)}
    people["units"] = units
    return people


def route_case(demo, clock, from_number: str = "+8613812345678"):
    """Confirm a transcribed call from a demo liaison into a case routed to their leader."""
    call = make_call(demo, from_number)
    case, _sms = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)
    demo.commit()
    return case


def result_form(**changes) -> ResultForm:
    fields = dict(facts_true="true", causes="配送延误", measures="已补货", liaison_opinion="满意",
                  signed_by="李院长", sealed=True)
    fields.update(changes)
    return ResultForm(**fields)
