"""Decisions of the bureau meeting or the county, carried out by units (督促落实, issue 17 item 3):
recorded by the supervision office, handed to units each with a deadline, supervised like a
transfer, and the case answered only when every implementation is accepted."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.calls.inbox import list_visible_cases
from intake.cases.decisions import ImplementationOrder, list_unit_implementations, record_decision
from intake.cases.handling import describe_case
from intake.cases.history import list_case_history
from intake.cases.supervision import escalate_case
from intake.cases.transfers import accept_result, file_result, return_result
from intake.clock import Clock, FixedClock
from intake.exceptions import Forbidden, InvalidTransition, NotFound, ValidationError
from intake.statuses import CaseStatus, DeadlineKind, ImplementationStatus
from intake.store.models import AuditEvent, Case, CaseDecision, Censure, Notification, Unit, User
from intake.sweep import DueReminder, SweepContext, due_work, run_sweep
from tests.case_support import CALENDAR, SHANGHAI, SMS, TUESDAY, TZ, add_people, result_form, route_case


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


@pytest.fixture
def people(demo):
    return add_people(demo)


def _escalated(demo, people, clock, to="bureau_meeting"):
    case = route_case(demo, clock)
    escalate_case(demo, people["wang"], case, to, "涉及多个单位", clock)
    demo.commit()
    return case


def _decide(demo, people, clock, case, orders, who="sup"):
    outcome = record_decision(demo, people[who], case, "两院联合整改药品配送", date(2026, 9, 28),
                              "局务会议", orders, clock, CALENDAR, SMS)
    demo.commit()
    return outcome


def _two_units(people, deadline_cg=None, deadline_xr=None):
    units = people["units"]
    return [ImplementationOrder(units["城关镇卫生院"].id, deadline_cg),
            ImplementationOrder(units["县人民医院"].id, deadline_xr)]


def _by_unit(case):
    return {i.unit.name: i for i in case.implementations}


def test_a_decision_hands_implementations_to_units_each_with_a_deadline(demo, people, clock):
    case = _escalated(demo, people, clock)
    outcome = _decide(demo, people, clock, case, _two_units(people, None, date(2026, 10, 16)))
    assert case.status is CaseStatus.DECISION_IMPLEMENTING
    decision = case.decision
    assert (decision.text, decision.decided_by, decision.decided_at) == (
        "两院联合整改药品配送", "局务会议", date(2026, 9, 28))
    impl = _by_unit(case)
    # Three working days by default (1–7 October is the National Day holiday), or the date given.
    assert impl["城关镇卫生院"].due_at.astimezone(SHANGHAI) == datetime(2026, 10, 9, 17, 30,
                                                                        tzinfo=SHANGHAI)
    assert impl["县人民医院"].due_at.astimezone(SHANGHAI) == datetime(2026, 10, 16, 17, 30,
                                                                      tzinfo=SHANGHAI)
    assert {i.implementation_status for i in impl.values()} == {ImplementationStatus.ASSIGNED}
    # The case's deadline in force is the latest of theirs; a transfer's assignment is untouched.
    assert case.deadline_at == impl["县人民医院"].due_at and case.assignment is None
    sms = demo.scalars(select(Notification).where(Notification.id.in_(outcome.sms))).all()
    assert sorted(n.unit_id for n in sms) == sorted(i.unit_id for i in impl.values())
    assert {n.kind.value for n in sms} == {"unit_implementation"}
    assert all("局务会议研究决定由贵单位落实" in n.body for n in sms)
    assert any("10月16日" in n.body for n in sms) and any("10月9日" in n.body for n in sms)
    texts = [e.text for e in list_case_history(demo, case)]
    assert any("记录局务会议研究决定（2026年9月28日）" in t and "城关镇卫生院、县人民医院" in t
               for t in texts)
    english = [e.text for e in list_case_history(demo, case, "en-US")]
    assert any("asked 县人民医院 to carry out the decision" in t for t in english)
    units = people["units"]
    assert [i.case_id for i in list_unit_implementations(demo, units["县人民医院"].id)] == [case.id]


def test_the_case_is_answered_only_when_every_implementation_is_accepted(demo, people, clock):
    case = _escalated(demo, people, clock, "county")
    _decide(demo, people, clock, case, _two_units(people))
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    file_result(demo, people["xr"], case, result_form(measures="已约谈"), clock,
                scan_required=False)
    demo.commit()
    impl = _by_unit(case)
    # Two results wait: a verdict must say which one it is for.
    with pytest.raises(ValidationError) as which:
        accept_result(demo, people["sup"], case, clock, SMS, CALENDAR)
    assert which.value.code == "implementation_required"
    accept_result(demo, people["sup"], case, clock, SMS, CALENDAR,
                  implementation_id=impl["城关镇卫生院"].id)
    demo.commit()
    assert case.status is CaseStatus.DECISION_IMPLEMENTING and case.feedback_due_at is None
    later = FixedClock(TUESDAY + timedelta(hours=2), TZ)
    outcome = accept_result(demo, people["sup"], case, later, SMS, CALENDAR)  # the only one left
    demo.commit()
    assert case.status is CaseStatus.ANSWERED
    assert case.answered_from is CaseStatus.COUNTY and case.handling_note == "两院联合整改药品配送"
    assert case.answered_at == later.now()
    # Like every other answer, the leader must feed back by the next working day's end.
    assert case.feedback_due_at.astimezone(SHANGHAI) == datetime(2026, 9, 30, 17, 30,
                                                                 tzinfo=SHANGHAI)
    assert case.deadline_changes[-1].kind is DeadlineKind.FEEDBACK
    assert not case.supervised
    kinds = [n.kind.value for n in demo.scalars(
        select(Notification).where(Notification.id.in_(outcome.sms)))]
    assert kinds == ["leader_result_accepted"]
    actions = [e.action for e in list_case_history(demo, case)]
    assert actions[-1] == "case.decision_carried_out"
    assert actions.count("case.implementation_accepted") == 2


def test_a_returned_implementation_is_redone(demo, people, clock):
    case = _escalated(demo, people, clock)
    _decide(demo, people, clock, case, _two_units(people))
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    demo.commit()
    impl = _by_unit(case)["城关镇卫生院"]
    later = FixedClock(datetime(2026, 10, 9, 1, 0, tzinfo=timezone.utc), TZ)
    outcome = return_result(demo, people["sup"], case, "quality", "答非所问", later, CALENDAR, SMS,
                            implementation_id=impl.id)
    demo.commit()
    assert impl.implementation_status is ImplementationStatus.ASSIGNED and impl.returns == 1
    # 10 October, a Saturday, is a working day made up for the National Day holiday.
    assert impl.due_at.astimezone(SHANGHAI).date() == date(2026, 10, 13)
    assert case.status is CaseStatus.DECISION_IMPLEMENTING
    assert case.deadline_at == impl.due_at  # now the latest of the two
    (sms,) = demo.scalars(select(Notification).where(Notification.id.in_(outcome.sms))).all()
    assert sms.kind.value == "unit_return" and sms.unit_id == impl.unit_id
    assert "10月13日" in sms.body
    # The other unit's implementation did not move, and it cannot be accepted before it files.
    other = _by_unit(case)["县人民医院"]
    assert other.implementation_status is ImplementationStatus.ASSIGNED
    with pytest.raises(InvalidTransition):
        accept_result(demo, people["sup"], case, later, SMS, CALENDAR, implementation_id=other.id)
    demo.rollback()
    file_result(demo, people["cg"], case, result_form(measures="已整改到位"), later,
                scan_required=False)
    file_result(demo, people["xr"], case, result_form(), later, scan_required=False)
    accept_result(demo, people["sup"], case, later, SMS, CALENDAR, implementation_id=impl.id)
    accept_result(demo, people["sup"], case, later, SMS, CALENDAR)
    demo.commit()
    assert case.status is CaseStatus.ANSWERED and impl.returns == 0


def test_a_decision_without_implementation_answers_the_case(demo, people, clock):
    case = _escalated(demo, people, clock)
    outcome = record_decision(demo, people["admin"], case, "经研究，无需另行处理。",
                              date(2026, 9, 29), "张局长", [], clock, CALENDAR, SMS)
    demo.commit()
    assert outcome.sms == [] and case.implementations == []
    assert case.status is CaseStatus.ANSWERED and case.answered_from is CaseStatus.BUREAU_MEETING
    assert case.handling_note == "经研究，无需另行处理。" and case.feedback_due_at is not None
    assert "据此答复" in list_case_history(demo, case)[-1].text


def test_only_the_office_or_an_admin_records_a_decision_and_only_on_an_escalated_case(
        demo, people, clock):
    case = route_case(demo, clock)
    with pytest.raises(InvalidTransition):
        _decide(demo, people, clock, case, _two_units(people))
    demo.rollback()
    escalate_case(demo, people["wang"], case, "bureau_meeting", "需研究", clock)
    demo.commit()
    with pytest.raises(Forbidden):
        _decide(demo, people, clock, case, _two_units(people), who="wang")
    demo.rollback()
    units = people["units"]
    for orders, code in (
            ([ImplementationOrder(units["城关镇卫生院"].id), ImplementationOrder(units["城关镇卫生院"].id)],
             "implementation_unit_repeated"),
            ([ImplementationOrder(99999)], "unit_unknown"),
            ([ImplementationOrder(units["县人民医院"].id, date(2026, 9, 29))],
             "implementation_deadline_invalid"),
            ([ImplementationOrder(units["县人民医院"].id, 0)], "implementation_deadline_invalid")):
        with pytest.raises(ValidationError) as refused:
            _decide(demo, people, clock, case, orders)
        assert refused.value.code == code
        demo.rollback()
    with pytest.raises(ValidationError) as undated:
        record_decision(demo, people["sup"], case, "x", None, "局务会议", [], clock, CALENDAR, SMS)
    assert undated.value.code == "decided_at_invalid"
    demo.rollback()
    assert case.status is CaseStatus.BUREAU_MEETING and case.decisions == []


def test_a_unit_files_only_its_own_implementation(demo, people, clock):
    case = _escalated(demo, people, clock)
    _decide(demo, people, clock, case, [ImplementationOrder(people["units"]["县人民医院"].id)])
    with pytest.raises(NotFound):  # a unit with no part in it does not even see the case
        file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    demo.rollback()
    with pytest.raises(ValidationError) as unsealed:
        file_result(demo, people["xr"], case, result_form(), clock)  # the scan rule holds
    assert unsealed.value.code == "attachment_required"
    demo.rollback()
    file_result(demo, people["xr"], case, result_form(), clock, scan_required=False)
    demo.commit()
    with pytest.raises(InvalidTransition):
        file_result(demo, people["xr"], case, result_form(), clock, scan_required=False)
    demo.rollback()
    record = describe_case(demo, case, clock.now(), tz=TZ, language="zh-CN")
    assert [(i["unit"], i["status"]) for i in record["decision"]["implementations"]] == [
        ("县人民医院", "result_filed")]


def test_the_sweep_reminds_chases_and_supervises_an_implementation_like_a_transfer(
        demo, people, clock):
    case = _escalated(demo, people, clock)
    _decide(demo, people, clock, case, _two_units(people, None, date(2026, 10, 16)))
    impl = _by_unit(case)
    # 8 October (a working day, 09:00): the first unit's result is due tomorrow.
    eve = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
    work = due_work(demo, eve, CALENDAR, SweepContext())
    reminders = [w for w in work if isinstance(w, DueReminder)]  # not the bulletin due that day
    assert [(r.kind.value, r.subject) for r in reminders] == [
        ("unit_due_tomorrow", f"implementation:{impl['城关镇卫生院'].id}")]
    # 12 October (Monday, 09:00): past its deadline, it is chased and put under supervision;
    # the other unit, due on the 16th, is neither.
    after = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)
    due = [w.to_json() for w in due_work(demo, after, CALENDAR, SweepContext())]  # --dry-run
    assert [(w["work"], w["unit_id"]) for w in due if w["work"] == "implementation_overdue"] == [
        ("implementation_overdue", impl["城关镇卫生院"].unit_id)]
    report = run_sweep(demo, after, CALENDAR, SweepContext())
    demo.commit()
    assert report.reminders["unit_chase"] == 1 and report.overdue_opened == [case.number]
    assert case.is_overdue(after)
    # The supervision office's overdue list (and the API's ?overdue=1) shows it too.
    assert list_visible_cases(demo, people["sup"], overdue_at=after) == [case]
    assert list_visible_cases(demo, people["sup"], overdue_at=eve) == []
    # The SMS to units (the office also gets September's bulletin and the overdue digest).
    chase = demo.scalars(select(Notification).where(Notification.id.in_(report.sms),
                                                    Notification.unit_id.is_not(None))).all()
    assert [(n.kind.value, n.unit_id) for n in chase] == [("unit_chase", impl["城关镇卫生院"].unit_id)]
    again = run_sweep(demo, after + timedelta(hours=1), CALENDAR, SweepContext())
    assert not again.changed
    # The unit that missed its deadline without asking for more time is proposed for
    # criticism ground 3, like a unit that let a transfer lapse.
    (proposal,) = demo.scalars(select(Censure)).all()
    assert (proposal.ground.value, proposal.unit_id) == (
        "late_unexplained", impl["城关镇卫生院"].unit_id)
    events = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case.id)).all()
    assert events.count("case.overdue_supervised") == 1


def test_the_api_records_a_decision_and_takes_each_units_result_and_verdict(
        api, people, demo, settings, redis):
    from tests.test_api import _error, _sealed

    created = api("duty", "POST", "/cases", json={
        "caller_name": "张伟", "caller_phone": "+8613812345678", "content": "转诊不畅",
        "channel": "in_person"}).get_json()
    number = created["number"]
    api("wang", "POST", f"/cases/{number}/escalate",
        json={"to": "county", "reason": "需县政府协调"})
    units = people["units"]
    body = {"text": "两院建立转诊绿色通道", "decided_at": "2026-01-05", "decided_by": "县政府",
            "implementations": [{"unit_id": units["城关镇卫生院"].id, "deadline": 5},
                                {"unit_id": units["县人民医院"].id, "deadline": "2099-01-05"}]}
    # Only the office or an admin; a leader may see the case but not decide (403).
    assert api("wang", "POST", f"/cases/{number}/decision", json=body).status_code == 403
    # The JSON is checked against the declaration: a deadline is a date or working days.
    bad = api("sup", "POST", f"/cases/{number}/decision", json={
        **body, "implementations": [{"unit_id": units["县人民医院"].id, "deadline": "soon"}]})
    assert bad.status_code == 422 and _error(bad)["code"] == "implementation_deadline_invalid"
    stale = api("sup", "POST", f"/cases/{number}/decision", json=body,
                headers={"If-Match": f'"{created["version"]}"'})
    assert stale.status_code == 409 and _error(stale)["code"] == "conflict"
    decided = api("sup", "POST", f"/cases/{number}/decision", json=body)
    assert decided.status_code == 200, decided.get_json()
    decided = decided.get_json()
    assert decided["status"] == "implementing"
    record = decided["decision"]
    assert (record["text"], record["decided_at"], record["decided_by"]) == (
        "两院建立转诊绿色通道", "2026-01-05", "县政府")
    implementations = {i["unit"]: i for i in record["implementations"]}
    assert implementations["县人民医院"]["due_at"].startswith("2099-01-05T17:30")
    assert {i["status"] for i in implementations.values()} == {"assigned"}
    again = api("admin", "POST", f"/cases/{number}/decision", json=body)
    assert again.status_code == 409  # decided already: the state machine refuses

    # The result and the verdicts go through the existing endpoints.
    assert api("cg", "POST", f"/cases/{number}/result", **_sealed()).status_code == 200
    assert api("xr", "POST", f"/cases/{number}/result", **_sealed()).status_code == 200
    unnamed = api("sup", "POST", f"/cases/{number}/accept")
    assert unnamed.status_code == 422 and _error(unnamed)["code"] == "implementation_required"
    cg, xr = implementations["城关镇卫生院"]["id"], implementations["县人民医院"]["id"]
    returned = api("sup", "POST", f"/cases/{number}/return", json={
        "implementation_id": xr, "category": "format", "reason": "缺少签名页"}).get_json()
    assert returned["status"] == "implementing"
    assert "退回 县人民医院 重新落实（格式不全：缺少签名页）" in returned["history"][-1]["text"]
    half = api("sup", "POST", f"/cases/{number}/accept", json={"implementation_id": cg})
    assert half.get_json()["status"] == "implementing"
    assert api("xr", "POST", f"/cases/{number}/result", **_sealed()).status_code == 200
    done = api("sup", "POST", f"/cases/{number}/accept", json={}).get_json()
    assert done["status"] == "answered" and done["feedback_due"] is not None
    assert done["history"][-1]["action"] == "case.decision_carried_out"
    assert [i["status"] for i in done["decision"]["implementations"]] == ["accepted"] * 2


def test_an_implementation_counts_for_its_unit_like_a_transfer(demo, people, clock):
    from intake.reports.rates import Grouping, Period, compute_rates

    case = _escalated(demo, people, clock)
    _decide(demo, people, clock, case, _two_units(people))
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock, SMS, CALENDAR)
    demo.commit()
    # 县人民医院 files nothing: by 12 October its deadline (9 October) has passed.
    after = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)
    report = compute_rates(demo, Period(date(2026, 9, 1), date(2026, 9, 30)), now=after,
                           calendar=CALENDAR, tz=TZ, grouping=Grouping.UNIT)
    rows = {row.unit: row.figures for row in report.rows}
    assert (rows["城关镇卫生院"].transferred_due, rows["城关镇卫生院"].on_time) == (1, 1)
    assert (rows["县人民医院"].transferred_due, rows["县人民医院"].on_time) == (1, 0)
    assert (report.total.transferred_due, report.total.on_time) == (2, 1)


def test_the_leaders_answer_at_the_meeting_is_kept_as_its_decision(demo, people, clock):
    from intake.cases.handling import answer_case, handle_case

    case = _escalated(demo, people, clock, "county")
    answer_case(demo, people["wang"], case, "县政府决定新建站点", clock, CALENDAR)
    demo.commit()
    decision = case.decision
    assert (decision.text, decision.decided_by, decision.decided_in) == (
        "县政府决定新建站点", "县政府", CaseStatus.COUNTY)
    assert decision.decided_at == date(2026, 9, 29) and case.implementations == []
    handled = route_case(demo, clock)
    handle_case(demo, people["wang"], handled, "", clock, CALENDAR)
    answer_case(demo, people["wang"], handled, "已处理", clock, CALENDAR)  # not a decision
    demo.commit()
    assert handled.decisions == []


@pytest.mark.parametrize("change, message", [
    ({"deadline": "明天"}, "请为每个单位填写今天以后的日期"),
    ({"deadline": "2026-01-01"}, "请为每个单位填写今天以后的日期"),
    ({"decided_at": ""}, "请填写决定日期"),
    ({"text": " "}, "请填写研究决定内容"),
])
def test_the_decision_form_refuses_bad_input_and_records_nothing(client, demo, change, message):
    from tests.dashboard_support import sign_in

    wang = demo.scalar(select(User).where(User.username == "wang"))
    case = route_case(demo, Clock())
    escalate_case(demo, wang, case, "bureau_meeting", "需研究", Clock())
    demo.commit()
    unit = demo.scalar(select(Unit).where(Unit.name == "城关镇卫生院"))
    sign_in(client, "duban")
    form = {"text": "建立转诊通道", "decided_at": "2026-01-05", "decided_by": "局务会议",
            "unit_id": str(unit.id), "deadline": "", **change}
    response = client.post(f"/cases/{case.id}/decision", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    demo.expire_all()
    assert demo.get(Case, case.id).status is CaseStatus.BUREAU_MEETING
    assert demo.scalars(select(CaseDecision)).all() == []
    good = client.post(f"/cases/{case.id}/decision",
                       data={**form, "text": "建立转诊通道", "decided_at": "2026-01-05",
                             "deadline": ""})
    assert good.status_code == 303
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="implementations"' in page and 'data-state="assigned"' in page
