"""Issue 19, items 1, 5, 7, 9, 11 and 12, each on the page where it was seen, in real headless
Chromium against the real app (CSRF on), in Chinese; leaders and units on a 390×844 phone,
the supervision office and the admin at a desk. Cases are put into place through the same
intake functions the pages call."""
from __future__ import annotations

import re
import socket
import threading
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from intake.cases.supervision import extend_deadline
from intake.cases.transfers import file_result, return_result, transfer_case
from intake.clock import Clock
from intake.directory.workbook import export_directory
from intake.store.models import Case, Liaison, Notification, Unit, User
from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings
from intake.time.calendar import load_calendar
from tests.case_support import SMS, result_form, route_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1366, "height": 768}}
CLOCK = Clock("Asia/Shanghai")


@pytest.fixture
def site(env, engine, monkeypatch):
    """The real app on a loopback port over the demo directory; SMS stay queued."""
    from dashboard.app import create_app
    from intake.directory.demo import seed_demo
    from intake.store.database import make_session_factory

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_runtime()
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, session
    finally:
        server.shutdown()
        session.close()


def _open(browser, base: str, username: str, device: dict):
    page = browser.new_context(**device).new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "dutyline-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    return page


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _transferred(session) -> Case:
    case = route_case(session, CLOCK)
    unit = session.scalar(select(Unit).where(Unit.name == "城关镇卫生院"))
    transfer_case(session, _user(session, "wang"), case, unit.id, CLOCK, load_calendar(session),
                  SMS)
    session.commit()
    return case


def test_the_office_finds_an_extension_on_its_home_and_overrules_it(site, browser):
    """Item 1: the week's extensions with their reasons, each with its overrule form; the demo
    督办室 is texted the extension, and the unit that asked is texted the overruling."""
    base, session = site
    case = _transferred(session)
    counted = case.deadline_at
    outcome = extend_deadline(session, _user(session, "chengguan"), case,
                              counted + timedelta(days=7), "等待县疾控中心检验报告", CLOCK, SMS)
    session.commit()
    told = [session.get(Notification, n) for n in outcome.sms]
    assert [n.user_id for n in told] == [_user(session, "duban").id]

    page = _open(browser, base, "duban", DESK)
    page.goto(base + "/supervision")
    item = page.locator(f"#extensions li[data-number='{case.number}']")
    assert "等待县疾控中心检验报告" in item.inner_text()
    assert "近 7 天的延期" in page.inner_text("#extensions h2")
    assert not item.locator("textarea[name=reason]").is_visible()
    item.locator("summary", has_text="撤销").click()
    item.locator("textarea[name=reason]").fill("检验报告不影响先行答复")
    with page.expect_navigation():
        item.locator("button", has_text="撤销").click()
    assert "延期已撤销" in page.inner_text(".flash.success")

    session.expire_all()
    case = session.get(Case, case.id)
    assert case.deadline_at == counted
    (sms,) = session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.kind == "extension_overruled"))
    assert sms.unit_id == case.unit.id and "督办室驳回了案件" in sms.body
    assert "检验报告不影响先行答复" in sms.body
    page.goto(base + "/supervision")
    settled = page.locator(f"#extensions li[data-number='{case.number}']")
    assert "已不再生效" in settled.inner_text() and settled.locator("form").count() == 0


def test_the_admin_checks_a_directory_file_then_imports_that_same_file(site, browser, tmp_path):
    """Item 5: check, see what changes per sheet, then one 导入 for that same file."""
    base, session = site
    book = load_workbook(BytesIO(export_directory(session)))
    book["units"].append(["南山乡卫生院", "township", "", "是"])
    (liu,) = [row for row in book["liaisons"].iter_rows() if row[0].value == "刘芳"]
    liu[5].value = "否"
    path = tmp_path / "directory.xlsx"
    book.save(path)

    page = _open(browser, base, "admin", DESK)
    page.goto(base + "/admin/directory")
    page.set_input_files("#import-form input[type=file]", str(path))
    with page.expect_navigation():
        page.click("#import-form button")
    check = page.locator("#import-check")
    assert "directory.xlsx 检查通过" in check.inner_text()
    assert check.locator("tr[data-sheet=units] td").all_inner_texts() == ["1", "0", "0", "2"]
    assert check.locator("tr[data-sheet=liaisons] td").all_inner_texts() == ["0", "0", "1", "2"]
    session.expire_all()
    assert session.scalar(select(Unit).where(Unit.name == "南山乡卫生院")) is None
    with page.expect_navigation():
        page.click("#import-confirm button")
    assert "已导入：新增 1 条" in page.inner_text(".flash.success")
    assert page.locator("#import-check").count() == 0
    session.expire_all()
    assert session.scalar(select(Unit).where(Unit.name == "南山乡卫生院")) is not None
    assert session.scalar(select(Liaison).where(Liaison.name == "刘芳")).active is False


