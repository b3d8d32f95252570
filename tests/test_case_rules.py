"""The bureau's written rules after routing, through the domain actions: direct handling,
transfer with three working days, results, returns and redo, escalation, extensions,
overdue cases, feedback and the liaison's rating. Each action checks the permission table,
keeps its history as rows and returns the SMS to send after commit."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.rules.access import sms_liaison
from intake.store.audit import Actor
from intake.cases.handling import (CaseEntry, Confirmation, acknowledge_case, answer_case,
                                   confirm_and_route, create_case, handle_case)
from intake.clock import FixedClock
from intake.time.calendar import BureauCalendar
from intake.directory.roster import create_user
from intake.exceptions import Forbidden, InvalidTransition, NotFound, ValidationError
from intake.cases.feedback import rate_case, record_feedback
from intake.store.models import AuditEvent, DeadlineChange, Liaison, Notification, Unit, User
from intake.outbox.notifications import SmsContext
from intake.cases.supervision import escalate_case, extend_deadline, supervise_overdue_cases
from intake.cases.transfers import (ResultForm, accept_result, file_result, return_result,
                                    transfer_case)
from tests.dashboard_support import audit_actions, make_call

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
# Tuesday 29 September 2026, 10:00 in Shanghai: three working days later is 9 October,
# because 1–7 October are the National Day holiday.
TUESDAY = datetime(2026, 9, 29, 2, 0, tzinfo=timezone.utc)
CALENDAR = BureauCalendar()
SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}", "zh-CN", TZ)


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


@pytest.fixture
def people(demo):
    """The demo's leaders and duty officer, plus a supervision-office and two unit accounts."""
    units = {u.name: u for u in demo.query(Unit)}
    seed = Actor("test")
    create_user(demo, username="sup", role="supervisor", name="督办员", password="dutyline-demo",
                actor=seed)
    create_user(demo, username="cg", role="unit", name="城关镇卫生院办事员",
                password="dutyline-demo", actor=seed, unit_id=units["城关镇卫生院"].id)
    create_user(demo, username="xr", role="unit", name="县人民医院办事员",
                password="dutyline-demo", actor=seed, unit_id=units["县人民医院"].id)
    demo.commit()
    users = {u.username: u for u in demo.query(User)}
    return {"wang": users["wang"], "li": users["li"], "duty": users["duty"],
            "admin": users["admin"], "sup": users["sup"], "cg": users["cg"], "xr": users["xr"],
            "units": units}


@pytest.fixture
def case(demo, clock):
    call = make_call(demo)
    routed, _sms = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)
    demo.commit()
    return routed


def _form(**changes) -> ResultForm:
    fields = dict(facts_true="true", causes="配送延误", measures="已补货", liaison_opinion="满意",
                  signed_by="李院长", sealed=True)
    fields.update(changes)
    return ResultForm(**fields)


def _sms(demo, outcome) -> list[Notification]:
    return [demo.get(Notification, nid) for nid in outcome.sms]


def test_direct_handling_is_due_the_day_the_case_arrived_and_closes_the_loop(demo, case, people, clock):
    wang = people["wang"]
    assert case.deadline_at == datetime(2026, 9, 30, 0, 0, tzinfo=SHANGHAI)
    acknowledge_case(demo, wang, case, clock.advance(hours=20))  # the next morning
    handle_case(demo, wang, case, "", clock, CALENDAR)
    # Still due by midnight of the day it reached the leader, not of the day they acted.
    assert case.deadline_at == datetime(2026, 9, 30, 0, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValidationError) as empty:
        answer_case(demo, wang, case, "  ", clock)
    assert empty.value.code == "note_required" and empty.value.field == "note"
    answer_case(demo, wang, case, "已联系药店补货", clock)
    with pytest.raises(ValidationError) as pigeon:
        record_feedback(demo, wang, case, "pigeon", "", clock, SMS)
    assert pigeon.value.code == "feedback_method_invalid"
    fed = record_feedback(demo, wang, case, "sms", "已联系药店补货，请放心", clock, SMS)
    texts = _sms(demo, fed)
    assert [n.kind.value for n in texts] == ["feedback", "rating_request"]
    assert all(n.to_number == "+8613812345678" and n.liaison_id == case.liaison_id for n in texts)
    assert "王建国" in texts[0].body and "已联系药店补货" in texts[0].body
    assert "回复1满意" in texts[1].body and case.number in texts[1].body
    with pytest.raises(ValidationError):
        rate_case(demo, people["duty"], case, "delighted", clock, CALENDAR, SMS)
    rate_case(demo, people["duty"], case, "satisfied", clock, CALENDAR, SMS)
    assert case.status.value == "closed" and case.satisfaction.value == "satisfied"
    assert case.answered_at and case.fed_back_at and case.closed_at
    demo.flush()
    assert audit_actions(demo, "cases", case.id) == [
        "case.routed", "case.acknowledged", "case.handling", "case.answered", "case.fed_back",
        "case.closed"]


