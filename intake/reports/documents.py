"""What the bureau prints, as a neutral document, and one renderer per format (DOCX, PDF).

A builder in intake/ turns data into a Document — a title, a subtitle and a list of blocks
(headings, paragraphs, bullet items, tables of text). It knows nothing of Word or PDF. The two
renderers lay the same Document out, so a bulletin's DOCX and PDF say the same words:

    Document(title, subtitle, blocks, landscape)
        blocks: Heading(text, level) | Paragraph(text, centred, bullet) | Table(header, rows)
    render_docx(document) -> bytes     python-docx, the font the bureau's Word has
    render_pdf(document)  -> bytes     reportlab, the contact cards' CJK TrueType font embedded

The PDF embeds a subset of the CJK font with a ToUnicode map (reportlab does both), so its text
can be searched, copied and read back by pypdf, as the tests do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Union
from xml.sax.saxutils import escape

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from reportlab import platypus
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from intake.directory.cards import FONT_NAME, find_card_font

# What the bureau's Word has; WPS and LibreOffice substitute a CJK font of their own.
DOCX_FONT = "Microsoft YaHei"
BODY_POINTS = 10.5
PAGE_MARGIN_CM = 1.8
HEADING_POINTS = {0: 20, 1: 14, 2: 12, 3: 11}
AUTHOR = "dutyline"


@dataclass(frozen=True)
class Heading:
    """A section heading; level 1 is a chapter (一、…), 2 a part of one."""
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of running text, centred or as a bullet item when asked."""
    text: str
    centred: bool = False
    bullet: bool = False


@dataclass(frozen=True)
class Table:
    """A grid of text: one header row, then the rows, each as long as the header."""
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", tuple(self.header))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"a row of {len(row)} cells under {len(self.header)} headings")


Block = Union[Heading, Paragraph, Table]


@dataclass
class Document:
    """A printable document: title, subtitle and blocks, on A4 (landscape for wide tables)."""
    title: str
    subtitle: str = ""
    blocks: list[Block] = field(default_factory=list)
    landscape: bool = False

    def text(self) -> str:
        """Return every word of the document, one block a line (tables a row a line)."""
        lines = [self.title, self.subtitle]
        for block in self.blocks:
            if isinstance(block, Table):
                lines.extend("\t".join(row) for row in (block.header, *block.rows))
            else:
                lines.append(block.text)
        return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- DOCX
def render_docx(document: Document) -> bytes:
    """Lay the document out for Word on A4 and return the .docx file."""
    word = docx.Document()
    section = word.sections[0]
    if document.landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    else:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(PAGE_MARGIN_CM))
    normal = word.styles["Normal"]
    normal.font.name = DOCX_FONT
    normal.font.size = Pt(BODY_POINTS)
    # Word picks the East Asian font from its own attribute; without it Chinese falls back.
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), DOCX_FONT)
    word.core_properties.title = document.title
    word.core_properties.author = AUTHOR

    word.add_heading(document.title, level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    if document.subtitle:
        word.add_paragraph(document.subtitle).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for block in document.blocks:
        if isinstance(block, Heading):
            word.add_heading(block.text, level=max(1, min(block.level, 9)))
        elif isinstance(block, Paragraph):
            paragraph = word.add_paragraph(block.text,
                                           style="List Bullet" if block.bullet else None)
            if block.centred:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            _docx_table(word, block)
    out = BytesIO()
    word.save(out)
    return out.getvalue()


def _docx_table(word, table: Table) -> None:
    grid = word.add_table(rows=1, cols=len(table.header))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.header):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in table.rows:
        for cell, text in zip(grid.add_row().cells, row):
            cell.text = text


