"""Deadlines as a person reads them, and as time left, in the UI language.

The history sentences themselves come from intake/cases/history.py, which the JSON API uses too,
so the page and the API cannot word a case differently.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from web.services import get_settings


def deadline_text(value: datetime | None) -> str:
    """Write a deadline in the bureau's time zone; midnight reads as 24:00 of the day before."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(get_settings().timezone))
    if (local.hour, local.minute) == (0, 0):
        # "Due the same day" is stored as the next midnight; people read it as that day, 24:00.
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def time_left(deadline: datetime | None, now: datetime) -> str:
    """Say how long is left until a deadline ("2 days 3 h left"), or how long it is overdue."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    hours = abs(seconds) // 3600
    days, hours = divmod(hours, 24)
    if days:
        span = _("%(days)s d %(hours)s h", days=days, hours=hours)
    else:
        span = _("%(hours)s h %(minutes)s min", hours=hours, minutes=abs(seconds) % 3600 // 60)
    if seconds < 0:
        return _("overdue by %(span)s", span=span)
    return _("%(span)s left", span=span)
