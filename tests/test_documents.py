"""The neutral document and its two renderers: each file is read back with its own library."""
from __future__ import annotations

from io import BytesIO

import docx
import pytest
from pypdf import PdfReader

from intake.reports.documents import (Document, Heading, Paragraph, Table, render_docx,
                                      render_pdf)

# Enough rows that the table runs onto a second page, where its header must repeat.
LONG_TABLE_ROWS = 80


def _sample(rows: int = 3) -> Document:
    return Document(
        title="民情联线工作督察通报",
        subtitle="通报期间：2026年11月01日至2026年11月30日",
        blocks=[
            Heading("一、总体情况"),
            Paragraph("本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%。"),
            Heading("乡镇卫生院", level=2),
            Table(("单位", "受理", "办结率"),
                  [(f"第{n:02d}卫生院", str(n), f"{n}.5%") for n in range(1, rows + 1)]),
            Paragraph("城关镇卫生院：案件 A-001 <连续> 3 次被退回 & 重办", bullet=True),
            Paragraph("（此页居中）", centred=True),
        ],
        landscape=True)


def _pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def _embedded_fonts(page) -> list:
    fonts = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        fonts.extend(d.get_object() for d in font.get("/DescendantFonts", []))
        if "/FontDescriptor" in font:
            fonts.append(font)
    return [f for f in fonts if "/FontFile2" in f["/FontDescriptor"].get_object()]


def test_docx_holds_title_headings_paragraphs_bullets_and_the_table():
    word = docx.Document(BytesIO(render_docx(_sample())))
    paragraphs = [(p.style.name, p.text) for p in word.paragraphs]
    assert paragraphs[0] == ("Title", "民情联线工作督察通报")
    assert ("Heading 1", "一、总体情况") in paragraphs
    assert ("Heading 2", "乡镇卫生院") in paragraphs
    assert ("List Bullet", "城关镇卫生院：案件 A-001 <连续> 3 次被退回 & 重办") in paragraphs
    assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%。" in [t for _, t in paragraphs]
    (table,) = word.tables
    assert [c.text for c in table.rows[0].cells] == ["单位", "受理", "办结率"]
    assert [[c.text for c in row.cells] for row in table.rows[1:]] == [
        ["第01卫生院", "1", "1.5%"], ["第02卫生院", "2", "2.5%"], ["第03卫生院", "3", "3.5%"]]
    section = word.sections[0]
    assert section.page_width > section.page_height  # landscape, as asked


def test_pdf_text_reads_back_in_order_with_the_cjk_font_embedded():
    reader, text = _pdf_text(render_pdf(_sample()))
    for expected in ("民情联线工作督察通报", "2026年11月01日至2026年11月30日", "一、总体情况",
                     "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%", "第02卫生院",
                     "3.5%", "城关镇卫生院：案件 A-001 <连续> 3 次被退回 & 重办", "（此页居中）"):
        assert expected in text
    assert text.index("一、总体情况") < text.index("第01卫生院") < text.index("（此页居中）")
    embedded = _embedded_fonts(reader.pages[0])
    assert embedded and all("WenQuanYiMicroHei" in str(f["/BaseFont"]) for f in embedded)
    assert all("/ToUnicode" in f for f in embedded)
    assert reader.metadata.title == "民情联线工作督察通报"
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (842, 595)  # A4 landscape in points


def test_a_portrait_document_is_portrait_in_both_formats():
    document = Document(title="年度工作总结", blocks=[Paragraph("正文")])
    reader, _ = _pdf_text(render_pdf(document))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)
    section = docx.Document(BytesIO(render_docx(document))).sections[0]
    assert section.page_width < section.page_height


def test_a_long_table_repeats_its_header_on_the_next_page():
    reader, _ = _pdf_text(render_pdf(_sample(rows=LONG_TABLE_ROWS)))
    assert len(reader.pages) >= 2
    second = reader.pages[1].extract_text()
    assert "单位" in second and "办结率" in second
    assert f"第{LONG_TABLE_ROWS:02d}卫生院" in "".join(p.extract_text() for p in reader.pages)


def test_a_row_shorter_than_the_header_is_refused():
    with pytest.raises(ValueError):
        Table(("单位", "受理"), [("只有一格",)])


def test_document_text_lists_every_block():
    text = _sample().text()
    assert text.splitlines()[:3] == ["民情联线工作督察通报", "通报期间：2026年11月01日至2026年11月30日",
                                     "一、总体情况"]
    assert "第03卫生院\t3\t3.5%" in text
