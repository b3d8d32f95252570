"""The working-day calendar: package data, the bureau's entries on top, an estimate for
unpublished years; edited from the CLI, all-or-nothing imports, audited; one calendar with
duty hours."""
from __future__ import annotations

import io
import json
import os
import secrets
from datetime import date, datetime, time, timezone

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select, text

from intake.store.audit import Actor
from intake.store.database import make_engine, upgrade_database
from intake.time.duty import add_duty_period, is_duty_time, set_duty_exception
from intake.exceptions import RowsRejected, ValidationError
from intake.time.calendar import (BureauCalendar, Entry, EntryInput, YearSource, backtest_estimate,
                                  estimated_customary_days, estimated_lunar_holidays,
                                  import_calendar_entries, load_calendar, parse_day,
                                  remove_calendar_entry, set_calendar_entry, year_needing_entries)
from intake.store.models import AuditEvent, CalendarEntry, DayKind

ADMIN = Actor("test")
TZ = "Asia/Shanghai"


def dutyline(*args):
    from cli.main import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ---------------------------------------------------------------- the calendar itself
def test_a_transfer_on_29_december_2026_is_not_due_on_new_years_day():
    due = BureauCalendar().due(date(2026, 12, 29), 3)

    # Wed 30, Thu 31, (Fri 1 Jan 元旦, weekend), Mon 4 January.
    assert due.day == date(2027, 1, 4)
    assert due.provisional and due.provisional_years == (2027,)
    assert "2027" in due.warnings[0]


def test_a_transfer_on_3_february_2027_is_not_due_in_the_spring_festival():
    calendar = BureauCalendar()
    due = calendar.due(date(2027, 2, 3), 3)

    spring_festival = [d for d, name in estimated_lunar_holidays(2027).items() if name == "春节"]
    assert min(spring_festival) == date(2027, 2, 5)    # 除夕
    assert max(spring_festival) == date(2027, 2, 12)   # 初七, as the 2025 and 2026 notices
    assert due.day == date(2027, 2, 16)                # Thu 4, Mon 15, Tue 16
    assert due.day not in spring_festival and due.provisional
    assert calendar.reason(date(2027, 2, 8)) == "春节（估算）"


def test_the_lunar_estimate_for_2027():
    # 春节 on 6 Feb, 清明 on the solar term (5 Apr), 端午 9 Jun, 中秋 15 Sep.
    assert {name: sorted(d for d, n in estimated_lunar_holidays(2027).items() if n == name)[0]
            for name in ("春节", "清明节", "端午节", "中秋节")} == {
        "春节": date(2027, 2, 5), "清明节": date(2027, 4, 5), "端午节": date(2027, 6, 9),
        "中秋节": date(2027, 9, 15)}
    # 清明 falls on 4 April in other years: it is computed, not fixed.
    assert date(2028, 4, 4) in estimated_lunar_holidays(2028)


def test_the_spring_festival_estimate_runs_from_chuxi_to_chuqi():
    # 2025 and 2026 have notices; the estimate alone gives what they gave.
    for year, chuxi, chuqi in ((2025, date(2025, 1, 28), date(2025, 2, 4)),
                               (2026, date(2026, 2, 16), date(2026, 2, 23))):
        spring = sorted(d for d, n in estimated_lunar_holidays(year).items() if n == "春节")
        assert (spring[0], spring[-1], len(spring)) == (chuxi, chuqi, 8)


