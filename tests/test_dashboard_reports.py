"""The reports page, its drill-down and exports, the weekly page and GET /api/v1/reports/rates."""
from __future__ import annotations

import csv
from io import BytesIO, StringIO

import pytest
from docx import Document
from openpyxl import load_workbook

from intake.store.audit import Actor
from intake.directory.roster import create_user
from tests.conftest import login
from tests.report_seed import NOW, seed_report_cases

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def seeded(demo, monkeypatch):
    # The seed's figures hold as of its NOW (c5's unit result falls due on 20 December 2026):
    # the pages report as of that moment, not the real clock's (issue 23).
    monkeypatch.setattr("dashboard.reports._now", lambda: NOW)
    create_user(demo, username="sup", role="supervisor", name="督办员", password="dutyline-demo",
                actor=Actor("test"))
    demo.commit()
    return seed_report_cases(demo)


def test_api_returns_the_contract_shape(client, seeded):
    login(client, "sup")
    answer = client.get("/api/v1/reports/rates", query_string={**NOVEMBER, "group": "unit"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["from"] == "2026-11-01" and body["to"] == "2026-11-30"
    assert body["total"]["received"] == 9 and body["total"]["participation_rate"] == 0.4
    rows = {r["unit"]: r for r in body["rows"]}
    assert rows["县人民医院"]["transferred_due"] == 2
    assert rows["南山乡卫生院"]["completion_rate"] is None
    one = client.get("/api/v1/reports/rates", query_string={**NOVEMBER, "unit": "县人民医院"})
    assert [r["unit"] for r in one.get_json()["rows"]] == ["县人民医院"]


def test_api_refuses_bad_input_with_422(client, seeded):
    login(client, "admin")
    reversed_ = client.get("/api/v1/reports/rates", query_string={"from": "2026-11-30",
                                                                   "to": "2026-11-01"})
    assert reversed_.status_code == 422
    assert reversed_.get_json()["error"]["code"] == "period_reversed"
    unknown = client.get("/api/v1/reports/rates", query_string={**NOVEMBER, "unit": "火星医院"})
    assert unknown.status_code == 422
    assert unknown.get_json()["error"] == {"code": "unit_unknown", "field": "unit",
                                          "message": "请从通讯录中选择承办单位。"}
    bad_group = client.get("/api/v1/reports/rates", query_string={**NOVEMBER, "group": "leader"})
    assert bad_group.status_code == 422
    assert bad_group.get_json()["error"]["code"] == "group_invalid"


def test_api_files(client, seeded):
    login(client, "sup")
    as_csv = client.get("/api/v1/reports/rates",
                        query_string={**NOVEMBER, "group": "unit", "format": "csv"})
    lines = {r["unit"]: r for r in csv.DictReader(StringIO(as_csv.get_data().decode("utf-8-sig")))}
    assert lines["total"]["completed"] == "4" and lines["城关镇卫生院"]["on_time"] == "2"
    as_xlsx = client.get("/api/v1/reports/rates", query_string={**NOVEMBER, "format": "xlsx"})
    sheet = load_workbook(BytesIO(as_xlsx.get_data()))["rates"]
    assert sheet.cell(row=3, column=1).value == "total" and sheet.cell(row=3, column=3).value == 9


def test_only_supervision_and_admin_read_reports(client, seeded):
    assert client.get("/api/v1/reports/rates", query_string=NOVEMBER).status_code == 401
    login(client, "duty")
    assert client.get("/api/v1/reports/rates", query_string=NOVEMBER).status_code == 403
    assert client.get("/reports").status_code == 403


def test_page_shows_rates_kinds_units_and_a_trend(client, seeded):
    login(client, "sup")
    page = client.get("/reports", query_string={"preset": "month", "value": "2026-11"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2026-11-01" in html and "2026-11-30" in html
    assert 'id="rates-total"' in html and "44.4%" in html and "40.0%" in html
    assert 'data-unit="南山乡卫生院"' in html and 'data-kind="county"' in html
    assert "<svg" in html and "<circle" in html and "style=" not in html.split("<svg")[1]
    drill = ("/reports/cases?from=2026-11-01&amp;to=2026-11-30&amp;figure=on_time&amp;"
             f"unit_id={seeded['units']['县人民医院'].id}&amp;missed=1")
    assert drill in html


def test_period_picker_presets(client, seeded):
    login(client, "sup")
    quarter = client.get("/reports", query_string={"preset": "quarter", "value": "2026-Q4"})
    assert "2026-10-01" in quarter.get_data(as_text=True)
    year = client.get("/reports", query_string={"preset": "year", "value": "2026"})
    assert "2026-12-31" in year.get_data(as_text=True)
    bad = client.get("/reports", query_string={"preset": "custom", "from": "2026-11-30",
                                               "to": "2026-11-01"})
    assert bad.status_code == 200 and "结束日期早于开始日期" in bad.get_data(as_text=True)


def test_drill_down_lists_the_cases(client, seeded):
    login(client, "sup")
    cases = seeded["cases"]
    xr = seeded["units"]["县人民医院"]
    page = client.get("/reports/cases", query_string={**NOVEMBER, "figure": "transferred_due",
                                                      "unit_id": xr.id})
    html = page.get_data(as_text=True)
    assert cases["c3"].number in html and cases["c6"].number in html
    assert cases["c7"].number not in html and cases["c2"].number not in html
    bad = client.get("/reports/cases", query_string={**NOVEMBER, "figure": "everything"})
    assert bad.status_code == 422


def test_bulletin_download(client, seeded):
    login(client, "admin")
    bad = client.get("/reports/export", query_string={"from": "2026-11-30", "to": "2026-11-01",
                                                      "format": "docx"})
    assert bad.status_code == 302 and "/reports" in bad.headers["Location"]
    answer = client.get("/reports/export", query_string={**NOVEMBER, "format": "docx"})
    assert answer.status_code == 200
    text = "\n".join(p.text for p in Document(BytesIO(answer.get_data())).paragraphs)
    assert "共受理群众诉求 9 件" in text


def test_weekly_page(client, seeded):
    login(client, "sup")
    page = client.get("/reports/weekly", query_string={"week": "2026-11-16"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2026-11-16" in html and 'id="digest"' in html and "民情周报" in html
