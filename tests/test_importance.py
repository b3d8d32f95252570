"""Importance (重要事项, 领导批示件) set at the duty room's confirm step and changed by the
supervision office afterwards, each with its audit row (issue 17 item 2's leftover).
"""
from __future__ import annotations

from sqlalchemy import select

from intake.store.models import AuditEvent, Case
from tests.case_support import route_case
from tests.dashboard_support import make_call, sign_in
from intake.clock import Clock


def _importance_rows(demo, case_id: int) -> list[dict]:
    demo.expire_all()
    return [event.after for event in demo.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case_id,
        AuditEvent.action == "case.importance_changed").order_by(AuditEvent.id))]


def test_the_duty_officer_marks_importance_at_the_confirm_step(client, demo):
    call = make_call(demo)
    sign_in(client, "duty")
    form = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'name="importance"' in form and 'value="instruction"' in form
    response = client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": call.liaison_id, "leader_id": call.leader_id,
        "summary": "", "importance": "instruction"})
    assert response.status_code in (302, 303)
    case = demo.scalar(select(Case).where(Case.call_id == call.id))
    assert case.importance.value == "instruction"
    routed = demo.scalar(select(AuditEvent).where(AuditEvent.action == "case.routed",
                                                  AuditEvent.entity_id == case.id))
    assert routed.after["importance"] == "instruction"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "importance-instruction" in page


def test_the_office_changes_importance_afterwards_with_an_audit_row(api, demo):
    case = route_case(demo, Clock())
    assert api("wang", "POST", f"/cases/{case.number}/importance",
               json={"importance": "important"}).status_code == 403
    changed = api("sup", "POST", f"/cases/{case.number}/importance",
                  json={"importance": "important", "reason": "县领导关注"})
    assert changed.status_code == 200
    answer = changed.get_json()
    assert answer["importance"] == "important"
    entry = answer["history"][-1]
    assert entry["action"] == "case.importance_changed"
    assert entry["text"] == "督办员 将案件由「一般」改标为「重要事项」：县领导关注"
    # The same mark again changes nothing; a bad one is refused by its code.
    assert api("sup", "POST", f"/cases/{case.number}/importance",
               json={"importance": "important"}).status_code == 200
    bad = api("sup", "POST", f"/cases/{case.number}/importance", json={"importance": "urgent"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "importance_invalid"
    assert _importance_rows(demo, case.id) == [{
        "by": "督办员", "importance": "important", "previous": "normal", "reason": "县领导关注"}]


def test_the_office_changes_importance_on_the_case_page(client, demo, people):
    case = route_case(demo, Clock())
    sign_in(client, "wang")
    assert 'id="importance-form"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    sign_in(client, "sup")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="importance-form"' in page
    response = client.post(f"/cases/{case.id}/importance", data={
        "importance": "instruction", "reason": "局长批示"}, follow_redirects=True)
    assert response.status_code == 200
    assert "importance-instruction" in response.get_data(as_text=True)
    assert _importance_rows(demo, case.id)[0]["previous"] == "normal"
