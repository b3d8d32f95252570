"""The bureau's deadlines: direct handling the same day, a unit's result in three working days.

The working days come from the injected `WorkingCalendar` (intake/clock.py); the clock says
which time zone "the same day" and "close of business" are in.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from intake.clock import Clock, WorkingCalendar

UNIT_RESULT_WORKING_DAYS = 3
END_OF_WORKING_DAY = time(17, 30)


def end_of_day(day: date, clock: Clock) -> datetime:
    """Return the close of business on a local date, as an aware datetime."""
    return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=clock.tz)


def same_day_deadline(start: datetime, clock: Clock) -> datetime:
    """Direct handling is due the same day: midnight at the end of the start's local date."""
    local = clock.local(start)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=clock.tz)


def unit_result_deadline(start: datetime, clock: Clock, calendar: WorkingCalendar) -> datetime:
    """A transferred case is due at close of business, three working days after the start."""
    due_day = calendar.add_working_days(clock.local(start).date(), UNIT_RESULT_WORKING_DAYS)
    return end_of_day(due_day, clock)