def test_a_statutory_day_on_a_weekend_gets_a_substitute_weekday():
    calendar = BureauCalendar()
    # Labour Day 2027 falls on Saturday and Sunday: Monday and Tuesday are off in its place.
    substitutes = estimated_customary_days(2027)
    assert substitutes[date(2027, 5, 3)] == substitutes[date(2027, 5, 4)] == "劳动节补假"
    # National Day 2027 runs Friday to Sunday: two substitute weekdays.
    assert substitutes[date(2027, 10, 4)] == substitutes[date(2027, 10, 5)] == "国庆节补假"
    for day in (date(2027, 5, 3), date(2027, 5, 4), date(2027, 10, 4), date(2027, 10, 5)):
        assert not calendar.is_working_day(day) and calendar.is_provisional(day)
    # 元旦 2028 is a Saturday: Monday 3 January is off.
    assert not calendar.is_working_day(date(2028, 1, 3))
    assert calendar.reason(date(2028, 1, 3)) == "元旦补假（估算）"


def test_the_estimate_misses_no_holiday_day_of_the_2025_and_2026_notices():
    years = {record["year"]: record for record in backtest_estimate(2020, 2026)}
    assert sorted(years) == list(range(2020, 2027))
    for year, record in sorted(years.items()):
        print(year, record["wrong"], "wrong;", "missed", [d.isoformat() for d in record["missed"]])
    assert years[2025]["missed"] == [] and years[2026]["missed"] == []
    # What it still gets wrong there are the weekend days worked in lieu, which no rule can
    # know (earlier years also ran the Spring Festival and Labour Day weeks differently).
    assert all(day.weekday() >= 5 for year in (2025, 2026) for day in years[year]["extra"])


def test_the_cli_backtest_prints_the_days_wrong_per_year(env, engine):
    result = dutyline("calendar", "backtest", "--from", "2025", "--to", "2026")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith(" ")]
    assert [line.split(":")[0] for line in lines] == ["2025", "2026"]
    assert all(line.endswith("0 holiday day(s) missed") for line in lines)
    as_json = json.loads(dutyline("calendar", "backtest", "--from", "2024", "--to", "2024",
                                  "--json").output)
    assert [r["year"] for r in as_json] == [2024] and as_json[0]["missed"] == []


def test_a_year_the_package_knows_is_official_and_not_provisional():
    calendar = BureauCalendar()
    assert calendar.year_source(2026) is YearSource.OFFICIAL
    assert calendar.is_working_day(date(2026, 10, 10))       # a Saturday worked in lieu
    assert not calendar.is_working_day(date(2026, 10, 7))    # National Day week
    assert calendar.reason(date(2026, 10, 10)) == "国庆节调休上班"
    assert not calendar.is_provisional(date(2026, 10, 7))
    assert calendar.due(date(2026, 9, 29), 3).day == date(2026, 10, 9)
    assert not calendar.due(date(2026, 9, 29), 3).provisional


def test_fixed_statutory_holidays_stay_off_in_an_unpublished_year():
    calendar = BureauCalendar()
    for day in (date(2027, 1, 1), date(2027, 5, 1), date(2027, 5, 2), date(2027, 10, 1),
                date(2027, 10, 3)):
        assert not calendar.is_working_day(day), day
        assert calendar.is_provisional(day)
    # Sat 2 and Sun 3 October get their substitute weekdays (补假), in the customary week.
    assert not calendar.is_working_day(date(2027, 10, 4))
    assert calendar.reason(date(2027, 10, 4)) == "国庆节补假（估算）"
    assert calendar.is_working_day(date(2027, 10, 8))


def test_entries_win_over_the_package():
    calendar = BureauCalendar([
        Entry(date(2026, 10, 10), DayKind.HOLIDAY, "局里补休"),    # the package says workday
        Entry(date(2026, 10, 7), DayKind.WORKDAY, "值班"),        # the package says holiday
    ])
    assert not calendar.is_working_day(date(2026, 10, 10))
    assert calendar.is_working_day(date(2026, 10, 7))
    assert calendar.reason(date(2026, 10, 10)) == "局里补休"
    assert BureauCalendar().due(date(2026, 10, 6), 1).day == date(2026, 10, 8)
    assert calendar.due(date(2026, 10, 6), 1).day == date(2026, 10, 7)


