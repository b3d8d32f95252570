"""Duty hours: a weekly schedule with date exceptions, and the duty phone, kept in the database.

Public holidays and adjusted workdays are not kept here but in the working calendar
(intake.time.calendar), the same one deadlines use: the duty phone is not staffed on a holiday, and
an adjusted workday keeps weekday hours. A date exception still wins over both.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.exceptions import NotFound, ValidationError
from intake.time.calendar import BureauCalendar, load_calendar
from intake.store.models import DutyException, DutyPeriod, SettingValue
from intake.directory.phones import require_phone

DUTY_PHONE_KEY = "duty_phone"
PROMPT_AUDIO_PREFIX = "prompt_audio."
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = "24:00"


def parse_weekday(text: str) -> int:
    """Read a weekday as mon..sun (or a longer English name) or 0..6, 0 = Monday."""
    cleaned = str(text).strip().lower()
    if cleaned.isdigit() and 0 <= int(cleaned) <= 6:
        return int(cleaned)
    if len(cleaned) >= 3 and cleaned[:3] in WEEKDAYS:
        return WEEKDAYS.index(cleaned[:3])
    raise ValidationError(f"{text!r} is not a weekday (mon..sun or 0..6, 0 = Monday)",
                          field="weekday", code="weekday_invalid")


def parse_clock(text: str, field: str = "time") -> time:
    """Read a time of day as HH:MM; 24:00 is the end of the day."""
    cleaned = str(text).strip()
    if cleaned == END_OF_DAY:
        return time.max  # the end of the day, for a window that runs to midnight
    try:
        return datetime.strptime(cleaned, "%H:%M").time()
    except ValueError:
        raise ValidationError(f"{text!r} is not a time of day like 08:30", field=field,
                              code="clock_invalid") from None


def parse_duty_day(text: str) -> date:
    """Read a date as YYYY-MM-DD."""
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValidationError(f"{text!r} is not a date like 2026-10-01", field="day",
                              code="date_invalid") from None


def format_clock(moment: time) -> str:
    """Write a time of day as HH:MM, the end of the day as 24:00."""
    return END_OF_DAY if moment == time.max else moment.strftime("%H:%M")


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    """Return an admin setting's value, or `default`."""
    row = session.get(SettingValue, key)
    return row.value if row is not None else default


def put_setting(session: Session, key: str, value: str, actor: Actor) -> None:
    """Store an admin setting and audit the change."""
    row = session.get(SettingValue, key)
    before = row.value if row else None
    if row is None:
        row = SettingValue(key=key, value=value)
        session.add(row)
    else:
        row.value = value
    session.flush()
    record_event(session, actor, "setting.changed", None, before={"key": key, "value": before},
                 after={"key": key, "value": value})


def set_duty_phone(session: Session, number: str, actor: Actor) -> str:
    """Set the phone that calls are put through to during duty hours."""
    e164 = require_phone(number)
    put_setting(session, DUTY_PHONE_KEY, e164, actor)
    return e164


def add_duty_period(session: Session, weekday: int, starts: time, ends: time,
                    actor: Actor) -> DutyPeriod:
    """Add a weekly staffed window (weekday 0 = Monday)."""
    if not 0 <= weekday <= 6:
        raise ValidationError("weekday must be 0 (Monday) to 6 (Sunday)", field="weekday",
                              code="weekday_invalid")
    if ends <= starts:
        raise ValidationError("a duty period must end after it starts", field="ends",
                              code="period_ends_before_start")
    period = DutyPeriod(weekday=weekday, starts=starts, ends=ends)
    session.add(period)
    session.flush()
    record_event(session, actor, "duty.period_added", None,
                 after={"weekday": weekday, "starts": starts.isoformat(), "ends": ends.isoformat()})
    return period


