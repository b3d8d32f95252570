"""One clock and one working-day calendar, injected into every case transition.

Transitions never read the system time themselves: they take a `Clock`, so a test (or
`dutyline sweep --now`) can run the rules at any moment, and a `WorkingCalendar`, so the
bureau's own holiday entries (intake/time/calendar.py subclasses it) apply everywhere at once.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


BUREAU_TIMEZONE = "Asia/Shanghai"


class Clock:
    """The current time, aware and in UTC, and the bureau's time zone."""

    def __init__(self, tz: str = BUREAU_TIMEZONE):
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        """Return the current moment as an aware UTC datetime."""
        return datetime.now(timezone.utc)

    def local(self, moment: datetime | None = None) -> datetime:
        """Return a moment (default: now) in the bureau's time zone."""
        return (moment or self.now()).astimezone(self.tz)

    def today(self) -> date:
        """Return the bureau's local date."""
        return self.local().date()


class FixedClock(Clock):
    """A clock that says what it is told; for tests and for replaying a given moment."""

    def __init__(self, at: datetime, tz: str = BUREAU_TIMEZONE):
        super().__init__(tz)
        if at.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> "FixedClock":
        """Move the clock forward by a timedelta's keyword arguments; return itself."""
        self.at += timedelta(**delta)
        return self


class WorkingCalendar(Protocol):
    """What a transition asks of the working-day calendar.

    The one implementation is intake.time.calendar.BureauCalendar: the State Council's notices
    (the `chinese_calendar` package), the bureau's own entries on top, and an estimate of the
    statutory holidays for a year with neither, whose days are provisional.
    """

    def is_working_day(self, day: date) -> bool: ...

    def is_provisional(self, day: date) -> bool: ...

    def add_working_days(self, start: date, days: int) -> date: ...
