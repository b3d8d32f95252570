"""The one rule of a calendar recount (issue 19 item 8): every deadline counted in working days
that has not passed is counted again, an overruling that put a count back included; a date a
person chose (an extension, an overruling to the office's own date) stays; and the recount
claims each case like every action, so it never undoes an extension committed meanwhile."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from intake.clock import FixedClock
from intake.cases.supervision import extend_deadline, overrule_extension
from intake.cases.transfers import transfer_case
from intake.store.audit import Actor
from intake.store.models import Case, DayKind
from intake.time.calendar import Entry, EntryInput, set_calendar_entry
from intake.time.deadlines import recompute_deadlines
from tests.case_support import CALENDAR, SHANGHAI, SMS, TUESDAY, route_case

ADMIN = Actor("user:admin", name="管理员")


def at(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def _transferred(demo, people, when=TUESDAY):
    clock = FixedClock(when)
    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    demo.commit()
    return case


def test_a_holiday_recounts_counted_and_restored_deadlines_and_keeps_chosen_dates(demo, people):
    clock = FixedClock(TUESDAY)
    counted = _transferred(demo, people)
    extended = _transferred(demo, people)
    restored = _transferred(demo, people)
    own_date = _transferred(demo, people)
    assert counted.deadline_at == at(10, 9, 17, 30)  # 1–7 October are the National Day holiday
    for case in (extended, restored, own_date):
        extend_deadline(demo, people["wang"], case, at(10, 20, 17, 30), "等待检验报告", clock)
    # Case 7 of the issue: the office overruled, and the count was back in force.
    overrule_extension(demo, people["sup"], restored, "理由不足", clock)
    overrule_extension(demo, people["sup"], own_date, "理由不足", clock, at(10, 12, 17, 30))
    demo.commit()
    assert restored.deadline_at == at(10, 9, 17, 30)

    set_calendar_entry(demo, EntryInput(date(2026, 10, 9), DayKind.HOLIDAY, "本局调休"), ADMIN,
                       clock=clock.advance(days=1))
    demo.commit()
    for case in (counted, extended, restored, own_date):
        demo.refresh(case)
    assert counted.deadline_at == at(10, 10, 17, 30)  # Saturday 10 October 2026 is a workday
    assert restored.deadline_at == at(10, 10, 17, 30)
    assert restored.deadline_changes[-1].kind.value == "recomputed"
    assert extended.deadline_at == at(10, 20, 17, 30)
    assert extended.deadline_changes[-1].kind.value == "extension"
    assert own_date.deadline_at == at(10, 12, 17, 30)
    assert own_date.deadline_changes[-1].kind.value == "overruled"


def test_a_deadline_that_has_passed_is_not_recounted(demo, people):
    late = _transferred(demo, people)
    due = late.deadline_at
    after_it = FixedClock(due + timedelta(hours=1))
    set_calendar_entry(demo, EntryInput(date(2026, 10, 8), DayKind.HOLIDAY, "本局调休"), ADMIN,
                       clock=after_it)
    demo.commit()
    demo.refresh(late)
    assert late.deadline_at == due and late.deadline_changes[-1].kind.value == "transfer"
    # The same change before the deadline moves it.
    set_calendar_entry(demo, EntryInput(date(2026, 10, 8), DayKind.HOLIDAY, "本局调休（重录）"),
                       ADMIN, clock=FixedClock(TUESDAY))
    demo.commit()
    demo.refresh(late)
    assert late.deadline_at > due


def test_a_recount_never_undoes_an_extension_made_at_the_same_moment(demo, people,
                                                                     session_factory):
    case = _transferred(demo, people)
    clock = FixedClock(TUESDAY)
    recounting = session_factory()
    try:
        # The recount reads the case while its counted deadline is in force...
        seen = recounting.get(Case, case.id)
        _ = (seen.version, seen.deadline_at, list(seen.deadline_changes))
        # ...and meanwhile the leader's extension commits.
        extend_deadline(demo, people["wang"], case, at(10, 20, 17, 30), "等待检验报告", clock)
        demo.commit()
        calendar = CALENDAR.with_entries([Entry(date(2026, 10, 9), DayKind.HOLIDAY)])
        moved = recompute_deadlines(recounting, calendar, clock, ADMIN, "工作日历变更")
        recounting.commit()
        assert moved == []
    finally:
        recounting.close()
    demo.expire_all()
    kept = demo.get(Case, case.id)
    assert kept.deadline_at == at(10, 20, 17, 30)
    assert [c.kind.value for c in kept.deadline_changes][-1] == "extension"
    assert "recomputed" not in [c.kind.value for c in kept.deadline_changes]
    assert demo.scalar(select(Case.version).where(Case.id == case.id)) == kept.version


def test_an_overruling_after_a_calendar_change_restores_the_count_on_todays_calendar(demo,
                                                                                     people):
    """The extension was in force when the calendar changed, so the recount left it; the
    overruling puts the count back, counted on the calendar as it is now."""
    clock = FixedClock(TUESDAY)
    case = _transferred(demo, people)
    extend_deadline(demo, people["wang"], case, at(10, 20, 17, 30), "等待检验报告", clock)
    demo.commit()
    set_calendar_entry(demo, EntryInput(date(2026, 10, 9), DayKind.HOLIDAY, "本局调休"), ADMIN,
                       clock=clock)
    demo.commit()
    demo.refresh(case)
    assert case.deadline_at == at(10, 20, 17, 30)  # a date chosen: not recounted
    from intake.time.calendar import load_calendar

    overrule_extension(demo, people["sup"], case, "理由不足", clock, calendar=load_calendar(demo))
    demo.commit()
    demo.refresh(case)
    assert case.deadline_at == at(10, 10, 17, 30)
    assert [c.kind.value for c in case.deadline_changes][-2:] == ["overruled", "recomputed"]
