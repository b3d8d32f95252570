"""The admin's working-day calendar screen, and the banner asking for next year's notice."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, timezone

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from intake.store.models import AuditEvent, CalendarEntry
from tests.dashboard_support import sign_in


def _page(client, year):
    return client.get(f"/admin/calendar?year={year}").get_data(as_text=True)


def test_the_admin_sees_a_year_in_chinese_with_where_each_day_comes_from(client, demo):
    sign_in(client, "admin")
    page = _page(client, 2026)
    assert "工作日历" in page and "国务院通知" in page
    assert 'data-date="2026-10-10"' in page and "国庆节调休上班" in page
    assert 'data-date="2026-11-30"' not in page  # an ordinary Monday is not listed

    estimated = _page(client, 2027)
    assert "春节（估算）" in estimated and "暂定" in estimated
    assert "本年度既无官方数据也无本局录入" in estimated


def test_the_admin_adds_and_removes_an_entry_and_both_are_audited(client, demo):
    sign_in(client, "admin")
    response = client.post("/admin/calendar/entries", data={
        "date": "2026-12-31", "kind": "holiday", "reason": "局里补休", "year": "2026"})
    assert response.status_code == 302 and "year=2026" in response.headers["Location"]
    demo.expire_all()
    entry = demo.scalar(select(CalendarEntry))
    assert (entry.day, entry.kind.value, entry.reason, entry.entered_by) == (
        date(2026, 12, 31), "holiday", "局里补休", "user:admin")
    page = _page(client, 2026)
    assert "局里补休" in page and "本局录入" in page and "user:admin" in page

    client.post("/admin/calendar/entries/remove", data={"date": "2026-12-31", "year": "2026"})
    demo.expire_all()
    assert demo.scalars(select(CalendarEntry)).all() == []
    actions = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "calendar_entries").order_by(AuditEvent.id)).all()
    assert actions == ["calendar.entry_set", "calendar.entry_removed"]


def test_bad_entries_are_refused_in_chinese_and_change_nothing(client, demo):
    sign_in(client, "admin")
    client.post("/admin/calendar/entries", data={"date": "2027-02-30", "kind": "holiday",
                                                 "reason": "x", "year": "2027"})
    assert "该日期不存在" in _page(client, 2027)
    client.post("/admin/calendar/entries", data={"date": "2027-01-04", "kind": "workday",
                                                 "reason": "x", "year": "2027"})
    assert "该日本来就是工作日" in _page(client, 2027)
    client.post("/admin/calendar/entries/remove", data={"date": "2027-01-05", "year": "2027"})
    assert "该日没有本局录入的安排" in _page(client, 2027)
    demo.expire_all()
    assert demo.scalars(select(CalendarEntry)).all() == []


def _upload(client, name: str, content: bytes):
    return client.post("/admin/calendar/import", data={
        "year": "2027", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def test_an_import_names_every_bad_row_and_saves_nothing_then_a_good_one_saves_all(
        client, demo):
    sign_in(client, "admin")
    bad = ("date,kind,reason\n2027-02-05,holiday,春节\n2027-02-30,holiday,春节\n"
           "2027-03-01,workday,x\n2027-02-05,holiday,again\n").encode("utf-8-sig")
    _upload(client, "notice.csv", bad)
    page = _page(client, 2027)
    assert "未导入任何内容" in page
    for expected in ("第 3 行：该日期不存在", "第 4 行：该日本来就是工作日", "第 5 行：该日期在前面的行中已出现"):
        assert expected in page
    demo.expire_all()
    assert demo.scalars(select(CalendarEntry)).all() == []

    book = Workbook()
    for row in [("日期", "类型", "原因"), (datetime(2027, 2, 5), "休", "春节"),
                (datetime(2027, 2, 8), "休", "春节"), (datetime(2027, 2, 14), "班", "春节调休上班")]:
        book.active.append(row)
    content = io.BytesIO()
    book.save(content)
    _upload(client, "国务院通知2027.xlsx", content.getvalue())
    assert "已导入 3 条" in _page(client, 2027)
    demo.expire_all()
    assert [e.day for e in demo.scalars(select(CalendarEntry).order_by(CalendarEntry.day))] == [
        date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 14)]

    _upload(client, "notice.pdf", b"%PDF")
    assert "无法读取该文件" in _page(client, 2027)


def test_a_crafted_workbook_is_refused_at_once_with_a_translated_reason(client, demo):
    """Issue 16 item 4: the calendar page reads an upload within the same caps."""
    import time

    from tests.workbook_support import HUGE_DIMENSION, sheet_xml, workbook

    sign_in(client, "admin")
    crafted = workbook({"notice": sheet_xml([["2027-02-05", "holiday", "春节"]], 3_000_000,
                                            HUGE_DIMENSION)})
    started = time.perf_counter()
    assert _upload(client, "notice.xlsx", crafted).status_code == 302
    assert time.perf_counter() - started < 2.0
    assert "文件的行数超过导入上限" in _page(client, 2027)
    demo.expire_all()
    assert demo.scalars(select(CalendarEntry)).all() == []


def _at(app, when: datetime):
    app.config["DUTYLINE_CLOCK"] = lambda: when


def test_from_november_the_admin_home_asks_for_next_years_notice(app, client, demo):
    sign_in(client, "admin")
    _at(app, datetime(2026, 10, 31, 8, tzinfo=timezone.utc))
    assert 'id="calendar-banner"' not in client.get("/", follow_redirects=True).get_data(
        as_text=True)

    _at(app, datetime(2026, 11, 1, 8, tzinfo=timezone.utc))
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'id="calendar-banner"' in home and "2027年尚无节假日数据" in home

    duty = app.test_client()
    sign_in(duty, "duty")
    assert 'id="calendar-banner"' not in duty.get("/", follow_redirects=True).get_data(
        as_text=True)

    client.post("/admin/calendar/entries", data={"date": "2027-02-05", "kind": "holiday",
                                                 "reason": "春节"})
    assert 'id="calendar-banner"' not in client.get("/", follow_redirects=True).get_data(
        as_text=True)


# ---------------------------------------------------------------- in real Chromium, CSRF on
@pytest.fixture
def served(env, engine):
    """The real app (CSRF on, as in production) on a loopback port, with the demo directory."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.directory.demo import seed_demo
    from intake.store.settings import load_settings

    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": f"http://127.0.0.1:{server.server_port}", "session": session}
    finally:
        server.shutdown()
        session.close()


