"""The duty-hours screen in real headless Chromium (CSRF on): add a window, refuse a bad one."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from intake.store.models import DutyPeriod
from tests.test_browser_directory import _sign_in, site  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admin_adds_a_window_and_a_reversed_one_is_refused(site, browser):  # noqa: F811
    base, session = site
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, base, "admin")
    page.click("nav >> text=值班时间")
    page.wait_for_load_state()
    assert "没有每周值班时段" in page.locator("#duty-periods").inner_text()

    page.select_option("#duty-period-form select[name=weekday]", label="星期三")
    page.fill("#duty-period-form input[name=starts]", "17:30")
    page.fill("#duty-period-form input[name=ends]", "08:30")
    page.click("#duty-period-form button")
    page.wait_for_load_state()
    assert "结束时间必须晚于开始时间" in page.locator(".flash.error[role=alert]").inner_text()
    session.expire_all()
    assert session.scalars(select(DutyPeriod)).all() == []

    page.select_option("#duty-period-form select[name=weekday]", label="星期三")
    page.fill("#duty-period-form input[name=starts]", "08:30")
    page.fill("#duty-period-form input[name=ends]", "17:30")
    page.click("#duty-period-form button")
    page.wait_for_load_state()
    assert "星期三" in page.locator("#duty-periods").inner_text()
    session.expire_all()
    assert [(p.weekday, p.starts, p.ends) for p in session.scalars(select(DutyPeriod))] == [
        (2, time(8, 30), time(17, 30))]

    page.click("#duty-periods button")
    page.wait_for_load_state()
    assert "已删除值班时段" in page.content()
    session.expire_all()
    assert session.scalars(select(DutyPeriod)).all() == []