def test_entries_sit_on_the_estimate_which_stays_provisional_where_no_entry_confirms_it():
    # One local holiday entered early must not turn the Spring Festival into working days.
    calendar = BureauCalendar([Entry(date(2027, 3, 8), DayKind.HOLIDAY, "局里活动")])
    assert calendar.year_source(2027) is YearSource.ENTERED
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert calendar.is_provisional(date(2027, 2, 8))       # a weekday only the estimate keeps off
    assert not calendar.is_provisional(date(2027, 2, 6))   # a Saturday is off either way
    assert not calendar.is_provisional(date(2027, 3, 1))
    assert not calendar.is_working_day(date(2027, 1, 1))   # 元旦 is statutory
    assert calendar.due(date(2027, 2, 3), 3).provisional_years == (2027,)
    assert not calendar.due(date(2027, 3, 1), 3).provisional
    # An entry confirms the estimate; another corrects it.
    confirmed = calendar.with_entries(
        [Entry(date(2027, 2, d), DayKind.HOLIDAY, "春节") for d in (5, 8, 9, 10)]
        + [Entry(date(2027, 2, d), DayKind.WORKDAY, "上班") for d in (11, 12)])
    assert confirmed.due(date(2027, 2, 3), 3).day == date(2027, 2, 12)  # Thu 4, Thu 11, Fri 12
    assert not confirmed.due(date(2027, 2, 3), 3).provisional


