"""The bureau's working-day calendar: one table for deadlines and for duty hours.

For each day the first of these that knows it decides:

    1. the bureau's own entry (CalendarEntry): a holiday or an adjusted workday (调休),
       with a reason, who entered it and when — it wins over everything below;
    2. the chinese-calendar package: the State Council's yearly notices (2004–2026 in 1.11.0);
    3. for a year the package does not know:
       - the fixed-date statutory holidays: 元旦 1 Jan, 劳动节 1–2 May, 国庆 1–3 Oct;
       - the lunar holidays estimated with lunar-python: 春节 from 除夕 to 初七 (the statutory
         除夕–初三 since the 2024 revision, run to 初七 as the 2025 and 2026 notices did),
         清明 on the day of the solar term, 端午 and 中秋;
       - what the notices customarily add (estimated_customary_days): the weeks of 1–5 May
         and 1–7 October, a substitute weekday (补假) for a statutory day on a weekend or on
         another holiday, and the bridge day of a one-day holiday on a Tuesday or Thursday;
    4. Monday to Friday.

A year with neither official data nor entries is *provisional*: nobody knows its adjusted
workdays yet, so every deadline counted over one of its days carries a warning. Once the
bureau enters that year's notice (`dutyline calendar import`) its entries decide; a weekday
that only the estimate keeps off stays provisional until an entry confirms or corrects it.
The estimate stays under the entries (rather than vanishing with the first entry) so that
one local holiday entered early cannot turn the Spring Festival into working days.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import IO

import chinese_calendar
from lunar_python import Lunar, Solar
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.clock import BUREAU_TIMEZONE, Clock
from intake.exceptions import RejectedRow, RowsRejected, ValidationError
from intake.store.models import CalendarEntry, DayKind, utcnow
from intake.store.spreadsheets import csv_rows, open_workbook, read_capped, sheet_rows

FIRST_YEAR, LAST_YEAR = 1901, 2099  # what the lunar estimate and a person's typing can mean
REASON_MAX_CHARS = 200
# Rows read from an imported calendar file, blank ones included: years of notices fit.
CALENDAR_MAX_ROWS = 2000
# The banner asking for next year's notice shows from this month on.
BANNER_FROM_MONTH = 11

SPRING_FESTIVAL_LAST = 7  # 初七: the 2025 and 2026 notices both ran the holiday to it
# The weeks every notice from 2020 to 2026 made around the statutory days.
CUSTOMARY_WEEKS = {"劳动节": ((5, 1), (5, 5)), "国庆节": ((10, 1), (10, 7))}
FIXED_HOLIDAYS = {(1, 1): "元旦", (5, 1): "劳动节", (5, 2): "劳动节",
                  (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}
# chinese-calendar names its holidays in English; people here read Chinese.
OFFICIAL_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
KIND_WORDS = {"holiday": DayKind.HOLIDAY, "休": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY,
              "假": DayKind.HOLIDAY, "workday": DayKind.WORKDAY, "班": DayKind.WORKDAY,
              "上班": DayKind.WORKDAY}
_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


class YearSource(str, Enum):
    """Where a year's holidays come from."""

    OFFICIAL = "official"     # the package has the State Council's notice
    ENTERED = "entered"       # no official data, but the bureau has entered days
    ESTIMATED = "estimated"   # neither: fixed dates plus estimated lunar holidays (provisional)


class DaySource(str, Enum):
    """Which layer decided one day."""

    ENTRY = "entry"
    OFFICIAL = "official"
    STATUTORY = "statutory"
    ESTIMATED = "estimated"
    WEEK = "week"