@pytest.mark.browser
def test_an_admin_enters_and_imports_days_in_chromium(served, browser, tmp_path):
    notice = tmp_path / "notice-2027.csv"
    notice.write_text("date,kind,reason\n2027-02-08,holiday,春节\n2027-02-14,workday,春节调休上班\n",
                      encoding="utf-8")
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(served["base"] + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "dutyline-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    page.click("nav.main-nav >> text=工作日历")
    page.goto(served["base"] + "/admin/calendar?year=2027")

    page.fill("#calendar-entry input[name=date]", "2027-01-04")
    page.select_option("#calendar-entry select[name=kind]", "holiday")
    page.fill("#calendar-entry input[name=reason]", "元旦补休")
    page.click("#calendar-entry button")
    page.wait_for_load_state()
    assert "已保存" in page.inner_text("main")
    assert "元旦补休" in page.inner_text("tr[data-date='2027-01-04']")

    page.set_input_files("#calendar-import input[name=file]", str(notice))
    page.click("#calendar-import button")
    page.wait_for_load_state()
    assert "已导入 2 条" in page.inner_text("main")
    assert "本局录入" in page.inner_text("tr[data-date='2027-02-14']")
    assert "周日" in page.inner_text("tr[data-date='2027-02-14']")

    # Removing asks first (issue 19 item 11): the first tap only opens the question.
    row = page.locator("tr[data-date='2027-01-04']")
    assert not row.locator("button", has_text="确认删除").is_visible()
    row.locator("summary").click()
    assert "确定删除 2027-01-04 的设置" in row.inner_text()
    assert row.count() == 1
    row.locator("button", has_text="确认删除").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-date='2027-01-04']").count() == 0
    page.screenshot(path=str(tmp_path / "calendar.png"), full_page=True)

    session = served["session"]
    session.expire_all()
    assert [e.day for e in session.scalars(select(CalendarEntry).order_by(CalendarEntry.day))] == [
        date(2027, 2, 8), date(2027, 2, 14)]
