"""One case carried along each route of the bureau's rules to `closed`, in real headless
Chromium against the real app on a loopback port: the duty room enters it, the leader acts
on a phone-sized page, the unit files its result on a phone, the supervision office gives
its verdict on a desktop, and the liaison's SMS replies arrive as signed Twilio webhooks.

Routes: direct handling; a unit with one return; the bureau meeting; the county; a
不满意 SMS → redo → 满意."""
from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from intake.store.models import AuditEvent, Case, Notification, Unit
from intake.store.settings import DEV_AUTH_TOKEN, load_settings
from intake.statuses import NotificationKind
from tests.case_support import PDF

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LIAISON_PHONE = "+8613812345678"  # 张伟, linked to 王建国
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(env, engine, monkeypatch):
    """The real app (CSRF on) on a loopback port over the demo directory; SMS stay queued."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.directory.demo import seed_demo
    from intake.store.runtime import reset_runtime

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_runtime()
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": base, "session": session}
    finally:
        server.shutdown()
        session.close()


class Desk:
    """One person's browser context, signed in, on a phone or at a desk."""

    def __init__(self, chromium, base: str, username: str, device: dict):
        self.context = chromium.new_context(**device)
        self.page = self.context.new_page()
        self.base = base
        self.width = device["viewport"]["width"]
        self.page.goto(base + "/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "dutyline-demo")
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_load_state()

    def open_case(self, case_id: int):
        self.page.goto(f"{self.base}/cases/{case_id}")
        self.page.wait_for_selector("#case-card")
        return self.page

    def submit(self, form: str, **fields):
        """Fill a form on the current page by field name and submit it; wait for the answer."""
        page = self.page
        for name, value in fields.items():
            field = page.locator(f"{form} [name={name}]")
            kind = field.first.evaluate("e => e.tagName + ':' + (e.type || '')")
            if kind.startswith("SELECT"):
                field.select_option(str(value))
            elif kind.endswith(":radio"):
                page.check(f"{form} [name={name}][value={value}]")
            elif kind.endswith(":checkbox"):
                field.set_checked(bool(value))
            elif kind.endswith(":file"):
                field.set_input_files(value)
            else:
                field.fill(str(value))
        with page.expect_navigation():
            page.click(f"{form} button:not([formaction])")
        return page

    def state(self) -> str:
        return self.page.inner_text("#case-state")

    def flash(self) -> str:
        return self.page.inner_text("p.flash")

    def fits(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth") <= self.width

    def close(self):
        self.context.close()


@pytest.fixture
def desks(live, browser):
    opened = {}

    def open_desk(username: str, device: dict = DESKTOP) -> Desk:
        opened[username] = Desk(browser, live["base"], username, device)
        return opened[username]

    yield open_desk
    for desk in opened.values():
        desk.close()


def _enter_case(duty: Desk, channel: str, content: str) -> int:
    page = duty.page
    page.goto(duty.base + "/cases/new")
    liaison = page.locator("#liaison_id option", has_text="张伟").get_attribute("value")
    duty.submit("#new-case-form", channel=channel, liaison_id=liaison, caller_name="张伟",
                caller_phone="13812345678", content=content)
    assert "王建国" in duty.flash()
    return int(re.search(r"/cases/(\d+)$", page.url).group(1))


def _case(live, case_id: int) -> Case:
    session = live["session"]
    session.expire_all()
    return session.get(Case, case_id)


def _history(page) -> str:
    return page.inner_text("#history")


def _sms_reply(live, body: str, sid: str) -> str:
    """Post the liaison's SMS reply as Twilio would, signed; return the TwiML reply."""
    url = live["base"] + "/sms/inbound"
    params = {"MessageSid": sid, "From": LIAISON_PHONE, "To": "+8657100002222", "Body": body,
              "AccountSid": "AC" + "0" * 32}
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(url, params)
    response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def _closing_rating(duty: Desk, case_id: int, rating: str = "satisfied") -> None:
    duty.open_case(case_id)
    duty.submit("#rate-form", rating=rating)
    assert duty.state() == "已结案"


def test_direct_handling_to_closed(live, desks):
    duty = desks("duty")
    case_id = _enter_case(duty, "leader", "村卫生室缺降压药，老人要跑到镇上拿药。")
    leader = desks("wang", PHONE)
    page = leader.open_case(case_id)
    assert leader.state() == "已转办" and leader.fits()
    page.click("#ack-button")
    page.wait_for_selector("#ack-done")
    leader.submit("#handle-form", note="我来协调镇卫生院送药")
    assert leader.state() == "直接办理中"
    assert "今天" in page.inner_text("#case-due") or "剩余" in page.inner_text("#case-due")
    leader.submit("#answer-form", note="已协调镇卫生院每周二送药到村。")
    assert leader.state() == "已办结"
    leader.submit("#feedback-form", method="phone", note="电话告知张伟")
    assert leader.state() == "已反馈"
    _closing_rating(duty, case_id)
    history = _history(duty.page)
    # The note as typed, less its closing 。: a history sentence carries no end punctuation.
    assert "王建国 直接办理" in history and "答复：已协调镇卫生院每周二送药到村" in history
    assert "case." not in history
    case = _case(live, case_id)
    assert case.status.value == "closed" and case.answered_from.value == "handling"


def test_a_unit_with_one_return_to_closed(live, desks):
    session = live["session"]
    chengguan = session.scalar(select(Unit).where(Unit.name == "城关镇卫生院"))
    duty = desks("duty")
    case_id = _enter_case(duty, "phone", "城关镇卫生院门诊排队太久。")
    leader = desks("wang", PHONE)
    leader.open_case(case_id)
    leader.submit("#transfer-form", unit_id=chengguan.id)
    assert leader.state() == "已转承办单位"
    assert "王建国 转交 城关镇卫生院" in _history(leader.page)

    unit = desks("chengguan", PHONE)
    assert unit.page.url.endswith("/unit") and unit.fits()
    row = unit.page.locator(f"#unit-waiting li[data-number]")
    assert "剩余" in row.inner_text()
    row.locator("a").click()
    unit.page.wait_for_selector("#result-form")
    assert unit.fits()
    result = dict(facts_true="partly", causes="挂号窗口少", measures="增开一个窗口",
                  liaison_opinion="基本认可", signed_by="李院长", sealed=True,
                  # a sealed result carries its scan (issue 19 item 10)
                  attachment={"name": "盖章.pdf", "mimeType": "application/pdf", "buffer": PDF})
    unit.submit("#result-form", **result)
    assert unit.state() == "已报送结果"

    supervisor = desks("duban")
    assert supervisor.page.url.endswith("/supervision")
    waiting = supervisor.page.locator("#awaiting-verdict tr[data-number]")
    assert waiting.count() == 1
    waiting.locator("a").click()
    supervisor.page.wait_for_selector("#verdict")
    assert "增开一个窗口" in supervisor.page.inner_text("#verdict")
    supervisor.submit("#return-form", category="quality", reason="未说明何时增开窗口")
    assert supervisor.state() == "已转承办单位"

    unit.page.goto(unit.base + "/unit")
    assert "连续退回 1 次" in unit.page.inner_text("#unit-waiting")
    unit.open_case(case_id)
    unit.submit("#result-form", **{**result, "measures": "12月1日起增开一个挂号窗口"})
    supervisor.open_case(case_id)
    supervisor.submit("#accept-form")
    assert supervisor.state() == "已办结"

    leader.open_case(case_id)
    leader.page.fill("#feedback-sms-form textarea[name=note]", "12月1日起城关镇卫生院增开挂号窗口。")
    with leader.page.expect_navigation():
        leader.page.click("#feedback-sms-form button")
    preview = leader.page.inner_text("#sms-preview-body")
    assert "12月1日起城关镇卫生院增开挂号窗口。" in preview and "王建国" in preview
    assert "条" in leader.page.inner_text("#sms-preview-count")
    with leader.page.expect_navigation():
        leader.page.click("#send-sms-form button")
    assert leader.state() == "已反馈"
    sent = session.scalar(select(Notification).where(
        Notification.case_id == case_id, Notification.kind == NotificationKind.FEEDBACK))
    assert sent.body == preview  # what was previewed is what is sent

    assert "感谢" in _sms_reply(live, "2", "SMunit0001")
    case = _case(live, case_id)
    assert case.status.value == "closed" and case.satisfaction.value == "basically_satisfied"
    history = _history(supervisor.open_case(case_id))
    assert "退回 城关镇卫生院 重办" in history and "审核通过 城关镇卫生院" in history


def test_the_bureau_meeting_to_closed(live, desks):
    duty = desks("duty")
    case_id = _enter_case(duty, "in_person", "全县村卫生室降压药配送不及时。")
    leader = desks("wang", PHONE)
    leader.open_case(case_id)
    leader.submit("#escalate-form", to="bureau_meeting", reason="涉及全县药品配送")
    assert leader.state() == "局务会议"

    supervisor = desks("duban")
    register = supervisor.page.locator("#escalations tr[data-number]")
    assert "等待研究决定" in register.inner_text() and "涉及全县药品配送" in register.inner_text()

    leader.open_case(case_id)
    leader.submit("#answer-form", note="局务会议决定由县医药公司每周配送一次。")
    leader.submit("#feedback-form", method="written")
    supervisor.page.reload()
    decision = supervisor.page.inner_text("#escalations .decision")
    assert "局务会议决定由县医药公司每周配送一次。" in decision
    _closing_rating(duty, case_id)
    assert "提交局务会议研究" in _history(duty.page)


def test_the_county_to_closed(live, desks):
    duty = desks("duty")
    case_id = _enter_case(duty, "phone", "县城新区没有社区卫生服务中心。")
    leader = desks("wang", PHONE)
    leader.open_case(case_id)
    leader.submit("#escalate-form", to="county", reason="需县政府统筹规划")
    assert leader.state() == "县委县政府"
    assert "督办中" in leader.page.inner_text("h1")
    leader.submit("#answer-form", note="县政府已将新区卫生服务中心列入明年计划。")
    leader.submit("#feedback-form", method="in_person")
    leader.submit("#rate-form", rating="satisfied")  # the leader took the rating in person
    assert leader.state() == "已结案"
    supervisor = desks("duban")
    register = supervisor.page.inner_text("#escalations")
    assert "县委、县政府" in register and "列入明年计划" in register


def test_a_dissatisfied_sms_sends_the_case_back_for_redo_then_satisfied(live, desks):
    duty = desks("duty")
    case_id = _enter_case(duty, "leader", "村里路灯坏了，晚上去卫生室看病不方便。")
    leader = desks("wang", PHONE)
    leader.open_case(case_id)
    leader.submit("#handle-form")
    leader.submit("#answer-form", note="已联系村委会。")
    leader.submit("#feedback-form", method="phone")

    assert "退回重新办理" in _sms_reply(live, "3", "SMredo0001")
    _sms_reply(live, "3", "SMredo0001")  # Twilio redelivers: counted once
    leader.open_case(case_id)
    assert leader.state() == "直接办理中"
    redo = leader.page.inner_text('#history li[data-action="case.rated_dissatisfied"]')
    assert "张伟" in redo and "不满意" in redo and "重办" in redo
    leader.submit("#answer-form", note="路灯已于今日修好。")
    leader.submit("#feedback-form", method="phone")
    assert "感谢" in _sms_reply(live, "1", "SMredo0002")
    leader.open_case(case_id)
    assert leader.state() == "已结案"
    session = live["session"]
    rated = session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == case_id, AuditEvent.entity_type == "cases",
        AuditEvent.action.in_(("case.rated_dissatisfied", "case.closed")))).all()
    assert rated == ["case.rated_dissatisfied", "case.closed"]
