"""The permission table: every action × party, as the case API's 404/403 rules require."""
from __future__ import annotations

from itertools import product

import pytest

from intake.rules.access import (ACTIONS, BULLETIN_ACTIONS, REGISTER_ACTIONS, RULES, Party, Principal, allowed,
                                 check, visible, visible_cases_clause)
from intake.exceptions import Forbidden, NotFound
from intake.store.models import Case, CaseAssignment, CaseDecision
from intake.statuses import CaseStatus

LEADER_ID, OTHER_LEADER_ID, UNIT_ID, OTHER_UNIT_ID, LIAISON_ID = 1, 2, 10, 11, 20

PEOPLE = {
    "admin": Principal(Party.ADMIN, "管理员", "user:admin", 1),
    "duty": Principal(Party.DUTY, "值班员", "user:duty", 2),
    "supervisor": Principal(Party.SUPERVISOR, "督办员", "user:sup", 3),
    "its_leader": Principal(Party.LEADER, "王建国", "user:wang", 4, leader_id=LEADER_ID),
    "other_leader": Principal(Party.LEADER, "李红", "user:li", 5, leader_id=OTHER_LEADER_ID),
    "its_unit": Principal(Party.UNIT, "城关", "user:cg", 6, unit_id=UNIT_ID),
    "other_unit": Principal(Party.UNIT, "县医院", "user:xr", 7, unit_id=OTHER_UNIT_ID),
    "its_liaison": Principal(Party.LIAISON, "张伟", "sms:+86138", liaison_id=LIAISON_ID),
}
# (action, who) -> the state the action is tried in, for every pair that is allowed.
EXPECTED_ALLOWED = {
    ("create", "admin"): None, ("create", "duty"): None,
    ("create", "its_leader"): None, ("create", "other_leader"): None,
    **{("view", who): CaseStatus.ROUTED for who in
       ("admin", "duty", "supervisor", "its_leader", "its_unit", "its_liaison")},
    ("acknowledge", "its_leader"): CaseStatus.ROUTED,
    ("handle", "its_leader"): CaseStatus.ACKNOWLEDGED,
    ("transfer", "its_leader"): CaseStatus.HANDLING,
    ("escalate", "its_leader"): CaseStatus.TRANSFERRED,
    ("extend", "its_leader"): CaseStatus.HANDLING,
    ("extend", "its_unit"): CaseStatus.TRANSFERRED,
    ("extend", "supervisor"): CaseStatus.TRANSFERRED,
    ("result", "its_unit"): CaseStatus.TRANSFERRED,
    ("accept", "supervisor"): CaseStatus.RESULT_FILED,
    ("return", "supervisor"): CaseStatus.RESULT_FILED,
    ("answer", "its_leader"): CaseStatus.BUREAU_MEETING,
    ("decide", "supervisor"): CaseStatus.COUNTY, ("decide", "admin"): CaseStatus.BUREAU_MEETING,
    ("feedback", "its_leader"): CaseStatus.ANSWERED,
    ("rate", "duty"): CaseStatus.FED_BACK,
    ("rate", "its_leader"): CaseStatus.FED_BACK,
    ("rate", "its_liaison"): CaseStatus.FED_BACK,
    ("mark_importance", "supervisor"): CaseStatus.TRANSFERRED,
    ("schedule_visit", "supervisor"): CaseStatus.CLOSED,
    ("schedule_visit", "its_leader"): CaseStatus.CLOSED,
    ("record_visit", "supervisor"): CaseStatus.CLOSED,
    ("record_visit", "its_leader"): CaseStatus.HANDLING,
    ("censure", "supervisor"): None,
    ("notice", "supervisor"): None,
    ("read_censures", "supervisor"): None, ("read_censures", "admin"): None,
    ("read_bulletins", "supervisor"): None, ("read_bulletins", "admin"): None,
    ("keep_bulletins", "supervisor"): None, ("keep_bulletins", "admin"): None,
}
CASELESS = ("create", *REGISTER_ACTIONS, *BULLETIN_ACTIONS)
SEES_IT = {"admin", "duty", "supervisor", "its_leader", "its_unit", "its_liaison"}


def _case(status: CaseStatus) -> Case:
    case = Case(id=7, number="2026-000007", status=status, leader_id=LEADER_ID,
                liaison_id=LIAISON_ID)
    case.assignments = [CaseAssignment(unit_id=UNIT_ID)]
    return case