@dataclass(frozen=True)
class Entry:
    """A bureau entry as read from the database (detached from the session)."""

    day: date
    kind: DayKind
    reason: str = ""
    entered_by: str = ""
    entered_at: datetime | None = None


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says about one day, and why."""

    day: date
    working: bool
    reason: str
    source: DaySource
    provisional: bool
    entry: Entry | None = None

    @property
    def notable(self) -> bool:
        """Tell whether the day differs from an ordinary week or carries a name."""
        ordinary = self.day.weekday() < 5
        return bool(self.reason) or self.entry is not None or self.working != ordinary

    def to_json(self) -> dict:
        return {"date": self.day.isoformat(), "weekday": self.day.isoweekday(),
                "working": self.working,
                "kind": DayKind.WORKDAY.value if self.working else DayKind.HOLIDAY.value,
                "reason": self.reason, "source": self.source.value,
                "provisional": self.provisional,
                "entered_by": self.entry.entered_by if self.entry else None,
                "entered_at": (self.entry.entered_at.isoformat()
                               if self.entry and self.entry.entered_at else None)}


@dataclass(frozen=True)
class Due:
    """A due date counted in working days, and the years whose holidays were only estimated."""

    start: date
    working_days: int
    day: date
    provisional_years: tuple[int, ...]

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    @property
    def warnings(self) -> list[str]:
        return [f"the holidays of {year} are estimated (no official data or bureau entry), so "
                f"this due date is provisional" for year in self.provisional_years]

    def to_json(self) -> dict:
        return {"start": self.start.isoformat(), "working_days": self.working_days,
                "due": self.day.isoformat(), "provisional": self.provisional,
                "provisional_years": list(self.provisional_years), "warnings": self.warnings}


@dataclass(frozen=True)
class EntryInput:
    """One entry a person asked for: from the CLI, the admin screen or a file's row."""

    day: date
    kind: DayKind
    reason: str = ""
    line: int | None = None  # the row of an imported file


class BureauCalendar:
    """Working days in mainland China as this bureau keeps them (see the module docstring)."""

    def __init__(self, entries: Iterable[Entry] = ()):
        self._entries = {entry.day: entry for entry in entries}
        self._entry_years = {day.year for day in self._entries}
        # The calendar never changes once built, and a sweep asks about the same few days
        # for thousands of cases: remember each answer.
        self._days: dict[date, DayInfo] = {}
        self._counted: dict[tuple[date, int], date] = {}

    # -- the three questions every deadline asks
    def is_working_day(self, day: date) -> bool:
        """Tell whether a date is a working day."""
        info = self._days.get(day)
        return (info if info is not None else self.describe(day)).working

    def add_working_days(self, start: date, days: int) -> date:
        """Return the date `days` working days after `start` (start itself not counted)."""
        key = (start, days)
        if key not in self._counted:
            current, remaining = start, days
            while remaining > 0:
                current += timedelta(days=1)
                if self.is_working_day(current):
                    remaining -= 1
            self._counted[key] = current
        return self._counted[key]

    def is_provisional(self, day: date) -> bool:
        """Tell whether the day's status is only an estimate (no official data or entry)."""
        return self.describe(day).provisional

    # -- more detail
    def due(self, start: date, working_days: int) -> Due:
        """Count `working_days` from `start` and say whether estimated holidays were crossed."""
        if working_days < 0:
            raise ValidationError("the number of working days cannot be negative",
                                  field="working_days")
        end = self.add_working_days(start, working_days)
        # The days counted are those after the start, up to and including the due day.
        counted = [start + timedelta(days=n) for n in range(1, (end - start).days + 1)] or [start]
        years = sorted({day.year for day in counted if self.is_provisional(day)})
        return Due(start, working_days, end, tuple(years))

    def reason(self, day: date) -> str:
        """Return why a day is off or worked (the holiday's name or the entry's reason)."""
        return self.describe(day).reason

    def is_holiday(self, day: date) -> bool:
        """Tell whether the day is a named day off (not an ordinary weekend): duty hours close."""
        info = self.describe(day)
        return not info.working and (info.source is not DaySource.WEEK)

    def entry(self, day: date) -> Entry | None:
        return self._entries.get(day)

    def year_source(self, year: int) -> YearSource:
        """Say where a year's holidays come from."""
        if _has_official_data(year):
            return YearSource.OFFICIAL
        if year in self._entry_years:
            return YearSource.ENTERED
        return YearSource.ESTIMATED

    def describe(self, day: date) -> DayInfo:
        """Say whether a day is worked, why, and which layer decided."""
        info = self._days.get(day)
        if info is None:
            info = self._days[day] = self._decide(day)
        return info

    def _decide(self, day: date) -> DayInfo:
        entry = self._entries.get(day)
        if entry is not None:
            return DayInfo(day, entry.kind is DayKind.WORKDAY, entry.reason, DaySource.ENTRY,
                           False, entry)
        return _base_day(day, self.year_source(day.year) is YearSource.ESTIMATED)

    def notable_days(self, year: int) -> list[DayInfo]:
        """Return the year's days that differ from an ordinary week, or carry a name."""
        day, last, out = date(year, 1, 1), date(year, 12, 31), []
        while day <= last:
            info = self.describe(day)
            if info.notable:
                out.append(info)
            day += timedelta(days=1)
        return out

    def without(self, day: date) -> "BureauCalendar":
        """Return the calendar as it would be without the entry on `day`."""
        return BureauCalendar(e for d, e in self._entries.items() if d != day)

    def with_entries(self, entries: Iterable[Entry]) -> "BureauCalendar":
        """Return the calendar with these entries added (or replacing the same days')."""
        merged = dict(self._entries)
        merged.update((entry.day, entry) for entry in entries)
        return BureauCalendar(merged.values())


