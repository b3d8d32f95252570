"""Issue 17 item 7 in real headless Chromium: a case whose liaison has not rated 3 working
days after the rating reminder waits on the duty room's cases page (待电话回访评价); the duty
officer opens it, records the rating given by phone, and the case closes and leaves the list.

The app's list reads app.config["DUTYLINE_CLOCK"]; it and the case's history come from one
FixedClock (November 2026, no holiday)."""
from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server

from intake.cases.feedback import record_feedback
from intake.cases.handling import Confirmation, answer_case, confirm_and_route, handle_case
from intake.clock import FixedClock
from intake.outbox.notifications import SmsContext
from intake.statuses import CaseStatus
from intake.store.audit import Actor
from intake.store.models import Case, User
from intake.store.settings import load_settings
from intake.time.calendar import BureauCalendar
from tests.dashboard_support import make_call
from tests.test_browser_routes import DESKTOP, Desk, _free_port

pytestmark = [pytest.mark.browser]
TZ = "Asia/Shanghai"
CALENDAR = BureauCalendar()


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=ZoneInfo(TZ))


@pytest.fixture
def live(env, engine, monkeypatch):
    """The real app on a loopback port over the demo directory, its list on the test's clock."""
    from dashboard.app import create_app
    from intake.directory.demo import seed_demo
    from intake.store.database import make_session_factory
    from intake.store.runtime import reset_runtime

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_runtime()
    clock = FixedClock(local(5, 10), TZ)  # Thursday 5 November 2026
    app = create_app({"DUTYLINE_SETTINGS": load_settings(), "DUTYLINE_CLOCK": clock.now})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": base, "session": session, "clock": clock}
    finally:
        server.shutdown()
        session.close()


def _fed_back_case(session, clock: FixedClock) -> Case:
    """Route, answer and feed back a case: answered Thursday 5, fed back Monday 9 November."""
    sms = SmsContext(lambda case: f"https://x/cases/{case.id}", "zh-CN", TZ)
    wang = session.query(User).filter_by(username="wang").one()
    call = make_call(session)
    case, _ = confirm_and_route(
        session, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                       summary="药店没有降压药"),
        Actor("user:duty", name="值班员小周"), sms.case_link, "zh-CN", clock)
    handle_case(session, wang, case, "", clock, CALENDAR)
    answer_case(session, wang, case, "已联系药店补货", clock, CALENDAR)
    clock.advance(days=4)  # Monday 9 November, 10:00
    record_feedback(session, wang, case, "phone", "已电话告知", clock, sms)
    session.commit()
    return case


def test_the_duty_officer_records_a_stalled_rating_from_the_rate_by_phone_list(live, browser):
    clock = live["clock"]
    case = _fed_back_case(live["session"], clock)
    clock.advance(days=7)  # Monday 16 November: the reminder was Wednesday 11, +3 working days
    duty = Desk(browser, live["base"], "duty", DESKTOP)
    page = duty.page
    page.goto(live["base"] + "/cases")
    section = page.locator("#rate-by-phone")
    assert "待电话回访评价" in section.inner_text() and case.number in section.inner_text()
    with page.expect_navigation():
        section.locator(f"tr[data-number='{case.number}'] a.button").click()
    page.wait_for_selector("#rate-form")
    duty.submit("#rate-form", rating="satisfied")
    assert "评价已记录" in duty.flash()
    live["session"].expire_all()
    assert live["session"].get(Case, case.id).status is CaseStatus.CLOSED
    page.goto(live["base"] + "/cases")
    assert page.locator("#rate-by-phone").count() == 0
    duty.close()
