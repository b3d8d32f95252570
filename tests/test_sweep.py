"""The sweep as a question (due_work at any `now`) and its side effect applied once: overdue
entries once per deadline, unit/leader/digest/contact reminders in Mandarin within their
hours, urgent alerts up the chain; twice at the same moment changes nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.clock import FixedClock
from intake.directory.contacts import log_contact
from intake.directory.roster import create_user
from intake.time.calendar import BureauCalendar
from intake.cases.replies import handle_inbound_sms
from intake.store.models import (AuditEvent, Call, Leader, Liaison, Notification, Reminder,
                                 SupervisionEntry, Unit, User)
from intake.outbox.notifications import SmsContext, count_segments
from intake.statuses import ReminderKind
from intake.cases.supervision import extend_deadline
from intake.sweep import DueReminder, OverdueCase, SweepContext, due_work, run_sweep
from intake.cases.transfers import transfer_case
from tests.dashboard_support import make_call

TZ = ZoneInfo("Asia/Shanghai")
# Tuesday 29 September 2026, 10:00 in Shanghai; a transfer then is due Friday 9 October
# 17:30 (1–7 October are the National Day holiday).
TUESDAY = datetime(2026, 9, 29, 10, 0, tzinfo=TZ)
CALENDAR = BureauCalendar()
CONTEXT = SweepContext("https://dutyline.example", "zh-CN", "Asia/Shanghai", 10)
SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}", "zh-CN",
                 "Asia/Shanghai")


def at(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def people(demo):
    units = {u.name: u for u in demo.scalars(select(Unit))}
    seed = Actor("test")
    create_user(demo, username="sup", role="supervisor", name="督办员", phone="+8613900000077",
                password="dutyline-demo", actor=seed)
    create_user(demo, username="sup2", role="supervisor", name="督办员二",
                password="dutyline-demo", actor=seed)  # no phone: gets no SMS
    users = {u.username: u for u in demo.scalars(select(User))}
    # The demo's 督办室 has a phone (issue 19 item 1); here the office's SMS are counted on
    # sup (a phone) and sup2 (none) alone.
    users["duban"].phone = ""
    demo.commit()
    return {**users, "units": units}


def route(demo, when: datetime, phone="+8613812345678", urgent=False):
    call = make_call(demo, from_number=phone)
    case, _ = confirm_and_route(
        demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id,
                                    summary="药店没有降压药", urgent=urgent),
        Actor("user:duty", name="值班员小周"), SMS.case_link, "zh-CN", FixedClock(when))
    demo.commit()
    return case


def sweep(demo, when: datetime, ignore=("contact_duty", "bulletin_ready")):
    """Run the sweep at a moment; leave out the kinds a test is not about (the 29th is past
    the 25th, so members owe their monthly calls in every September test; 8 October is the
    first working day of the month and the quarter, when the office hears of the bulletins:
    tests/test_bulletin_archive.py)."""
    report = run_sweep(demo, when.astimezone(timezone.utc), CALENDAR, CONTEXT)
    demo.commit()
    for kind in ignore:
        report.reminders.pop(kind, None)
    return report


def sms_of(demo, kind: str) -> list[Notification]:
    return list(demo.scalars(select(Notification).where(Notification.kind == kind)
                             .order_by(Notification.id)))


def test_units_are_reminded_the_working_day_before_and_on_the_day(demo, people):
    case = route(demo, TUESDAY)
    unit = people["units"]["城关镇卫生院"]
    transfer_case(demo, people["wang"], case, unit.id, FixedClock(TUESDAY), CALENDAR, SMS)
    demo.commit()
    assert case.deadline_at == at(10, 9, 17, 30)
    # 7 October is a holiday: no "due tomorrow" then, though 8 October is a working day.
    assert [w for w in due_work(demo, at(10, 7, 10), CALENDAR, CONTEXT)
            if isinstance(w, DueReminder)] == []
    assert due_work(demo, at(10, 8, 7, 59), CALENDAR, CONTEXT) == []  # before 08:00
    first = sweep(demo, at(10, 8, 9))
    assert first.reminders == {"unit_due_tomorrow": 1}
    again = sweep(demo, at(10, 8, 9))
    assert not again.changed and again.sms == []
    sweep(demo, at(10, 8, 15))  # later the same day: still once
    (tomorrow,) = sms_of(demo, "unit_reminder")
    assert tomorrow.unit_id == unit.id and tomorrow.case_id == case.id
    assert tomorrow.body.startswith("【民情联线】提醒：案件") and "10月9日 17:30" in tomorrow.body
    assert tomorrow.segments == count_segments(tomorrow.body) <= 2
    # The day itself, but not in the quiet hours.
    assert sweep(demo, at(10, 9, 6, 30)).reminders == {}
    assert sweep(demo, at(10, 9, 8)).reminders == {"unit_due_today": 1}
    assert "今天" in sms_of(demo, "unit_reminder")[-1].body
    reminders = demo.scalars(select(Reminder).where(Reminder.kind != "bulletin_ready")
                             .order_by(Reminder.id)).all()
    assert [(r.kind.value, r.subject, r.day) for r in reminders] == [
        ("unit_due_tomorrow", f"case:{case.id}", date(2026, 10, 8)),
        ("unit_due_today", f"case:{case.id}", date(2026, 10, 9))]
    assert all(r.notification_id for r in reminders)
    history = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case.id)).all()
    assert history.count("case.reminded") == 2


def test_a_leader_hears_at_16_00_of_a_same_day_case_not_yet_answered(demo, people):
    case = route(demo, TUESDAY)
    assert sweep(demo, at(9, 29, 15, 59)).reminders == {}
    assert sweep(demo, at(9, 29, 16, 0)).reminders == {"leader_same_day": 1}
    (text,) = sms_of(demo, "leader_reminder")
    assert text.leader_id == case.leader_id and "须今日办结" in text.body
    assert sweep(demo, at(9, 29, 18)).reminders == {}


def test_quiet_hours_hold_reminders_back_except_urgent_ones(demo, people):
    calm = route(demo, TUESDAY)
    urgent = route(demo, TUESDAY, phone="+8613812340000", urgent=True)
    report = sweep(demo, at(9, 29, 22, 30))
    assert report.reminders == {"leader_same_day": 1}
    (text,) = sms_of(demo, "leader_reminder")
    assert text.case_id == urgent.id != calm.id


def test_overdue_opens_one_entry_per_deadline_and_the_office_gets_a_digest(demo, people):
    case = route(demo, TUESDAY)
    sweep(demo, at(9, 29, 23, 59))
    assert demo.scalar(select(func.count(SupervisionEntry.id))) == 0
    # Past midnight: overdue, in the quiet hours, so the entry opens but no digest is sent.
    report = sweep(demo, at(9, 30, 0, 5))
    assert report.overdue_opened == [case.number] and report.sms == []
    assert sweep(demo, at(9, 30, 0, 5)).overdue_opened == []
    # 08:00 on a working day: the digest, to the supervisor with a phone only.
    digest = sweep(demo, at(9, 30, 8, 0))
    assert digest.overdue_opened == [] and digest.reminders == {"overdue_digest": 1}
    (text,) = sms_of(demo, "overdue_digest")
    assert text.user_id == people["sup"].id and case.number in text.body
    assert "超期未办结案件1件" in text.body
    # The deadline has passed, so only the office may set a new date (issue 16 item 5);
    # once that one passes too, a second entry opens.
    demo.refresh(case)
    from intake.cases.handling import handle_case
    handle_case(demo, people["wang"], case, "", FixedClock(at(9, 30, 9)), CALENDAR)
    extend_deadline(demo, people["sup"], case, at(10, 9, 17, 30), "需要协调药企",
                    FixedClock(at(9, 30, 9)))
    demo.commit()
    assert sweep(demo, at(10, 8, 10)).overdue_opened == []
    assert sweep(demo, at(10, 9, 18)).overdue_opened == [case.number]
    entries = demo.scalars(select(SupervisionEntry).order_by(SupervisionEntry.id)).all()
    assert [(e.cause.value, e.deadline_at) for e in entries] == [
        ("overdue", at(9, 30, 0)), ("overdue", at(10, 9, 17, 30))]


def test_a_long_digest_stays_within_two_segments(demo, people):
    for _ in range(12):
        route(demo, TUESDAY)
    sweep(demo, at(9, 30, 9))
    (text,) = sms_of(demo, "overdue_digest")
    assert count_segments(text.body) <= 2 and "等" in text.body and "12件" in text.body


def test_members_who_owe_calls_are_reminded_from_the_25th(demo, people):
    wang = demo.scalar(select(Leader).where(Leader.name == "王建国"))
    zhang = demo.scalar(select(Liaison).where(Liaison.name == "张伟"))
    log_contact(demo, wang, zhang, Actor("test"), on=date(2026, 11, 3), today=date(2026, 11, 3))
    demo.commit()
    assert sweep(demo, at(11, 24, 10), ignore=()).reminders == {}
    assert sweep(demo, at(11, 25, 8, 59), ignore=()).reminders == {}
    assert sweep(demo, at(11, 25, 9), ignore=()).reminders == {"contact_duty": 2}
    texts = {n.leader_id: n.body for n in sms_of(demo, "contact_reminder")}
    assert "刘芳" in texts[wang.id] and "张伟" not in texts[wang.id]
    assert sweep(demo, at(11, 26, 9), ignore=()).reminders == {}  # once a month


def test_an_unacknowledged_urgent_call_goes_up_the_chain(demo, people):
    wang = demo.scalar(select(Leader).where(Leader.name == "王建国"))
    li = demo.scalar(select(Leader).where(Leader.name == "李红"))
    head = Leader(name="赵局长", phone="+8613900000099", is_head=True, active=True)
    demo.add(head)
    demo.flush()
    wang.reports_to_id = li.id
    li.reports_to_id = head.id
    call = make_call(demo)
    call.urgent, call.started_at, call.recorded_at = True, at(11, 26, 2), at(11, 26, 2)
    alert = Notification(kind="urgent_alert", call_id=call.id, leader_id=wang.id,
                         to_number=wang.phone, body="急", created_at=at(11, 26, 2, 1))
    demo.add(alert)
    demo.commit()
    assert sweep(demo, at(11, 26, 2, 10)).reminders == {}
    first = sweep(demo, at(11, 26, 2, 11))  # in the quiet hours: urgent goes anyway
    assert first.reminders == {"urgent_escalation": 1}
    assert [n.leader_id for n in sms_of(demo, "urgent_escalation")] == [li.id]
    assert sweep(demo, at(11, 26, 2, 15)).reminders == {}
    sweep(demo, at(11, 26, 2, 21))
    assert [n.leader_id for n in sms_of(demo, "urgent_escalation")] == [li.id, head.id]
    body = sms_of(demo, "urgent_escalation")[-1].body
    assert "急事留言" in body and call.reference in body and "20分钟" in body
    # 李红 replies "1" to her alert: she has taken it on, and it goes no further up.
    reply = handle_inbound_sms(demo, li.phone, "1", "SMack1", Actor("twilio"), "zh-CN",
                               FixedClock(at(11, 26, 2, 22)), CALENDAR, SMS)
    demo.commit()
    assert reply.reply == f"已确认您接手急事留言{call.reference}，不再向上级报告。"
    assert demo.get(Call, call.id).urgent_acknowledged_by == f"sms:{li.phone}"
    head.is_head, wang.is_head = False, True  # even a head named later hears nothing
    demo.commit()
    assert sweep(demo, at(11, 26, 2, 40)).reminders == {}


def test_due_work_is_a_question_that_writes_nothing(demo, people):
    route(demo, TUESDAY)
    work = [w for w in due_work(demo, at(9, 30, 9).astimezone(timezone.utc), CALENDAR, CONTEXT)
            if getattr(w, "kind", None) != ReminderKind.CONTACT_DUTY]
    assert [type(w) for w in work] == [OverdueCase, DueReminder]
    assert work[1].to_json()["to"] == f"user:{people['sup'].id}"
    assert demo.scalar(select(func.count(Reminder.id))) == 0
    assert demo.scalar(select(func.count(SupervisionEntry.id))) == 0


def test_an_extension_is_told_to_the_office_which_may_overrule_it(demo, people):
    from intake.exceptions import Forbidden, ValidationError
    from intake.cases.supervision import overrule_extension
    from intake.cases.transfers import transfer_case as transfer

    case = route(demo, TUESDAY)
    unit = people["units"]["城关镇卫生院"]
    clock = FixedClock(TUESDAY)
    transfer(demo, people["wang"], case, unit.id, clock, CALENDAR, SMS)
    demo.commit()
    in_force = case.deadline_at
    for deadline, reason, code in ((in_force, "需要协调", "deadline_not_later"),
                                   (in_force - timedelta(days=1), "需要协调", "deadline_not_later"),
                                   (in_force + timedelta(days=2), "   ", "reason_required")):
        with pytest.raises(ValidationError) as refused:
            extend_deadline(demo, people["wang"], case, deadline, reason, clock, SMS)
        assert refused.value.code == code
    assert case.deadline_at == in_force and len(case.deadline_changes) == 2
    outcome = extend_deadline(demo, people["wang"], case, at(10, 16, 17, 30), "需要协调药企供货",
                              clock, SMS)
    assert case.deadline_at == at(10, 16, 17, 30)  # at once
    (notice,) = [demo.get(Notification, nid) for nid in outcome.sms]
    assert notice.user_id == people["sup"].id and "10月16日 17:30" in notice.body
    assert "需要协调药企供货" in notice.body and count_segments(notice.body) <= 2
    with pytest.raises(Forbidden):
        overrule_extension(demo, people["wang"], case, "不同意", clock)
    with pytest.raises(ValidationError) as bare:
        overrule_extension(demo, people["sup"], case, "", clock)
    assert bare.value.code == "reason_required"
    overruled = overrule_extension(demo, people["sup"], case, "供货不是理由，按原期限办结", clock,
                                   sms=SMS)
    demo.commit()
    assert case.deadline_at == in_force
    # The leader asked for it, so the leader is told the deadline is back (issue 19 item 1).
    (told,) = [demo.get(Notification, nid) for nid in overruled.sms]
    assert told.leader_id == case.leader.id and told.kind.value == "extension_overruled"
    assert "驳回" in told.body and "10月9日 17:30" in told.body and "供货不是理由" in told.body
    assert [(c.kind.value, c.new_deadline) for c in case.deadline_changes] == [
        ("same_day", at(9, 30, 0)), ("transfer", in_force),
        ("extension", at(10, 16, 17, 30)), ("overruled", in_force)]
    with pytest.raises(ValidationError) as twice:
        overrule_extension(demo, people["sup"], case, "再驳回", clock)
    assert twice.value.code == "no_extension"


def test_a_calendar_change_recounts_transferred_cases_not_extended_ones(demo, people):
    from intake.time.calendar import (Entry, EntryInput, import_calendar_entries,
                                      remove_calendar_entry, set_calendar_entry)
    from intake.store.models import DayKind

    unit = people["units"]["城关镇卫生院"]
    clock = FixedClock(TUESDAY)
    counted = route(demo, TUESDAY)
    extended = route(demo, TUESDAY, phone="+8613812340000")
    direct = route(demo, TUESDAY, phone="+8613712345678")
    for case in (counted, extended):
        transfer_case(demo, people["wang"] if case.leader.name == "王建国" else people["li"],
                      case, unit.id, clock, CALENDAR, SMS)
    extend_deadline(demo, people["wang"], extended, at(10, 20, 17, 30), "等待检验报告", clock)
    demo.commit()
    assert counted.deadline_at == at(10, 9, 17, 30)
    admin = Actor("user:admin", name="管理员")
    set_calendar_entry(demo, EntryInput(date(2026, 10, 8), DayKind.HOLIDAY, "本局调休"), admin,
                       clock=clock)
    demo.commit()
    with_entry = BureauCalendar([Entry(date(2026, 10, 8), DayKind.HOLIDAY)])
    moved_to = with_entry.add_working_days(date(2026, 9, 29), 3)
    assert moved_to > date(2026, 10, 9)
    demo.refresh(counted)
    assert counted.deadline_at.astimezone(TZ).date() == moved_to
    assert counted.deadline_changes[-1].kind.value == "recomputed"
    assert "2026-10-08" in counted.deadline_changes[-1].reason
    assert extended.deadline_at == at(10, 20, 17, 30)
    assert direct.deadline_at == at(9, 30, 0)
    assert "case.deadline_recomputed" in demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == counted.id)).all()
    remove_calendar_entry(demo, date(2026, 10, 8), admin, clock=clock)
    demo.commit()
    demo.refresh(counted)
    assert counted.deadline_at == at(10, 9, 17, 30)
    # An import recounts once, after all its rows are in.
    import_calendar_entries(demo, [["2026-10-08", "holiday", "本局调休"],
                                   ["2026-10-09", "holiday", "本局调休"]], admin, clock=clock)
    demo.commit()
    demo.refresh(counted)
    assert [c.kind.value for c in counted.deadline_changes].count("recomputed") == 3
    assert counted.deadline_at.astimezone(TZ).date() > moved_to


# Monday 30 November 2026: the digest covers Monday 23 to Sunday 29 November.
def test_the_office_gets_last_weeks_digest_on_monday_from_09_00_once(demo, people):
    route(demo, at(11, 24, 10))
    route(demo, at(11, 25, 15))
    route(demo, at(11, 30, 8, 30))  # this week's: not in last week's counts

    def weekly(when):
        return sweep(demo, when).reminders.get("weekly_digest", 0)

    assert weekly(at(11, 29, 10)) == 0  # Sunday
    assert weekly(at(11, 30, 8)) == 0  # Monday, before 09:00
    assert weekly(at(11, 30, 9)) == 1  # sup; sup2 has no phone
    assert weekly(at(11, 30, 9, 30)) == 0  # not twice
    assert not [w for w in due_work(demo, at(11, 30, 14).astimezone(timezone.utc), CALENDAR,
                                    CONTEXT) if getattr(w, "kind", None) == "weekly_digest"]
    (text,) = sms_of(demo, "weekly_digest")
    assert text.user_id == people["sup"].id and text.to_number == "+8613900000077"
    assert text.body.startswith("民情周报 11月23日至11月29日：受理2件")
    assert text.segments == count_segments(text.body) <= 3
    (row,) = demo.scalars(select(Reminder).where(Reminder.kind == "weekly_digest"))
    assert (row.subject, row.day, row.notification_id) == (
        f"user:{people['sup'].id}", date(2026, 11, 30), text.id)
    # The next Monday brings the next week's digest.
    assert weekly(at(12, 7, 9, 5)) == 1
    assert sms_of(demo, "weekly_digest")[1].body.startswith("民情周报 11月30日至12月6日：受理1件")


def test_a_long_weekly_digest_names_fewer_items_to_fit_its_segments():
    from intake.store.models import Case
    from intake.reports.rates import Period
    from intake.reports.weekly import WeeklyAnalysis, compose_weekly_digest

    analysis = WeeklyAnalysis(
        week=Period(date(2026, 11, 23), date(2026, 11, 29)), received=40,
        by_category=[(f"医疗保障与药品供应类别{n}", 9 - n) for n in range(5)],
        by_township=[(f"城关镇东门社区第{n}片区", 9 - n) for n in range(5)],
        topics=[(f"降压药断供问题{n}", 5) for n in range(5)],
        open_cases=[Case(number=f"2026-{n:06d}") for n in range(12)])
    full = compose_weekly_digest(analysis)
    assert count_segments(full) > 2 and "2026-000002" in full
    for segments in (1, 2, 3):
        text = compose_weekly_digest(analysis, max_segments=segments)
        assert "受理40件" in text and "超一周未办结12件" in text
        assert count_segments(text) <= max(segments, count_segments(
            compose_weekly_digest(analysis, max_segments=0)))
    two = compose_weekly_digest(analysis, max_segments=2)
    assert count_segments(two) <= 2 and two != full
