"""The four rates, the on-time share and the working days to an answer, counted by the
database over a seeded set whose every numerator and denominator is known (tests/report_seed.py)."""
from __future__ import annotations

from datetime import date

import pytest

from intake.exceptions import ValidationError
from intake.time.calendar import BureauCalendar
from intake.reports.rates import (Grouping, Period, compute_rates, compute_trend, find_unit,
                                  list_report_cases, parse_grouping, parse_period, quarter_period)
from intake.statuses import UnitKind
from intake.store.models import CaseAssignment
from tests.report_seed import NOW, local, seed_report_cases

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
CALENDAR = BureauCalendar()
KEYS = ["received", "completed", "completion_rate", "fed_back", "feedback_rate", "rated",
        "satisfied", "satisfaction_rate", "transferred_due", "on_time", "participation_rate"]


@pytest.fixture
def seeded(demo):
    return seed_report_cases(demo)


def _report(session, **kwargs):
    return compute_rates(session, NOVEMBER, now=NOW, calendar=CALENDAR, **kwargs).to_json()


def test_totals_count_each_figure_once(demo, seeded):
    report = _report(demo)
    assert report["from"] == "2026-11-01" and report["to"] == "2026-11-30"
    total = report["total"]
    assert set(KEYS) <= set(total)
    assert {k: total[k] for k in KEYS} == {
        "received": 9, "completed": 4, "completion_rate": round(4 / 9, 4),
        "fed_back": 3, "feedback_rate": 0.75, "rated": 3, "satisfied": 2,
        "satisfaction_rate": round(2 / 3, 4), "transferred_due": 5, "on_time": 2,
        "participation_rate": 0.4}
    assert total["answered_on_time"] == 3 and total["answered_on_time_rate"] == 0.75
    # 2 + 0 + 5 + 4 working days over four answered cases.
    assert total["average_working_days"] == 2.75
    assert report["rows"] == []


def test_rows_per_unit_hold_the_cases_transferred_to_it(demo, seeded):
    rows = {r["unit"]: r for r in _report(demo, grouping=Grouping.UNIT)["rows"]}
    assert set(rows) == {"城关镇卫生院", "县人民医院", "南山乡卫生院"}
    cg, xr, idle = rows["城关镇卫生院"], rows["县人民医院"], rows["南山乡卫生院"]
    assert {k: cg[k] for k in KEYS} == {
        "received": 4, "completed": 2, "completion_rate": 0.5, "fed_back": 2,
        "feedback_rate": 1.0, "rated": 1, "satisfied": 1, "satisfaction_rate": 1.0,
        "transferred_due": 3, "on_time": 2, "participation_rate": round(2 / 3, 4)}
    assert cg["average_working_days"] == 2.0 and cg["answered_on_time_rate"] == 1.0
    # c7 left 县人民医院 before its deadline: relieved, it owed nothing, so only c3 and c6
    # are due there, both late.
    assert {k: xr[k] for k in KEYS} == {
        "received": 3, "completed": 2, "completion_rate": round(2 / 3, 4), "fed_back": 1,
        "feedback_rate": 0.5, "rated": 1, "satisfied": 1, "satisfaction_rate": 1.0,
        "transferred_due": 2, "on_time": 0, "participation_rate": 0.0}
    assert xr["average_working_days"] == 4.5 and xr["answered_on_time_rate"] == 0.5
    assert xr["kind"] == "county" and cg["kind"] == "township"
    assert idle["received"] == 0
    assert [idle[k] for k in ("completion_rate", "feedback_rate", "satisfaction_rate",
                              "participation_rate", "average_working_days")] == [None] * 5


def test_rows_per_kind_count_a_case_once_per_kind(demo, seeded):
    # c2 moves on from 城关镇卫生院 to another township centre, which answers in time.
    demo.add(CaseAssignment(case=seeded["cases"]["c2"], unit=seeded["units"]["南山乡卫生院"],
                            assigned_at=local(11, 7), due_at=local(11, 12, 17, 30),
                            result_at=local(11, 10)))
    demo.commit()
    rows = {r["kind"]: r for r in _report(demo, grouping=Grouping.KIND)["rows"]}
    assert rows["township"]["received"] == 4 and rows["township"]["transferred_due"] == 3
    assert rows["township"]["on_time"] == 2 and rows["township"]["completed"] == 2
    assert rows["county"]["received"] == 3 and rows["county"]["on_time"] == 0
    assert rows["county"]["average_working_days"] == 4.5
    township = {c.number for c in list_report_cases(demo, NOVEMBER, "transferred_due", now=NOW,
                                                     kind=UnitKind.TOWNSHIP)}
    assert township == {seeded["cases"][n].number for n in ("c2", "c7", "c10")}


def test_one_unit(demo, seeded):
    report = _report(demo, unit=find_unit(demo, "县人民医院"))
    assert [r["unit"] for r in report["rows"]] == ["县人民医院"]
    assert report["rows"][0]["received"] == 3
    with pytest.raises(ValidationError) as info:
        find_unit(demo, "不存在的单位")
    assert info.value.code == "unit_unknown"


def test_an_empty_period_has_null_rates(demo, seeded):
    report = compute_rates(demo, Period(date(2025, 1, 1), date(2025, 1, 31)), now=NOW,
                           calendar=CALENDAR).to_json()["total"]
    assert report["received"] == 0
    assert report["completion_rate"] is None and report["participation_rate"] is None


def test_periods_are_read_and_checked():
    assert parse_period("2026-11-01", "2026-11-30") == NOVEMBER
    assert quarter_period(2026, 4) == Period(date(2026, 10, 1), date(2026, 12, 31))
    for start, end, code in (("2026-11-30", "2026-11-01", "period_reversed"),
                             ("2026-11", "2026-11-30", "date_invalid"),
                             ("2000-01-01", "2026-11-30", "period_too_long")):
        with pytest.raises(ValidationError) as info:
            parse_period(start, end)
        assert info.value.code == code
    assert parse_grouping("unit") == Grouping.UNIT
    with pytest.raises(ValidationError):
        parse_grouping("leader")


def test_drill_down_lists_the_cases_behind_a_number(demo, seeded):
    cases = seeded["cases"]

    def numbers(figure, **kwargs):
        return {c.number for c in list_report_cases(demo, NOVEMBER, figure, now=NOW, **kwargs)}

    def named(*names):
        return {cases[n].number for n in names}

    assert numbers("received") == named("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c10")
    assert numbers("completed") == named("c1", "c2", "c3", "c7")
    assert numbers("fed_back", missed=True) == named("c3")
    assert numbers("satisfied", missed=True) == named("c4")
    assert numbers("on_time") == named("c2", "c7")
    assert numbers("on_time", missed=True) == named("c3", "c6", "c10")
    xr = seeded["units"]["县人民医院"]
    assert numbers("transferred_due", unit=xr) == named("c3", "c6")
    assert numbers("received", kind=UnitKind.TOWNSHIP) == named("c2", "c5", "c7", "c10")
    with pytest.raises(ValidationError):
        list_report_cases(demo, NOVEMBER, "everything", now=NOW)


def test_trend_has_twelve_months(demo, seeded):
    trend = compute_trend(demo, date(2026, 12, 1), now=NOW, calendar=CALENDAR)
    assert [p.start for p, _f in trend][0] == date(2026, 1, 1)
    assert len(trend) == 12
    by_month = {p.start.month: f for p, f in trend}
    assert by_month[11].received == 9 and by_month[12].received == 1
    assert by_month[10].received == 0