def clear_duty_periods(session: Session, actor: Actor, weekday: int | None = None) -> int:
    """Remove the weekly windows (of one weekday, or all); return how many were removed."""
    statement = delete(DutyPeriod)
    if weekday is not None:
        statement = statement.where(DutyPeriod.weekday == weekday)
    removed = session.execute(statement).rowcount
    record_event(session, actor, "duty.periods_cleared", None,
                 after={"weekday": weekday, "removed": removed})
    return removed


def remove_duty_period(session: Session, period_id: int, actor: Actor) -> None:
    """Remove one weekly window."""
    period = session.get(DutyPeriod, period_id)
    if period is None:
        raise NotFound(f"no duty period {period_id}")
    before = {"weekday": period.weekday, "starts": period.starts.isoformat(),
              "ends": period.ends.isoformat()}
    session.delete(period)
    session.flush()
    record_event(session, actor, "duty.period_removed", None, before=before)


def list_duty_schedule(session: Session) -> tuple[list[DutyPeriod], list[DutyException]]:
    """Return the weekly windows (by weekday, start) and the date exceptions (by date)."""
    periods = session.scalars(select(DutyPeriod).order_by(DutyPeriod.weekday, DutyPeriod.starts,
                                                          DutyPeriod.id)).all()
    exceptions = session.scalars(select(DutyException).order_by(DutyException.day)).all()
    return list(periods), list(exceptions)


def remove_duty_exception(session: Session, day: date, actor: Actor) -> bool:
    """Drop a date's override, so the weekly schedule applies again."""
    row = session.scalar(select(DutyException).where(DutyException.day == day))
    if row is None:
        return False
    before = {"day": day.isoformat(), "staffed": row.staffed, "note": row.note}
    session.delete(row)
    record_event(session, actor, "duty.exception_removed", None, before=before)
    return True


def describe_duty(session: Session, now: datetime, tz: str) -> dict:
    """Return the duty phone, weekly schedule and date exceptions as a plain record."""
    periods = session.scalars(select(DutyPeriod).order_by(DutyPeriod.weekday, DutyPeriod.starts))
    exceptions = session.scalars(select(DutyException).order_by(DutyException.day))
    return {
        "duty_phone": get_setting(session, DUTY_PHONE_KEY),
        "timezone": tz,
        "on_duty_now": is_duty_time(session, now, tz),
        "periods": [{"weekday": p.weekday, "starts": p.starts.strftime("%H:%M"),
                     "ends": p.ends.strftime("%H:%M")} for p in periods],
        "exceptions": [{"day": e.day.isoformat(), "staffed": e.staffed,
                        "starts": e.starts.strftime("%H:%M") if e.starts else None,
                        "ends": e.ends.strftime("%H:%M") if e.ends else None,
                        "note": e.note} for e in exceptions],
    }


def prompt_audio_key(language: str, prompt_key: str) -> str:
    return f"{PROMPT_AUDIO_PREFIX}{language}.{prompt_key}"


def set_prompt_audio(session: Session, language: str, prompt_key: str, url: str,
                     actor: Actor) -> None:
    """Play an uploaded audio file instead of speaking one prompt (https URL)."""
    if not (url.startswith("https://") or url.startswith("http://")):
        raise ValidationError("the prompt audio must be an http(s) URL Twilio can fetch",
                              field="url", code="prompt_url_invalid")
    put_setting(session, prompt_audio_key(language, prompt_key), url, actor)


def clear_prompt_audio(session: Session, language: str, prompt_key: str, actor: Actor) -> bool:
    """Go back to the spoken prompt; return False if no audio was set."""
    row = session.get(SettingValue, prompt_audio_key(language, prompt_key))
    if row is None:
        return False
    before = {"key": row.key, "value": row.value}
    session.delete(row)
    record_event(session, actor, "setting.changed", None, before=before,
                 after={"key": row.key, "value": None})
    return True


def prompt_audio_urls(session: Session, language: str) -> dict[str, str]:
    """Return {prompt key: audio URL} for the prompts an admin replaced, in one query."""
    prefix = f"{PROMPT_AUDIO_PREFIX}{language}."
    rows = session.execute(select(SettingValue.key, SettingValue.value)
                           .where(SettingValue.key.startswith(prefix, autoescape=True)))
    return {key[len(prefix):]: value for key, value in rows}


