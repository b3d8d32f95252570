"""The rates report as CSV and XLSX: the same figures the page and the API show.

One row per line: first the bureau's total (unit "total"), then the report's rows. The header
row carries the JSON key names, so a file and `GET /api/v1/reports/rates` read alike (the
API, the CLI); the dashboard's download passes `words` instead, so that its header, the total's
label and the kinds of unit read in the requester's language. Rates
are fractions from 0 to 1 and an empty cell is a null rate. A unit name that a spreadsheet
program would take for a formula is written inert (intake.store.spreadsheets).
"""
from __future__ import annotations

import csv
from io import BytesIO, StringIO
from typing import Mapping

from openpyxl import Workbook
from openpyxl.styles import Font

from intake.reports.rates import RatesReport
from intake.store.spreadsheets import csv_safe, write_rows

TOTAL_LABEL = "total"
FIGURE_COLUMNS = ("received", "completed", "completion_rate", "fed_back", "feedback_rate",
                  "rated", "satisfied", "satisfaction_rate", "transferred_due", "on_time",
                  "participation_rate", "answered_on_time", "answered_on_time_rate",
                  "fed_back_on_time", "feedback_on_time_rate", "average_working_days")
# What a unit's line shows beside its figures (empty on the total and on a kind's line).
UNIT_LINE_COLUMNS = ("returns_in_row", "dissatisfied_redos", "criticisms", "chases")
COLUMNS = ("unit", "kind", *FIGURE_COLUMNS, *UNIT_LINE_COLUMNS)


def report_lines(report: RatesReport, words: Mapping[str, str] | None = None) -> list[list]:
    """Return the header and one list of values per line: the total, then each row.

    Args:
        words: what a column key, "total" and a kind of unit read as; None keeps the keys.
    """
    say = (lambda key: str(words.get(key, key))) if words else (lambda key: key)
    payload = report.to_json()
    blank = [None] * len(UNIT_LINE_COLUMNS)
    lines = [[say(key) for key in COLUMNS],
             [say(TOTAL_LABEL), "", *(payload["total"][k] for k in FIGURE_COLUMNS), *blank]]
    for row in payload["rows"]:
        lines.append([row.get("unit") or "", say(row.get("kind") or "") if row.get("kind") else "",
                      *(row[k] for k in FIGURE_COLUMNS),
                      *(row.get(k) for k in UNIT_LINE_COLUMNS)])
    return lines


def render_rates_csv(report: RatesReport, words: Mapping[str, str] | None = None) -> bytes:
    """Return the report as UTF-8 CSV with a byte-order mark, so Excel reads the Chinese."""
    out = StringIO()
    writer = csv.writer(out)
    for line in report_lines(report, words):
        writer.writerow(["" if value is None else csv_safe(value) for value in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_rates_xlsx(report: RatesReport, words: Mapping[str, str] | None = None) -> bytes:
    """Return the report as an XLSX workbook with one sheet, "rates", rates as percentages."""
    book = Workbook()
    sheet = book.active
    sheet.title = "rates"
    sheet.append([f"{report.period.start.isoformat()} – {report.period.end.isoformat()}"])
    write_rows(sheet, report_lines(report, words))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for index, name in enumerate(COLUMNS, start=1):
        if name.endswith("_rate"):
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = "0.0%"
    sheet.column_dimensions["A"].width = 20
    out = BytesIO()
    book.save(out)
    return out.getvalue()
