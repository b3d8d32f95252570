"""Issue 17 items 6 and 7: the leader's feedback has a deadline (the end of the next working
day), is reminded at 16:00 and goes overdue once; the liaison's rating does not stall (one
reminder after 2 working days, then the duty room's rate-by-phone list after 3 more).

Every moment comes from one FixedClock, moved forward through November 2026 (no holiday):
Thursday 5, Friday 6, the weekend, Monday 9 ... Monday 16.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from intake.cases.feedback import list_to_rate_by_phone, rate_case, record_feedback
from intake.cases.handling import Confirmation, answer_case, confirm_and_route, handle_case
from intake.cases.transfers import ResultForm, accept_result, file_result, transfer_case
from intake.clock import FixedClock
from intake.directory.roster import create_user
from intake.outbox.notifications import SmsContext
from intake.statuses import CaseStatus, DeadlineKind, SupervisionCause
from intake.store.audit import Actor
from intake.store.models import (AuditEvent, Notification, Reminder, SupervisionEntry, Unit,
                                 User)
from intake.sweep import FeedbackOverdue, SweepContext, due_work, run_sweep
from intake.time.calendar import BureauCalendar
from tests.dashboard_support import make_call

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
CALENDAR = BureauCalendar()
CONTEXT = SweepContext("https://dutyline.example", "zh-CN", TZ, 10)
SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}", "zh-CN", TZ)


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    return FixedClock(local(11, 5, 10), TZ)  # Thursday 5 November 2026, 10:00


def go(clock: FixedClock, month: int, day: int, hour: int, minute: int = 0) -> FixedClock:
    """Move the one clock to a later local moment."""
    later = local(month, day, hour, minute).astimezone(timezone.utc)
    assert later >= clock.at
    clock.advance(seconds=(later - clock.at).total_seconds())
    return clock


@pytest.fixture
def people(demo):
    units = {u.name: u for u in demo.scalars(select(Unit))}
    seed = Actor("test")
    create_user(demo, username="sup", role="supervisor", name="督办员", password="dutyline-demo",
                actor=seed)
    create_user(demo, username="cg", role="unit", name="城关镇卫生院办事员",
                password="dutyline-demo", actor=seed, unit_id=units["城关镇卫生院"].id)
    demo.commit()
    users = {u.username: u for u in demo.scalars(select(User))}
    return {**users, "units": units}


@pytest.fixture
def case(demo, clock):
    call = make_call(demo)
    routed, _ = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)
    demo.commit()
    return routed


def sweep(demo, clock, ignore=("contact_duty", "weekly_digest", "overdue_digest")):
    report = run_sweep(demo, clock.now(), CALENDAR, CONTEXT)
    demo.commit()
    for kind in ignore:
        report.reminders.pop(kind, None)
    return report


def sms_of(demo, kind: str) -> list[Notification]:
    return list(demo.scalars(select(Notification).where(Notification.kind == kind)
                             .order_by(Notification.id)))


def answered_directly(demo, case, people, clock):
    handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    answer_case(demo, people["wang"], case, "已联系药店补货", clock, CALENDAR)
    demo.commit()
    return case


def test_feedback_is_due_by_the_end_of_the_next_working_day(demo, case, people, clock):
    # Answered on Thursday: feedback due Friday at close of business.
    answered_directly(demo, case, people, clock)
    assert case.feedback_due_at == local(11, 6, 17, 30)
    change = case.deadline_changes[-1]
    assert change.kind is DeadlineKind.FEEDBACK and change.new_deadline == local(11, 6, 17, 30)
    # The answer's own deadline stays in force for "answered on time".
    assert case.deadline_at == local(11, 6, 0, 0)


def test_a_unit_result_accepted_on_friday_is_to_be_fed_back_by_monday(demo, case, people, clock):
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    go(clock, 11, 6, 11)
    file_result(demo, people["cg"], case, ResultForm(
        facts_true="true", causes="配送延误", measures="已补货", liaison_opinion="满意",
        signed_by="李院长", sealed=True), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock, SMS, CALENDAR)
    demo.commit()
    assert case.status is CaseStatus.ANSWERED
    assert case.feedback_due_at == local(11, 9, 17, 30)  # over the weekend


def test_the_working_days_for_feedback_are_a_setting(demo, case, people, clock):
    handle_case(demo, people["wang"], case, "", clock, CALENDAR)
    answer_case(demo, people["wang"], case, "已处理", clock, CALENDAR, feedback_days=2)
    assert case.feedback_due_at == local(11, 9, 17, 30)  # Thursday + 2 working days


def test_the_feedback_working_days_are_read_from_the_environment(tmp_path):
    from intake.store.settings import load_settings
    env = {"DUTYLINE_INSTANCE": str(tmp_path)}
    assert load_settings(env).feedback_working_days == 1
    assert load_settings({**env, "DUTYLINE_FEEDBACK_WORKING_DAYS": "2"}).feedback_working_days == 2


def test_the_leader_is_reminded_at_16_of_feedback_due_today(demo, case, people, clock):
    answered_directly(demo, case, people, clock)
    demo.query(Reminder).delete()  # the same-day reminder is not what this test is about
    assert sweep(demo, go(clock, 11, 5, 16)).reminders == {}  # due tomorrow, not today
    assert sweep(demo, go(clock, 11, 6, 15, 59)).reminders == {}
    work = [w for w in due_work(demo, go(clock, 11, 6, 16).now(), CALENDAR, CONTEXT)
            if getattr(w, "kind", None) and w.kind.value == "feedback_due_today"]
    assert [w.to_json()["to"] for w in work] == [f"leader:{case.leader_id}"]  # the dry run
    assert sweep(demo, clock).reminders == {"feedback_due_today": 1}
    (text,) = sms_of(demo, "feedback_reminder")
    assert text.leader_id == case.leader_id
    assert text.body.startswith("【民情联线】") and "11月6日 17:30" in text.body
    assert sweep(demo, go(clock, 11, 6, 17)).reminders == {}  # once per case and day


def test_no_feedback_reminder_once_the_leader_has_fed_back(demo, case, people, clock):
    answered_directly(demo, case, people, clock)
    go(clock, 11, 6, 9)
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    assert "feedback_due_today" not in sweep(demo, go(clock, 11, 6, 16)).reminders


def test_a_missed_feedback_deadline_goes_to_supervision_once(demo, case, people, clock):
    answered_directly(demo, case, people, clock)
    assert sweep(demo, go(clock, 11, 6, 17, 29)).overdue_opened == []
    assert [w for w in due_work(demo, go(clock, 11, 6, 17, 31).now(), CALENDAR, CONTEXT)
            if isinstance(w, FeedbackOverdue)] == [
        FeedbackOverdue(case.id, case.number, local(11, 6, 17, 30))]
    assert sweep(demo, clock).overdue_opened == [case.number]
    assert sweep(demo, go(clock, 11, 7, 10)).overdue_opened == []
    assert sweep(demo, go(clock, 11, 9, 10)).overdue_opened == []
    (entry,) = demo.scalars(select(SupervisionEntry).where(
        SupervisionEntry.deadline_at == local(11, 6, 17, 30))).all()
    assert entry.cause is SupervisionCause.OVERDUE and entry.closed_at is None
    assert demo.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "case.feedback_overdue_supervised",
        AuditEvent.entity_id == case.id)) == 1
    # Feeding back late ends the supervision.
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    assert entry.closed_at == clock.now()


def fed_back_on_monday(demo, case, people, clock):
    answered_directly(demo, case, people, clock)
    go(clock, 11, 9, 10)
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    return case


def test_a_silent_liaison_gets_one_rating_reminder_after_two_working_days(
        demo, case, people, clock):
    fed_back_on_monday(demo, case, people, clock)
    assert "rating_reminder" not in sweep(demo, go(clock, 11, 10, 10)).reminders
    assert "rating_reminder" not in sweep(demo, go(clock, 11, 11, 8, 59)).reminders
    assert sweep(demo, go(clock, 11, 11, 9)).reminders.get("rating_reminder") == 1
    (text,) = sms_of(demo, "rating_reminder")
    assert text.liaison_id == case.liaison_id and text.to_number == case.liaison.phone
    assert "回复1满意" in text.body and case.number in text.body
    # Once: not again that day, nor on any later day.
    for day in (11, 12, 13, 16, 17):
        assert "rating_reminder" not in sweep(demo, go(clock, 11, day, 18)).reminders
    assert len(sms_of(demo, "rating_reminder")) == 1


def test_a_liaison_who_rated_gets_no_rating_reminder(demo, case, people, clock):
    fed_back_on_monday(demo, case, people, clock)
    go(clock, 11, 10, 12)
    rate_case(demo, people["duty"], case, "satisfied", clock, CALENDAR, SMS)
    demo.commit()
    assert "rating_reminder" not in sweep(demo, go(clock, 11, 11, 10)).reminders


def test_after_three_more_working_days_the_case_waits_on_the_duty_rooms_rate_by_phone_list(
        demo, case, people, clock):
    fed_back_on_monday(demo, case, people, clock)
    sweep(demo, go(clock, 11, 11, 9))  # the one reminder, Wednesday
    for day in (11, 12, 13):  # Wednesday to Friday: not yet
        assert list_to_rate_by_phone(demo, go(clock, 11, day, 18).now(), CALENDAR, TZ) == []
    assert list_to_rate_by_phone(demo, go(clock, 11, 14, 12).now(), CALENDAR, TZ) == []
    # Monday 16: three working days after the reminder.
    assert list_to_rate_by_phone(demo, go(clock, 11, 16, 8).now(), CALENDAR, TZ) == [case]
    # The duty officer records the rating given by phone; the case leaves the list.
    rate_case(demo, people["duty"], case, "basically_satisfied", clock, CALENDAR, SMS,
              via="phone")
    demo.commit()
    assert case.status is CaseStatus.CLOSED
    assert list_to_rate_by_phone(demo, clock.now(), CALENDAR, TZ) == []


def test_the_duty_rooms_cases_page_lists_the_cases_to_rate_by_phone_in_mandarin(
        app, client, demo, case, people, clock):
    from tests.dashboard_support import sign_in

    fed_back_on_monday(demo, case, people, clock)
    app.config["DUTYLINE_CLOCK"] = lambda: clock.now()
    sign_in(client, "duty")
    go(clock, 11, 13, 18)  # Friday: reminded, not yet waiting on the list
    assert 'id="rate-by-phone"' not in client.get("/cases").get_data(as_text=True)
    go(clock, 11, 16, 9)
    page = client.get("/cases").get_data(as_text=True)
    section = page.split('id="rate-by-phone"', 1)[1].split("</section>", 1)[0]
    assert "待电话回访评价" in section and case.number in section
    assert f'/cases/{case.id}#rate-form' in section
    # A leader's list has no such section: phoning for the rating is the duty room's.
    client.get("/logout")
    sign_in(client, "wang")
    assert 'id="rate-by-phone"' not in client.get("/cases").get_data(as_text=True)


def test_a_late_feedback_counts_against_the_feedback_rates_on_time_share(
        demo, case, people, clock):
    from intake.reports.rates import Period, compute_rates

    call = make_call(demo, from_number="+8613812340000")
    late, _ = confirm_and_route(
        demo, call.id, Confirmation(caller_name="李娜", liaison_id=call.liaison_id,
                                    summary="卫生室无人值班"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)
    answered_directly(demo, case, people, clock)
    answered_directly(demo, late, people, clock)
    go(clock, 11, 6, 17, 0)  # before Friday's 17:30: on time
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    go(clock, 11, 9, 9)  # Monday: after the deadline
    record_feedback(demo, people["wang"], late, "phone", "已电话告知", clock, SMS)
    demo.commit()
    total = compute_rates(demo, Period(date(2026, 11, 1), date(2026, 11, 30)), now=clock.now(),
                          calendar=CALENDAR).to_json()["total"]
    assert (total["fed_back"], total["fed_back_on_time"]) == (2, 1)
    assert total["feedback_rate"] == 1.0 and total["feedback_on_time_rate"] == 0.5


def test_dutyline_sweep_dry_run_lists_the_feedback_and_rating_work(demo, settings, case, people,
                                                                   clock):
    import json

    from click.testing import CliRunner

    from cli.main import main

    def dry(moment: str) -> list[dict]:
        result = CliRunner().invoke(main, ["sweep", "--now", moment, "--dry-run", "--json"])
        assert result.exit_code == 0, result.output
        return [item for item in json.loads(result.output)
                if item.get("kind") in ("feedback_due_today", "rating_reminder")
                or item["work"] == "feedback_overdue"]

    answered_directly(demo, case, people, clock)
    assert [(i["kind"], i["to"]) for i in dry("2026-11-06T16:00:00+08:00")] == [
        ("feedback_due_today", f"leader:{case.leader_id}")]
    assert dry("2026-11-06T17:45:00+08:00") == [
        {"work": "feedback_overdue", "case_id": case.id, "number": case.number,
         "deadline": local(11, 6, 17, 30).astimezone(timezone.utc).isoformat()}]
    go(clock, 11, 6, 17)
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    assert [(i["kind"], i["to"], i["day"]) for i in dry("2026-11-10T09:30:00+08:00")] == [
        ("rating_reminder", f"liaison:{case.liaison_id}", "2026-11-10")]
    assert demo.scalar(select(func.count(Reminder.id))) == 0  # a dry run changes nothing


def test_a_case_late_on_feedback_shows_as_overdue_on_the_supervision_home(
        app, client, demo, case, people, clock):
    from intake.calls.inbox import list_visible_cases
    from intake.cases.handling import describe_case
    from tests.dashboard_support import sign_in

    answered_directly(demo, case, people, clock)
    go(clock, 11, 6, 17, 0)
    assert not case.is_overdue(clock.now())
    assert list_visible_cases(demo, people["sup"], overdue_at=clock.now()) == []
    go(clock, 11, 6, 17, 31)
    assert case.is_overdue(clock.now())
    assert list_visible_cases(demo, people["sup"], overdue_at=clock.now()) == [case]
    record = describe_case(demo, case, clock.now(), tz=TZ, calendar=CALENDAR)
    assert record["overdue"] is True and record["feedback_due"].startswith("2026-11-06T17:30")
    app.config["DUTYLINE_CLOCK"] = lambda: clock.now()
    sign_in(client, "sup")
    home = client.get("/supervision").get_data(as_text=True)
    overdue = home.split('id="overdue"', 1)[1].split("</section>", 1)[0]
    assert case.number in overdue and "2026-11-06 17:30" in overdue
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    assert not case.is_overdue(clock.now())


def test_the_morning_digest_names_the_cases_late_on_feedback(demo, case, people, clock):
    people["sup"].phone = "+8613900000088"
    # The demo's own 督办室 account has a phone too; this test reads the digest "sup" gets.
    demo.scalar(select(User).where(User.username == "duban")).phone = ""
    answered_directly(demo, case, people, clock)  # feedback due Friday 6, 17:30
    call = make_call(demo, "+8613812340000")
    other = confirm_and_route(
        demo, call.id, Confirmation(caller_name="刘芳", liaison_id=call.liaison_id,
                                    summary="乡卫生院缺医生"),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", clock)[0]
    demo.commit()
    # Friday 08:00: nothing late yet but the other case's same-day deadline (Thursday).
    sweep(demo, go(clock, 11, 6, 8), ignore=())
    (friday,) = sms_of(demo, "overdue_digest")
    assert friday.body.startswith("【民情联线】督办：超期未办结案件1件：")
    assert other.number in friday.body and case.number not in friday.body
    # Monday 08:00: the answered case missed its feedback deadline; both are named.
    sweep(demo, go(clock, 11, 9, 8), ignore=())
    monday = sms_of(demo, "overdue_digest")[-1]
    assert monday.body.startswith("【民情联线】督办：超期未办结案件1件、逾期未向联络员反馈1件：")
    assert f"{case.number}（未反馈）" in monday.body and other.number in monday.body
    digest = demo.scalars(select(AuditEvent).where(AuditEvent.action == "sms.digest")
                          .order_by(AuditEvent.id)).all()[-1]
    assert digest.after["feedback_late"] == [case.number]
    # Once the other case is answered and fed back in time, only the late feedback is left.
    handle_case(demo, people["wang"], other, "", clock, CALENDAR)
    answer_case(demo, people["wang"], other, "已协调", clock, CALENDAR)
    record_feedback(demo, people["wang"], other, "phone", "", clock, SMS)
    demo.commit()
    sweep(demo, go(clock, 11, 10, 8), ignore=())
    tuesday = sms_of(demo, "overdue_digest")[-1]
    assert tuesday.body.startswith(f"【民情联线】督办：逾期未向联络员反馈案件1件：{case.number}（未反馈）")