def set_duty_exception(session: Session, day: date, staffed: bool, actor: Actor,
                       starts: time | None = None, ends: time | None = None,
                       note: str = "") -> DutyException:
    """Override the weekly schedule on one date (a holiday, or an extra duty day)."""
    if (starts is None) != (ends is None):
        raise ValidationError("give both the start and the end of the hours, or neither",
                              field="ends", code="exception_hours_incomplete")
    if starts is not None and not staffed:
        raise ValidationError("hours only make sense on a staffed day", field="starts",
                              code="exception_hours_need_staffed")
    if starts is not None and ends <= starts:
        raise ValidationError("the hours must end after they start", field="ends",
                              code="period_ends_before_start")
    if len(note) > 200:
        raise ValidationError("keep the note under 200 characters", field="note",
                              code="note_too_long")
    row = session.scalar(select(DutyException).where(DutyException.day == day))
    if row is None:
        row = DutyException(day=day)
        session.add(row)
    row.staffed, row.starts, row.ends, row.note = staffed, starts, ends, note
    session.flush()
    record_event(session, actor, "duty.exception_set", None,
                 after={"day": day.isoformat(), "staffed": staffed, "note": note})
    return row


@dataclass(frozen=True)
class DutySchedule:
    """The duty phone, weekly windows and date exceptions, read in one go.

    Each web process keeps one between rings (intake.store.change_tokens): answering a call costs no
    schedule queries, and an admin's change is live from the request after it commits.
    """

    phone: str | None
    periods: tuple[tuple[int, time, time], ...]
    exceptions: dict[date, tuple[bool, time | None, time | None]]
    # Holidays and adjusted workdays come from the one working calendar (intake.time.calendar).
    calendar: BureauCalendar | None = None

    def is_on_duty(self, now: datetime, tz: str) -> bool:
        local = now.astimezone(ZoneInfo(tz))
        exception = self.exceptions.get(local.date())
        if exception is not None:
            staffed, starts, ends = exception
            if not staffed:
                return False
            return starts is None or ends is None or starts <= local.time() < ends
        weekday = self._windows_weekday(local.date())
        return weekday is not None and any(
            period_day == weekday and starts <= local.time() < ends
            for period_day, starts, ends in self.periods)

    def _windows_weekday(self, day: date) -> int | None:
        """Pick whose weekly windows apply: none on a holiday, a weekday's when worked in lieu."""
        if self.calendar is None:
            return day.weekday()
        if self.calendar.is_holiday(day):
            return None
        if day.weekday() >= 5 and self.calendar.is_working_day(day):
            # A weekend worked in lieu (调休) keeps office hours: the first staffed weekday's.
            staffed_weekdays = sorted({period_day for period_day, *_ in self.periods
                                       if period_day < 5})
            return staffed_weekdays[0] if staffed_weekdays else day.weekday()
        return day.weekday()

    def phone_at(self, now: datetime, tz: str) -> str | None:
        """Return the number to put a caller through to now, or None for voicemail."""
        return self.phone if self.phone and self.is_on_duty(now, tz) else None


def load_duty_schedule(session: Session) -> DutySchedule:
    """Read the duty phone, weekly windows, date exceptions and the working calendar."""
    periods = tuple(tuple(row) for row in session.execute(
        select(DutyPeriod.weekday, DutyPeriod.starts, DutyPeriod.ends)))
    exceptions = {day: (staffed, starts, ends) for day, staffed, starts, ends in session.execute(
        select(DutyException.day, DutyException.staffed, DutyException.starts,
               DutyException.ends))}
    return DutySchedule(get_setting(session, DUTY_PHONE_KEY), periods, exceptions,
                        load_calendar(session))


def is_duty_time(session: Session, now: datetime, tz: str) -> bool:
    """Tell whether the duty phone is staffed at this moment, local time."""
    return load_duty_schedule(session).is_on_duty(now, tz)
