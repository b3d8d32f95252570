"""Extensions before and after the deadline in force (issue 16 item 5): a leader or unit asks
before it (及时说明情况); after it only the supervision office sets a new date, and the rates
count the case as late against the deadline it missed."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.cases.handling import answer_case, handle_case
from intake.clock import FixedClock
from intake.store.models import Case, CaseAssignment
from intake.exceptions import ExtensionTooLate, InvalidTransition, ValidationError
from intake.reports.rates import Grouping, Period, compute_rates
from intake.cases.supervision import extend_deadline
from intake.cases.transfers import file_result, transfer_case
from intake.directory.tokens import issue_token
from intake.store.audit import Actor
from tests.case_support import (CALENDAR, SMS, TUESDAY, TZ, add_people, result_form,
                                route_case)

# The deadline of a transfer on TUESDAY: Friday 9 October 2026, 17:30 in Shanghai.
TRANSFER_DUE = datetime(2026, 10, 9, 9, 30, tzinfo=timezone.utc)
SEPTEMBER_TO_OCTOBER = Period(date(2026, 9, 1), date(2026, 10, 31))


@pytest.fixture
def people(demo):
    return add_people(demo)


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


@pytest.fixture
def transferred(demo, people, clock):
    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    demo.flush()
    assert case.deadline_at == TRANSFER_DUE
    return case


def test_a_unit_or_leader_extends_only_before_the_deadline_in_force(demo, people, clock,
                                                                     transferred):
    case = transferred
    # Before the deadline the unit explains and gets more time.
    clock.advance(days=9)  # 8 October, the day before
    extended_to = TRANSFER_DUE + timedelta(days=3)
    extend_deadline(demo, people["cg"], case, extended_to, "需要现场核实", clock)
    assert case.deadline_at == case.assignment.due_at == extended_to
    # An hour after that deadline neither the unit nor the leader may.
    clock.at = extended_to + timedelta(hours=1)
    for who in ("cg", "wang"):
        with pytest.raises(ExtensionTooLate) as late:
            extend_deadline(demo, people[who], case, extended_to + timedelta(days=2),
                            "来不及了", clock)
        assert late.value.code == "extension_too_late" and late.value.field == "deadline"
        assert late.value.details == {"deadline": "2026-10-12T17:30+08:00"}
        assert isinstance(late.value, InvalidTransition)  # a refusal of the state: 409
    assert case.deadline_at == extended_to


def test_after_the_deadline_only_supervision_sets_a_date_with_a_reason(demo, people, clock,
                                                                      transferred):
    case = transferred
    clock.at = TRANSFER_DUE + timedelta(days=2)
    new_date = TRANSFER_DUE + timedelta(days=5)
    with pytest.raises(ValidationError) as no_reason:
        extend_deadline(demo, people["sup"], case, new_date, " ", clock)
    assert no_reason.value.code == "reason_required"
    extend_deadline(demo, people["sup"], case, new_date, "单位说明迟交原因，另定期限", clock)
    assert case.deadline_at == new_date
    # The unit's assignment stays due at the deadline it missed, for the rates.
    assert case.assignment.due_at == TRANSFER_DUE
    change = case.deadline_changes[-1]
    assert (change.kind.value, change.old_deadline, change.new_deadline) == (
        "extension", TRANSFER_DUE, new_date)


def _participation(demo, clock):
    report = compute_rates(demo, SEPTEMBER_TO_OCTOBER, now=clock.now(), calendar=CALENDAR,
                           tz=TZ, grouping=Grouping.UNIT)
    row = next(r for r in report.rows if r.unit == "城关镇卫生院")
    return (report.total.transferred_due, report.total.on_time,
            row.figures.transferred_due, row.figures.on_time)


def test_a_date_supervision_sets_after_a_missed_deadline_still_counts_late(demo, people, clock,
                                                                          transferred):
    case = transferred
    clock.at = TRANSFER_DUE + timedelta(days=1)
    extend_deadline(demo, people["sup"], case, TRANSFER_DUE + timedelta(days=5), "另定期限",
                    clock)
    clock.advance(days=1)  # filed well before the new date
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    demo.commit()
    assert _participation(demo, clock) == (1, 0, 1, 0)


def test_an_extension_asked_in_time_keeps_a_result_by_the_new_date_on_time(demo, people, clock,
                                                                          transferred):
    case = transferred
    clock.at = TRANSFER_DUE - timedelta(hours=2)
    extend_deadline(demo, people["cg"], case, TRANSFER_DUE + timedelta(days=5), "需要现场核实",
                    clock)
    clock.at = TRANSFER_DUE + timedelta(days=2)
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    demo.commit()
    assert _participation(demo, clock) == (1, 1, 1, 1)


def test_a_direct_answer_after_a_missed_same_day_deadline_is_not_on_time(demo, people, clock):
    timely, late = route_case(demo, clock), route_case(demo, clock, "+8613812345678")
    for case in (timely, late):
        handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    due = timely.deadline_at
    # One is extended by its leader in time, the other by the office after its day.
    extend_deadline(demo, people["wang"], timely, due + timedelta(days=2), "需要现场核实",
                    clock.advance(hours=1))
    clock.at = due + timedelta(hours=3)
    extend_deadline(demo, people["sup"], late, due + timedelta(days=2), "另定期限", clock)
    for case in (timely, late):
        answer_case(demo, people["wang"], case, "已处理", clock)
    demo.commit()
    total = compute_rates(demo, SEPTEMBER_TO_OCTOBER, now=clock.now(), calendar=CALENDAR,
                          tz=TZ).total
    assert (total.completed, total.answered_on_time) == (2, 1)


# ---------------------------------------------------------------- over the API
@pytest.fixture
def api(client, demo, people):
    tokens = {}
    for name in ("duty", "wang", "sup", "cg"):
        _row, tokens[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()

    def call(who, method, path, **kwargs):
        return client.open(f"/api/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {tokens[who]}"}, **kwargs)

    return call


def test_the_api_refuses_a_late_extension_with_409_naming_the_deadline(api, demo, people):
    created = api("duty", "POST", "/cases", json={
        "caller_name": "张伟", "caller_phone": "+8613812345678", "content": "村卫生室没有降压药",
        "channel": "in_person"})
    assert created.status_code == 201, created.get_json()
    number = created.get_json()["number"]
    unit_id = people["units"]["城关镇卫生院"].id
    assert api("wang", "POST", f"/cases/{number}/transfer",
               json={"unit_id": unit_id}).status_code == 200
    later = "2099-01-01T17:30:00+08:00"
    # Bad input is 422.
    no_reason = api("cg", "POST", f"/cases/{number}/extend", json={"deadline": later, "reason": ""})
    assert no_reason.status_code == 422
    assert no_reason.get_json()["error"]["code"] == "reason_required"
    # The deadline passes: moved an hour before the real clock the server reads.
    missed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    case = demo.scalars(select(Case).where(Case.number == number)).one()
    demo.refresh(case)
    case.deadline_at = case.assignment.due_at = missed
    demo.commit()
    shown = missed.astimezone(ZoneInfo(TZ)).isoformat(timespec="minutes")
    for who in ("cg", "wang"):
        late = api(who, "POST", f"/cases/{number}/extend",
                   json={"deadline": later, "reason": "来不及了"})
        assert late.status_code == 409
        error = late.get_json()["error"]
        assert (error["code"], error["field"], error["deadline"]) == (
            "extension_too_late", "deadline", shown)
        assert shown in error["message"]
    # The supervision office sets a date, with a reason; the unit stays due at the missed one.
    done = api("sup", "POST", f"/cases/{number}/extend",
               json={"deadline": later, "reason": "另定期限"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["deadline"].startswith("2099-01-01T17:30")
    demo.expire_all()
    assert demo.get(CaseAssignment, case.assignment.id).due_at == missed