# ---------------------------------------------------------------- PDF
def render_pdf(document: Document, font_path: Path | None = None) -> bytes:
    """Lay the document out on A4 with the CJK font embedded and return the PDF.

    Raises:
        ConfigurationError: when no Chinese font is installed (see find_card_font).
    """
    _register_pdf_font(font_path or find_card_font())
    page = landscape(A4) if document.landscape else A4
    out = BytesIO()
    margin = PAGE_MARGIN_CM * cm
    template = platypus.SimpleDocTemplate(
        out, pagesize=page, leftMargin=margin, rightMargin=margin, topMargin=margin,
        bottomMargin=margin, title=document.title, author=AUTHOR, subject=document.subtitle,
        pageCompression=1)
    template.build(_pdf_flowables(document, template.width),
                   onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()


def _register_pdf_font(path: Path) -> None:
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    # subfontIndex picks the first face of a TrueType collection (.ttc); ignored for .ttf.
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))


def _styles() -> dict:
    # wordWrap="CJK" breaks lines between any two Chinese characters, as Chinese is set.
    body = ParagraphStyle("body", fontName=FONT_NAME, fontSize=BODY_POINTS,
                          leading=BODY_POINTS * 1.5, wordWrap="CJK", spaceAfter=4)
    styles = {"body": body,
              "centred": ParagraphStyle("centred", parent=body, alignment=TA_CENTER),
              "bullet": ParagraphStyle("bullet", parent=body, leftIndent=14, bulletIndent=4),
              "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=12, spaceAfter=0)}
    for level, points in HEADING_POINTS.items():
        styles[f"h{level}"] = ParagraphStyle(
            f"h{level}", parent=body, fontSize=points, leading=points * 1.4,
            spaceBefore=points * 0.6, spaceAfter=points * 0.4,
            alignment=TA_CENTER if level == 0 else body.alignment)
    return styles


def _pdf_flowables(document: Document, width: float) -> list:
    styles = _styles()
    flowables = [platypus.Paragraph(_markup(document.title), styles["h0"])]
    if document.subtitle:
        flowables.append(platypus.Paragraph(_markup(document.subtitle), styles["centred"]))
    for block in document.blocks:
        if isinstance(block, Heading):
            level = max(1, min(block.level, max(HEADING_POINTS)))
            flowables.append(platypus.Paragraph(_markup(block.text), styles[f"h{level}"]))
        elif isinstance(block, Paragraph):
            style = "bullet" if block.bullet else "centred" if block.centred else "body"
            flowables.append(platypus.Paragraph(_markup(block.text), styles[style],
                                                bulletText="•" if block.bullet else None))
        else:
            flowables.extend([_pdf_table(block, width, styles["cell"]), platypus.Spacer(1, 6)])
    return flowables


def _pdf_table(table: Table, width: float, style):
    cells = [[platypus.Paragraph(_markup(text), style) for text in row]
             for row in (table.header, *table.rows)]
    # The header row repeats on every page a long table runs onto.
    grid = platypus.Table(cells, colWidths=_column_widths(table, width), repeatRows=1,
                          hAlign="LEFT")
    grid.setStyle(platypus.TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return grid


def _column_widths(table: Table, width: float) -> list[float]:
    """Share the width by each column's longest text: at least four Chinese characters' worth,
    and no more than thirty, so that one long cell wraps instead of squeezing the others."""
    def length(text: str) -> float:
        # A Chinese character is about twice the width of a Latin letter or digit.
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    wants = []
    for index in range(len(table.header)):
        longest = max(length(row[index]) for row in (table.header, *table.rows))
        wants.append(min(max(longest, 8), 60))
    total = sum(wants)
    return [width * want / total for want in wants]


def _markup(text: str) -> str:
    # reportlab's Paragraph reads a small XML; a user's "<" or "&" must print as itself.
    return escape(text).replace("\n", "<br/>")


def _page_number(canvas, template) -> None:
    canvas.saveState()
    canvas.setFont(FONT_NAME, 8)
    canvas.drawCentredString(template.pagesize[0] / 2, template.bottomMargin / 2,
                             f"— {canvas.getPageNumber()} —")
    canvas.restoreState()
