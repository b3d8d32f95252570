"""Contact cards: a PDF with the Chinese font embedded and the text extractable."""
from __future__ import annotations

from io import BytesIO

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from intake.store.audit import Actor
from intake.directory.cards import (CARDS_PER_PAGE, display_phone, find_card_font,
                                    render_contact_cards)
from intake.directory.roster import add_leader, list_leaders
from intake.exceptions import ConfigurationError


def _fonts(page) -> list:
    # reportlab writes each 256-glyph subset as a simple TrueType font; a Type0 font keeps
    # its descriptor on the descendant. Either way the embedded file is /FontFile2.
    fonts = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        fonts.extend(d.get_object() for d in font.get("/DescendantFonts", []))
        if "/FontDescriptor" in font:
            fonts.append(font)
    return fonts


def test_cards_carry_name_title_phone_and_email_in_an_embedded_font(demo):
    reader = PdfReader(BytesIO(render_contact_cards(list_leaders(demo))))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ("民情联线联系卡", "王建国", "副局长", "139 0000 0001", "wang@example.gov.cn",
                     "李红", "医政科科长", "139 0000 0002"):
        assert expected in text
    embedded = [f for f in _fonts(reader.pages[0])
                if "/FontFile2" in f["/FontDescriptor"].get_object()]
    assert embedded, "the CJK TrueType font is not embedded"
    assert all("WenQuanYiMicroHei" in str(f["/BaseFont"]) for f in embedded)
    assert all("/ToUnicode" in f for f in embedded)


def test_eleven_members_take_two_a4_pages(db_session):
    for n in range(CARDS_PER_PAGE + 1):
        add_leader(db_session, f"成员{n:02d}", f"1390000{n:04d}", Actor("test"), title="科员")
    reader = PdfReader(BytesIO(render_contact_cards(list_leaders(db_session))))
    assert len(reader.pages) == 2
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert "成员10" in reader.pages[1].extract_text()
    assert "成员10" not in reader.pages[0].extract_text()


def test_phones_are_printed_as_dialled_in_china():
    assert display_phone("+8613900000001") == "139 0000 0001"
    assert display_phone("+8657188880001") == "0571 8888 0001"


def test_a_missing_font_names_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("DUTYLINE_CARD_FONT", str(tmp_path / "none.ttf"))
    monkeypatch.setattr("intake.directory.cards.CARD_FONT_CANDIDATES", (str(tmp_path / "gone.ttc"),))
    with pytest.raises(ConfigurationError, match="fonts-wqy-microhei"):
        find_card_font()


def test_the_cards_command_writes_one_members_card(env, demo, tmp_path):
    from cli.main import main

    out = tmp_path / "cards.pdf"
    result = CliRunner().invoke(main, ["cards", "--out", str(out), "--leader", "李红"])
    assert result.exit_code == 0, result.output
    text = PdfReader(out).pages[0].extract_text()
    assert "李红" in text and "王建国" not in text
    unknown = CliRunner().invoke(main, ["cards", "--out", str(out), "--leader", "无名"])
    assert unknown.exit_code == 1 and "no active leader named '无名'" in unknown.output
