"""Contact duties: a member's calls to their liaisons, and who still owes calls this month."""
from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from intake.store.audit import Actor, list_events
from intake.directory.contacts import (list_contact_duties, log_contact, members_owing_contacts,
                                       month_bounds, parse_month)
from intake.directory.roster import reassign_liaison, set_active
from intake.exceptions import ValidationError
from intake.store.models import ContactLog, Leader, Liaison

ACTOR = Actor("user:wang")
TODAY = date(2026, 11, 26)


def _people(session):
    leaders = {l.name: l for l in session.query(Leader)}
    liaisons = {li.name: li for li in session.query(Liaison)}
    return leaders, liaisons


def test_months_are_parsed_strictly():
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert month_bounds(date(2026, 12, 15)) == (date(2026, 12, 1), date(2027, 1, 1))
    for bad in ("2026-13", "2026-1", "11/2026", "", "2026-00"):
        with pytest.raises(ValidationError) as caught:
            parse_month(bad)
        assert caught.value.code == "month_invalid"


def test_a_logged_call_counts_for_its_month_only(demo):
    leaders, liaisons = _people(demo)
    wang, li = leaders["王建国"], leaders["李红"]
    log_contact(demo, wang, liaisons["张伟"], ACTOR, on=date(2026, 11, 3), today=TODAY,
                note="问了药店的事")
    log_contact(demo, wang, liaisons["刘芳"], ACTOR, on=date(2026, 10, 30), today=TODAY)
    log_contact(demo, li, liaisons["陈明"], ACTOR, on=date(2026, 11, 1), today=TODAY)
    demo.commit()
    duties = {d.leader_name: d for d in list_contact_duties(demo, date(2026, 11, 1))}
    assert [c["name"] for c in duties["王建国"].contacted] == ["张伟"]
    assert [o["name"] for o in duties["王建国"].owing] == ["刘芳"]
    assert duties["李红"].owing == []
    assert [d.leader_name for d in members_owing_contacts(demo, date(2026, 11, 20))] == ["王建国"]
    assert [d.leader_name for d in members_owing_contacts(demo, date(2026, 10, 1))] == [
        "王建国", "李红"]
    entry = demo.query(ContactLog).filter_by(note="问了药店的事").one()
    assert list_events(demo, "contact_logs", entry.id)[0].action == "contact.logged"


def test_a_call_to_another_members_liaison_is_refused(demo):
    leaders, liaisons = _people(demo)
    with pytest.raises(ValidationError) as caught:
        log_contact(demo, leaders["李红"], liaisons["张伟"], ACTOR, on=TODAY, today=TODAY)
    assert caught.value.code == "liaison_not_members"
    with pytest.raises(ValidationError) as caught:
        log_contact(demo, leaders["王建国"], liaisons["张伟"], ACTOR, on=date(2026, 11, 27),
                    today=TODAY)
    assert caught.value.code == "date_in_future"
    assert demo.query(ContactLog).count() == 0


def test_only_the_current_members_calls_and_active_liaisons_count(demo):
    leaders, liaisons = _people(demo)
    wang, li = leaders["王建国"], leaders["李红"]
    log_contact(demo, wang, liaisons["张伟"], ACTOR, on=date(2026, 11, 2), today=TODAY)
    reassign_liaison(demo, liaisons["张伟"], li, ACTOR)
    set_active(demo, liaisons["刘芳"], False, ACTOR)
    duties = {d.leader_name: d for d in list_contact_duties(demo, TODAY)}
    assert duties["王建国"].owing == [] and duties["王建国"].contacted == []
    assert [o["name"] for o in duties["李红"].owing] == ["张伟", "陈明"]


def test_the_commands_log_and_report(env, demo):
    from cli.main import main

    runner = CliRunner()
    ok = runner.invoke(main, ["contacts", "log", "--leader", "王建国", "--liaison", "张伟",
                              "--at", "2026-11-03", "--note", "电话回访"])
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(main, ["contacts", "log", "--leader", "李红", "--liaison", "张伟",
                                   "--at", "2026-11-03"])
    assert refused.exit_code == 1 and "not one of 李红's liaisons" in refused.output
    unknown = runner.invoke(main, ["contacts", "log", "--leader", "无名", "--liaison", "张伟"])
    assert unknown.exit_code == 1 and "no active leader named '无名'" in unknown.output
    bad_day = runner.invoke(main, ["contacts", "log", "--leader", "王建国", "--liaison", "张伟",
                                   "--at", "2026-11-31"])
    assert bad_day.exit_code == 2
    report = runner.invoke(main, ["report", "contacts", "--month", "2026-11", "--json"])
    assert report.exit_code == 0, report.output
    members = {m["leader"]: m for m in json.loads(report.output)["members"]}
    assert [o["name"] for o in members["王建国"]["owing"]] == ["刘芳"]
    assert members["王建国"]["contacted"][0]["last"] == "2026-11-03"
    assert [o["name"] for o in members["李红"]["owing"]] == ["陈明"]
    text = runner.invoke(main, ["report", "contacts", "--month", "2026-11"])
    assert "王建国: 1 contacted; not contacted: 刘芳" in text.output
    bad_month = runner.invoke(main, ["report", "contacts", "--month", "2026-13"])
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    demo.expire_all()
    assert demo.query(ContactLog).count() == 1
