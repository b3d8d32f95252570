"""A decision of the bureau meeting carried out by two units, in real headless Chromium: the
supervision office records it with two implementation rows, each unit files its result on a
phone-sized page, the office accepts both, and the case is answered (issue 17 item 3)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.store.models import Unit
from tests.case_support import PDF
from tests.test_browser_routes import PHONE, _case, _enter_case, _history, desks, live  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_office_records_a_decision_two_units_carry_it_out_and_the_case_is_answered(
        live, desks):  # noqa: F811
    session = live["session"]
    units = {u.name: u for u in session.scalars(select(Unit))}
    duty = desks("duty")
    case_id = _enter_case(duty, "phone", "两个乡镇卫生院之间转诊不畅。")
    leader = desks("wang", PHONE)
    leader.open_case(case_id)
    leader.submit("#escalate-form", to="bureau_meeting", reason="涉及两家单位")
    assert leader.state() == "局务会议" and leader.fits()

    office = desks("duban")
    page = office.open_case(case_id)
    form = "#decision-form"
    page.fill(f"{form} [name=text]", "城关镇卫生院与县人民医院建立转诊绿色通道")
    page.fill(f"{form} [name=decided_at]",
              datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat())
    assert page.input_value(f"{form} [name=decided_by]") == "局务会议"
    page.click("#add-implementation")  # the script adds a second row
    rows = page.locator(f"{form} .implementation-row")
    assert rows.count() == 2
    rows.nth(0).locator("select").select_option(str(units["城关镇卫生院"].id))
    rows.nth(1).locator("select").select_option(str(units["县人民医院"].id))
    with page.expect_navigation():
        page.click("#decision-button")
    assert office.state() == "研究决定落实中"
    listed = page.locator("#implementations li")
    assert listed.count() == 2
    assert {listed.nth(n).get_attribute("data-state") for n in range(2)} == {"assigned"}
    assert "记录局务会议研究决定" in _history(page)

    result = dict(facts_true="true", causes="转诊流程未衔接", measures="已签订转诊协议",
                  liaison_opinion="认可", signed_by="李院长", sealed=True,
                  attachment={"name": "盖章.pdf", "mimeType": "application/pdf", "buffer": PDF})
    for username in ("chengguan", "renmin"):
        unit = desks(username, PHONE)
        assert unit.page.url.endswith("/unit")
        row = unit.page.locator("#unit-implementations li[data-number]")
        assert row.count() == 1 and "局务会议" in row.inner_text() and unit.fits()
        row.locator("a").click()
        unit.page.wait_for_selector("#result-form")
        assert unit.fits()
        unit.submit("#result-form", **result)
        assert unit.state() == "研究决定落实中"
        mine = unit.page.locator(f"#implementations li[data-state=result_filed]")
        assert mine.count() >= 1 and unit.fits()

    office.open_case(case_id)
    verdicts = page.locator(".implementation-verdict")
    assert verdicts.count() == 2
    with page.expect_navigation():
        verdicts.nth(0).locator(".accept-implementation button").click()
    assert office.state() == "研究决定落实中"
    assert page.locator("#implementations li[data-state=accepted]").count() == 1
    with page.expect_navigation():
        page.locator(".implementation-verdict .accept-implementation button").click()
    assert office.state() == "已办结"
    assert "研究决定已全部落实" in _history(page)

    case = _case(live, case_id)
    assert case.status.value == "answered" and case.feedback_due_at is not None
    assert case.answered_from.value == "bureau_meeting"
    leader.open_case(case_id)
    assert leader.page.locator("#feedback-form").count() == 1 and leader.fits()