def test_a_leader_who_never_acts_is_overdue_and_supervised_once(demo, case, people, clock):
    assert supervise_overdue_cases(demo, clock) == []
    clock.advance(days=1)
    assert supervise_overdue_cases(demo, clock) == [case]
    assert case.supervised and case.supervision_entries[0].cause.value == "overdue"
    demo.flush()
    assert supervise_overdue_cases(demo, clock.advance(hours=1)) == []
    # Answering closes the supervision entry with the answer as its decision.
    handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    answer_case(demo, people["wang"], case, "已处理", clock)
    assert not case.supervised and case.supervision_entries[0].decision == "已处理"


def test_a_transfer_is_due_in_three_working_days_and_texts_the_unit(demo, case, people, clock):
    unit = people["units"]["城关镇卫生院"]
    with pytest.raises(ValidationError) as unknown:
        transfer_case(demo, people["wang"], case, 9999, clock, CALENDAR, SMS)
    assert unknown.value.code == "unit_unknown"
    outcome = transfer_case(demo, people["wang"], case, unit.id, clock, CALENDAR, SMS)
    assert case.status.value == "transferred" and case.unit.name == "城关镇卫生院"
    assert case.deadline_at == datetime(2026, 10, 9, 17, 30, tzinfo=SHANGHAI)
    assignment = case.assignment
    assert assignment.assigned_at == TUESDAY and assignment.due_at == case.deadline_at
    [text] = _sms(demo, outcome)
    assert text.kind.value == "unit_transfer" and text.unit_id == unit.id
    assert text.to_number == "+8657188880001" and "10月9日 17:30" in text.body
    demo.flush()
    transferred = demo.query(AuditEvent).filter_by(action="case.transferred").one()
    # What the history sentence needs: "王建国 转交 城关镇卫生院，限 10月9日 17:30 前".
    assert transferred.after["by"] == "王建国" and transferred.after["unit"] == "城关镇卫生院"
    assert datetime.fromisoformat(transferred.after["due"]) == case.deadline_at


@pytest.mark.parametrize("changes, code, field", [
    ({"causes": ""}, "result_incomplete", "causes"),
    ({"signed_by": " "}, "result_incomplete", "signed_by"),
    ({"sealed": False}, "seal_required", "sealed"),
    ({"facts_true": "maybe"}, "facts_true_required", "facts_true")])
def test_an_incomplete_unit_result_is_refused(demo, case, people, clock, changes, code, field):
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    with pytest.raises(ValidationError) as refused:
        file_result(demo, people["cg"], case, _form(**changes), clock, scan_required=False)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert case.status.value == "transferred"


def test_a_sealed_result_needs_its_scan_unless_the_bureau_turned_that_off(demo, case, people,
                                                                          clock, tmp_path):
    import io

    from intake.cases.attachments import read_upload
    from tests.case_support import PDF

    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    with pytest.raises(ValidationError) as refused:
        file_result(demo, people["cg"], case, _form(), clock)  # required by default
    assert (refused.value.code, refused.value.field) == ("attachment_required", "attachment")
    assert case.status.value == "transferred" and case.results == []
    file_result(demo, people["cg"], case, _form(), clock,
                scan=read_upload(io.BytesIO(PDF), "盖章.pdf"), recordings_dir=tmp_path)
    demo.flush()
    assert case.status.value == "result_filed" and len(case.attachments) == 1


def test_without_the_requirement_a_sealed_result_files_without_a_scan(demo, case, people, clock):
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    file_result(demo, people["cg"], case, _form(), clock, scan_required=False)
    assert case.status.value == "result_filed" and case.attachments == []


def test_only_its_unit_files_and_only_supervision_gives_the_verdict(demo, case, people, clock):
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    with pytest.raises(NotFound):
        file_result(demo, people["xr"], case, _form(), clock, scan_required=False)  # another unit: may not see it
    with pytest.raises(Forbidden):
        file_result(demo, people["wang"], case, _form(), clock, scan_required=False)  # its leader: sees, may not
    file_result(demo, people["cg"], case, _form(), clock, scan_required=False)
    with pytest.raises(Forbidden):
        accept_result(demo, people["wang"], case, clock)
    accept_result(demo, people["sup"], case, clock)
    assert case.status.value == "answered" and case.results[0].verdict.value == "accepted"


