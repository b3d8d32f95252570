"""The bureau's written rules after routing: direct handling, transfer with three working
days, unit results and redo, escalation, extensions, feedback and the liaison's rating."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.audit import Actor
from intake.cases import (Confirmation, accept_result, acknowledge_case, answer_case,
                          confirm_and_route, escalate_to_bureau, escalate_to_county,
                          extend_deadline, file_unit_result, handle_directly, rate_satisfaction,
                          record_feedback, return_for_redo, supervise_overdue_cases,
                          transfer_to_unit)
from intake.exceptions import InvalidTransition, ValidationError
from intake.models import Unit, UnitResult
from tests.dashboard_support import audit_actions, make_call

LEADER = Actor("user:wang")
OFFICE = Actor("user:supervisor")
TZ = "Asia/Shanghai"
# Tuesday 29 September 2026, 10:00 in Shanghai: three working days later is 9 October,
# because 1–7 October are the National Day holiday.
TUESDAY = datetime(2026, 9, 29, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def case(demo):
    call = make_call(demo)
    routed, _sms = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty"), lambda c: f"/cases/{c.id}", "zh-CN")
    demo.commit()
    return routed


def _unit(demo) -> Unit:
    return demo.query(Unit).filter_by(name="城关镇卫生院").one()


def _result(**changes) -> UnitResult:
    fields = dict(facts_true="true", causes="配送延误", measures="已补货", liaison_opinion="满意",
                  signed_by="李院长", sealed=True)
    fields.update(changes)
    return UnitResult(**fields)


def test_direct_handling_is_due_by_local_midnight_and_closes_the_loop(demo, case):
    acknowledge_case(demo, case, LEADER)
    handle_directly(demo, case, LEADER, TUESDAY, TZ)
    assert case.deadline_at == datetime(2026, 9, 30, 0, 0, tzinfo=ZoneInfo(TZ))
    with pytest.raises(ValidationError):
        answer_case(demo, case, "  ", LEADER)
    answer_case(demo, case, "已联系药店补货", LEADER)
    with pytest.raises(ValidationError):
        record_feedback(demo, case, "pigeon", "", LEADER)
    record_feedback(demo, case, "phone", "已电话告知", LEADER)
    with pytest.raises(ValidationError):
        rate_satisfaction(demo, case, "delighted", Actor("sms:+8613812345678"))
    rate_satisfaction(demo, case, "satisfied", Actor("sms:+8613812345678"))
    assert case.status.value == "closed" and case.satisfaction == "satisfied"
    assert case.answered_at and case.fed_back_at and case.closed_at
    demo.flush()
    assert audit_actions(demo, "cases", case.id) == [
        "case.routed", "case.acknowledged", "case.handling", "case.answered", "case.fed_back",
        "case.closed"]


def test_a_transfer_is_due_in_three_working_days_skipping_the_holiday(demo, case):
    transfer_to_unit(demo, case, _unit(demo).id, LEADER, TUESDAY, TZ)
    assert case.status.value == "transferred" and case.unit.name == "城关镇卫生院"
    assert case.deadline_at == datetime(2026, 10, 9, 17, 30, tzinfo=ZoneInfo(TZ))
    with pytest.raises(ValidationError):
        transfer_to_unit(demo, case, 9999, LEADER, TUESDAY, TZ)


@pytest.mark.parametrize("changes, field", [
    ({"causes": ""}, "causes"), ({"signed_by": " "}, "signed_by"), ({"sealed": False}, "sealed")])
def test_an_incomplete_unit_result_is_refused(demo, case, changes, field):
    transfer_to_unit(demo, case, _unit(demo).id, LEADER, TUESDAY, TZ)
    with pytest.raises(ValidationError) as refused:
        file_unit_result(demo, case, _result(**changes), Actor("user:unit"))
    assert refused.value.field == field
    assert case.status.value == "transferred"


def test_three_returns_in_a_row_flag_the_unit_and_acceptance_answers(demo, case):
    transfer_to_unit(demo, case, _unit(demo).id, LEADER, TUESDAY, TZ)
    for attempt in range(3):
        file_unit_result(demo, case, _result(), Actor("user:unit"))
        demo.flush()
        with pytest.raises(ValidationError):
            return_for_redo(demo, case, "", OFFICE, TUESDAY, TZ)
        return_for_redo(demo, case, "答非所问", OFFICE, TUESDAY + timedelta(days=attempt), TZ)
        assert case.criticism_flagged is (attempt == 2)
    assert case.redo_count == 3
    demo.flush()  # audit_actions expires the session; unflushed changes would be lost
    assert audit_actions(demo, "cases", case.id).count("unit.criticism_flagged") == 1
    file_unit_result(demo, case, _result(), Actor("user:unit"))
    demo.flush()
    accept_result(demo, case, OFFICE)
    assert case.status.value == "answered" and case.redo_count == 0
    assert [r.verdict for r in sorted(case.results, key=lambda r: r.id)] == [
        "returned", "returned", "returned", "accepted"]


def test_escalation_registers_the_case_with_the_supervision_office(demo, case):
    escalate_to_bureau(demo, case, LEADER)
    assert case.supervised and case.status.value == "bureau_meeting"
    escalate_to_county(demo, case, LEADER)
    assert case.status.value == "county"
    with pytest.raises(InvalidTransition):
        handle_directly(demo, case, LEADER, TUESDAY, TZ)


def test_an_extension_needs_a_reason_and_a_later_date(demo, case):
    handle_directly(demo, case, LEADER, TUESDAY, TZ)
    later = case.deadline_at + timedelta(days=2)
    with pytest.raises(ValidationError):
        extend_deadline(demo, case, later, " ", LEADER)
    with pytest.raises(ValidationError):
        extend_deadline(demo, case, case.deadline_at, "需要现场核实", LEADER)
    extend_deadline(demo, case, later, "需要现场核实", LEADER)
    assert case.deadline_at == later and case.deadline_reason == "需要现场核实"


def test_overdue_cases_go_to_the_supervision_office_once(demo, case):
    handle_directly(demo, case, LEADER, TUESDAY, TZ)
    demo.flush()
    assert supervise_overdue_cases(demo, TUESDAY, OFFICE) == []
    overdue = supervise_overdue_cases(demo, TUESDAY + timedelta(days=2), OFFICE)
    assert overdue == [case] and case.supervised
    assert supervise_overdue_cases(demo, TUESDAY + timedelta(days=3), OFFICE) == []
