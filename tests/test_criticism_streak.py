"""Criticism ground (1) counts format and quality returns in a row (issue 16 item 6): an
accepted result ends the streak, and a redo for the liaison's dissatisfaction is its own
ground, shown beside the streak on the unit's line and in the bulletin, never counted in it."""
from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from docx import Document
from sqlalchemy import select

from intake.rules.access import sms_liaison
from intake.reports.bulletin import compose_bulletin, render_bulletin_docx
from intake.clock import FixedClock
from intake.cases.feedback import rate_case, record_feedback
from intake.rules.censures import confirm_censure
from intake.store.models import Censure, Liaison
from intake.reports.rates import Grouping, Period, compute_rates
from intake.cases.transfers import accept_result, file_result, return_result, transfer_case
from tests.case_support import (CALENDAR, SMS, TUESDAY, TZ, add_people, result_form,
                                route_case)
from tests.dashboard_support import audit_actions

PERIOD = Period(date(2026, 9, 1), date(2026, 10, 31))


@pytest.fixture
def people(demo):
    return add_people(demo)


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


def _return(demo, people, case, category, clock):
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    demo.flush()
    return_result(demo, people["sup"], case, category, "重办", clock.advance(hours=1), CALENDAR,
                  SMS)


def _dissatisfied_after_acceptance(demo, people, case, clock):
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock)
    record_feedback(demo, people["wang"], case, "phone", "已电话告知", clock, SMS)
    rate_case(demo, sms_liaison(demo.get(Liaison, case.liaison_id)), case, "dissatisfied", clock,
              CALENDAR, SMS)


def test_only_format_and_quality_returns_in_a_row_propose_criticism_ground_1(demo, people,
                                                                               clock):
    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    assignment = case.assignment
    _return(demo, people, case, "quality", clock)
    _return(demo, people, case, "format", clock)
    # An accepted result ends the streak; the liaison's dissatisfaction sends it back,
    # counted apart.
    _dissatisfied_after_acceptance(demo, people, case, clock)
    assert (assignment.returns, assignment.dissatisfied_redos) == (0, 1)
    # A return for dissatisfaction by the office is not in the streak either.
    _return(demo, people, case, "dissatisfied", clock)
    _return(demo, people, case, "quality", clock)
    _return(demo, people, case, "quality", clock)
    assert (assignment.returns, assignment.dissatisfied_redos) == (2, 2)
    assert assignment.criticism_flagged_at is None
    _return(demo, people, case, "format", clock)
    assert assignment.returns == 3 and assignment.criticism_flagged_at is not None
    assert case.redo_count == 5  # every redo of the assignment, both kinds
    demo.flush()
    assert audit_actions(demo, "cases", case.id).count("unit.criticism_flagged") == 1


def test_dissatisfied_redos_stand_beside_the_streak_on_the_units_line_and_in_the_bulletin(
        demo, people, clock):
    flagged, redone = route_case(demo, clock), route_case(demo, clock)
    for case in (flagged, redone):
        transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                      CALENDAR, SMS)
    for _ in range(3):
        _return(demo, people, flagged, "quality", clock)
    _dissatisfied_after_acceptance(demo, people, redone, clock)
    _return(demo, people, redone, "dissatisfied", clock)
    _dissatisfied_after_acceptance(demo, people, flagged, clock)
    # The bulletin prints a criticism once the office has confirmed the proposal.
    confirm_censure(demo, people["sup"], demo.scalars(select(Censure)).one(), "属实", clock)
    demo.commit()

    report = compute_rates(demo, PERIOD, now=clock.now(), calendar=CALENDAR, tz=TZ,
                           grouping=Grouping.UNIT)
    rows = {row.unit: row.to_json() for row in report.rows}
    # The flagged case's streak ended with its acceptance; its unit's longest is now 0.
    assert (rows["城关镇卫生院"]["returns_in_row"], rows["城关镇卫生院"]["dissatisfied_redos"],
            rows["城关镇卫生院"]["criticisms"]) == (0, 3, 1)
    assert (rows["县人民医院"]["returns_in_row"], rows["县人民医院"]["dissatisfied_redos"]) == (0, 0)

    bulletin = compose_bulletin(demo, PERIOD, now=clock.now(), calendar=CALENDAR, tz=TZ)
    [criticism] = bulletin.criticisms
    assert criticism.case_number == flagged.number and criticism.dissatisfied_redos == 1
    assert criticism.reasons == ["答非所问：重办"] * 3
    text = "\n".join(p.text for p in Document(BytesIO(render_bulletin_docx(bulletin, TZ))).paragraphs)
    assert "城关镇卫生院 连续退回 0 次、群众不满意重办 3 次、通报批评 1 次" in text
    assert "另因群众不满意重办 1 次（不计入连续退回）" in text


def test_the_reports_page_shows_the_streak_and_the_dissatisfied_redos(client, demo, people,
                                                                      clock):
    from tests.dashboard_support import sign_in

    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    _return(demo, people, case, "format", clock)
    _return(demo, people, case, "dissatisfied", clock)
    demo.commit()
    sign_in(client, "sup")
    page = client.get("/reports?from=2026-09-01&to=2026-10-31").get_data(as_text=True)
    assert 'data-returns="1" data-dissatisfied="1"' in page
    assert "连续退回 1 次" in page and "群众不满意重办 1 次" in page
