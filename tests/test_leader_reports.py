"""Reports made to a leader directly (一.3) and intake fields given or marked unknown (一.4).

Issue 17 item 8: a leader records such a report as a case of channel `leader` in their own
queue, on their phone page and through `POST /api/v1/cases`; each of name, work unit or
address, phone and content is given or marked unknown with a reason (intake.cases.intake_fields).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from intake.store.models import AuditEvent, Case, Notification
from tests.dashboard_support import sign_in

REPORT = {"channel": "leader", "caller_name": "赵大妈", "caller_unit": "城关镇西街",
          "content": "西街诊所周末不开门"}


def _cases(demo) -> int:
    demo.expire_all()
    return demo.scalar(select(func.count(Case.id)))


def test_a_leader_records_a_report_made_to_them_in_their_own_queue(api, demo, people):
    body = {**REPORT, "unknown_fields": {"caller_phone": "来访者不愿留电话"}}
    response = api("li", "POST", "/cases", json=body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["channel"] == "leader" and answer["leader"] == "李红"
    assert answer["caller_phone"] == "" and answer["unknown_fields"] == {
        "caller_phone": "来访者不愿留电话"}
    # It is in the leader's own queue, and the other leader does not see it.
    assert api("li", "GET", "/cases").get_json()["count"] == 1
    assert api("wang", "GET", f"/cases/{answer['number']}").status_code == 404
    routed = demo.scalar(select(AuditEvent).where(AuditEvent.action == "case.routed"))
    assert routed.after["unknown_fields"] == {"caller_phone": "来访者不愿留电话"}
    assert routed.actor == "user:li"
    # The leader took it down: it has reached them (acknowledged), and no SMS tells them so.
    assert answer["status"] == "acknowledged"
    assert demo.scalar(select(func.count(Notification.id))) == 0


def test_a_leaders_report_from_a_liaison_linked_to_another_leader_stays_with_them(api, demo):
    liaison = "+8613812345678"  # 张伟, 王建国's liaison, went to 李红
    response = api("li", "POST", "/cases", json={"channel": "leader", "caller_phone": liaison,
                                                 "content": "东门社区药房缺药"})
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["leader"] == "李红" and answer["liaison"] == "张伟"
    # Name and work unit come from the directory entry of the liaison the phone names.
    assert answer["caller_name"] == "张伟" and answer["caller_unit"] == "城关镇东门社区"
    assert answer["unknown_fields"] == {}


def test_an_intake_field_neither_given_nor_marked_unknown_is_refused_naming_each(api, demo):
    response = api("wang", "POST", "/cases", json={"channel": "leader", "caller_name": "赵大妈",
                                                   "content": "西街诊所周末不开门"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "intake_incomplete"
    assert error["fields"] == {"caller_unit": "caller_unit_required",
                               "caller_phone": "caller_phone_required"}
    assert error["field"] == "caller_unit"
    assert _cases(demo) == 0


def test_a_field_marked_unknown_without_a_reason_is_refused(api, demo):
    response = api("wang", "POST", "/cases", json={
        **REPORT, "unknown_fields": {"caller_phone": "  "}})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"caller_phone": "unknown_reason_required"}
    assert _cases(demo) == 0


@pytest.mark.parametrize("marks, code", [({"leader_id": "不知道"}, "unknown_fields_invalid"),
                                         (["caller_phone"], "body_invalid"),
                                         ({"caller_phone": 3}, "text_required")])
def test_only_the_four_intake_fields_can_be_marked_unknown_with_text(api, demo, marks, code):
    response = api("duty", "POST", "/cases", json={**REPORT, "caller_phone": "13812345678",
                                                   "unknown_fields": marks})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code
    assert _cases(demo) == 0


def test_a_leader_records_only_channel_leader_and_only_into_their_own_queue(api, demo, people):
    other = people["wang"].leader_id
    mark = {"unknown_fields": {"caller_phone": "不愿留"}}
    into_other = api("li", "POST", "/cases", json={**REPORT, **mark, "leader_id": other})
    assert into_other.status_code == 403
    by_phone = api("li", "POST", "/cases", json={**REPORT, **mark, "channel": "phone"})
    assert by_phone.status_code == 422
    assert by_phone.get_json()["error"]["code"] == "channel_invalid"
    unit = api("cg", "POST", "/cases", json={**REPORT, **mark})
    assert unit.status_code == 403
    assert _cases(demo) == 0


def test_an_older_client_that_sends_no_marks_enters_cases_as_before(api, demo):
    response = api("duty", "POST", "/cases", json={
        "caller_name": "刘芳", "caller_phone": "+8613812340000", "content": "乡卫生院缺医生",
        "channel": "in_person"})
    assert response.status_code == 201
    assert response.get_json()["unknown_fields"] == {}
    # A duty client that speaks the marks is held to all four fields, like a leader.
    held = api("duty", "POST", "/cases", json={
        "caller_name": "无名", "leader_id": 1, "content": "乡卫生院缺医生", "channel": "in_person",
        "unknown_fields": {}})
    assert held.status_code == 422
    assert set(held.get_json()["error"]["fields"]) == {"caller_unit", "caller_phone"}


def test_the_leader_records_a_report_on_their_page_and_the_case_shows_the_marks(client, demo):
    sign_in(client, "wang")
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'value="leader"' in page and 'value="phone"' not in page
    assert 'name="leader_id"' not in page  # their own queue: nothing to choose
    assert "陈明" not in page and "张伟" in page  # only their own liaisons
    response = client.post("/cases/new", data={
        "channel": "leader", "caller_name": "赵大妈", "caller_unit": "城关镇西街",
        "unknown_caller_phone": "1", "unknown_reason_caller_phone": "来访者不愿留电话",
        "content": "西街诊所周末不开门"})
    assert response.status_code == 303, response.get_data(as_text=True)
    case = demo.scalar(select(Case))
    assert case.channel.value == "leader" and case.leader.name == "王建国"
    assert case.unknown_fields == {"caller_phone": "来访者不愿留电话"}
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'data-field="caller_phone">[^<]*来访者不愿留电话', shown)


def test_the_duty_rooms_page_holds_hand_entered_cases_to_the_same_rule(client, demo):
    sign_in(client, "duty")
    form = {"channel": "in_person", "caller_name": "赵大妈", "leader_id": "1",
            "content": "西街诊所周末不开门"}
    refused = client.post("/cases/new", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "请填写工作单位或住址" in text and "请填写电话号码" in text
    assert _cases(demo) == 0
    marked = client.post("/cases/new", data={
        **form, "unknown_caller_unit": "1", "unknown_reason_caller_unit": "来访者未说",
        "unknown_caller_phone": "1"})
    assert marked.status_code == 422
    assert "请说明该项不详的原因" in marked.get_data(as_text=True)
    done = client.post("/cases/new", data={
        **form, "unknown_caller_unit": "1", "unknown_reason_caller_unit": "来访者未说",
        "caller_phone": "13900001111"})
    assert done.status_code == 303
    assert demo.scalar(select(Case)).unknown_fields == {"caller_unit": "来访者未说"}
