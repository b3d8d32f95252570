"""Deadlines in Chinese working days: statutory holidays off, adjusted weekend workdays on.

`chinese_calendar` carries the State Council's yearly holiday notices; for a year it does not
know yet, it raises NotImplementedError and we fall back to Monday–Friday, which is what the
bureau would assume until the notice is published.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

UNIT_RESULT_WORKING_DAYS = 3
END_OF_WORKING_DAY = time(17, 30)


def is_working_day(day: date) -> bool:
    """Tell whether a date is a working day in mainland China."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """Return the date that is `days` working days after `start` (start itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def end_of_day(day: date, tz: str) -> datetime:
    """Return the close of business on a day, as an aware datetime."""
    return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=ZoneInfo(tz))


def same_day_deadline(now: datetime, tz: str) -> datetime:
    """Direct handling is due the same day: midnight at the end of today, local time."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


def unit_result_deadline(now: datetime, tz: str) -> datetime:
    """A transferred case is due at close of business, three working days later."""
    local = now.astimezone(ZoneInfo(tz))
    return end_of_day(add_working_days(local.date(), UNIT_RESULT_WORKING_DAYS), tz)
