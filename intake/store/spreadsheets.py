"""Spreadsheets in and out: uploaded workbooks read within caps, exported cells written inert.

Reading. An uploaded file is read at most one byte past MAX_WORKBOOK_BYTES, and a workbook
is refused before it is opened when its parts unpack to more than MAX_UNPACKED_BYTES (the
sizes the zip declares are the most it will inflate). Its sheets are read in openpyxl's
streaming (read_only) mode, row by row, and the dimension the file declares is ignored:
a crafted `<dimension ref="A1:XFD4000000"/>` makes openpyxl pad every row to 16,384 cells
and every sheet to 4 million rows. Reading stops at the caller's row cap, blank rows
counted, so a sheet of millions of empty `<row/>` elements is refused after the cap.

    data = read_capped(stream)                  # ValidationError workbook_too_large
    book = open_workbook(data)                  # ... workbook_too_large, file_unreadable
    for number, values in sheet_rows(book["units"], max_rows=10_000):   # too_many_rows
        ...
    book.close()

Writing. A text cell that starts with =, +, -, @, a tab or a carriage return is read as a
formula by Excel and LibreOffice (CSV injection, OWASP). `write_rows` puts such a value in
an XLSX as a text cell with the quote-prefix style, so it shows as text and stays text when
edited; its value is unchanged and reads back exactly. `csv_safe` gives it a leading single
quote in CSV, where no cell type can be said: OWASP's advice. Every export uses these two.
"""
from __future__ import annotations

import zipfile
import zlib
from io import BytesIO
from typing import IO, Iterable, Iterator

from intake.exceptions import ValidationError

MAX_WORKBOOK_MB = 5
MAX_WORKBOOK_BYTES = MAX_WORKBOOK_MB * 1024 * 1024
# A 5,000-row directory sheet with its shared strings unpacks to about 2 MB; openpyxl's
# streaming reader gets through about 20 MB of sheet XML a second.
MAX_UNPACKED_BYTES = 25 * 1024 * 1024
# What a spreadsheet program takes as the start of a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def read_capped(source: IO[bytes] | bytes, max_bytes: int = MAX_WORKBOOK_BYTES) -> bytes:
    """Return an uploaded file's bytes, reading at most one byte past the limit.

    Raises:
        ValidationError: code workbook_too_large (field "file") when it is larger.
    """
    data = source if isinstance(source, bytes) else source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(f"the file is larger than the limit of "
                              f"{max_bytes // (1024 * 1024)} MB", field="file",
                              code="workbook_too_large")
    return data


def open_workbook(data: bytes, max_unpacked: int = MAX_UNPACKED_BYTES):
    """Open an XLSX workbook in streaming mode, after checking what it unpacks to.

    Close it when done: a streaming workbook keeps its zip open.

    Raises:
        ValidationError: field "file"; code workbook_too_large (it unpacks to more than
            the limit) or file_unreadable (not an XLSX workbook).
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(exc) from None
    if unpacked > max_unpacked:
        raise ValidationError(f"the workbook unpacks to {unpacked // (1024 * 1024)} MB, more "
                              f"than the limit of {max_unpacked // (1024 * 1024)} MB",
                              field="file", code="workbook_too_large")
    try:
        return load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError,
            TypeError) as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: Exception) -> ValidationError:
    return ValidationError(f"not an XLSX workbook ({type(exc).__name__})", field="file",
                           code="file_unreadable")


def sheet_rows(sheet, max_rows: int) -> Iterator[tuple[int, tuple]]:
    """Yield (row number, values) of a streaming sheet, blank rows included, up to a cap.

    Raises:
        ValidationError: code too_many_rows (field: the sheet's title) as soon as the
            sheet goes on past `max_rows` rows; file_unreadable for a sheet that will not
            parse.
    """
    # The declared dimension is only a hint, and a hostile one: read the rows that are there.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except (ValueError, SyntaxError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
                zlib.error) as exc:  # broken XML, or a part that does not inflate as declared
            raise _unreadable(exc) from None
        number += 1
        if number > max_rows:
            raise ValidationError(f"the sheet {sheet.title} has more than {max_rows} rows "
                                  f"(blank ones included)", field=sheet.title,
                                  code="too_many_rows")
        yield number, values


def csv_rows(text: str, max_rows: int) -> list[list[str]]:
    """Return the rows of CSV text, blank ones counted, refusing more than `max_rows`.

    Raises:
        ValidationError: code too_many_rows (field "file").
    """
    import csv
    from io import StringIO

    rows = []
    for number, row in enumerate(csv.reader(StringIO(text)), start=1):
        if number > max_rows:
            raise ValidationError(f"the file has more than {max_rows} rows", field="file",
                                  code="too_many_rows")
        rows.append(row)
    return rows


def starts_like_formula(value) -> bool:
    """Tell whether a value is text a spreadsheet program would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def write_rows(sheet, rows: Iterable[Iterable]) -> None:
    """Append rows to an openpyxl sheet, every formula-like text as an inert text cell."""
    from openpyxl.cell import Cell

    for values in rows:
        line = []
        for value in values:
            if starts_like_formula(value):
                cell = Cell(sheet, value=value)
                # openpyxl makes any text starting with "=" a formula (data_type "f").
                cell.data_type = "s"
                cell.quotePrefix = True
                value = cell
            line.append(value)
        sheet.append(line)


def csv_safe(value):
    """Return a CSV cell value that no spreadsheet program runs: formula-like text quoted."""
    return "'" + value if starts_like_formula(value) else value


__all__ = ["MAX_WORKBOOK_MB", "MAX_WORKBOOK_BYTES", "MAX_UNPACKED_BYTES", "FORMULA_TRIGGERS",
           "read_capped", "open_workbook", "sheet_rows", "csv_rows", "starts_like_formula",
           "write_rows", "csv_safe"]
