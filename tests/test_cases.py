"""Confirming a call into a case: routing, summary, audit, and what may not happen twice."""
from __future__ import annotations

import pytest

from intake.store.audit import Actor
from intake.cases.handling import (Confirmation, acknowledge_case, confirm_and_route,
                                   default_summary)
from intake.clock import Clock
from intake.exceptions import InvalidTransition, ValidationError
from intake.store.models import AuditEvent, Case, Notification, User
from tests.dashboard_support import audit_actions, make_call

DUTY = Actor("user:duty", None, "127.0.0.1")


def _link(case) -> str:
    return f"https://dutyline.example.gov.cn/cases/{case.id}"


def test_confirm_and_route_writes_the_case_the_sms_and_the_audit_rows(demo):
    call = make_call(demo)
    case, notification = confirm_and_route(
        demo, call.id, Confirmation(caller_name=" 张伟 ", caller_unit="城关镇东门社区",
                                    liaison_id=call.liaison_id, summary="药店没有降压药"),
        DUTY, _link, "zh-CN")
    demo.commit()
    assert case.number.startswith(f"{case.created_at.year}-") and case.caller_name == "张伟"
    assert case.status.value == "routed" and case.leader.name == "王建国"
    assert notification.to_number == "+8613900000001" and notification.status.value == "pending"
    assert notification.body == (f"【民情联线】案件{case.number}：张伟（城关镇东门社区）来电，药店没有降压药。"
                                 f"请查看并回复1确认收到：{_link(case)}")
    assert audit_actions(demo, "calls", call.id)[-1] == "call.confirmed"
    assert audit_actions(demo, "cases", case.id) == ["case.routed"]
    assert audit_actions(demo, "notifications", notification.id) == ["sms.queued"]


def test_case_numbers_count_up_within_the_year(demo):
    numbers = []
    for _ in range(2):
        call = make_call(demo)
        case, _ = confirm_and_route(demo, call.id, Confirmation(
            caller_name="张伟", liaison_id=call.liaison_id), DUTY, _link, "zh-CN")
        numbers.append(case.number)
    assert int(numbers[1].split("-")[1]) == int(numbers[0].split("-")[1]) + 1


def test_a_call_is_confirmed_once(demo):
    call = make_call(demo)
    confirmation = Confirmation(caller_name="张伟", liaison_id=call.liaison_id)
    confirm_and_route(demo, call.id, confirmation, DUTY, _link, "zh-CN")
    demo.commit()
    with pytest.raises(InvalidTransition):
        confirm_and_route(demo, call.id, confirmation, DUTY, _link, "zh-CN")
    demo.rollback()
    assert demo.query(Case).count() == 1 and demo.query(Notification).count() == 1


def test_an_unknown_caller_needs_a_chosen_leader_and_a_name(demo):
    call = make_call(demo, "+8615000001234")
    with pytest.raises(ValidationError) as no_leader:
        confirm_and_route(demo, call.id, Confirmation(caller_name="王大妈"), DUTY, _link, "zh-CN")
    assert no_leader.value.field == "leader_id"
    with pytest.raises(ValidationError) as no_name:
        confirm_and_route(demo, call.id, Confirmation(caller_name=" ", leader_id=1), DUTY, _link,
                          "zh-CN")
    assert no_name.value.field == "caller_name"
    case, _ = confirm_and_route(demo, call.id, Confirmation(caller_name="王大妈", leader_id=2),
                                DUTY, _link, "zh-CN")
    assert case.leader.name == "李红" and case.route_reason == ""


def test_the_summary_defaults_to_the_first_sentence(demo):
    call = make_call(demo, words=[("药店", 0, 1, 0.9), ("没有", 1, 2, 0.9), ("药。", 2, 3, 0.9),
                                  ("谢谢", 3, 4, 0.9)])
    assert default_summary(call) == "药店没有药"


def test_acknowledging_twice_records_once(demo):
    call = make_call(demo)
    case, _ = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), DUTY, _link, "zh-CN")
    wang = demo.query(User).filter_by(username="wang").one()
    acknowledge_case(demo, wang, case, Clock(), via="web")
    acknowledge_case(demo, wang, case, Clock(), via="sms")
    demo.commit()
    events = demo.query(AuditEvent).filter_by(action="case.acknowledged").all()
    assert len(events) == 1 and events[0].after["via"] == "web"
