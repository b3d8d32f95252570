"""The year's summary (四.7): built from seeded cases, duties, commendations and censures, and
read back from its DOCX and PDF for the numbers it prints."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from io import BytesIO

import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import select

from intake.directory.contacts import log_contact
from intake.exceptions import ValidationError
from intake.reports.rates import Grouping, compute_rates, compute_rows, parse_grouping, year_period
from intake.reports.year import (build_year_document, compose_year_summary, parse_year,
                                 render_year_docx, render_year_pdf)
from intake.statuses import (CensureGround, CensureKind, CensureStatus, CommendationKind)
from intake.store.audit import Actor
from intake.store.models import Case, Censure, CensureCase, Commendation, Leader, Liaison, Unit
from intake.time.calendar import BureauCalendar
from tests.report_seed import NOW, local, seed_report_cases

CALENDAR = BureauCalendar()
# The summary of 2026 made on 10 December: January to November are judged, December is not.
MADE = NOW


@pytest.fixture
def year(demo):
    """November's seeded cases (all routed to 王建国), one case of 李红's, duties, praise, censures."""
    seeded = seed_report_cases(demo)
    wang = demo.scalar(select(Leader).where(Leader.name == "王建国"))
    li = demo.scalar(select(Leader).where(Leader.name == "李红"))
    demo.add(Case(number="2026-000900", caller_name="陈明", leader=li, status="closed",
                  satisfaction="dissatisfied", created_at=local(3, 2), routed_at=local(3, 2),
                  answered_at=local(3, 2, 15), deadline_at=local(3, 2, 17, 30),
                  summary="门诊排队时间长", category="服务"))
    liaisons = {l.name: l for l in demo.scalars(select(Liaison))}
    # 王建国 calls both his liaisons in March and in November, only 张伟 in May; 李红 calls
    # 陈明 every month from January to November.
    for month in (3, 5, 11):
        for name in (("张伟", "刘芳") if month != 5 else ("张伟",)):
            log_contact(demo, wang, liaisons[name], Actor("test"), on=date(2026, month, 9),
                        today=date(2026, 12, 10))
    for month in range(1, 12):
        log_contact(demo, li, liaisons["陈明"], Actor("test"), on=date(2026, month, 3),
                    today=date(2026, 12, 10))
    units = {u.name: u for u in demo.scalars(select(Unit))}
    demo.add(Commendation(kind=CommendationKind.BANNER, leader=wang,
                          received_on=date(2026, 6, 1), giver="张大爷", evidence="锦旗一面"))
    demo.add(Commendation(kind=CommendationKind.LETTER, leader=wang,
                          received_on=date(2026, 7, 1), giver="刘女士", evidence="表扬信"))
    demo.add(Commendation(kind=CommendationKind.MEDIA, unit=units["县人民医院"],
                          received_on=date(2026, 8, 1), giver="县电视台", evidence="新闻报道"))
    demo.add(Commendation(kind=CommendationKind.LETTER, unit=units["县人民医院"],
                          received_on=date(2025, 8, 1), giver="去年", evidence="去年的表扬信"))
    c10 = seeded["cases"]["c10"]
    demo.add(Censure(kind=CensureKind.CRITICISM, ground=CensureGround.RETURNED_THREE_TIMES,
                     status=CensureStatus.CONFIRMED, unit=units["城关镇卫生院"],
                     facts="连续三次退回", created_at=local(11, 15), decided_at=local(11, 16, 9),
                     decided_by="user:sup", links=[CensureCase(case=c10)]))
    demo.add(Censure(kind=CensureKind.CRITICISM, ground=CensureGround.LATE_UNEXPLAINED,
                     status=CensureStatus.PROPOSED, unit=units["县人民医院"],
                     facts="未确认的提示", created_at=local(11, 15)))
    demo.add(Censure(kind=CensureKind.ACCOUNTABILITY, ground=CensureGround.BUCK_PASSING,
                     status=CensureStatus.CONFIRMED, unit=units["县人民医院"], person="赵科长",
                     facts="互相推诿", created_at=local(9, 1), decided_at=local(9, 2)))
    demo.add(Censure(kind=CensureKind.ACCOUNTABILITY, ground=CensureGround.ABUSE_OF_OFFICE,
                     status=CensureStatus.WITHDRAWN, person="钱某", facts="已撤销的问责",
                     created_at=local(9, 1), decided_at=local(9, 2)))
    demo.commit()
    return {"wang": wang, "li": li, **seeded}


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    document = docx.Document(BytesIO(data))
    rows = ["\t".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    return "\n".join([p.text for p in document.paragraphs] + rows)


def test_member_rows_count_the_cases_routed_to_each_member(demo, year):
    rows = {r.leader: r for r in compute_rows(demo, year_period(2026), Grouping.LEADER,
                                              now=MADE, calendar=CALENDAR)}
    total = compute_rates(demo, year_period(2026), now=MADE, calendar=CALENDAR).total
    assert rows["王建国"].figures.received == 10  # every seeded case, c9 (1 December) too
    assert rows["王建国"].figures.received + rows["李红"].figures.received == total.received
    assert (rows["李红"].figures.received, rows["李红"].figures.completed,
            rows["李红"].figures.rated, rows["李红"].figures.satisfied) == (1, 1, 1, 0)
    assert rows["李红"].figures.rate("satisfaction_rate") == 0.0
    # Participation by member sums to the bureau's.
    assert sum(r.figures.transferred_due for r in rows.values()) == total.transferred_due
    assert sum(r.figures.on_time for r in rows.values()) == total.on_time
    assert rows["王建国"].to_json()["leader_id"] == year["wang"].id
    with pytest.raises(ValidationError):
        parse_grouping("leader")  # the rates API does not group by member


def test_the_summary_gathers_duties_commendations_and_only_confirmed_censures(demo, year):
    summary = compose_year_summary(demo, 2026, now=MADE, calendar=CALENDAR)
    contacts = {c.name: c for c in summary.contacts}
    assert (contacts["王建国"].months_in_full, contacts["王建国"].months_counted) == ([3, 11], 11)
    assert 5 in contacts["王建国"].months_short and 12 not in contacts["王建国"].months_short
    assert len(contacts["李红"].months_in_full) == 11
    assert [(c["name"], c["total"]) for c in summary.commendations] == [("王建国", 2),
                                                                         ("县人民医院", 1)]
    assert [c.facts for c in summary.criticisms] == ["连续三次退回"]
    assert [c.facts for c in summary.accountability] == ["互相推诿"]
    body = summary.to_json()
    assert body["year"] == 2026 and body["total"]["received"] == year_received(demo)
    assert body["accountability"][0]["target"] == "县人民医院（赵科长）"
    json.dumps(body, ensure_ascii=False)  # every value is JSON


def year_received(demo) -> int:
    return compute_rates(demo, year_period(2026), now=MADE, calendar=CALENDAR).total.received


def test_docx_and_pdf_print_the_same_numbers(demo, year):
    summary = compose_year_summary(demo, 2026, now=MADE, calendar=CALENDAR)
    wang = next(r for r in summary.members if r.leader == "王建国").figures
    wang_line = "\t".join(["王建国", str(wang.received),
                           f"{wang.rate('completion_rate') * 100:.1f}%"])
    docx_text = _docx_text(render_year_docx(summary))
    pdf_text = _pdf_text(render_year_pdf(summary))
    for text in (docx_text, pdf_text):
        assert "民情联线年度工作总结（2026年）" in text
        assert "统计截至：2026年12月10日 10:00" in text
        assert f"全年共受理群众诉求 {year_received(demo)} 件" in text
        assert "城关镇卫生院：办理结果连续三次被退回" in text
        assert "县人民医院（赵科长）：推诿扯皮" in text
        assert "未确认的提示" not in text and "已撤销的问责" not in text
        assert "去年的表扬信" not in text
    assert wang_line in docx_text
    # Two liaisons; everyone called in 2 of the 11 months judged (March and November).
    assert "王建国\t2\t2/11 个月\t1月、2月、4月、5月、6月、7月、8月、9月、10月" in docx_text
    assert "李红\t1\t11/11 个月\t—" in docx_text
    assert "王建国\t成员\t1\t1\t0\t2" in docx_text
    # In the PDF each table cell is its own run of text: the member's figures in order.
    assert "2/11 个月" in pdf_text and "11/11 个月" in pdf_text
    document = build_year_document(summary)
    assert document.landscape and document.title == "民情联线年度工作总结（2026年）"


def test_a_year_with_nothing_says_so(demo):
    summary = compose_year_summary(demo, 2024, now=MADE, calendar=CALENDAR)
    text = _pdf_text(render_year_pdf(summary))
    assert "全年共受理群众诉求 0 件，办结 0 件，办结率 —" in text
    assert "本年无。" in text
    assert [len(c.months_in_full) for c in summary.contacts] == [0, 0]  # nobody called in 2024
    future = compose_year_summary(demo, 2027, now=MADE, calendar=CALENDAR)
    assert future.contacts == []  # no month of 2027 has ended


@pytest.mark.parametrize("value", ["26", "abc", "1999", "2101", ""])
def test_a_bad_year_is_refused(value):
    with pytest.raises(ValidationError) as refused:
        parse_year(value)
    assert refused.value.code == "year_invalid"


def test_dutyline_report_year_writes_json_docx_and_pdf(env, demo, year, tmp_path):
    from cli.main import main

    runner = CliRunner()
    now = ["--now", MADE.isoformat()]
    answer = runner.invoke(main, ["report", "year", "--year", "2026", "--format", "json", *now])
    assert answer.exit_code == 0, answer.output
    body = json.loads(answer.output)
    assert body["year"] == 2026 and {m["leader"] for m in body["members"]} == {"王建国", "李红"}
    for fmt in ("docx", "pdf"):
        out = tmp_path / f"year.{fmt}"
        written = runner.invoke(main, ["report", "year", "--year", "2026", "--format", fmt,
                                       "--output", str(out), *now])
        assert written.exit_code == 0, written.output
        text = _pdf_text(out.read_bytes()) if fmt == "pdf" else _docx_text(out.read_bytes())
        assert "民情联线年度工作总结（2026年）" in text
    bad = runner.invoke(main, ["report", "year", "--year", "20x6"])
    assert bad.exit_code == 2
    no_file = runner.invoke(main, ["report", "year", "--year", "2026", "--format", "pdf"])
    assert no_file.exit_code == 2