def test_the_reports_open_on_the_current_quarter_month_and_week(site, browser):
    """Item 7: no picker opens on a period the office did not ask for; the week says its dates."""
    base, session = site
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    _transferred(session)  # a case received this week
    page = _open(browser, base, "duban", DESK)
    page.goto(base + "/reports")
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert page.locator("select[name=value]").input_value() == quarter
    assert page.locator("input[type=month]").input_value() == today.strftime("%Y-%m")
    page.goto(base + "/reports?preset=year&value=2025")
    assert page.locator("select[name=value]").input_value() == quarter
    page.goto(base + "/reports/weekly")
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    assert page.inner_text("#week-received") == (
        f"本周（{monday.isoformat()} 至 {sunday.isoformat()}）截至目前受理 1 件。")
    with page.expect_navigation():
        page.click("#previous-week")
    assert page.inner_text("#week-received").startswith(
        f"上周（{(monday - timedelta(days=7)).isoformat()} 至")


def test_after_a_return_the_unit_sees_why_first_and_edits_its_own_result(site, browser):
    """Item 9: the return's category and reason on top of the unit's page, the form filled
    with the returned result; the office's page shows a waiting result once."""
    base, session = site
    case = _transferred(session)
    file_result(session, _user(session, "chengguan"), case,
                result_form(causes="配送延误两天", measures="已联系药企补货"), CLOCK,
                scan_required=False)
    session.commit()
    office = _open(browser, base, "duban", DESK)
    office.goto(f"{base}/cases/{case.id}")
    assert office.locator(".result-fields").count() == 1  # in the verdict block only
    assert office.locator("#results").count() == 0
    return_result(session, _user(session, "duban"), case, "quality", "未说明何时到货",
                  CLOCK, load_calendar(session), SMS)
    session.commit()

    unit = _open(browser, base, "chengguan", PHONE)
    unit.goto(f"{base}/cases/{case.id}")
    notice = unit.locator("#returned-notice")
    assert "已退回重办" in notice.inner_text() and "未说明何时到货" in notice.inner_text()
    # On top: above the case's details and far above the form.
    assert notice.bounding_box()["y"] < unit.locator("#case-summary").bounding_box()["y"]
    assert unit.locator("#result-form textarea[name=causes]").input_value() == "配送延误两天"
    assert unit.locator("#result-form textarea[name=measures]").input_value() == "已联系药企补货"
    assert unit.locator("#result-form input[name=signed_by]").input_value() == "李院长"
    assert unit.locator("#result-form input[name=facts_true][value=true]").is_checked()
    assert unit.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_deactivation_asks_first_and_can_be_undone(site, browser):
    """Item 11: deactivating a directory entry is a real confirm step (no JS needed)."""
    base, session = site
    page = _open(browser, base, "admin", DESK)
    page.goto(base + "/admin/directory")
    row = page.locator("#units tr", has_text="县人民医院")
    confirm = row.locator("button", has_text="确认停用")
    assert not confirm.is_visible()
    row.locator("summary", has_text="停用").click()
    assert "确定停用 县人民医院？" in row.inner_text()
    session.expire_all()
    assert session.scalar(select(Unit).where(Unit.name == "县人民医院")).active is True
    with page.expect_navigation():
        confirm.click()
    session.expire_all()
    assert session.scalar(select(Unit).where(Unit.name == "县人民医院")).active is False
    with page.expect_navigation():
        page.locator("#units tr", has_text="县人民医院").locator("button",
                                                               has_text="重新启用").click()
    session.expire_all()
    assert session.scalar(select(Unit).where(Unit.name == "县人民医院")).active is True


def test_after_a_transfer_the_leader_sees_the_next_step_and_folded_moves(site, browser):
    """Item 12: the unit's result is next; reassigning and escalating are folded (改派/上报)."""
    base, session = site
    case = _transferred(session)
    page = _open(browser, base, "wang", PHONE)
    page.goto(f"{base}/cases/{case.id}")
    assert re.fullmatch(r"下一步：城关镇卫生院 须于 .+ 前提交书面办理结果。",
                        page.inner_text("#next-step"))
    assert page.locator("#reroute summary").inner_text() == "改派/上报"
    assert not page.locator("#transfer-form").is_visible()
    assert not page.locator("#escalate-form").is_visible()
    next_step, folded = (page.locator(s).bounding_box()["y"] for s in ("#next-step", "#reroute"))
    assert next_step < folded
    page.click("#reroute summary")
    assert page.locator("#transfer-form").is_visible() and page.locator("#escalate-form").is_visible()
    assert "改派其他单位" in page.inner_text("#transfer-form h2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
