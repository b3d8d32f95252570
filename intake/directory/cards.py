"""Contact cards (民情联线联系卡): a printable A4 PDF, ten cards a page, Chinese font embedded.

reportlab embeds a subset of the TrueType font with a ToUnicode map, so the printed text can
also be searched and copied. The font is a system font (Debian's fonts-wqy-microhei); without
one, find_card_font says which package to install instead of printing boxes.
"""
from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import phonenumbers
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from intake.exceptions import ConfigurationError
from intake.store.models import Leader

# Looked for in this order; DUTYLINE_CARD_FONT (a .ttf/.ttc/.otf with CJK glyphs) comes first.
CARD_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
FONT_NAME = "DutylineCJK"
CARD_WIDTH, CARD_HEIGHT = 85 * mm, 54 * mm  # an ordinary business card
COLUMNS, ROWS = 2, 5
CARDS_PER_PAGE = COLUMNS * ROWS
HEADING = "民情联线联系卡"


def find_card_font() -> Path:
    """Return a font file with Chinese glyphs.

    Raises:
        ConfigurationError: when none is installed (install fonts-wqy-microhei).
    """
    configured = os.environ.get("DUTYLINE_CARD_FONT")
    for candidate in ([configured] if configured else []) + list(CARD_FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigurationError(
        "no Chinese font for contact cards: install the Debian package fonts-wqy-microhei "
        "(apt-get install fonts-wqy-microhei) or set DUTYLINE_CARD_FONT to a .ttf/.ttc file")


def _register_font(path: Path) -> None:
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    # subfontIndex picks the first face of a TrueType collection (.ttc); ignored for .ttf.
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))


def display_phone(e164: str) -> str:
    """Write an E.164 number as people in China dial it: 139 0000 0001, 0571 8888 0001."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def render_contact_cards(leaders: list[Leader], font_path: Path | None = None) -> bytes:
    """Lay out one card per member, ten to an A4 page, and return the PDF."""
    _register_font(font_path or find_card_font())
    out = BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(HEADING)
    canvas.setAuthor("dutyline")
    page_width, page_height = A4
    left = (page_width - COLUMNS * CARD_WIDTH) / 2
    top = page_height - (page_height - ROWS * CARD_HEIGHT) / 2
    for index, leader in enumerate(leaders):
        if index and index % CARDS_PER_PAGE == 0:
            canvas.showPage()
        slot = index % CARDS_PER_PAGE
        x = left + (slot % COLUMNS) * CARD_WIDTH
        y = top - (slot // COLUMNS + 1) * CARD_HEIGHT
        _draw_card(canvas, leader, x, y)
    if not leaders:
        canvas.setFont(FONT_NAME, 12)
        canvas.drawString(left, top - 12, f"{HEADING}：没有可打印的联线领导")
    canvas.save()
    return out.getvalue()


def _draw_card(canvas: Canvas, leader: Leader, x: float, y: float) -> None:
    # Dashed edges are the cutting lines between neighbouring cards.
    canvas.setDash(2, 2)
    canvas.setStrokeGray(0.6)
    canvas.rect(x, y, CARD_WIDTH, CARD_HEIGHT)
    canvas.setDash()
    pad = 6 * mm
    canvas.setFillColorRGB(0.7, 0.1, 0.1)
    canvas.setFont(FONT_NAME, 10)
    canvas.drawString(x + pad, y + CARD_HEIGHT - pad - 4, HEADING)
    canvas.setFillGray(0)
    canvas.setFont(FONT_NAME, 18)
    canvas.drawString(x + pad, y + CARD_HEIGHT - pad - 28, leader.name)
    canvas.setFont(FONT_NAME, 10)
    canvas.drawString(x + pad, y + CARD_HEIGHT - pad - 44, leader.title or "")
    canvas.setFont(FONT_NAME, 11)
    canvas.drawString(x + pad, y + pad + 14, f"电话：{display_phone(leader.phone)}")
    if leader.email:
        canvas.drawString(x + pad, y + pad, f"邮箱：{leader.email}")