@lru_cache(maxsize=None)
def _has_official_data(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=16384)
def _official_detail(day: date) -> tuple[bool, str | None]:
    # chinese-calendar scans its whole table to validate every date it is asked about.
    return chinese_calendar.get_holiday_detail(day)


def _base_day(day: date, year_estimated: bool) -> DayInfo:
    weekday = day.weekday() < 5
    if _has_official_data(day.year):
        off, name = _official_detail(day)
        reason = OFFICIAL_NAMES.get(name, name or "")
        if reason and not off:
            reason = f"{reason}调休上班"
        source = DaySource.OFFICIAL if reason else DaySource.WEEK
        return DayInfo(day, not off, reason, source, False)
    lunar = estimated_lunar_holidays(day.year).get(day)
    if lunar:
        # Only a weekday the estimate takes off is in doubt; a weekend is off either way.
        return DayInfo(day, False, f"{lunar}（估算）", DaySource.ESTIMATED,
                       year_estimated or weekday)
    fixed = FIXED_HOLIDAYS.get((day.month, day.day))
    if fixed:
        return DayInfo(day, False, fixed, DaySource.STATUTORY, year_estimated)
    substitute = estimated_customary_days(day.year).get(day)
    if substitute:
        return DayInfo(day, False, f"{substitute}（估算）", DaySource.ESTIMATED, True)
    return DayInfo(day, weekday, "", DaySource.WEEK, year_estimated)


@lru_cache(maxsize=64)
def estimated_lunar_holidays(year: int) -> dict[date, str]:
    """Return the lunar holidays of a year as the State Council customarily gives them."""
    days: dict[date, str] = {}
    new_year = _solar_date(Lunar.fromYmd(year, 1, 1).getSolar())
    for offset in range(-1, SPRING_FESTIVAL_LAST):  # 除夕 (初一 - 1) to 初七 (初一 + 6)
        days[new_year + timedelta(days=offset)] = "春节"
    # 清明 is a solar term, not a lunar date: take the term from the lunar year's table.
    terms = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()
    days[_solar_date(terms["清明"])] = "清明节"
    days[_solar_date(Lunar.fromYmd(year, 5, 5).getSolar())] = "端午节"
    mid_autumn = _solar_date(Lunar.fromYmd(year, 8, 15).getSolar())
    days[mid_autumn] = "中秋节"
    return days


@lru_cache(maxsize=64)
def estimated_customary_days(year: int) -> dict[date, str]:
    """Return the days off the notices customarily add around the statutory days.

    - the customary weeks: 劳动节 1–5 May and 国庆 1–7 October (every notice 2020–2026);
    - a substitute weekday (补假) for each statutory day (the 2024 law's 13: 元旦, 除夕–初三,
      清明, 劳动节 ×2, 端午, 中秋, 国庆 ×3) that falls on a weekend: the first weekday after it
      that is not already a statutory or substitute day (a day of its own week may host it,
      so Labour Day 2027, Sat–Sun, gives 3–4 May); one that falls on another holiday's
      day (中秋 inside the National Day week) adds the first free weekday after that week;
    - the bridge (调休) of a one-day holiday on a Tuesday (the Monday) or a Thursday (the
      Friday), which the notices make by working a weekend day the estimate cannot know.
    """
    lunar = estimated_lunar_holidays(year)
    new_year = _solar_date(Lunar.fromYmd(year, 1, 1).getSolar())
    holiday_of: dict[date, str] = dict(lunar)
    week_end = {"春节": new_year + timedelta(days=SPRING_FESTIVAL_LAST - 1)}
    in_week = {day: "春节" for day, name in lunar.items() if name == "春节"}
    for name, ((m1, d1), (m2, d2)) in CUSTOMARY_WEEKS.items():
        first, last = date(year, m1, d1), date(year, m2, d2)
        week_end[name] = last
        while first <= last:
            holiday_of.setdefault(first, name)
            in_week[first] = name
            first += timedelta(days=1)
    statutory = [(date(year, month, day), name) for (month, day), name in FIXED_HOLIDAYS.items()]
    statutory += [(new_year + timedelta(days=offset), "春节") for offset in range(-1, 3)]
    statutory += [(day, name) for day, name in lunar.items() if name != "春节"]
    for day, name in statutory:
        holiday_of.setdefault(day, name)
    statutory_days = {day for day, _name in statutory}
    added: dict[date, str] = {}
    seen: set[date] = set()
    for day, name in sorted(statutory):
        week = in_week.get(day)
        clash = day in seen or (week is not None and week != name)
        seen.add(day)
        if clash:
            start = week_end[week] if week is not None else day
        elif day.weekday() >= 5:
            start = day
        else:
            continue
        later = start + timedelta(days=1)
        while (later.weekday() >= 5 or later in statutory_days or later in added
               or holiday_of.get(later, name) != name):
            later += timedelta(days=1)
        added[later] = f"{name}补假"
        holiday_of.setdefault(later, name)
    for day, name in sorted(statutory):
        if name in week_end or name == "春节" or holiday_of.get(day) != name:
            continue
        bridge = {1: day - timedelta(days=1), 3: day + timedelta(days=1)}.get(day.weekday())
        if bridge is not None and bridge not in holiday_of:
            added[bridge] = f"{name}调休"
            holiday_of[bridge] = name
    for day, name in holiday_of.items():
        if name in CUSTOMARY_WEEKS and day not in statutory_days and day not in added:
            added[day] = name
    return {day: name for day, name in added.items() if day.year == year}


