"""What text the store takes: no control or bidi character, and no more than a column holds.

The case forms and the API cap their fields through intake/cases/fields.py; the directory
(its screens, its workbook, the command line) checks its rows here, against the columns
themselves, so no door can hand PostgreSQL a NUL or an over-long name (a 500 there).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import String

from intake.exceptions import ValidationError

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; and the bidi
# marks, embeddings, overrides and isolates. Written with \\u escapes that Python's re,
# ECMA-262 (JSON Schema's `pattern`) and Rust's regex all read alike.
FORBIDDEN_CHARACTERS = ("\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u061c"
                        "\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069")
TEXT_PATTERN = f"^[^{FORBIDDEN_CHARACTERS}]*$"
# Lone surrogates too (JSON can spell them, no database stores them); left out of the
# published pattern only because no regex engine but Python's can name them.
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARACTERS}\\ud800-\\udfff]")


def check_characters(field: str, value: str) -> str:
    """Refuse text with a control or bidi character; return it.

    Raises:
        ValidationError: "invalid_characters", naming `field`.
    """
    if _FORBIDDEN.search(value):
        raise ValidationError(f"{field} holds a control or bidi character", field=field,
                              code="invalid_characters")
    return value


def check_length(field: str, value: str, limit: int | None) -> str:
    """Refuse text longer than `limit` characters (None: no cap); return it.

    Raises:
        ValidationError: "too_long", naming `field`.
    """
    if limit is not None and len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", field=field,
                              code="too_long")
    return value


def check_row_text(model, values: Mapping) -> None:
    """Check every text value of a row of `model` against its column's length and characters.

    Raises:
        ValidationError: "too_long" or "invalid_characters", naming the first bad field.
    """
    columns = model.__table__.columns
    for field, value in values.items():
        if not isinstance(value, str):
            continue
        column = columns.get(field)
        limit = column.type.length if column is not None and isinstance(column.type, String) \
            else None
        check_length(field, value, limit)
        check_characters(field, value)


# The urgent alert quotes what was said up to the first sentence end, or this many characters.
FIRST_SENTENCE_CHARS = 40
_SENTENCE_ENDS = "。！？!?."


def first_sentence(text: str | None) -> str:
    """Return the opening of what was said: up to the first sentence end, or a few words."""
    text = (text or "").strip()
    for index, char in enumerate(text[:FIRST_SENTENCE_CHARS]):
        if char in _SENTENCE_ENDS:
            return text[: index + 1]
    if len(text) <= FIRST_SENTENCE_CHARS:
        return text
    cut = text[:FIRST_SENTENCE_CHARS]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
