"""Kept bulletins: built on schedule once per period, kept unchanged, rebuilt as a new version,
and each file read back (python-docx, pypdf) for the numbers it prints."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from intake.directory.roster import create_user
from intake.exceptions import Forbidden, NotFound, ValidationError, VersionSuperseded
from intake.reports.archive import (build_missing_bulletin, due_bulletins, get_kept_bulletin,
                                    keep_bulletin, list_kept_bulletins, parse_bulletin_period,
                                    period_label, rebuild_bulletin)
from intake.reports.rates import month_period, quarter_period
from intake.statuses import BulletinPeriod
from intake.store.audit import Actor
from intake.store.models import AuditEvent, KeptBulletin, Notification, Reminder, User
from intake.sweep import SweepContext, due_work, run_sweep
from intake.store.models import DayKind
from intake.time.calendar import BureauCalendar, Entry
from tests.report_seed import seed_report_cases

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = BureauCalendar()
CONTEXT = SweepContext("https://dutyline.example", "zh-CN", "Asia/Shanghai", 10)
NOVEMBER = month_period(2026, 11)


def at(month, day, hour, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ).astimezone(timezone.utc)


@pytest.fixture
def office(demo):
    """Two supervision accounts (one with a phone, one without) and a duty account."""
    seed = Actor("test")
    create_user(demo, username="sup", role="supervisor", name="督办员", phone="+8613900000077",
                password="dutyline-demo", actor=seed)
    create_user(demo, username="sup2", role="supervisor", name="督办员二",
                password="dutyline-demo", actor=seed)
    # The demo's own 督办室 account has a phone too; these tests text only "sup".
    demo.scalar(select(User).where(User.username == "duban")).phone = ""
    demo.commit()
    return {u.username: u for u in demo.scalars(select(User))}


def _sweep(demo, when):
    report = run_sweep(demo, when, CALENDAR, CONTEXT)
    demo.commit()
    return report


def _kept(demo) -> list[tuple[str, str, int]]:
    return [(k.period_kind.value, k.period_start.isoformat(), k.version)
            for k in demo.scalars(select(KeptBulletin).order_by(KeptBulletin.id))]


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    document = docx.Document(BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_the_first_working_day_of_december_keeps_novembers_bulletin_once(demo, office):
    seeded = seed_report_cases(demo)
    demo.commit()
    # Tuesday 1 December 2026 is the first working day: nothing before 08:00.
    assert due_bulletins(demo, at(12, 1, 7, 59), CALENDAR) == []
    assert [w.to_json() for w in due_work(demo, at(12, 1, 8), CALENDAR, CONTEXT)
            if w.to_json()["work"] == "bulletin"] == [
        {"work": "bulletin", "kind": "month", "from": "2026-11-01", "to": "2026-11-30"}]
    first = _sweep(demo, at(12, 1, 9))
    again = _sweep(demo, at(12, 1, 9))
    _sweep(demo, at(12, 1, 15))
    assert _kept(demo) == [("month", "2026-11-01", 1)]
    assert len(first.bulletins) == 1 and again.bulletins == [] and not again.changed
    kept = demo.get(KeptBulletin, first.bulletins[0])
    assert kept.built_by == "system:sweep" and kept.built_at == at(12, 1, 9)
    assert kept.docx_sha256 == hashlib.sha256(kept.docx).hexdigest()
    assert kept.pdf_sha256 == hashlib.sha256(kept.pdf).hexdigest()
    # The same numbers in both files, read back.
    for text in (_docx_text(kept.docx), _pdf_text(kept.pdf)):
        assert "通报期间：2026年11月01日至2026年11月30日" in text
        assert "统计截至：2026年12月01日 09:00" in text
        assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in text
        assert seeded["cases"]["c6"].number in text  # overdue at the time of the bulletin
    # One SMS to the office account with a phone, once, with the archive's link.
    (sms,) = demo.scalars(select(Notification).where(Notification.kind == "bulletin_ready"))
    assert sms.user_id == office["sup"].id and sms.to_number == "+8613900000077"
    assert sms.body == ("【民情联线】2026年11月督察通报（第1版）已生成存档，可下载DOCX和PDF："
                        "https://dutyline.example/bulletins")
    assert first.reminders["bulletin_ready"] == 1 and "bulletin_ready" not in again.reminders
    events = demo.scalars(select(AuditEvent).where(AuditEvent.action == "bulletin.kept")).all()
    assert [(e.entity_type, e.entity_id, e.after["version"]) for e in events] == [
        ("bulletins", kept.id, 1)]
    # The next day is not the first working day any more.
    assert due_bulletins(demo, at(12, 2, 9), CALENDAR) == []


def test_after_the_national_day_holiday_the_month_and_the_quarter_are_kept_on_8_october(
        demo, office):
    # 1–7 October 2026 are holidays: the schedule waits for Thursday the 8th.
    for day in range(1, 8):
        assert due_bulletins(demo, at(10, day, 10), CALENDAR) == []
    assert due_bulletins(demo, at(10, 8, 7, 30), CALENDAR) == []
    first = _sweep(demo, at(10, 8, 8, 5))
    second = _sweep(demo, at(10, 8, 8, 6))
    assert _kept(demo) == [("month", "2026-09-01", 1), ("quarter", "2026-07-01", 1)]
    assert len(first.bulletins) == 2 and second.bulletins == []
    quarter = demo.scalar(select(KeptBulletin).where(KeptBulletin.period_kind == "quarter"))
    assert quarter.period_end.isoformat() == "2026-09-30"
    assert "通报期间：2026年07月01日至2026年09月30日" in _pdf_text(quarter.pdf)
    bodies = sorted(n.body for n in demo.scalars(
        select(Notification).where(Notification.kind == "bulletin_ready")))
    assert [b.split("督察通报")[0] for b in bodies] == ["【民情联线】2026年9月",
                                                     "【民情联线】2026年第3季度"]
    assert _sweep(demo, at(10, 9, 9)).bulletins == []


def test_a_bureau_holiday_moves_the_schedule_to_the_next_working_day(demo, office):
    # The bureau marks 1 December a holiday of its own: the bulletin waits for the 2nd.
    calendar = BureauCalendar([Entry(at(12, 1, 12).date(), DayKind.HOLIDAY)])
    assert due_bulletins(demo, at(12, 1, 9), calendar) == []
    assert [d.period for d in due_bulletins(demo, at(12, 2, 9), calendar)] == [NOVEMBER]


def test_a_rebuild_is_a_new_version_and_the_old_one_stays_byte_identical(demo, office):
    seeded = seed_report_cases(demo)
    demo.commit()
    first = keep_bulletin(demo, BulletinPeriod.MONTH, NOVEMBER, seen_version=0,
                          now=at(12, 1, 9), calendar=CALENDAR, actor=Actor("system:sweep"))
    demo.commit()
    old_docx, old_pdf = bytes(first.docx), bytes(first.pdf)
    # Meanwhile a case changes; the rebuild prints it, the kept version does not.
    seeded["cases"]["c6"].summary = "药店已补货"
    demo.commit()
    second = rebuild_bulletin(demo, office["sup"], first.id, now=at(12, 3, 10),
                              calendar=CALENDAR)
    demo.commit()
    demo.expire_all()
    again = demo.get(KeptBulletin, first.id)
    assert (again.version, second.version) == (1, 2)
    assert bytes(again.docx) == old_docx and bytes(again.pdf) == old_pdf
    assert hashlib.sha256(bytes(again.pdf)).hexdigest() == again.pdf_sha256
    assert "统计截至：2026年12月03日 10:00" in _pdf_text(second.pdf)
    assert "药店已补货" in _pdf_text(second.pdf) and "药店已补货" not in _pdf_text(again.pdf)
    assert "统计截至：2026年12月01日 09:00" in _pdf_text(again.pdf)
    assert second.built_by == "user:sup"
    # Version 1 is no longer the latest: rebuilding it again is someone else's news.
    with pytest.raises(VersionSuperseded):
        rebuild_bulletin(demo, office["sup"], first.id, now=at(12, 3, 11), calendar=CALENDAR)
    # A sweep that finds the period kept (by hand) keeps nothing more.
    assert due_bulletins(demo, at(12, 1, 9), CALENDAR) == []
    assert [(b.version, b.period_start.isoformat()) for b in
            list_kept_bulletins(demo, office["admin"])] == [(2, "2026-11-01"), (1, "2026-11-01")]


def test_a_missed_period_is_built_by_hand_once(demo, office):
    kept = build_missing_bulletin(demo, office["sup"], "quarter", "2026-q3", now=at(10, 12, 9),
                                  calendar=CALENDAR)
    demo.commit()
    assert (kept.period_start.isoformat(), kept.period_end.isoformat(), kept.version) == (
        "2026-07-01", "2026-09-30", 1)
    with pytest.raises(VersionSuperseded):
        build_missing_bulletin(demo, office["sup"], "quarter", "2026-Q3", now=at(10, 12, 10),
                               calendar=CALENDAR)


@pytest.mark.parametrize("kind, value, code", [
    ("year", "2026", "kind_unknown"), ("month", "2026-13", "period_invalid"),
    ("quarter", "2026-Q5", "period_invalid"), ("month", "November", "period_invalid")])
def test_a_badly_written_period_is_refused(kind, value, code):
    with pytest.raises(ValidationError) as refused:
        parse_bulletin_period(kind, value)
    assert refused.value.code == code


def test_only_the_office_and_admins_read_or_build(demo, office):
    kept = keep_bulletin(demo, BulletinPeriod.MONTH, NOVEMBER, seen_version=0,
                         now=at(12, 1, 9), calendar=CALENDAR, actor=Actor("system:sweep"))
    demo.commit()
    for name in ("duty", "wang", "chengguan"):
        with pytest.raises(Forbidden):
            list_kept_bulletins(demo, office[name])
        with pytest.raises(Forbidden):
            rebuild_bulletin(demo, office[name], kept.id, now=at(12, 2, 9), calendar=CALENDAR)
    with pytest.raises(NotFound):
        get_kept_bulletin(demo, office["admin"], kept.id + 1)
    assert get_kept_bulletin(demo, office["admin"], kept.id).id == kept.id


def test_periods_are_named_in_both_languages():
    assert period_label("month", NOVEMBER.start) == "2026年11月"
    assert period_label("quarter", quarter_period(2026, 4).start, "en-US") == "2026 Q4"
    assert period_label("month", NOVEMBER.start, "en-US") == "November 2026"


def test_the_bulletin_reminder_is_kept_once_per_account(demo, office):
    _sweep(demo, at(12, 1, 9))
    reminders = demo.scalars(select(Reminder).where(Reminder.kind == "bulletin_ready")).all()
    kept = demo.scalar(select(KeptBulletin))
    assert [r.subject for r in reminders] == [f"bulletin:{kept.id}/user:{office['sup'].id}"]
    assert reminders[0].day == at(12, 1, 9).astimezone(TZ).date()
    assert timedelta(0) <= kept.built_at - at(12, 1, 9) < timedelta(seconds=1)


def test_dutyline_sweep_dry_run_lists_the_bulletin_and_keeps_nothing(demo, settings, office):
    import json

    from click.testing import CliRunner

    from cli.main import main

    dry = CliRunner().invoke(main, ["sweep", "--now", "2026-12-01T09:00:00+08:00", "--dry-run",
                                    "--json"])
    assert dry.exit_code == 0, dry.output
    assert [item for item in json.loads(dry.output) if item["work"] == "bulletin"] == [
        {"work": "bulletin", "kind": "month", "from": "2026-11-01", "to": "2026-11-30"}]
    text = CliRunner().invoke(main, ["sweep", "--now", "2026-12-01T09:00:00+08:00",
                                     "--dry-run"])
    assert "work=bulletin kind=month from=2026-11-01 to=2026-11-30" in text.output
    demo.expire_all()
    assert _kept(demo) == []
