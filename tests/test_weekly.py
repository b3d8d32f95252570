"""The weekly analysis (民情分析) and the Monday digest SMS."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from intake.store.models import Case, Leader, Liaison
from intake.statuses import CaseStatus
from intake.reports.weekly import analyse_week, compose_weekly_digest, last_full_week, week_of
from tests.dashboard_support import make_call
from tests.report_seed import local

MONDAY = date(2026, 11, 16)
# Monday 23 November, 08:00 in Shanghai: the digest's moment.
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def week(demo):
    leader = demo.query(Leader).order_by(Leader.id).first()
    zhang = demo.query(Liaison).filter_by(name="张伟").one()
    call = make_call(demo, text="我 是 张伟 卫生室 排队 时间 太 长")  # the transcript counts too
    rows = [
        # (name, received, category, caller_unit, liaison, summary, status, call)
        ("w1", local(11, 16), "药品供应", "城关镇东门社区", None, "城关镇药店没有降压药",
         CaseStatus.CLOSED, None),
        ("w2", local(11, 17), "药品供应", "南山乡卫生院", None, "南山乡卫生院降压药断货了",
         CaseStatus.TRANSFERRED, None),
        ("w3", local(11, 18), "医保", "县人民医院", None, "医保报销太慢", CaseStatus.HANDLING, None),
        ("w4", local(11, 22, 23, 30), "", "", zhang, "降压药也没有", CaseStatus.ROUTED, call),
        # Outside the week, and open since 2 November: listed as open longer than a week.
        ("old", local(11, 2), "医保", "城关镇", None, "医保报销", CaseStatus.TRANSFERRED, None),
        ("next", local(11, 23, 0, 30), "医保", "城关镇", None, "排队", CaseStatus.ROUTED, None),
        ("done", local(11, 3), "医保", "城关镇", None, "医保", CaseStatus.FED_BACK, None),
    ]
    cases = {}
    for n, (name, received, category, unit, liaison, summary, status, call_) in enumerate(rows):
        cases[name] = Case(number=f"2026-{n + 1:06d}", caller_name="张伟", leader=leader,
                           liaison=liaison, created_at=received, category=category,
                           caller_unit=unit, summary=summary, status=status, call=call_)
        demo.add(cases[name])
    demo.commit()
    return cases


def test_weeks():
    assert week_of(date(2026, 11, 22)) == MONDAY
    assert last_full_week(date(2026, 11, 23)) == MONDAY


def test_analysis_counts_topics_and_open_cases(demo, week):
    analysis = analyse_week(demo, None, now=NOW)
    assert (analysis.week.start, analysis.week.end) == (MONDAY, date(2026, 11, 22))
    assert analysis.received == 4
    assert analysis.by_category == [("药品供应", 2), ("医保", 1), ("未分类", 1)]
    # w4 has no unit of its own: its liaison lives in 城关镇东门村.
    assert analysis.by_township == [("城关镇", 2), ("南山乡", 1), ("其他", 1)]
    topics = dict(analysis.topics)
    assert topics["降压药"] == 3
    assert "排队" not in topics  # in one case only (w4's transcript): not recurring
    assert "没有" not in topics  # a stopword
    # Received before 16 November 08:00 and not yet answered back to the liaison.
    assert [c.number for c in analysis.open_cases] == [week["old"].number]


def test_digest_is_short_and_names_what_matters(demo, week):
    analysis = analyse_week(demo, MONDAY, now=NOW)
    text = compose_weekly_digest(analysis)
    assert text.startswith("民情周报 11月16日至11月22日：受理4件，类别：药品供应2、医保1、未分类1")
    assert "乡镇：城关镇2、南山乡1、其他1" in text and "热点：降压药" in text
    assert text.endswith(f"超一周未办结1件：{week['old'].number}。")
    assert len(text) <= 140
    english = compose_weekly_digest(analysis, "en-US")
    assert english.startswith("Weekly digest 16 Nov–22 Nov: 4 cases; categories: 药品供应 2, 医保 1")
