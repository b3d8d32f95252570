"""SMS replies: counted once per MessageSid, acting on the case they name (or the oldest),
never for a deactivated leader; a liaison's 1/2/3 rates the one case awaiting a rating."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from intake.store.audit import TWILIO, Actor
from intake.cases.handling import Confirmation, answer_case, confirm_and_route, handle_case
from intake.clock import FixedClock
from intake.time.calendar import BureauCalendar
from intake.cases.feedback import record_feedback
from intake.cases.replies import handle_inbound_sms
from intake.store.models import AuditEvent, InboundMessage, Leader, User
from intake.outbox.notifications import SmsContext
from tests.dashboard_support import make_call

WANG_PHONE, ZHANG_PHONE = "+8613900000001", "+8613812345678"
SMS = SmsContext(lambda case: f"https://x/cases/{case.id}")
CALENDAR = BureauCalendar()


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))


def _route(demo, clock, phone=ZHANG_PHONE):
    call = make_call(demo, phone)
    case, _ = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), Actor("user:duty"), SMS.case_link,
        "zh-CN", clock)
    clock.advance(minutes=5)
    return case


def _fed_back(demo, clock):
    case = _route(demo, clock)
    wang = demo.query(User).filter_by(username="wang").one()
    handle_case(demo, wang, case, "", clock, CALENDAR)
    answer_case(demo, wang, case, "已处理", clock)
    record_feedback(demo, wang, case, "phone", "已电话告知", clock, SMS)
    return case


def _reply(demo, clock, sender, body, sid):
    return handle_inbound_sms(demo, sender, body, sid, TWILIO, "zh-CN", clock, CALENDAR, SMS)


def test_a_redelivered_reply_counts_once_and_gets_the_same_answer(demo, clock):
    first, second = _route(demo, clock), _route(demo, clock)
    demo.commit()
    replies = []
    for _ in range(3):
        replies.append(_reply(demo, clock, "13900000001", " 1 ", "SM" + "1" * 32).reply)
        demo.commit()
    assert replies == [f"已确认收到案件{first.number}。"] * 3
    demo.expire_all()
    assert first.acknowledged_at is not None and second.acknowledged_at is None
    assert demo.query(InboundMessage).count() == 1
    assert demo.query(AuditEvent).filter_by(action="case.acknowledged").count() == 1


def test_a_bare_1_acknowledges_the_oldest_and_a_number_names_the_case(demo, clock):
    oldest, middle, newest = _route(demo, clock), _route(demo, clock), _route(demo, clock)
    named = _reply(demo, clock, WANG_PHONE, f"1 {newest.number}", "SM-a")
    assert named.reply == f"已确认收到案件{newest.number}。" and newest.acknowledged_at
    bare = _reply(demo, clock, WANG_PHONE, "1", "SM-b")
    assert bare.reply == f"已确认收到案件{oldest.number}。" and oldest.acknowledged_at
    assert middle.acknowledged_at is None
    unknown = _reply(demo, clock, WANG_PHONE, "1 2026-999999", "SM-c")
    assert unknown.reply == "未找到待处理的案件2026-999999。"
    # Another leader's "1" touches none of 王建国's cases.
    other = _reply(demo, clock, "+8613900000002", "1", "SM-d")
    assert middle.acknowledged_at is None and middle.number not in (other.reply or "")


def test_a_deactivated_leader_acknowledges_nothing(demo, clock):
    case = _route(demo, clock)
    demo.query(Leader).filter_by(phone=WANG_PHONE).one().active = False
    assert _reply(demo, clock, WANG_PHONE, "1", "SM-e").reply is None
    assert case.acknowledged_at is None


def test_a_liaison_rates_the_one_case_awaiting_a_rating(demo, clock):
    case = _fed_back(demo, clock)
    rated = _reply(demo, clock, ZHANG_PHONE, "1", "SM-f")
    assert rated.reply == f"感谢您的评价（案件{case.number}）。"
    assert case.status.value == "closed" and case.satisfaction.value == "satisfied"
    closed = demo.query(AuditEvent).filter_by(action="case.closed").one()
    assert closed.actor == f"sms:{ZHANG_PHONE}" and closed.after["via"] == "sms"


def test_with_several_cases_awaiting_a_rating_the_reply_asks_which(demo, clock):
    first, second = _fed_back(demo, clock), _fed_back(demo, clock)
    ask = _reply(demo, clock, ZHANG_PHONE, "2", "SM-g")
    assert first.number in ask.reply and second.number in ask.reply
    assert first.status.value == second.status.value == "fed_back"
    _reply(demo, clock, ZHANG_PHONE, f"2 {second.number}", "SM-h")
    assert second.status.value == "closed" and first.status.value == "fed_back"
    assert second.satisfaction.value == "basically_satisfied"


def test_a_dissatisfied_reply_sends_the_case_back_for_redo(demo, clock):
    case = _fed_back(demo, clock)
    redo = _reply(demo, clock, ZHANG_PHONE, "3", "SM-i")
    assert redo.reply == f"已收到您的评价，案件{case.number}将退回重新办理。"
    assert case.status.value == "handling" and case.closed_at is None
    assert case.satisfaction.value == "dissatisfied"