def test_the_table_names_exactly_the_api_actions():
    assert set(RULES) == set(ACTIONS) == {
        "create", "view", "acknowledge", "handle", "transfer", "escalate", "extend", "result",
        "accept", "return", "answer", "decide", "feedback", "rate", "mark_importance",
        "schedule_visit", "record_visit", "notice",
        "censure", "read_censures", "read_bulletins", "keep_bulletins"}


@pytest.mark.parametrize("action, who", sorted(product(ACTIONS, PEOPLE)))
def test_every_action_for_every_party(action, who):
    principal = PEOPLE[who]
    state = EXPECTED_ALLOWED.get((action, who), CaseStatus.ROUTED)
    case = None if action in CASELESS else _case(state or CaseStatus.ROUTED)
    if (action, who) in EXPECTED_ALLOWED:
        assert check(principal, action, case) == principal
        assert allowed(principal, action, case)
    elif case is not None and who not in SEES_IT:
        with pytest.raises(NotFound):
            check(principal, action, case)
    else:
        with pytest.raises(Forbidden):
            check(principal, action, case)
        assert not allowed(principal, action, case)


@pytest.mark.parametrize("action", [a for a in ACTIONS if a not in (
    "view", "schedule_visit", "record_visit", *CASELESS)])
def test_no_action_is_allowed_on_a_closed_case(action):
    for principal in PEOPLE.values():
        assert not allowed(principal, action, _case(CaseStatus.CLOSED))


def test_a_closed_case_takes_only_its_follow_up_visits():
    closed = _case(CaseStatus.CLOSED)
    for who in ("supervisor", "its_leader"):
        assert allowed(PEOPLE[who], "schedule_visit", closed)
        assert not allowed(PEOPLE[who], "schedule_visit", _case(CaseStatus.FED_BACK))
    for who in ("admin", "duty", "other_leader", "its_unit", "its_liaison"):
        assert not allowed(PEOPLE[who], "schedule_visit", closed)
        assert not allowed(PEOPLE[who], "record_visit", closed)


def test_the_state_column_is_applied():
    wang = PEOPLE["its_leader"]
    assert allowed(wang, "handle", _case(CaseStatus.ROUTED))
    assert not allowed(wang, "handle", _case(CaseStatus.TRANSFERRED))
    assert not allowed(PEOPLE["its_unit"], "result", _case(CaseStatus.RESULT_FILED))


def test_a_unit_acts_on_its_implementation_of_a_decision_and_on_nothing_else():
    case = _case(CaseStatus.DECISION_IMPLEMENTING)
    decision = CaseDecision(id=3)
    case.decisions = [decision]
    case.assignments = [CaseAssignment(id=1, unit_id=OTHER_UNIT_ID),  # an earlier transfer
                        CaseAssignment(id=2, unit_id=UNIT_ID, decision_id=3)]
    assert allowed(PEOPLE["its_unit"], "result", case)
    assert not allowed(PEOPLE["other_unit"], "result", case)
    assert visible(PEOPLE["other_unit"], case)  # it had the case once: it still sees it
    assert allowed(PEOPLE["supervisor"], "accept", case)
    assert not allowed(PEOPLE["supervisor"], "decide", case)  # decided already


def test_an_inactive_account_may_do_nothing():
    gone = Principal(Party.LEADER, "王建国", "user:wang", 4, leader_id=LEADER_ID, active=False)
    assert not visible(gone, _case(CaseStatus.ROUTED))
    assert not allowed(gone, "acknowledge", _case(CaseStatus.ROUTED))


def test_the_inbox_lists_only_visible_cases(demo):
    """The list query (intake.calls.inbox) and visible() agree, on a real database."""
    from intake.store.audit import Actor
    from intake.cases.handling import Confirmation, confirm_and_route
    from intake.calls.inbox import list_visible_cases
    from intake.store.models import User
    from tests.dashboard_support import make_call

    made = []
    for phone in ("+8613812345678", "+8613712345678"):  # 张伟 -> 王建国, 陈明 -> 李红
        call = make_call(demo, phone)
        case, _ = confirm_and_route(demo, call.id, Confirmation(
            caller_name="x", liaison_id=call.liaison_id), Actor("test"), lambda c: "", "zh-CN")
        made.append(case)
    demo.commit()
    for user in demo.query(User):
        listed = list_visible_cases(demo, user)
        assert listed == [c for c in reversed(made) if visible(user, c)]
        assert demo.query(Case).filter(visible_cases_clause(user)).count() == len(listed)
    wang = demo.query(User).filter_by(username="wang").one()
    assert [c.leader.name for c in list_visible_cases(demo, wang)] == ["王建国"]
