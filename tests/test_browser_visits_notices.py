"""Issue 18 items 2 and 3 in real headless Chromium, in Chinese (the bureau's default):

- the leader, on a phone (390x844), schedules a follow-up visit (回访) on a closed case from its
  page, sees it, and records that the problem has come back: the case is reopened for redo;
- the supervision office writes a public notice (公告) on a closed case, previews it (no
  personal field on the page), records its publication, and the leader's phone shows the case
  as 群众普遍关心, published by that outlet.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.clock import Clock
from intake.statuses import CaseStatus, VisitStatus
from intake.store.models import Case, FollowUpVisit, User
from tests.case_support import add_people
from tests.test_browser_routes import DESKTOP, PHONE, desks, live  # noqa: F401  (fixtures)
from tests.test_visits import closed_directly

pytestmark = [pytest.mark.browser]
CLOCK = Clock("Asia/Shanghai")


@pytest.fixture
def people(live):  # noqa: F811
    return add_people(live["session"])


def test_the_leader_schedules_a_visit_on_a_phone_and_records_that_it_came_back(
        live, desks, people):  # noqa: F811
    session = live["session"]
    case = closed_directly(session, people, CLOCK)
    wang = desks("wang", PHONE)
    page = wang.open_case(case.id)
    assert "回访" in page.inner_text("#visits h2") and wang.fits()
    wang.submit("#schedule-visit", method="in_person", note="看药店是否仍缺药")
    assert "已安排回访" in wang.flash()
    visit_line = page.locator("#visits li.visit")
    assert "上门回访" in visit_line.inner_text() and "王建国" in visit_line.inner_text()
    assert wang.fits()
    wang.submit(".visit-outcome-form", outcome="came_back", outcome_note="药店又断货")
    assert "回访结果已登记" in wang.flash()
    assert "问题反弹" in page.inner_text("#visits")
    assert "回访发现问题反弹" in page.inner_text("#history")
    session.expire_all()
    assert session.get(Case, case.id).status is CaseStatus.HANDLING
    (visit,) = session.scalars(select(FollowUpVisit)).all()
    assert visit.status is VisitStatus.DONE and visit.outcome.value == "came_back"
    assert wang.fits()


def test_the_office_writes_and_publishes_a_notice_and_the_leaders_phone_shows_it(
        live, desks, people):  # noqa: F811
    session = live["session"]
    case = closed_directly(session, people, CLOCK)
    office = desks("sup", DESKTOP)
    page = office.page
    page.goto(live["base"] + "/notices")
    assert "向群众公告" in page.inner_text("h1")
    office.submit("#notice-form", cases=case.number, subject="关于药店降压药断供问题的公告",
                  reported="群众反映药店降压药断货。", done="协调配送企业补货。",
                  result="已恢复正常供应。")
    assert "公告已撰写" in office.flash()
    preview = page.inner_text("#notice-preview")
    assert "公 告" in preview and "已恢复正常供应" in preview and case.number in preview
    assert "张伟" not in preview and "13812345678" not in preview
    office.submit("#publication-form", outlet="县融媒体中心", link="https://news.example/1")
    assert "已登记发布情况" in office.flash()
    assert "县融媒体中心" in page.inner_text("#publications")
    wang = desks("wang", PHONE)
    phone = wang.open_case(case.id)
    notices = phone.inner_text("#public-notices")
    assert "群众普遍关心" in notices and "已发布" in notices and "县融媒体中心" in notices
    assert wang.fits()
    assert session.scalar(select(User).where(User.username == "sup")) is not None
