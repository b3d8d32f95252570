"""One language at a time (issue 19 item 3), outside the pages: every SMS template and reply,
the history's sentences, the weekly digest, and the header row of every export.

In zh-CN no ASCII word but the codes the bureau uses (ALLOWED_WORDS) and the placeholders a
template fills; in en-US no Han character. The pages are walked by tests/test_browser_census.py.
"""
from __future__ import annotations

import csv
import re
from datetime import date
from io import BytesIO, StringIO

import pytest
from openpyxl import load_workbook

from intake.cases.feedback import DISSATISFIED_REASON
from intake.cases.history import SENTENCES, WORDS
from intake.cases.replies import REPLIES
from intake.outbox.notifications import MESSAGES
from intake.reports.weekly import (DIGEST_WORDING, UNCATEGORISED, UNKNOWN_TOWNSHIP,
                                   WeeklyAnalysis, compose_weekly_digest)
from intake.reports.rates import Period
from tests.conftest import login
from tests.test_browser_census import ALLOWED_WORDS  # one list of the words a Chinese text may keep
from tests.report_seed import NOW, seed_report_cases

HAN = re.compile(r"[\u3400-\u9fff]")
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
PLACEHOLDER = re.compile(r"\{[^}]*\}")
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def _ascii_words(text: str) -> set[str]:
    return set(ASCII_WORD.findall(PLACEHOLDER.sub(" ", text))) - ALLOWED_WORDS


def _texts(table) -> list[str]:
    if isinstance(table, dict):
        return [text for value in table.values() for text in _texts(value)]
    return [table] if isinstance(table, str) else []


@pytest.mark.parametrize("name, tables", [
    ("SMS", MESSAGES), ("SMS replies", REPLIES), ("history", SENTENCES),
    ("history words", WORDS), ("redo reason", DISSATISFIED_REASON),
    ("digest", {"zh-CN": DIGEST_WORDING["zh"], "en-US": DIGEST_WORDING["en"]}),
])
def test_every_text_the_domain_writes_keeps_to_its_language(name, tables):
    chinese, english = _texts(tables["zh-CN"]), _texts(tables["en-US"])
    assert chinese and len(chinese) == len(english)
    assert {text: _ascii_words(text) for text in chinese if _ascii_words(text)} == {}
    assert [text for text in english if HAN.search(text)] == []


def test_the_weekly_digest_names_categories_in_its_language():
    # Issue 19 item 3: "public_health 6 / medical_service 2" in the Chinese SMS.
    analysis = WeeklyAnalysis(
        week=Period(date(2026, 11, 16), date(2026, 11, 22)), received=10,
        by_category=[("public_health", 6), ("medical_service", 2), (UNCATEGORISED, 1),
                     ("药品供应", 1)],
        by_township=[("城关镇", 4), (UNKNOWN_TOWNSHIP, 2)], topics=[])
    chinese = compose_weekly_digest(analysis, "zh-CN")
    assert "类别：公共卫生6、医疗服务2、未分类1" in chinese and not _ascii_words(chinese)
    english = compose_weekly_digest(analysis, "en-US")
    assert "categories: Public health 6, Medical service 2, Uncategorised 1" in english
    assert "townships: 城关镇 4, Other places 2" in english  # 城关镇 is the user's word


@pytest.fixture
def seeded(demo, monkeypatch):
    monkeypatch.setattr("dashboard.reports._now", lambda: NOW)
    return seed_report_cases(demo)


def _choose(client, locale: str) -> None:
    client.post("/language", data={"locale": locale, "next": "/"})


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(StringIO(data.decode("utf-8-sig"))))


def test_the_rates_download_speaks_the_requesters_language_and_the_api_keeps_its_keys(
        client, seeded):
    login(client, "admin")
    chinese = _csv_rows(client.get("/reports/export", query_string={**NOVEMBER}).get_data())
    assert chinese[0][:4] == ["单位", "单位类别", "受理数", "办结数"]
    assert chinese[1][0] == "全局合计" and {row[1] for row in chinese[2:]} <= {
        "乡镇卫生院", "县直医疗卫生单位"}
    assert not any(_ascii_words(cell) for cell in chinese[0])
    sheet = load_workbook(BytesIO(client.get("/reports/export", query_string={
        **NOVEMBER, "format": "xlsx"}).get_data()))["rates"]
    assert [c.value for c in sheet[2]] == chinese[0]
    _choose(client, "en_US")
    english = _csv_rows(client.get("/reports/export", query_string={**NOVEMBER}).get_data())
    assert english[0][:4] == ["Unit", "Kind of unit", "Cases received", "Cases answered"]
    assert english[1][0] == "Whole bureau"
    assert {row[1] for row in english[2:]} <= {"Township health centre", "County unit"}
    assert not any(HAN.search(cell) for cell in english[0])
    # GET /api/v1/reports/rates?format=csv is read by programs: its header is the JSON keys.
    api = _csv_rows(client.get("/api/v1/reports/rates", query_string={
        **NOVEMBER, "group": "unit", "format": "csv"}).get_data())
    assert api[0][:4] == ["unit", "kind", "received", "completed"] and api[1][0] == "total"


def test_the_directory_download_speaks_the_requesters_language(client, demo):
    login(client, "admin")
    book = load_workbook(BytesIO(client.get("/admin/directory.xlsx").get_data()))
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        assert header[0] in ("姓名", "名称") and not any(_ascii_words(h) for h in header)
    assert {r[1] for r in book["units"].iter_rows(min_row=2, values_only=True)} == {
        "乡镇卫生院", "县直医疗卫生单位"}
    _choose(client, "en_US")
    book = load_workbook(BytesIO(client.get("/admin/directory.xlsx").get_data()))
    for sheet in book.worksheets:
        assert not any(HAN.search(c.value) for c in sheet[1])
    assert {r[1] for r in book["units"].iter_rows(min_row=2, values_only=True)} == {
        "township", "county"}


def test_directory_import_problems_read_in_the_pages_language(client, demo):
    # Issue 19 item 3: "liaisons row 2 column phone: not a valid phone number" on a Chinese page.
    login(client, "admin")
    exported = client.get("/admin/directory.xlsx").get_data()

    def edited(change) -> bytes:
        book = load_workbook(BytesIO(exported))
        change(book)
        out = BytesIO()
        book.save(out)
        return out.getvalue()

    bad_phone = edited(lambda book: book["liaisons"].append(["坏号码", "12345", "", "", "", "是"]))
    bad_column = edited(lambda book: book["units"].cell(row=1, column=5, value="备注"))

    def problems(workbook: bytes) -> str:
        client.post("/admin/directory/import", data={"file": (BytesIO(workbook), "d.xlsx")},
                    content_type="multipart/form-data")
        html = client.get("/admin/directory").get_data(as_text=True)
        return " ".join(re.findall(r'<p class="flash error"[^>]*>([^<]*)</p>', html))

    chinese = problems(bad_phone) + " " + problems(bad_column)
    assert "联络员表（liaisons） 第 5 行 “电话”列：电话号码无效。" in chinese
    assert "承办单位表（units） 第 1 行 “备注”列：此表没有这一列。" in chinese
    assert _ascii_words(chinese.replace("liaisons", "").replace("units", "")) == set()
    _choose(client, "en_US")
    english = problems(bad_phone) + " " + problems(bad_column)
    assert "Sheet “liaisons” row 5 column phone: That is not a valid phone number." in english
    assert "column 备注: This column is not one the sheet takes." in english  # the file's word
