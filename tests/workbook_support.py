"""Hand-built XLSX files for the import caps: a workbook is a zip of a few XML parts, so a
crafted one (a huge declared dimension, millions of blank rows) is written directly, fast."""
from __future__ import annotations

import zipfile
from io import BytesIO

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = f"{RELS}/worksheet"
# What the file declared: every column to XFD, four million rows.
HUGE_DIMENSION = "A1:XFD4000000"


def _cell(column: str, row: int, value) -> str:
    if isinstance(value, (int, float)):
        return f'<c r="{column}{row}"><v>{value}</v></c>'
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{column}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(rows: list[list], blank_rows: int = 0, dimension: str | None = None) -> bytes:
    """Return a worksheet part: the rows given, then `blank_rows` empty <row/> elements."""
    cells = []
    for number, values in enumerate(rows, start=1):
        inner = "".join(_cell(chr(ord("A") + i), number, v) for i, v in enumerate(values))
        cells.append(f'<row r="{number}">{inner}</row>')
    head = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + "<sheetData>" + "".join(cells)).encode()
    # Rows without r= follow the previous one: millions of them compress to a few kB.
    return head + b"<row/>" * blank_rows + b"</sheetData></worksheet>"


def workbook(sheets: dict[str, bytes]) -> bytes:
    """Zip worksheet parts (name -> sheet XML) into an XLSX workbook openpyxl opens."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1))
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application'
            '/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'{overrides}</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
            f'xmlns:r="{RELS}"><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(names, start=1))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{SHEET_TYPE}" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
            + "</Relationships>"),
    }
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        for i, name in enumerate(names, start=1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", sheets[name])
    return out.getvalue()


def crafted_directory(blank_rows: int = 3_000_000) -> bytes:
    """A directory workbook like the issue's: valid headers, a 4,000,000-row dimension and
    millions of blank rows in the leaders sheet."""
    return workbook({
        "leaders": sheet_xml([["name", "phone"], ["赵敏", "13900000077"]], blank_rows,
                             HUGE_DIMENSION),
        "liaisons": sheet_xml([["name", "phone"]], 0, HUGE_DIMENSION),
        "units": sheet_xml([["name", "kind"]], 0, HUGE_DIMENSION),
    })