def backtest_estimate(first: int = 2020, last: int = 2026) -> list[dict]:
    """Compare the estimate with the State Council's notice for each year that has one.

    Returns one record per year: `missed` (notice's days off the estimate works), `extra`
    (days the estimate takes off that the notice works, such as adjusted weekend workdays
    the estimate cannot know), and their count.
    """
    out = []
    for year in range(first, last + 1):
        if not _has_official_data(year):
            continue
        missed, extra = [], []
        day = date(year, 1, 1)
        while day.year == year:
            official_off = not chinese_calendar.is_workday(day)
            estimated_off = not _estimated_day(day).working
            if official_off and not estimated_off:
                missed.append(day)
            elif estimated_off and not official_off:
                extra.append(day)
            day += timedelta(days=1)
        out.append({"year": year, "missed": missed, "extra": extra,
                    "wrong": len(missed) + len(extra)})
    return out


def _estimated_day(day: date) -> DayInfo:
    """Decide a day by the estimate alone, as for a year with no notice."""
    lunar = estimated_lunar_holidays(day.year).get(day)
    if lunar:
        return DayInfo(day, False, lunar, DaySource.ESTIMATED, True)
    fixed = FIXED_HOLIDAYS.get((day.month, day.day))
    if fixed:
        return DayInfo(day, False, fixed, DaySource.STATUTORY, True)
    substitute = estimated_customary_days(day.year).get(day)
    if substitute:
        return DayInfo(day, False, substitute, DaySource.ESTIMATED, True)
    return DayInfo(day, day.weekday() < 5, "", DaySource.WEEK, True)


