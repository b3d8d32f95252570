"""Duty hours: a weekly schedule with date exceptions, edited from the CLI, audited."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from intake.store.audit import Actor
from intake.time.duty import add_duty_period, is_duty_time, set_duty_exception
from intake.exceptions import ValidationError
from intake.store.models import AuditEvent

TZ = "Asia/Shanghai"
ADMIN = Actor("test")
# Monday 2026-11-30, 10:00 in Shanghai.
MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


def dutyline(*args):
    from cli.main import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_the_weekly_schedule_and_exceptions_decide(db_session):
    add_duty_period(db_session, 0, time(8, 30), time(17, 30), ADMIN)
    assert is_duty_time(db_session, MONDAY_10, TZ)
    assert not is_duty_time(db_session, MONDAY_10.replace(hour=10), TZ)  # 18:00 local
    assert not is_duty_time(db_session, datetime(2026, 12, 1, 2, tzinfo=timezone.utc), TZ)
    set_duty_exception(db_session, date(2026, 11, 30), False, ADMIN, note="holiday")
    assert not is_duty_time(db_session, MONDAY_10, TZ)
    set_duty_exception(db_session, date(2026, 12, 5), True, ADMIN, time(9), time(12))
    assert is_duty_time(db_session, datetime(2026, 12, 5, 2, tzinfo=timezone.utc), TZ)
    assert not is_duty_time(db_session, datetime(2026, 12, 5, 5, tzinfo=timezone.utc), TZ)


def test_a_period_must_end_after_it_starts(db_session):
    with pytest.raises(ValidationError):
        add_duty_period(db_session, 0, time(17), time(8), ADMIN)


def test_the_cli_refuses_a_duty_phone_the_directory_would_refuse(env, engine, db_session):
    from cli.main import main

    result = CliRunner().invoke(main, ["duty", "set-phone", "12345"])
    assert result.exit_code != 0 and "not a valid phone number" in result.output
    assert json.loads(dutyline("duty", "show", "--json").output)["duty_phone"] is None


def test_the_cli_edits_the_schedule_and_every_change_is_audited(env, engine, db_session):
    assert dutyline("duty", "set-phone", "0571-88889999").exit_code == 0
    assert dutyline("duty", "add-period", "mon", "08:30", "17:30").exit_code == 0
    assert dutyline("duty", "add-period", "6", "00:00", "24:00").exit_code == 0
    assert dutyline("duty", "holiday", "2026-10-01", "--note", "国庆节").exit_code == 0
    assert dutyline("duty", "holiday", "2026-10-10", "--staffed", "--from", "09:00",
                    "--to", "12:00").exit_code == 0

    shown = json.loads(dutyline("duty", "show", "--json").output)

    assert shown["duty_phone"] == "+8657188889999"
    assert shown["periods"] == [{"weekday": 0, "starts": "08:30", "ends": "17:30"},
                                {"weekday": 6, "starts": "00:00", "ends": "23:59"}]
    assert shown["exceptions"] == [
        {"day": "2026-10-10", "staffed": True, "starts": "09:00", "ends": "12:00", "note": ""}]
    # A holiday goes into the one working calendar, which deadlines count with too.
    calendar = json.loads(dutyline("calendar", "show", "2026", "--json").output)
    assert {"date": "2026-10-01", "source": "entry", "reason": "国庆节"}.items() <= next(
        d for d in calendar["days"] if d["date"] == "2026-10-01").items()

    assert "removed 1" in dutyline("duty", "clear", "--weekday", "sun").output
    assert dutyline("duty", "holiday", "2026-10-01", "--remove").exit_code == 0
    shown = json.loads(dutyline("duty", "show", "--json").output)
    assert len(shown["periods"]) == 1 and len(shown["exceptions"]) == 1
    calendar = json.loads(dutyline("calendar", "show", "2026", "--json").output)
    assert not [d for d in calendar["days"] if d["source"] == "entry"]

    actions = db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["setting.changed", "duty.period_added", "duty.period_added",
                       "calendar.entry_set", "duty.exception_set", "duty.periods_cleared",
                       "calendar.entry_removed"]
    assert set(db_session.scalars(select(AuditEvent.actor))) == {"cli"}


def test_the_cli_refuses_nonsense(env, engine):
    assert dutyline("duty", "add-period", "someday", "08:00", "09:00").exit_code != 0
    assert dutyline("duty", "add-period", "mon", "17:00", "08:00").exit_code != 0
    assert dutyline("duty", "set-phone", "not a number").exit_code != 0
    assert dutyline("duty", "holiday", "2026-10-01", "--from", "09:00").exit_code != 0


def test_prompt_audio_is_set_and_cleared_from_the_cli(env, engine, db_session):
    url = "https://cdn.example.gov.cn/greeting.mp3"
    assert dutyline("prompt-audio", "set", "zh-CN", "greeting", url).exit_code == 0
    assert dutyline("prompt-audio", "set", "zh-CN", "no-such-prompt", url).exit_code != 0

    assert json.loads(dutyline("prompt-audio", "show", "--json").output) == {
        "zh-CN": {"greeting": url}, "en-US": {}}
    assert dutyline("prompt-audio", "clear", "zh-CN", "greeting").exit_code == 0
    assert json.loads(dutyline("prompt-audio", "show", "--json").output)["zh-CN"] == {}
    assert db_session.scalars(select(AuditEvent.action)).all() == ["setting.changed"] * 2