def test_the_banner_year_shows_from_november_while_next_year_is_estimated():
    assert year_needing_entries(BureauCalendar(), date(2026, 10, 31)) is None
    assert year_needing_entries(BureauCalendar(), date(2026, 11, 1)) == 2027
    assert year_needing_entries(BureauCalendar(), date(2025, 11, 20)) is None  # 2026 is official
    entered = BureauCalendar([Entry(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")])
    assert year_needing_entries(entered, date(2026, 12, 1)) is None


@pytest.mark.parametrize("text, expected", [
    ("2027-01-01", date(2027, 1, 1)), ("2027/1/1", date(2027, 1, 1)),
    ("2027年2月6日", date(2027, 2, 6)), (datetime(2027, 3, 1), date(2027, 3, 1))])
def test_dates_are_read_as_people_write_them(text, expected):
    assert parse_day(text) == expected


@pytest.mark.parametrize("text", ["2027-02-30", "2027-13-01", "tomorrow", "", "0999-01-01"])
def test_impossible_dates_are_refused(text):
    with pytest.raises(ValidationError) as caught:
        parse_day(text)
    assert caught.value.field == "date"


# ---------------------------------------------------------------- editing, in the database
def test_set_and_unset_are_audited_and_read_back_in_one_query(db_session, engine):
    set_calendar_entry(db_session, EntryInput(date(2027, 1, 4), DayKind.HOLIDAY, "元旦补休"), ADMIN)
    set_calendar_entry(db_session, EntryInput(date(2027, 1, 9), DayKind.WORKDAY, "调休上班"), ADMIN)
    set_calendar_entry(db_session, EntryInput(date(2027, 1, 4), DayKind.HOLIDAY, "元旦假期"), ADMIN)
    db_session.commit()

    statements = []
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    calendar = load_calendar(db_session)
    assert len(statements) == 1
    assert not calendar.is_working_day(date(2027, 1, 4))
    assert calendar.is_working_day(date(2027, 1, 9))
    assert calendar.entry(date(2027, 1, 4)).reason == "元旦假期"
    assert calendar.entry(date(2027, 1, 4)).entered_by == "test"

    remove_calendar_entry(db_session, date(2027, 1, 9), ADMIN)
    db_session.commit()
    events = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["calendar.entry_set"] * 3 + ["calendar.entry_removed"]
    assert events[2].before["reason"] == "元旦补休" and events[2].after["reason"] == "元旦假期"
    assert events[3].before == {"day": "2027-01-09", "kind": "workday", "reason": "调休上班",
                                "entered_by": "test"}
    assert {e.entity_type for e in events} == {"calendar_entries"}


def test_bad_entries_change_nothing(db_session):
    with pytest.raises(ValidationError) as caught:   # Monday 4 January is already worked
        set_calendar_entry(db_session, EntryInput(date(2027, 1, 4), DayKind.WORKDAY), ADMIN)
    assert caught.value.field == "already_workday"
    with pytest.raises(ValidationError):              # a package 调休 Saturday, already worked
        set_calendar_entry(db_session, EntryInput(date(2026, 10, 10), DayKind.WORKDAY), ADMIN)
    with pytest.raises(ValidationError) as caught:
        remove_calendar_entry(db_session, date(2027, 1, 5), ADMIN)
    assert caught.value.field == "no_entry"
    with pytest.raises(ValidationError):
        set_calendar_entry(db_session, EntryInput(date(2027, 1, 2), DayKind.HOLIDAY, "x" * 201),
                           ADMIN)
    assert db_session.scalars(select(CalendarEntry)).all() == []
    assert db_session.scalars(select(AuditEvent)).all() == []


def test_a_holiday_on_a_weekend_is_accepted_because_notices_list_ranges(db_session):
    set_calendar_entry(db_session, EntryInput(date(2027, 2, 6), DayKind.HOLIDAY, "春节"), ADMIN)
    assert not load_calendar(db_session).is_working_day(date(2027, 2, 6))


NOTICE_2027 = [("date", "kind", "reason"),
               ("2027-02-05", "holiday", "春节"), ("2027-02-08", "holiday", "春节"),
               ("2027-02-09", "holiday", "春节"), ("2027-02-10", "holiday", "春节"),
               ("2027-02-11", "holiday", "春节"), ("2027-02-12", "holiday", "春节"),
               ("2027-02-14", "workday", "春节调休上班")]


def test_an_import_enters_every_row_or_none(db_session):
    bad = NOTICE_2027 + [("2027-02-30", "holiday", "x"), ("2027-03-01", "workday", "y"),
                         ("2027-02-05", "holiday", "again"), ("2027-03-02", "vacation", "z")]
    with pytest.raises(RowsRejected) as caught:
        import_calendar_entries(db_session, bad, ADMIN)
    assert [(row.row, row.code) for row in caught.value.rows] == [
        (9, "date"), (10, "already_workday"), (11, "duplicate"), (12, "kind")]
    assert (caught.value.code, caught.value.field) == ("rows_rejected", "rows")
    assert str(caught.value) == (
        "row 9: 2027-02-30 is not a date that exists; row 10: 2027-03-01 is already a workday; "
        "row 11: 2027-02-05 is already on row 2; row 12: 'vacation' is not holiday or workday")
    assert db_session.scalars(select(CalendarEntry)).all() == []

    assert import_calendar_entries(db_session, NOTICE_2027, ADMIN) == 7
    db_session.commit()
    calendar = load_calendar(db_session)
    assert calendar.is_working_day(date(2027, 2, 14))  # a Sunday worked in lieu
    assert calendar.due(date(2027, 2, 3), 3).day == date(2027, 2, 15)  # Thu 4, Sun 14, Mon 15
    assert db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == [
        "calendar.entry_set"] * 7 + ["calendar.imported"]


# ---------------------------------------------------------------- the CLI
def test_the_cli_due_date_and_its_warning(env, engine):
    result = dutyline("calendar", "due", "2026-12-29", "--working-days", "3", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "start": "2026-12-29", "working_days": 3, "due": "2027-01-04", "provisional": True,
        "provisional_years": [2027],
        "warnings": ["the holidays of 2027 are estimated (no official data or bureau entry), "
                     "so this due date is provisional"]}
    plain = dutyline("calendar", "due", "2026-09-29", "--working-days", "3").output
    assert plain == "2026-10-09\n"


def test_the_cli_sets_shows_and_unsets(env, engine, db_session):
    assert dutyline("calendar", "set", "2027-01-04", "holiday", "--reason", "局里补休"
                    ).exit_code == 0
    shown = json.loads(dutyline("calendar", "show", "2027", "--json").output)
    assert shown["source"] == "entered" and shown["provisional"] is False
    entry = next(d for d in shown["days"] if d["date"] == "2027-01-04")
    assert entry["source"] == "entry" and entry["reason"] == "局里补休"
    assert entry["entered_by"] == "cli" and entry["kind"] == "holiday"
    # 除夕 to 初七, Labour Day (Sat–Sun) with its substitutes in its week of 1–5 May, and the
    # National Day week with the substitutes of Sat 2 and Sun 3 October.
    assert [d["date"] for d in shown["days"]] == [
        "2027-01-01", "2027-01-04", *[f"2027-02-{d:02}" for d in range(5, 13)], "2027-04-05",
        *[f"2027-05-{d:02}" for d in range(1, 6)], "2027-06-09", "2027-09-15",
        *[f"2027-10-{d:02}" for d in range(1, 8)]]
    assert [d["date"] for d in shown["days"] if d["provisional"]] == [
        "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12",
        "2027-04-05", "2027-05-03", "2027-05-04", "2027-05-05", "2027-06-09", "2027-09-15",
        "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07"]

    assert dutyline("calendar", "unset", "2027-01-04").exit_code == 0
    shown = json.loads(dutyline("calendar", "show", "2027", "--json").output)
    assert shown["source"] == "estimated" and shown["provisional"] is True
    assert db_session.scalars(select(AuditEvent.actor)).all() == ["cli", "cli"]


def test_the_cli_refuses_bad_input_and_changes_nothing(env, engine, db_session):
    for args in (["set", "2027-02-30", "holiday"], ["set", "2027-01-04", "workday"],
                 ["set", "2027-01-04", "someday"], ["unset", "2027-01-05"],
                 ["due", "2027-02-29", "--working-days", "3"]):
        result = dutyline("calendar", *args)
        assert result.exit_code != 0, args
    result = dutyline("calendar", "set", "2027-01-04", "workday")
    assert "already a workday" in result.output
    assert db_session.scalars(select(CalendarEntry)).all() == []


def test_the_cli_imports_csv_and_xlsx_all_or_nothing(env, engine, db_session, tmp_path):
    bad = tmp_path / "bad.csv"
    rows = NOTICE_2027 + [("2027-02-31", "holiday", "x")]
    bad.write_text("\n".join(",".join(row) for row in rows), encoding="utf-8-sig")
    result = dutyline("calendar", "import", str(bad))
    assert result.exit_code == 1
    assert result.output == ("Error: nothing imported:\n"
                             "  row 9: 2027-02-31 is not a date that exists\n")
    assert db_session.scalars(select(CalendarEntry)).all() == []

    book = Workbook()
    for row in NOTICE_2027:
        book.active.append([datetime.fromisoformat(row[0]) if row[0][0].isdigit() else row[0],
                            row[1], row[2]])
    good = tmp_path / "notice-2027.xlsx"
    book.save(good)
    result = dutyline("calendar", "import", str(good))
    assert result.exit_code == 0, result.output
    assert "imported 7 entries" in result.output
    assert len(db_session.scalars(select(CalendarEntry)).all()) == 7

    unreadable = tmp_path / "notice.xlsx"
    unreadable.write_bytes(b"not a zip")
    result = dutyline("calendar", "import", str(unreadable))
    assert result.exit_code == 1
    assert result.output.startswith("Error: nothing imported:\n  notice.xlsx: ")


# ---------------------------------------------------------------- one calendar with duty hours
def test_duty_hours_close_on_a_calendar_holiday_and_keep_weekday_hours_in_lieu(db_session):
    for weekday in range(5):
        add_duty_period(db_session, weekday, time(8, 30), time(17, 30), ADMIN)
    # Thursday 1 October 2026, 10:00 in Shanghai: National Day, from the package.
    assert not is_duty_time(db_session, datetime(2026, 10, 1, 2, tzinfo=timezone.utc), TZ)
    # Saturday 10 October 2026 is worked in lieu: weekday hours.
    assert is_duty_time(db_session, datetime(2026, 10, 10, 2, tzinfo=timezone.utc), TZ)
    # An ordinary Sunday, and an ordinary Wednesday.
    assert not is_duty_time(db_session, datetime(2026, 10, 11, 2, tzinfo=timezone.utc), TZ)
    assert is_duty_time(db_session, datetime(2026, 10, 14, 2, tzinfo=timezone.utc), TZ)
    # The bureau's own holiday closes the duty phone as well as moving deadlines.
    set_calendar_entry(db_session, EntryInput(date(2026, 10, 14), DayKind.HOLIDAY, "局务"), ADMIN)
    assert not is_duty_time(db_session, datetime(2026, 10, 14, 2, tzinfo=timezone.utc), TZ)
    # A staffed date exception still wins.
    set_duty_exception(db_session, date(2026, 10, 1), True, ADMIN, time(9), time(12))
    assert is_duty_time(db_session, datetime(2026, 10, 1, 2, tzinfo=timezone.utc), TZ)


@pytest.fixture
def database_at_0001(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        upgrade_database(url, "0001")
        yield url
        return
    name = f"dutyline_calendar_{secrets.token_hex(4)}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.rsplit("/", 1)[0] + "/" + name
        upgrade_database(url, "0001")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_moves_duty_holidays_into_the_calendar(database_at_0001):
    engine = make_engine(database_at_0001)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO duty_exceptions (day, staffed, note) VALUES "
                          "('2026-11-30', false, '局庆'), ('2026-12-07', false, ''), "
                          "('2026-12-05', true, '加班值守')"))
    upgrade_database(database_at_0001)
    with engine.connect() as conn:
        entries = conn.execute(text("SELECT day, kind, reason, entered_by FROM calendar_entries "
                                    "ORDER BY day")).all()
        left = conn.execute(text("SELECT day, staffed FROM duty_exceptions")).all()
    engine.dispose()
    assert [(str(d), k, r, b) for d, k, r, b in entries] == [
        ("2026-11-30", "holiday", "局庆", "migration:0003"),
        ("2026-12-07", "holiday", "值班时间表中的节假日", "migration:0003")]
    assert [(str(d), bool(s)) for d, s in left] == [("2026-12-05", True)]


def test_a_crafted_calendar_workbook_is_refused_within_two_seconds(db_session):
    """Issue 16 item 4: a huge dimension and millions of blank rows stop at the row cap."""
    import time as clock

    from intake.time.calendar import read_calendar_file
    from tests.workbook_support import HUGE_DIMENSION, sheet_xml, workbook

    crafted = workbook({"notice": sheet_xml([["2027-02-05", "holiday", "春节"]], 3_000_000,
                                            HUGE_DIMENSION)})
    started = clock.perf_counter()
    with pytest.raises(RowsRejected) as caught:
        read_calendar_file("notice.xlsx", io.BytesIO(crafted))
    assert clock.perf_counter() - started < 2.0
    assert [row.code for row in caught.value.rows] == ["too_many_rows"]
    # The dimension alone pads nothing: the one row there is the one row read.
    small = workbook({"notice": sheet_xml([["2027-02-05", "holiday", "春节"]], 0,
                                          HUGE_DIMENSION)})
    assert read_calendar_file("notice.xlsx", small) == [["2027-02-05", "holiday", "春节"]]
    with pytest.raises(RowsRejected) as caught:
        read_calendar_file("notice.csv", b"2027-02-05,holiday,x\n" + b"\n" * 5000)
    assert caught.value.rows[0].code == "too_many_rows"