def _solar_date(solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


# ---------------------------------------------------------------- loading and editing
def load_calendar(session: Session) -> BureauCalendar:
    """Read every bureau entry in one query and return the calendar."""
    rows = session.execute(select(CalendarEntry.day, CalendarEntry.kind, CalendarEntry.reason,
                                  CalendarEntry.entered_by, CalendarEntry.entered_at))
    return BureauCalendar(Entry(*row) for row in rows)


def parse_day(value) -> date:
    """Read a date a person typed (2027-01-01, 2027/1/1, 2027年1月1日) or a spreadsheet cell.

    Raises:
        ValidationError (field "date"): not a date, an impossible one, or out of range.
    """
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip()
        match = _DATE_TEXT.match(text)
        if not match:
            raise ValidationError(f"{text!r} is not a date like 2027-01-01", field="date")
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:
            raise ValidationError(f"{text} is not a date that exists", field="date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"{day} is outside {FIRST_YEAR}–{LAST_YEAR}", field="date")
    return day


def parse_kind(value) -> DayKind:
    """Read holiday|workday (or 休/放假, 班/上班)."""
    kind = KIND_WORDS.get(str(value or "").strip().lower())
    if kind is None:
        raise ValidationError(f"{value!r} is not holiday or workday", field="kind")
    return kind


def check_entry(calendar: BureauCalendar, wanted: EntryInput) -> None:
    """Refuse an entry that makes no sense against the calendar without that day's entry.

    A holiday on a day already off is accepted: a State Council notice lists its holidays as
    ranges that include the weekend, and the import takes the notice as written.

    Raises:
        ValidationError: a workday on a day that is already a workday, or a reason too long.
    """
    if len(wanted.reason) > REASON_MAX_CHARS:
        raise ValidationError(f"keep the reason under {REASON_MAX_CHARS} characters",
                              field="reason")
    if wanted.kind is DayKind.WORKDAY and calendar.without(wanted.day).is_working_day(wanted.day):
        raise ValidationError(f"{wanted.day} is already a workday", field="already_workday")


def set_calendar_entry(session: Session, wanted: EntryInput, actor: Actor,
                       calendar: BureauCalendar | None = None,
                       tz: str = BUREAU_TIMEZONE, clock: Clock | None = None) -> CalendarEntry:
    """Enter (or change) the bureau's holiday or adjusted workday on one date, audited.

    The working-day deadlines of transferred cases that have not passed at `clock`'s now are
    counted again on the new calendar (intake.time.deadlines.recompute_deadlines).

    Raises:
        ValidationError: see check_entry.
    """
    row = _write_entry(session, wanted, actor, calendar)
    _recount_deadlines(session, actor, clock or Clock(tz), f"{wanted.day.isoformat()} 设为"
                       f"{'休息日' if wanted.kind is DayKind.HOLIDAY else '工作日'}")
    return row


def _write_entry(session: Session, wanted: EntryInput, actor: Actor,
                 calendar: BureauCalendar | None = None) -> CalendarEntry:
    calendar = calendar if calendar is not None else load_calendar(session)
    check_entry(calendar, wanted)
    row = session.scalar(select(CalendarEntry).where(CalendarEntry.day == wanted.day))
    before = _entry_record(row) if row is not None else None
    if row is None:
        row = CalendarEntry(day=wanted.day)
        session.add(row)
    row.kind, row.reason = wanted.kind, wanted.reason.strip()
    row.entered_by, row.entered_by_user_id, row.entered_at = actor.label, actor.user_id, utcnow()
    session.flush()
    record_event(session, actor, "calendar.entry_set", row, before=before,
                 after=_entry_record(row))
    return row


def _recount_deadlines(session: Session, actor: Actor, clock: Clock, reason: str) -> None:
    # Imported here: deadlines needs the case lifecycle, which the calendar otherwise does not.
    # The clock says which deadlines have passed: those are not recounted.
    from intake.time.deadlines import recompute_deadlines

    session.flush()
    recompute_deadlines(session, load_calendar(session), clock, actor,
                        f"工作日历变更：{reason}")


def remove_calendar_entry(session: Session, day: date, actor: Actor,
                          tz: str = BUREAU_TIMEZONE, clock: Clock | None = None) -> None:
    """Drop the bureau's entry on a date, so the package (or the estimate) decides again.

    Raises:
        ValidationError (field "no_entry"): the date has no entry.
    """
    row = session.scalar(select(CalendarEntry).where(CalendarEntry.day == day))
    if row is None:
        raise ValidationError(f"{day} has no calendar entry", field="no_entry")
    record_event(session, actor, "calendar.entry_removed", row, before=_entry_record(row))
    session.delete(row)
    session.flush()
    _recount_deadlines(session, actor, clock or Clock(tz), f"{day.isoformat()} 取消设置")


def import_calendar_entries(session: Session, rows: Sequence[Sequence], actor: Actor,
                            tz: str = BUREAU_TIMEZONE, clock: Clock | None = None) -> int:
    """Enter every row (date, kind, reason) of a file, or none of them.

    Rows are checked against the calendar with the file's other rows already in, so a notice's
    holidays and its adjusted workdays can come in any order.

    Raises:
        RowsRejected: naming every bad row; nothing is saved.
    """
    wanted, problems = _parse_rows(rows)
    calendar = load_calendar(session).with_entries(
        Entry(w.day, w.kind, w.reason) for w in wanted)
    for item in wanted:
        try:
            check_entry(calendar, item)
        except ValidationError as exc:
            problems.append(_rejected_row(item.line, exc.field, str(exc)))
    if problems:
        raise RowsRejected(sorted(problems, key=lambda p: p.row or 0))
    if not wanted:
        raise RowsRejected([_rejected_row(None, "file",
                                          "the file has no rows of date, kind and reason")])
    for item in wanted:
        _write_entry(session, item, actor, calendar)
    first, last = min(w.day for w in wanted), max(w.day for w in wanted)
    record_event(session, actor, "calendar.imported", None,
                 after={"rows": len(wanted), "first": first, "last": last})
    _recount_deadlines(session, actor, clock or Clock(tz), f"导入{len(wanted)}天（{first}至{last}）")
    return len(wanted)


def _rejected_row(line: int | None, field: str | None, message: str) -> RejectedRow:
    # The file has one sheet; the field the error names is the key the calendar page
    # translates it by, so it is the row's code (and left out of the message, as before).
    return RejectedRow(None, line, None, field, message)


def _parse_rows(rows: Sequence[Sequence]) -> tuple[list[EntryInput], list[RejectedRow]]:
    wanted: list[EntryInput] = []
    problems: list[RejectedRow] = []
    seen: dict[date, int] = {}
    for line, row in enumerate(rows, start=1):
        cells = [cell for cell in row] + [None] * 3
        if all(cell in (None, "") for cell in cells[:3]):
            continue
        if line == 1 and str(cells[0]).strip().lower() in ("date", "日期"):
            continue  # a header row
        try:
            item = EntryInput(parse_day(cells[0]), parse_kind(cells[1]),
                              str(cells[2] if cells[2] is not None else "").strip(), line)
        except ValidationError as exc:
            problems.append(_rejected_row(line, exc.field, str(exc)))
            continue
        if item.day in seen:
            problems.append(_rejected_row(line, "duplicate",
                                          f"{item.day} is already on row {seen[item.day]}"))
            continue
        seen[item.day] = line
        wanted.append(item)
    return wanted, problems


def read_calendar_file(name: str, content: bytes | IO[bytes]) -> list[list]:
    """Return the rows of a CSV (UTF-8, with or without BOM) or XLSX file's first sheet.

    The file is read within the caps of intake.store.spreadsheets: its size, what an XLSX unpacks
    to, and CALENDAR_MAX_ROWS rows (blank ones included), an XLSX in streaming mode.

    Raises:
        RowsRejected: a format we do not read or a file that will not open (field "file"),
            or one too large (field workbook_too_large) or too long (field too_many_rows).
    """
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise RowsRejected([_rejected_row(None, "file", f"{name}: give a .csv or .xlsx file")])
    try:
        data = read_capped(content)
        if suffix == ".csv":
            return csv_rows(data.decode("utf-8-sig"), CALENDAR_MAX_ROWS)
        book = open_workbook(data)
        try:
            return [list(values)
                    for _, values in sheet_rows(book.worksheets[0], CALENDAR_MAX_ROWS)]
        finally:
            book.close()
    except ValidationError as exc:
        field = "file" if exc.code == "file_unreadable" else exc.code
        raise RowsRejected([_rejected_row(None, field, f"{name}: {exc}")]) from None
    except (UnicodeDecodeError, csv.Error, IndexError) as exc:
        raise RowsRejected([_rejected_row(None, "file", f"{name} cannot be read: {exc}")]) from exc


def year_needing_entries(calendar: BureauCalendar, today: date) -> int | None:
    """From 1 November, return next year while it has neither official data nor entries."""
    if today.month < BANNER_FROM_MONTH:
        return None
    year = today.year + 1
    return year if calendar.year_source(year) is YearSource.ESTIMATED else None


def describe_year(calendar: BureauCalendar, year: int) -> dict:
    """Return a year's source and its notable days as a plain record (for show and the page)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(f"{year} is outside {FIRST_YEAR}–{LAST_YEAR}", field="date")
    source = calendar.year_source(year)
    return {"year": year, "source": source.value,
            "provisional": source is YearSource.ESTIMATED,
            "days": [info.to_json() for info in calendar.notable_days(year)]}


def _entry_record(row: CalendarEntry) -> dict:
    return {"day": row.day, "kind": row.kind, "reason": row.reason,
            "entered_by": row.entered_by}


__all__ = ["BureauCalendar", "Due", "DayInfo", "Entry", "EntryInput", "YearSource", "DaySource",
           "load_calendar", "parse_day", "parse_kind", "check_entry", "set_calendar_entry",
           "remove_calendar_entry", "import_calendar_entries", "read_calendar_file",
           "year_needing_entries", "describe_year", "estimated_lunar_holidays"]
