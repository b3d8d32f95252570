"""Issue 18 item 3: follow-up visits (回访) on closed cases.

The office or the case's leader schedules a visit (day, method, who goes); the sweep reminds
each visitor on the day, once; the visitor records what it found, and "came back" reopens the
case for redo exactly as a dissatisfied rating does (to the unit, counted on its assignment,
or to the leader, due the same day). Visits due or overdue show on the supervision home and
in the API. Two people recording an outcome at once: one wins (real clients, real server).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.cases.feedback import rate_case, record_feedback
from intake.cases.handling import acknowledge_case, answer_case, handle_case
from intake.cases.transfers import accept_result, file_result, transfer_case
from intake.cases.visits import (VisitPlan, cancel_visit, list_due_visits, record_visit_outcome,
                                 schedule_visit)
from intake.clock import Clock, FixedClock
from intake.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from intake.rules.access import allowed
from intake.statuses import (VISIT_TRANSITIONS, CaseStatus, DeadlineKind, VisitStatus)
from intake.store.models import AuditEvent, FollowUpVisit, Notification, Reminder
from intake.sweep import SweepContext, due_work, run_sweep
from tests.case_support import CALENDAR, SHANGHAI, SMS, TZ, result_form, route_case
from tests.test_races import Door, TIMEOUT, race, server  # noqa: F401  (server: a fixture)

CONTEXT = SweepContext("https://dutyline.example", "zh-CN", TZ, 10)
# Tuesday 10 November 2026, 10:00 in Shanghai (no holiday near it).
START = datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    return FixedClock(START.astimezone(timezone.utc), TZ)


def closed_directly(demo, people, clock):
    """A case 王建国 handled himself, answered, fed back and the liaison rated satisfied."""
    wang = people["wang"]
    case = route_case(demo, clock)
    acknowledge_case(demo, wang, case, clock)
    handle_case(demo, wang, case, "", clock, CALENDAR)
    answer_case(demo, wang, case, "已协调药店补货", clock)
    record_feedback(demo, wang, case, "phone", "", clock, SMS)
    rate_case(demo, people["duty"], case, "satisfied", clock, CALENDAR, SMS)
    demo.commit()
    return case


def closed_by_unit(demo, people, clock):
    """A case transferred to 城关镇卫生院, its result accepted, fed back and rated satisfied."""
    wang, sup = people["wang"], people["sup"]
    case = route_case(demo, clock)
    transfer_case(demo, wang, case, people["units"]["城关镇卫生院"].id, clock, CALENDAR, SMS)
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    accept_result(demo, sup, case, clock, SMS, CALENDAR)
    record_feedback(demo, wang, case, "phone", "", clock, SMS)
    rate_case(demo, people["duty"], case, "satisfied", clock, CALENDAR, SMS)
    demo.commit()
    return case


def plan(people, *who, day=None, method="in_person"):
    return VisitPlan(due_on=day or START.date(), method=method,
                     visitor_ids=[people[name].id for name in who], note="看药店是否仍缺药")


# ---------------------------------------------------------------- the machine and the table
def test_the_visit_machine_is_explicit():
    assert set(VISIT_TRANSITIONS) == set(VisitStatus)
    assert VISIT_TRANSITIONS[VisitStatus.SCHEDULED] == {VisitStatus.DONE, VisitStatus.CANCELLED}
    assert VISIT_TRANSITIONS[VisitStatus.DONE] == VISIT_TRANSITIONS[VisitStatus.CANCELLED] == set()


def test_the_office_and_the_cases_leader_schedule_others_may_not(demo, people, clock):
    case = closed_directly(demo, people, clock)
    assert allowed(people["sup"], "schedule_visit", case)
    assert allowed(people["wang"], "schedule_visit", case)
    for name in ("duty", "admin"):
        with pytest.raises(Forbidden):
            schedule_visit(demo, people[name], case, plan(people, "sup"), clock)
    with pytest.raises(NotFound):  # no unit ever had the case
        schedule_visit(demo, people["cg"], case, plan(people, "sup"), clock)
    # 李红 is another member's leader: she may not see the case at all.
    assert not allowed(people["li"], "schedule_visit", case)


def test_only_a_closed_case_gets_a_visit(demo, people, clock):
    case = route_case(demo, clock)
    with pytest.raises(InvalidTransition):
        schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)


def test_scheduling_checks_day_method_and_visitors(demo, people, clock):
    case = closed_directly(demo, people, clock)
    sup = people["sup"]
    with pytest.raises(ValidationError) as past:
        schedule_visit(demo, sup, case, plan(people, "sup", day=START.date() - timedelta(days=1)),
                       clock)
    assert past.value.code == "visit_date_invalid"
    with pytest.raises(ValidationError) as method:
        schedule_visit(demo, sup, case, plan(people, "sup", method="by_pigeon"), clock)
    assert method.value.code == "visit_method_invalid"
    with pytest.raises(ValidationError) as nobody:
        schedule_visit(demo, sup, case, plan(people), clock)
    assert nobody.value.code == "visitor_invalid"
    # A unit's clerk and another member are not visitors of this case.
    for outsider in ("cg", "li"):
        with pytest.raises(ValidationError) as wrong:
            schedule_visit(demo, sup, case, plan(people, "sup", outsider), clock)
        assert wrong.value.code == "visitor_invalid"
    assert demo.scalars(select(FollowUpVisit)).all() == []


def test_scheduling_writes_the_visit_and_audit_rows(demo, people, clock):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["wang"], case, plan(people, "sup", "wang"), clock)
    demo.commit()
    assert visit.status is VisitStatus.SCHEDULED
    assert sorted(u.username for u in visit.visitor_users) == ["sup", "wang"]
    events = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "follow_up_visits", AuditEvent.entity_id == visit.id)).all()
    assert events == ["visit.scheduled"]
    case_events = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case.id)).all()
    assert case_events[-1] == "case.visit_scheduled"


# ---------------------------------------------------------------- outcomes
def test_solved_keeps_the_case_closed(demo, people, clock):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)
    record_visit_outcome(demo, people["sup"], visit, "solved", "", clock, CALENDAR, SMS)
    demo.commit()
    assert (visit.status, visit.outcome.value, case.status) == (
        VisitStatus.DONE, "solved", CaseStatus.CLOSED)
    with pytest.raises(InvalidTransition):
        record_visit_outcome(demo, people["sup"], visit, "came_back", "又缺药了", clock,
                             CALENDAR, SMS)


def test_partly_solved_needs_a_note(demo, people, clock):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)
    with pytest.raises(ValidationError) as missing:
        record_visit_outcome(demo, people["sup"], visit, "partly_solved", " ", clock, CALENDAR,
                             SMS)
    assert missing.value.code == "visit_note_required"
    with pytest.raises(ValidationError) as unknown:
        record_visit_outcome(demo, people["sup"], visit, "fine", "", clock, CALENDAR, SMS)
    assert unknown.value.code == "visit_outcome_invalid"


def test_came_back_reopens_a_directly_handled_case_to_its_leader_due_the_same_day(
        demo, people, clock):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["wang"], case, plan(people, "wang"), clock)
    clock.advance(hours=2)
    record_visit_outcome(demo, people["wang"], visit, "came_back", "药店又断货", clock, CALENDAR,
                         SMS)
    demo.commit()
    assert case.status is CaseStatus.HANDLING
    redo = case.deadline_changes[-1]
    assert redo.kind is DeadlineKind.REDO and redo.reason == "回访发现问题反弹"
    assert case.deadline_at == datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)  # same day, 24:00
    actions = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case.id)
        .order_by(AuditEvent.id)).all()
    assert actions[-1] == "case.visit_came_back"


def test_came_back_reopens_a_unit_case_as_a_dissatisfied_redo(demo, people, clock):
    case = closed_by_unit(demo, people, clock)
    assignment = case.assignment
    assert (assignment.returns, assignment.dissatisfied_redos or 0) == (0, 0)
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)
    outcome = record_visit_outcome(demo, people["sup"], visit, "came_back", "又缺药", clock,
                                   CALENDAR, SMS)
    demo.commit()
    assert case.status is CaseStatus.TRANSFERRED
    # The same rules as 不满意: its own ground, beside the format/quality streak, never in it.
    assert (assignment.returns, assignment.dissatisfied_redos) == (0, 1)
    (sms,) = [demo.get(Notification, nid) for nid in outcome.sms]
    assert sms.kind.value == "unit_return" and "回访发现问题反弹" in sms.body
    redo = case.deadline_changes[-1]
    assert redo.kind is DeadlineKind.REDO and redo.reason == "回访发现问题反弹"
    assert case.assignment.due_at == case.deadline_at > clock.now()


def test_cancel_needs_a_reason_and_ends_the_visit(demo, people, clock):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)
    with pytest.raises(ValidationError):
        cancel_visit(demo, people["sup"], visit, "", clock)
    cancel_visit(demo, people["sup"], visit, "联络员外出", clock)
    assert visit.status is VisitStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        cancel_visit(demo, people["sup"], visit, "again", clock)


def test_a_stale_visit_is_a_conflict(demo, people, clock, session_factory):
    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup"), clock)
    demo.commit()
    other = session_factory()
    try:
        theirs = other.get(FollowUpVisit, visit.id)
        record_visit_outcome(demo, people["sup"], visit, "solved", "", clock, CALENDAR, SMS)
        demo.commit()
        with pytest.raises(Conflict):
            record_visit_outcome(other, people["sup"], theirs, "came_back", "又缺药", clock,
                                 CALENDAR, SMS)
        other.rollback()
    finally:
        other.close()


# ---------------------------------------------------------------- the sweep and the lists
def test_the_sweep_reminds_each_visitor_once_on_the_day(demo, people, clock):
    case = closed_directly(demo, people, clock)
    people["sup"].phone = "+8613700000009"
    people["wang"].phone = ""  # his phone is on his directory entry only
    demo.commit()
    schedule_visit(demo, people["sup"], case, plan(people, "sup", "wang", day=date(2026, 11, 12)),
                   clock)
    demo.commit()
    # The day before, and the morning of the day before 08:00: nothing.
    assert not [w for w in due_work(demo, local(11, 10), CALENDAR, CONTEXT)
                if getattr(w, "kind", None) and w.kind.value == "visit_due"]
    assert not [w for w in due_work(demo, local(12, 7, 30), CALENDAR, CONTEXT)
                if getattr(w, "kind", None) and w.kind.value == "visit_due"]
    due = [w for w in due_work(demo, local(12, 8), CALENDAR, CONTEXT)
           if getattr(w, "kind", None) and w.kind.value == "visit_due"]
    # 督办员 by their own phone, 王建国 by his leader's entry (his account has none).
    assert sorted(w.recipient for w in due) == sorted(
        [("user", people["sup"].id), ("leader", people["wang"].leader_id)])
    report = run_sweep(demo, local(12, 8), CALENDAR, CONTEXT)
    demo.commit()
    assert report.reminders["visit_due"] == 2
    bodies = demo.scalars(select(Notification.body).where(
        Notification.kind == "visit_reminder")).all()
    assert len(bodies) == 2
    assert all(case.number in body and "上门" in body and "回访" in body for body in bodies)
    again = run_sweep(demo, local(12, 15), CALENDAR, CONTEXT)
    demo.commit()
    assert "visit_due" not in again.reminders
    assert len(demo.scalars(select(Reminder).where(Reminder.kind == "visit_due")).all()) == 2


def test_dutyline_sweep_dry_run_lists_the_visit_reminders(demo, settings, people, clock):
    import json

    from click.testing import CliRunner

    from cli.main import main

    case = closed_directly(demo, people, clock)
    visit = schedule_visit(demo, people["wang"], case, plan(people, "wang",
                                                            day=date(2026, 11, 12)), clock)
    demo.commit()
    result = CliRunner().invoke(main, ["sweep", "--now", "2026-11-12T08:30:00+08:00",
                                       "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    listed = [item for item in json.loads(result.output) if item.get("kind") == "visit_due"]
    assert [(i["subject"], i["to"], i["day"], i["case_id"]) for i in listed] == [
        (f"visit:{visit.id}/user:{people['wang'].id}", f"user:{people['wang'].id}",
         "2026-11-12", case.id)]
    assert demo.scalars(select(Reminder)).all() == []  # a dry run changes nothing


def test_the_reminder_speaks_english_on_an_english_site(demo, people, clock):
    case = closed_directly(demo, people, clock)
    people["sup"].phone = "+8613700000009"
    schedule_visit(demo, people["sup"], case, plan(people, "sup", method="phone"), clock)
    demo.commit()
    run_sweep(demo, local(10, 9), CALENDAR, SweepContext("https://dutyline.example", "en-US", TZ))
    (body,) = demo.scalars(select(Notification.body).where(Notification.kind == "visit_reminder"))
    assert "Follow-up visit today" in body and "by phone" in body and case.number in body


def test_due_and_overdue_visits_are_listed_for_those_who_see_the_case(demo, people, clock):
    first = closed_directly(demo, people, clock)
    second = closed_directly(demo, people, clock)
    today_visit = schedule_visit(demo, people["sup"], first, plan(people, "sup"), clock)
    later = schedule_visit(demo, people["sup"], second,
                           plan(people, "sup", day=date(2026, 11, 20)), clock)
    demo.commit()
    assert list_due_visits(demo, people["sup"], date(2026, 11, 10)) == [today_visit]
    assert list_due_visits(demo, people["sup"], date(2026, 11, 25)) == [today_visit, later]
    assert list_due_visits(demo, people["li"], date(2026, 11, 25)) == []  # not her cases
    assert list_due_visits(demo, people["wang"], date(2026, 11, 25)) == [today_visit, later]


# ---------------------------------------------------------------- the API and the pages
def test_api_schedules_lists_and_records(api, demo, people):
    case = closed_directly(demo, people, Clock(TZ))
    today = Clock(TZ).today()
    made = api("wang", "POST", f"/cases/{case.number}/visits",
               json={"due_on": today.isoformat(), "method": "phone",
                     "visitor_ids": [people["wang"].id]})
    assert made.status_code == 201, made.text
    visit = made.json
    assert (visit["status"], visit["method"], visit["case"]) == ("scheduled", "phone", case.number)
    listed = api("sup", "GET", "/visits").json
    assert [v["id"] for v in listed["visits"]] == [visit["id"]]
    assert api("li", "GET", "/visits").json["count"] == 0
    # Refusals: a unit may not see the case; the duty room sees it but may not record.
    assert api("xr", "POST", f"/visits/{visit['id']}/outcome",
               json={"outcome": "solved"}).status_code == 404
    assert api("duty", "POST", f"/visits/{visit['id']}/outcome",
               json={"outcome": "solved"}).status_code == 403
    bad = api("wang", "POST", f"/visits/{visit['id']}/outcome", json={"outcome": "great"})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "visit_outcome_invalid"
    done = api("wang", "POST", f"/visits/{visit['id']}/outcome",
               json={"outcome": "came_back", "outcome_note": "又断货"})
    assert done.status_code == 200, done.text
    assert (done.json["outcome"], done.json["case_status"]) == ("came_back", "handling")
    record = api("sup", "GET", f"/cases/{case.number}").json
    assert record["visits"][0]["outcome"] == "came_back"
    assert "case.visit_came_back" in [h["action"] for h in record["history"]]
    again = api("wang", "POST", f"/visits/{visit['id']}/outcome", json={"outcome": "solved"})
    assert again.status_code == 409


def test_api_refuses_a_visit_on_an_open_case(api, demo, people):
    case = route_case(demo, Clock(TZ))
    answer = api("sup", "POST", f"/cases/{case.number}/visits",
                 json={"due_on": Clock(TZ).today().isoformat(), "method": "phone",
                       "visitor_ids": [people["sup"].id]})
    assert answer.status_code == 409


def test_supervision_home_and_case_page_show_the_visit(client, demo, people):
    from tests.dashboard_support import sign_in

    case = closed_directly(demo, people, Clock(TZ))
    yesterday_visit = schedule_visit(demo, people["sup"], case, plan(
        people, "sup", day=Clock(TZ).today()), Clock(TZ))
    yesterday_visit.due_on = Clock(TZ).today() - timedelta(days=1)  # an overdue one
    demo.commit()
    sign_in(client, "sup")
    home = client.get("/supervision").get_data(as_text=True)
    assert f'data-visit="{yesterday_visit.id}"' in home and case.number in home
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="visits"' in page and "visit-outcome-form" in page
    sign_in(client, "wang")
    mine = client.get("/cases").get_data(as_text=True)
    assert f'data-visit="{yesterday_visit.id}"' in mine
    sign_in(client, "li")
    assert 'id="visits-due"' not in client.get("/cases").get_data(as_text=True)


def test_a_page_that_showed_an_older_visit_is_a_conflict(client, demo, people):
    from tests.dashboard_support import sign_in

    case = closed_directly(demo, people, Clock(TZ))
    visit = schedule_visit(demo, people["sup"], case, plan(people, "sup", "wang",
                                                           day=Clock(TZ).today()), Clock(TZ))
    demo.commit()
    shown = visit.version
    sign_in(client, "sup")
    first = client.post(f"/visits/{visit.id}/outcome",
                        data={"outcome": "solved", "visit_version": shown})
    assert first.status_code == 303
    sign_in(client, "wang")
    late = client.post(f"/visits/{visit.id}/outcome",
                       data={"outcome": "came_back", "outcome_note": "又断货",
                             "visit_version": shown})
    assert late.status_code == 409
    demo.expire_all()
    assert demo.get(FollowUpVisit, visit.id).outcome.value == "solved"
    assert demo.get(type(case), case.id).status is CaseStatus.CLOSED


# ---------------------------------------------------------------- one winner
class OutcomeDoor(Door):
    """`POST /api/v1/visits/ID/outcome` with a bearer token and the version read first."""

    def __init__(self, base, token, visit_id, body):
        super().__init__(base)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.visit_id, self.body = visit_id, body

    def prepare(self):
        listed = self.http.get(f"{self.base}/api/v1/visits", headers=self.headers,
                               timeout=TIMEOUT)
        assert listed.status_code == 200, listed.text
        (mine,) = [v for v in listed.json()["visits"] if v["id"] == self.visit_id]
        self.headers["If-Match"] = f'"{mine["version"]}"'

    def send(self):
        return self.http.post(f"{self.base}/api/v1/visits/{self.visit_id}/outcome",
                              json=self.body, headers=self.headers, timeout=TIMEOUT)

    def won(self) -> bool:
        if self.response.status_code == 200:
            return True
        assert self.response.status_code == 409, self.response.text
        assert self.response.json()["error"]["code"] in ("conflict", "invalid_transition")
        return False


def test_two_visitors_recording_at_once_one_wins(server, demo, people, tokens):  # noqa: F811
    case = closed_directly(demo, people, Clock(TZ))
    visit = schedule_visit(demo, people["sup"], case, plan(
        people, "sup", "wang", day=Clock(TZ).today()), Clock(TZ))
    demo.commit()
    doors = [OutcomeDoor(server, tokens["sup"], visit.id, {"outcome": "solved"}),
             OutcomeDoor(server, tokens["wang"], visit.id,
                         {"outcome": "came_back", "outcome_note": "又断货"}),
             OutcomeDoor(server, tokens["sup"], visit.id, {"outcome": "solved"}),
             OutcomeDoor(server, tokens["wang"], visit.id,
                         {"outcome": "came_back", "outcome_note": "又断货"})]
    race(*doors)

    assert sorted(door.won() for door in doors) == [False, False, False, True]
    winner = next(door for door in doors if door.won())
    demo.expire_all()
    done = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "follow_up_visits", AuditEvent.entity_id == visit.id,
        AuditEvent.action == "visit.done")).all()
    assert len(done) == 1
    stored = demo.get(FollowUpVisit, visit.id)
    assert stored.outcome.value == winner.body["outcome"]
    expected = CaseStatus.HANDLING if winner.body["outcome"] == "came_back" else CaseStatus.CLOSED
    assert demo.get(type(case), case.id).status is expected