def test_three_returns_in_a_row_flag_the_unit_and_a_new_unit_starts_at_zero(demo, case, people, clock):
    unit = people["units"]["城关镇卫生院"]
    transfer_case(demo, people["wang"], case, unit.id, clock, CALENDAR, SMS)
    for attempt in range(3):
        file_result(demo, people["cg"], case, _form(), clock, scan_required=False)
        demo.flush()
        with pytest.raises(ValidationError) as no_reason:
            return_result(demo, people["sup"], case, "quality", "", clock, CALENDAR, SMS)
        assert no_reason.value.code == "reason_required"
        with pytest.raises(ValidationError) as bad_category:
            return_result(demo, people["sup"], case, "mood", "答非所问", clock, CALENDAR, SMS)
        assert bad_category.value.code == "return_category_invalid"
        returned = return_result(demo, people["sup"], case, "quality", "答非所问",
                                 clock.advance(days=1), CALENDAR, SMS)
        assert [n.kind.value for n in _sms(demo, returned)] == ["unit_return"]
        assert (case.assignment.criticism_flagged_at is not None) is (attempt == 2)
    assert case.redo_count == 3 and case.status.value == "transferred"
    assert [r.return_category.value for r in case.results] == ["quality"] * 3
    demo.flush()
    assert audit_actions(demo, "cases", case.id).count("unit.criticism_flagged") == 1
    # The leader reassigns the case to another unit: its count starts again.
    transfer_case(demo, people["wang"], case, people["units"]["县人民医院"].id, clock,
                  CALENDAR, SMS)
    assert case.unit.name == "县人民医院" and case.redo_count == 0
    assert [a.returns for a in case.assignments] == [3, 0]
    # The first unit still sees the case it worked on, but may no longer file or extend.
    with pytest.raises(Forbidden):
        file_result(demo, people["cg"], case, _form(), clock, scan_required=False)
    file_result(demo, people["xr"], case, _form(), clock, scan_required=False)


def test_escalation_registers_the_case_with_the_supervision_office(demo, case, people, clock):
    with pytest.raises(ValidationError) as nowhere:
        escalate_case(demo, people["wang"], case, "heaven", "太大", clock)
    assert nowhere.value.code == "escalation_target_invalid"
    escalate_case(demo, people["wang"], case, "bureau_meeting", "涉及多个单位", clock)
    assert case.supervised and case.status.value == "bureau_meeting"
    escalate_case(demo, people["wang"], case, "county", "需县政府协调", clock)
    assert case.status.value == "county"
    assert [e.cause.value for e in case.supervision_entries] == [
        "escalation_bureau", "escalation_county"]
    with pytest.raises(InvalidTransition):
        handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    answer_case(demo, people["wang"], case, "县政府已协调解决", clock)
    assert not case.supervised
    assert {e.decision for e in case.supervision_entries} == {"县政府已协调解决"}


def test_an_extension_needs_a_reason_and_a_later_date_and_keeps_a_row(demo, case, people, clock):
    handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    first = case.deadline_at
    later = first + timedelta(days=2)
    with pytest.raises(ValidationError) as no_reason:
        extend_deadline(demo, people["wang"], case, later, " ", clock)
    assert no_reason.value.code == "reason_required"
    with pytest.raises(ValidationError) as not_later:
        extend_deadline(demo, people["wang"], case, first, "需要现场核实", clock)
    assert not_later.value.code == "deadline_not_later"
    with pytest.raises(Forbidden):
        extend_deadline(demo, people["duty"], case, later, "需要现场核实", clock)
    extend_deadline(demo, people["sup"], case, later, "需要现场核实", clock)
    assert case.deadline_at == later and case.deadline_reason == "需要现场核实"
    change = case.deadline_changes[-1]
    assert (change.kind.value, change.old_deadline, change.new_deadline, change.changed_by) == (
        "extension", first, later, "user:sup")
    answer_case(demo, people["wang"], case, "已处理", clock)
    with pytest.raises(InvalidTransition):
        extend_deadline(demo, people["wang"], case, later + timedelta(days=1), "再延", clock)


def test_dissatisfied_sends_a_unit_case_back_to_that_unit(demo, case, people, clock):
    unit = people["units"]["城关镇卫生院"]
    transfer_case(demo, people["wang"], case, unit.id, clock, CALENDAR, SMS)
    file_result(demo, people["cg"], case, _form(), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock)
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    liaison = demo.get(Liaison, case.liaison_id)
    redo = rate_case(demo, sms_liaison(liaison), case, "dissatisfied", clock, CALENDAR, SMS)
    assert case.status.value == "transferred" and case.unit.name == "城关镇卫生院"
    assert case.redo_count == 1 and case.satisfaction.value == "dissatisfied"
    assert [n.kind.value for n in _sms(demo, redo)] == ["unit_return"]
    file_result(demo, people["cg"], case, _form(measures="已补货并上门说明"), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock)
    record_feedback(demo, people["wang"], case, "phone", "再次告知", clock, SMS)
    rate_case(demo, sms_liaison(liaison), case, "satisfied", clock, CALENDAR, SMS)
    assert case.status.value == "closed" and case.satisfaction.value == "satisfied"


