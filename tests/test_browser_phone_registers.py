"""Issue 17's pages on a phone (390x844), in real headless Chromium against the real app: the
supervision office decides and records on the register from its phone, a leader reads the
importance badge of their case and records a report made to them directly."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from intake.clock import Clock
from intake.rules import censures
from intake.statuses import CaseImportance, CensureGround, CensureKind, CensureStatus
from intake.store.models import Case, Censure, Unit
from tests.case_support import PDF, route_case
from tests.test_browser_routes import PHONE, Desk, live  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_office_decides_and_records_on_the_register_from_a_phone(live, browser, tmp_path):
    session = live["session"]
    case = route_case(session, Clock())
    unit = session.scalar(select(Unit).where(Unit.name == "城关镇卫生院"))
    proposal = censures.propose_censure(
        session, CensureKind.CRITICISM, CensureGround.LATE_UNEXPLAINED, key="phone-test",
        facts=censures.late_unexplained_facts(case.number), now=datetime.now(timezone.utc),
        unit_id=unit.id, cases=[case])
    session.commit()
    office = Desk(browser, live["base"], "duban", PHONE)
    page = office.page
    page.goto(live["base"] + "/supervision")
    assert office.fits()
    assert page.locator("#flagged-units").count() == 0  # the old panel is gone
    item = f'#registers li.proposal[data-censure="{proposal.id}"]'
    assert case.number in page.inner_text(item)
    # The duty-room box sits on its label's line, not above it.
    box, label = _box(page, "#record-criticisms input[name=duty_room]"), _box(
        page, "#record-criticisms label:has(input[name=duty_room])")
    assert label["height"] < 2.2 * box["height"] + 12
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 6
    # Confirm the proposal with a reason, from the phone.
    form = f'{item} form[action$="/confirm"]'
    page.fill(f"{form} input[name=reason]", "超期属实")
    with page.expect_navigation():
        page.click(f"{form} button")
    assert "已确认" in office.flash()
    assert page.locator(f'#registers li.confirmed[data-censure="{proposal.id}"]').count() == 1
    # Record a duty-room criticism with the signed notice's scan.
    scan = tmp_path / "通报.pdf"
    scan.write_bytes(PDF)
    office.submit("#record-criticisms", ground="duty_failure", duty_room=True,
                  facts="夜间值班未及时转交急事留言", scan=str(scan))
    assert office.flash() == "已登记。"
    session.expire_all()
    recorded = session.scalar(select(Censure).where(Censure.ground == "duty_failure"))
    assert recorded.duty_room and recorded.status is CensureStatus.CONFIRMED
    link = page.locator(f'#registers li.confirmed[data-censure="{recorded.id}"] a.scan')
    assert "通报.pdf" in link.inner_text()
    assert office.fits()


def test_the_leader_sees_the_importance_badge_on_a_phone(live, browser):
    session = live["session"]
    case = route_case(session, Clock())
    case.importance = CaseImportance.INSTRUCTION
    session.commit()
    leader = Desk(browser, live["base"], "wang", PHONE)
    page = leader.open_case(case.id)
    badge = page.locator("#case-card .badge.importance-instruction")
    assert badge.inner_text() == "领导批示件"
    box = badge.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert leader.fits()


def test_a_leader_records_a_report_made_to_them_on_a_phone(live, browser):
    leader = Desk(browser, live["base"], "wang", PHONE)
    page = leader.page
    page.goto(live["base"] + "/")
    with page.expect_navigation():
        page.click("#record-report")
    assert leader.fits()
    options = page.locator("#new-case-form select[name=channel] option")
    assert options.count() == 1 and options.first.get_attribute("value") == "leader"
    leader.submit("#new-case-form", caller_name="赵大妈", caller_unit="城关镇西街",
                  unknown_caller_phone=True, unknown_reason_caller_phone="来访者不愿留电话",
                  content="西街诊所周末不开门")
    assert "王建国" in leader.flash()
    note = page.locator('#case-card .unknown[data-field="caller_phone"]')
    assert "来访者不愿留电话" in note.inner_text()
    assert leader.fits()
    session = live["session"]
    session.expire_all()
    case = session.scalar(select(Case).where(Case.caller_name == "赵大妈"))
    assert case.channel.value == "leader" and case.leader.name == "王建国"
