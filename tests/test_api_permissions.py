"""Every API action × every role over HTTP (issue 9: "a permission test for every action × role").

The expected answers are written out from design.md's "who" column, not read back from
intake/rules/access.py: its own leader, its current unit, the supervision office, the duty room.
For each action the case is first brought, through the domain, to a state in which the action
is allowed, so the answer measures the permission alone: 200/201 for who may act, 403 for
who may see the case but not act, 404 for who may not see it.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from intake.rules.access import principal_of
from intake.store.audit import Actor
from intake.cases.handling import answer_case, handle_case
from intake.clock import Clock
from intake.cases.feedback import record_feedback
from intake.directory.tokens import issue_token
from intake.cases.supervision import escalate_case
from intake.cases.transfers import file_result, transfer_case
from tests.case_support import CALENDAR, PDF, SMS, add_people, result_form, route_case

ROLES = ("admin", "duty", "sup", "wang", "li", "cg", "xr")  # wang: its leader; cg: its unit
STAFF_SEE = {"admin", "duty", "sup", "wang"}  # who sees a case no unit has had
WITH_UNIT_SEE = STAFF_SEE | {"cg"}  # and once it is with 城关镇卫生院

# action -> (state-setting steps, who may act, request body)
ACTIONS = {
    "acknowledge": ([], {"wang"}, {}),
    "handle": ([], {"wang"}, {"note": "直接处理"}),
    "transfer": ([], {"wang"}, "unit"),
    "escalate": ([], {"wang"}, {"to": "bureau_meeting", "reason": "涉及多个乡镇"}),
    "extend": (["transfer"], {"wang", "cg", "sup"}, "deadline"),
    "result": (["transfer"], {"cg"}, {"facts_true": "true", "causes": "配送延误",
                                      "measures": "已补货", "liaison_opinion": "满意",
                                      "signed_by": "李院长", "sealed": True}),
    "accept": (["transfer", "result"], {"sup"}, {}),
    "return": (["transfer", "result"], {"sup"}, {"category": "quality", "reason": "答非所问"}),
    "answer": (["handle"], {"wang"}, {"note": "已补货"}),
    # POST …/decision: the office (or an admin) records the meeting's decision.
    "decision": (["escalate"], {"sup", "admin"}, "decision"),
    "feedback": (["handle", "answer"], {"wang"}, {"method": "phone"}),
    "rate": (["handle", "answer", "feedback"], {"duty", "wang"}, {"rating": "satisfied"}),
    "importance": ([], {"sup"}, {"importance": "important", "reason": "县领导批示"}),
}


@pytest.fixture
def world(demo):
    people = add_people(demo)
    tokens = {}
    for name in ROLES:
        _row, tokens[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()
    return people, tokens


def _prepare(demo, people, steps):
    clock = Clock()
    case = route_case(demo, clock)
    wang, cg = principal_of(people["wang"]), principal_of(people["cg"])
    for step in steps:
        if step == "transfer":
            transfer_case(demo, wang, case, people["units"]["城关镇卫生院"].id, clock, CALENDAR, SMS)
        elif step == "result":
            file_result(demo, cg, case, result_form(), clock, scan_required=False)
        elif step == "escalate":
            escalate_case(demo, wang, case, "bureau_meeting", "涉及多个乡镇", clock)
        elif step == "handle":
            handle_case(demo, wang, case, "", clock, CALENDAR)
        elif step == "answer":
            answer_case(demo, wang, case, "已补货", clock)
        elif step == "feedback":
            record_feedback(demo, wang, case, "phone", "", clock, SMS)
    demo.commit()
    return case


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_role_gets_the_answer_design_md_gives(client, demo, world, action):
    people, tokens = world
    steps, actors, body = ACTIONS[action]
    seers = WITH_UNIT_SEE if "transfer" in steps else STAFF_SEE
    answers = {}
    for role in ROLES:
        case = _prepare(demo, people, steps)
        if body == "unit":
            payload = {"unit_id": people["units"]["县人民医院"].id}
        elif body == "decision":
            payload = {"text": "两院联合整改", "decided_at": "2026-01-05", "decided_by": "局务会议",
                       "implementations": [{"unit_id": people["units"]["城关镇卫生院"].id}]}
        elif body == "deadline":
            later = case.deadline_at + timedelta(days=2)
            payload = {"deadline": later.isoformat(), "reason": "等待配送"}
        else:
            payload = body
        if action == "result":
            # A sealed result carries its scan (issue 19 item 10): multipart, as a unit sends it.
            sent = {"data": {**payload, "sealed": "true",
                             "attachment": (io.BytesIO(PDF), "盖章.pdf")},
                    "content_type": "multipart/form-data"}
        else:
            sent = {"json": payload}
        response = client.post(f"/api/v1/cases/{case.number}/{action}", **sent,
                               headers={"Authorization": f"Bearer {tokens[role]}"})
        answers[role] = response.status_code
    expected = {role: 200 if role in actors else 403 if role in seers else 404 for role in ROLES}
    assert answers == expected


def test_viewing_and_creating_follow_the_same_table(client, demo, world):
    people, tokens = world
    case = _prepare(demo, people, ["transfer"])
    looked = {role: client.get(f"/api/v1/cases/{case.number}",
                               headers={"Authorization": f"Bearer {tokens[role]}"}).status_code
              for role in ROLES}
    assert looked == {role: 200 if role in WITH_UNIT_SEE else 404 for role in ROLES}
    created = {}
    for role in ROLES:
        response = client.post("/api/v1/cases", json={
            "caller_name": "刘芳", "caller_phone": "+8613812340000", "content": "乡卫生院缺医生",
            "channel": "leader"}, headers={"Authorization": f"Bearer {tokens[role]}"})
        created[role] = response.status_code
    # A leader enters the reports made to them directly (一.3), into their own queue.
    assert created == {role: 201 if role in ("admin", "duty", "wang", "li") else 403
                       for role in ROLES}
    # The unit that once had the case keeps seeing it after the leader moves it on.
    transfer_case(demo, principal_of(people["wang"]), case, people["units"]["县人民医院"].id,
                  Clock(), CALENDAR, SMS)
    demo.commit()
    for role in ("cg", "xr"):
        assert client.get(f"/api/v1/cases/{case.number}", headers={
            "Authorization": f"Bearer {tokens[role]}"}).status_code == 200
    # ...but only the current unit may act on it.
    later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    for role, status in (("cg", 403), ("xr", 200)):
        assert client.post(f"/api/v1/cases/{case.number}/extend", json={
            "deadline": later, "reason": "等待配送"},
            headers={"Authorization": f"Bearer {tokens[role]}"}).status_code == status
