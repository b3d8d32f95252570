"""A deadline counted over days the calendar only estimates says so: in the case JSON
(`deadline_provisional`) and on the case page, next to the deadline; a deadline counted
over official days, or a date a person chose, does not; entering the year's notice clears it."""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route, describe_case
from intake.clock import FixedClock
from intake.time.calendar import BureauCalendar, EntryInput, set_calendar_entry
from intake.store.models import Case, DayKind, Unit, User
from intake.outbox.notifications import SmsContext
from intake.cases.supervision import extend_deadline
from intake.cases.transfers import transfer_case
from tests.dashboard_support import make_call, sign_in

TZ = ZoneInfo("Asia/Shanghai")
SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}", "zh-CN",
                 "Asia/Shanghai")
WARNING = "case-due-provisional"


def transferred(demo, when: datetime) -> Case:
    """Route a case and have 王建国 transfer it to 城关镇卫生院 at `when`."""
    call = make_call(demo)
    clock = FixedClock(when)
    case, _ = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)
    wang = demo.scalar(select(User).where(User.username == "wang"))
    unit = demo.scalar(select(Unit).where(Unit.name == "城关镇卫生院"))
    transfer_case(demo, wang, case, unit.id, clock, BureauCalendar(), SMS)
    demo.commit()
    return case


def record(demo, case) -> dict:
    demo.expire_all()
    case = demo.get(Case, case.id)
    return describe_case(demo, case, case.created_at, tz="Asia/Shanghai")


def page(client, case) -> str:
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_deadline_counted_into_an_estimated_year_says_so(demo, client):
    # Tue 29 Dec 2026: three working days run into 2027, whose holidays nobody has entered.
    case = transferred(demo, datetime(2026, 12, 29, 10, 0, tzinfo=TZ))
    described = record(demo, case)
    assert described["deadline"].startswith("2027-01-")
    assert described["deadline_provisional"] is True
    sign_in(client, "wang")
    html = page(client, case)
    warning = re.search(rf'<span id="{WARNING}"[^>]*>([^<]+)</span>', html)
    assert warning and "估" in warning.group(1)  # the Mandarin text, not the English msgid


def test_a_deadline_counted_over_official_days_does_not(demo, client):
    # Tue 29 Sep 2026, over the National Day holiday of the State Council's notice.
    case = transferred(demo, datetime(2026, 9, 29, 10, 0, tzinfo=TZ))
    described = record(demo, case)
    assert described["deadline"] == "2026-10-09T17:30:00+08:00"
    assert described["deadline_provisional"] is False
    sign_in(client, "wang")
    assert WARNING not in page(client, case)


def test_an_extension_is_a_date_a_person_chose_and_is_not_provisional(demo):
    case = transferred(demo, datetime(2026, 12, 29, 10, 0, tzinfo=TZ))
    wang = demo.scalar(select(User).where(User.username == "wang"))
    extend_deadline(demo, wang, demo.get(Case, case.id),
                    datetime(2027, 1, 15, 17, 30, tzinfo=TZ), "需要协调县医院",
                    FixedClock(datetime(2026, 12, 30, 9, 0, tzinfo=TZ)))
    demo.commit()
    assert record(demo, case)["deadline_provisional"] is False


def test_entering_the_years_notice_clears_the_warning(demo):
    case = transferred(demo, datetime(2026, 12, 29, 10, 0, tzinfo=TZ))
    assert record(demo, case)["deadline_provisional"] is True
    set_calendar_entry(demo, EntryInput(date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
                       Actor("user:admin", name="管理员"))
    demo.commit()
    described = record(demo, case)
    assert described["deadline"] == "2027-01-04T17:30:00+08:00"
    assert described["deadline_provisional"] is False