def test_dissatisfied_sends_a_directly_handled_case_back_to_the_leader(demo, case, people, clock):
    handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    answer_case(demo, people["wang"], case, "已处理", clock)
    record_feedback(demo, people["wang"], case, "in_person", "", clock, SMS)
    rate_case(demo, people["wang"], case, "dissatisfied", clock.advance(days=3), CALENDAR, SMS)
    assert case.status.value == "handling" and case.closed_at is None
    assert case.deadline_at == datetime(2026, 10, 3, 0, 0, tzinfo=SHANGHAI)
    assert case.deadline_changes[-1].kind.value == "redo"


def test_a_case_number_follows_the_bureau_year(demo, people):
    # 01:30 on 1 January 2027 in Beijing is still 31 December 2026 in UTC.
    new_year = FixedClock(datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc), TZ)
    call = make_call(demo)
    case, _ = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), Actor("user:duty"), SMS.case_link,
        "zh-CN", new_year)
    assert case.number == "2027-000001"
    old_year = FixedClock(datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc), TZ)  # 23:59
    outcome = create_case(demo, people["duty"], CaseEntry(caller_name="", content="路灯不亮",
                                                          caller_phone="13812345678"),
                          old_year, SMS)
    assert outcome.case.number == "2026-000001"


def test_the_duty_room_enters_a_case_by_hand(demo, people, clock):
    entry = CaseEntry(caller_name="", content="村卫生室缺少常用药", caller_phone="138 1234 5678",
                      channel="in_person")
    with pytest.raises(Forbidden):
        create_case(demo, people["cg"], entry, clock, SMS)
    # A leader enters only the reports made to them directly (channel leader, 一.3).
    with pytest.raises(ValidationError) as by_leader:
        create_case(demo, people["wang"], entry, clock, SMS)
    assert by_leader.value.code == "channel_invalid"
    with pytest.raises(ValidationError) as bad:
        create_case(demo, people["duty"], CaseEntry(caller_name="x", content="y",
                                                     channel="pigeon"), clock, SMS)
    assert bad.value.code == "channel_invalid"
    with pytest.raises(ValidationError) as empty:
        create_case(demo, people["duty"], CaseEntry(caller_name="x", content=" "), clock, SMS)
    assert empty.value.code == "content_required"
    outcome = create_case(demo, people["duty"], entry, clock, SMS)
    case = outcome.case
    # The liaison is found by phone, and the case goes to their leader with an SMS.
    assert case.caller_name == "张伟" and case.leader.name == "王建国" and case.call_id is None
    assert case.channel.value == "in_person" and case.status.value == "routed"
    [text] = _sms(demo, outcome)
    assert text.kind.value == "case_routed" and text.to_number == "+8613900000001"
    assert case.deadline_changes[0].kind.value == "same_day"


def test_a_case_describes_itself_with_its_history_and_the_list_filters(demo, case, people, clock):
    from intake.cases.handling import describe_case
    from intake.calls.inbox import list_visible_cases

    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    demo.flush()
    record = describe_case(demo, case, clock.now())
    assert (record["status"], record["unit"], record["redo_count"], record["overdue"]) == (
        "transferred", "城关镇卫生院", 0, False)
    assert [(h["actor"], h["action"]) for h in record["history"]] == [
        ("值班员小周", "case.routed"), ("王建国", "case.transferred")]
    assert record["history"][1]["details"]["unit"] == "城关镇卫生院"
    later = clock.now() + timedelta(days=30)
    assert describe_case(demo, case, later)["overdue"] is True
    sup, cg, xr = people["sup"], people["cg"], people["xr"]
    assert list_visible_cases(demo, sup, status="transferred") == [case]
    assert list_visible_cases(demo, sup, status="routed") == []
    assert list_visible_cases(demo, sup, unit_id=people["units"]["县人民医院"].id) == []
    assert list_visible_cases(demo, sup, overdue_at=later) == [case]
    assert list_visible_cases(demo, sup, overdue_at=clock.now()) == []
    assert list_visible_cases(demo, cg) == [case] and list_visible_cases(demo, xr) == []
