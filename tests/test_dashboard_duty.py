"""The admin's duty-hours screen: the duty phone, weekly windows and date exceptions."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from intake.time.duty import DUTY_PHONE_KEY, get_setting
from intake.store.models import AuditEvent, DutyException, DutyPeriod, utcnow
from tests.dashboard_support import sign_in


def _page(client) -> str:
    return client.get("/admin/duty").get_data(as_text=True)


def _periods(db) -> list[tuple[int, time, time]]:
    db.expire_all()
    return [(p.weekday, p.starts, p.ends) for p in db.scalars(
        select(DutyPeriod).order_by(DutyPeriod.weekday, DutyPeriod.starts))]


def _duty_actions(db) -> list[str]:
    return db.scalars(select(AuditEvent.action).where(
        AuditEvent.action.startswith("duty.") | (AuditEvent.action == "setting.changed"))
        .order_by(AuditEvent.id)).all()


def test_the_admin_sets_the_phone_and_adds_and_removes_windows_all_audited(client, demo):
    sign_in(client, "admin")
    assert "值班时间" in _page(client) and "未设置" in _page(client)

    response = client.post("/admin/duty/phone", data={"phone": "0571-88889999"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/duty")
    client.post("/admin/duty/periods", data={"weekday": "0", "starts": "08:30", "ends": "17:30"})
    client.post("/admin/duty/periods", data={"weekday": "sun", "starts": "00:00", "ends": "24:00"})
    assert _periods(demo) == [(0, time(8, 30), time(17, 30)), (6, time(0), time.max)]
    assert get_setting(demo, DUTY_PHONE_KEY) == "+8657188889999"

    page = _page(client)
    assert "+8657188889999" in page and "已添加值班时段" in page
    assert "星期一" in page and "08:30" in page and "17:30" in page
    assert "星期日" in page and "24:00" in page  # the end of the day, not 23:59

    monday = demo.scalar(select(DutyPeriod).where(DutyPeriod.weekday == 0))
    client.post(f"/admin/duty/periods/{monday.id}/remove")
    assert _periods(demo) == [(6, time(0), time.max)]
    assert _duty_actions(demo) == ["setting.changed", "duty.period_added", "duty.period_added",
                                   "duty.period_removed"]
    assert set(demo.scalars(select(AuditEvent.actor).where(
        AuditEvent.action.startswith("duty.")))) == {"user:admin"}


def test_the_admin_sets_and_removes_date_exceptions(client, demo):
    sign_in(client, "admin")
    client.post("/admin/duty/exceptions", data={"day": "2026-10-10", "staffed": "1",
                                                "starts": "09:00", "ends": "12:00",
                                                "note": "国庆调休值班"})
    client.post("/admin/duty/exceptions", data={"day": "2026-12-31", "staffed": "0",
                                                "starts": "", "ends": "", "note": "局里活动"})
    demo.expire_all()
    rows = {e.day: (e.staffed, e.starts, e.ends, e.note)
            for e in demo.scalars(select(DutyException))}
    assert rows == {date(2026, 10, 10): (True, time(9), time(12), "国庆调休值班"),
                    date(2026, 12, 31): (False, None, None, "局里活动")}
    page = _page(client)
    assert 'data-day="2026-10-10"' in page and "09:00–12:00" in page and "不值班" in page

    client.post("/admin/duty/exceptions/remove", data={"day": "2026-10-10"})
    demo.expire_all()
    assert [e.day for e in demo.scalars(select(DutyException))] == [date(2026, 12, 31)]
    assert _duty_actions(demo) == ["duty.exception_set", "duty.exception_set",
                                   "duty.exception_removed"]


def test_bad_input_is_refused_by_its_code_in_chinese_and_changes_nothing(client, demo):
    sign_in(client, "admin")
    before = demo.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
    refusals = [
        ("/admin/duty/periods", {"weekday": "0", "starts": "17:00", "ends": "08:00"},
         "值班时段的结束时间必须晚于开始时间"),
        ("/admin/duty/periods", {"weekday": "someday", "starts": "08:00", "ends": "09:00"},
         "请选择星期几"),
        ("/admin/duty/periods", {"weekday": "7", "starts": "08:00", "ends": "09:00"},
         "请选择星期几"),
        ("/admin/duty/periods", {"weekday": "1", "starts": "8 点", "ends": "09:00"},
         "请按 HH:MM 填写时间"),
        ("/admin/duty/phone", {"phone": "not a number"}, "电话号码无效"),
        # Possible in China by its length, but no line has it: the directory refuses it too.
        ("/admin/duty/phone", {"phone": "12345"}, "电话号码无效"),
        ("/admin/duty/exceptions", {"day": "2026-02-30", "staffed": "1"}, "YYYY-MM-DD"),
        ("/admin/duty/exceptions", {"day": "2026-10-10", "staffed": "1", "starts": "09:00"},
         "请同时填写开始和结束时间"),
        ("/admin/duty/exceptions", {"day": "2026-10-10", "staffed": "0", "starts": "09:00",
                                    "ends": "12:00"}, "只有值班日才能填写时间"),
        ("/admin/duty/exceptions", {"day": "2026-10-10", "staffed": "1", "starts": "12:00",
                                    "ends": "09:00"}, "值班时段的结束时间必须晚于开始时间"),
        ("/admin/duty/exceptions/remove", {"day": "2026-10-11"}, "未找到"),
        ("/admin/duty/periods/999999/remove", {}, "未找到"),
    ]
    for path, form, message in refusals:
        assert client.post(path, data=form).status_code == 302, path
        assert message in _page(client), (path, form)
    demo.expire_all()
    assert _periods(demo) == [] and demo.scalars(select(DutyException)).all() == []
    assert get_setting(demo, DUTY_PHONE_KEY) is None
    assert demo.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) == before


def test_only_an_admin_sees_or_changes_the_schedule(client, demo):
    sign_in(client, "duty")
    assert client.get("/admin/duty").status_code == 403
    assert client.post("/admin/duty/periods", data={
        "weekday": "0", "starts": "08:00", "ends": "09:00"}).status_code == 403
    assert _periods(demo) == []


def _ring(signed_post, call_sid: str) -> list[str]:
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": "+8613055550000",
              "To": "+8657112345", "CallStatus": "ringing"}
    response = signed_post("/ivr/voice", params)
    assert response.status_code == 200
    return [child.tag for child in ET.fromstring(response.data)]


def test_a_ring_after_an_on_screen_change_follows_it(client, signed_post, demo, settings):
    """The hotline caches the schedule per process; the next ring sees a change all the same."""
    sign_in(client, "admin")
    client.post("/admin/duty/phone", data={"phone": "+8657188889999"})
    assert "Dial" not in _ring(signed_post, "CA" + "1" * 32)  # no hours yet: voicemail

    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    client.post("/admin/duty/exceptions", data={"day": today, "staffed": "1", "note": "加班"})
    assert _ring(signed_post, "CA" + "2" * 32)[-1] == "Dial"

    client.post("/admin/duty/exceptions", data={"day": today, "staffed": "0", "note": "停电"})
    assert "Dial" not in _ring(signed_post, "CA" + "3" * 32)
