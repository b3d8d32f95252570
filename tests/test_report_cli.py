"""dutyline report rates|bulletin|weekly and dutyline bench reports, against the real database."""
from __future__ import annotations

import json
from io import BytesIO

from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from cli.main import main
from tests.report_seed import NOW, seed_report_cases

NOVEMBER = ["--from", "2026-11-01", "--to", "2026-11-30", "--now", NOW.isoformat()]


def test_report_rates_json_csv_xlsx(env, demo, tmp_path):
    seed_report_cases(demo)
    runner = CliRunner()
    answer = runner.invoke(main, ["report", "rates", *NOVEMBER, "--group", "unit"])
    assert answer.exit_code == 0, answer.output
    body = json.loads(answer.output)
    assert body["total"]["received"] == 9 and body["total"]["satisfaction_rate"] == 0.6667
    assert {r["unit"]: r["on_time"] for r in body["rows"]}["城关镇卫生院"] == 2
    as_csv = runner.invoke(main, ["report", "rates", *NOVEMBER, "--format", "csv"])
    assert as_csv.output.lstrip("\ufeff").splitlines()[1].startswith("total,,9,4,")
    out = tmp_path / "rates.xlsx"
    as_xlsx = runner.invoke(main, ["report", "rates", *NOVEMBER, "--group", "unit",
                                   "--format", "xlsx", "--out", str(out)])
    assert as_xlsx.exit_code == 0, as_xlsx.output
    sheet = load_workbook(BytesIO(out.read_bytes()))["rates"]
    assert sheet.cell(row=3, column=3).value == 9


def test_report_rates_refuses_bad_input_with_status_2(env, demo):
    seed_report_cases(demo)
    runner = CliRunner()
    reversed_ = runner.invoke(main, ["report", "rates", "--from", "2026-11-30",
                                     "--to", "2026-11-01"])
    assert reversed_.exit_code == 2 and "ends before it starts" in reversed_.output
    unknown = runner.invoke(main, ["report", "rates", *NOVEMBER, "--unit", "火星医院"])
    assert unknown.exit_code == 2 and "火星医院" in unknown.output
    no_out = runner.invoke(main, ["report", "rates", *NOVEMBER, "--format", "xlsx"])
    assert no_out.exit_code == 2


def test_report_bulletin_and_weekly(env, demo, tmp_path):
    seed_report_cases(demo)
    runner = CliRunner()
    out = tmp_path / "bulletin.docx"
    answer = runner.invoke(main, ["report", "bulletin", *NOVEMBER, "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    assert "办结率 44.4%" in "\n".join(p.text for p in Document(str(out)).paragraphs)
    weekly = runner.invoke(main, ["report", "weekly", "--week", "2026-11-16",
                                  "--now", "2026-11-23T08:00:00+08:00", "--json"])
    assert weekly.exit_code == 0, weekly.output
    body = json.loads(weekly.output)
    assert body["from"] == "2026-11-16" and body["received"] == 2  # c5 and c6
    assert body["digest"].startswith("民情周报 11月16日至11月22日：受理2件")


def test_report_bulletin_as_pdf_prints_the_same_numbers(env, demo, tmp_path):
    from pypdf import PdfReader

    seed_report_cases(demo)
    runner = CliRunner()
    out = tmp_path / "bulletin.pdf"
    answer = runner.invoke(main, ["report", "bulletin", *NOVEMBER, "--format", "pdf",
                                  "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    text = "\n".join(page.extract_text() for page in PdfReader(str(out)).pages)
    assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in text
    assert "统计截至：2026年12月10日 10:00" in text  # NOW, in the bureau's zone
    # The format follows the file's extension when --format is left out.
    guessed = tmp_path / "guessed.pdf"
    assert runner.invoke(main, ["report", "bulletin", *NOVEMBER, "--out", str(guessed)]
                         ).exit_code == 0
    assert guessed.read_bytes().startswith(b"%PDF")


def test_bench_reports_prints_numbers(tmp_path):
    answer = CliRunner().invoke(main, ["bench", "reports", "--cases", "400", "--repeat", "1",
                                       "--json"])
    assert answer.exit_code == 0, answer.output
    body = json.loads(answer.output[answer.output.index("{"):])
    assert body["cases"] == 400 and body["timings"]["year_per_unit"]["rows"] == 24
    assert 0 < body["total"]["received"] <= 400
    # The bulletin and the year's summary, built and rendered: the year has 20 members.
    assert body["timings"]["year_summary"]["rows"] == 20
    assert body["timings"]["bulletin_month"]["bytes"] > 0
    assert body["database_mib"] > 0 and body["timings"]["page_year"]["p95_s"] > 0


def test_bench_reports_prints_a_line_for_each_timing(tmp_path):
    answer = CliRunner().invoke(main, ["bench", "reports", "--cases", "300", "--repeat", "1"])
    assert answer.exit_code == 0, answer.output
    lines = {line.split()[0]: line for line in answer.output.splitlines()
             if line.startswith("  ") and " p95 " in line}
    assert {"year_per_unit", "page_year", "bulletin_month", "year_summary"} <= set(lines)
