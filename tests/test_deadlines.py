"""Working-day deadlines follow China's holiday notices, with adjusted weekend workdays."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.clock import Clock, FixedClock
from intake.time.calendar import BureauCalendar
from intake.time.deadlines import same_day_deadline, unit_result_deadline

SHANGHAI = "Asia/Shanghai"
CALENDAR = BureauCalendar()
CLOCK = Clock(SHANGHAI)


@pytest.mark.parametrize("day, working", [
    (date(2026, 9, 21), True),    # an ordinary Monday
    (date(2026, 9, 20), True),    # a Sunday made a workday for the Mid-Autumn holiday
    (date(2026, 9, 25), False),   # Mid-Autumn Festival, a Friday
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 10), True),   # a Saturday made a workday after National Day
    (date(2026, 10, 11), False),  # an ordinary Sunday
])
def test_is_working_day_follows_the_holiday_notice(day, working):
    assert CALENDAR.is_working_day(day) is working
    assert CALENDAR.is_provisional(day) is False


def test_three_working_days_skip_the_national_day_holiday():
    # Transferred on Tuesday 29 September: 30 Sep is a workday, 1–7 Oct are off,
    # then Thursday 8 and Friday 9 October.
    assert CALENDAR.add_working_days(date(2026, 9, 29), 3) == date(2026, 10, 9)


def test_three_working_days_count_an_adjusted_saturday():
    # From Friday 9 October: Saturday 10 October is a workday, then Monday 12 and Tuesday 13.
    assert CALENDAR.add_working_days(date(2026, 10, 9), 3) == date(2026, 10, 13)


def test_a_year_without_a_notice_falls_back_to_monday_to_friday_and_is_provisional():
    # chinese_calendar has no data for 2030 yet: weekends are off, weekdays on.
    assert CALENDAR.add_working_days(date(2030, 1, 4), 3) == date(2030, 1, 9)
    assert CALENDAR.is_provisional(date(2030, 1, 9)) is True


def test_unit_result_deadline_is_close_of_business_local_time():
    late_evening_utc = datetime(2026, 9, 28, 17, 0, tzinfo=timezone.utc)  # 01:00 on 29 Sep, Shanghai
    deadline = unit_result_deadline(late_evening_utc, CLOCK, CALENDAR)
    assert deadline == datetime(2026, 10, 9, 17, 30, tzinfo=ZoneInfo(SHANGHAI))


def test_direct_handling_is_due_by_local_midnight():
    noon = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
    assert same_day_deadline(noon, CLOCK) == datetime(2026, 11, 27, 0, 0,
                                                      tzinfo=ZoneInfo(SHANGHAI))


def test_a_fixed_clock_reports_utc_and_the_bureau_date():
    clock = FixedClock(datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc))
    assert clock.now().tzinfo == timezone.utc
    assert clock.today() == date(2027, 1, 1)  # 01:30 on 1 January in Beijing
    assert clock.advance(hours=1).now() == datetime(2026, 12, 31, 18, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))
