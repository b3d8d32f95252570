"""The caps and checks on what people type into a case, keyed by field, for every door.

The page and the API used to disagree: the page cut a caller's name at 60 characters while the
API stored 5,000 into a VARCHAR(60) (PostgreSQL answered 500), took a NUL byte (PostgreSQL
refuses it: 500 again), a right-to-left override that turns "exe.pdf" round on screen, and
years 1 and 9999 (an OverflowError as soon as a deadline was written out). Both doors now
call `check_fields` on what they read, before anything reaches the domain, and the API's
declarations (dashboard/api.py) take their caps and pattern from here, so the OpenAPI document
states the same limits.

    too_long             over the field's cap (the column's length where there is a column)
    invalid_characters   a control character (NUL…) or a bidi control (U+202E…), or half a
                         surrogate pair
    date_out_of_range    a time outside EARLIEST_YEAR..LATEST_YEAR
    (the field's code)   an id that no row can have (beyond a 32-bit INTEGER)
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from intake.cases.handling import CONTENT_MAX_CHARS, SUMMARY_MAX_CHARS
from intake.exceptions import ValidationError
from intake.store.models import (Case, CaseDecision, Censure, NoticePublication, PublicNotice,
                                 UnitResult)
from intake.store.text import TEXT_PATTERN, check_characters, check_length

MAX_ID = 2**31 - 1  # INTEGER on PostgreSQL; SQLite overflows past 2**63 (an OverflowError)
EARLIEST_YEAR = 2000  # no case of this service's register is older
LATEST_YEAR = 2099    # far enough for any deadline, near enough that no offset overflows
NOTE_MAX_CHARS = 2000
REASON_MAX_CHARS = 500


def _column(attribute) -> int:
    return attribute.property.columns[0].type.length


# Keyed by the name the field has on the page's form and in the API's body; a field that is a
# VARCHAR column takes the column's length, so the two cannot drift apart.
TEXT_LIMITS: dict[str, int] = {
    "caller_name": _column(Case.caller_name),
    "caller_unit": _column(Case.caller_unit),
    "caller_phone": _column(Case.caller_phone),
    "category": _column(Case.category),
    "summary": SUMMARY_MAX_CHARS,
    "content": CONTENT_MAX_CHARS,
    "route_reason": REASON_MAX_CHARS,
    "reason": REASON_MAX_CHARS,
    "note": NOTE_MAX_CHARS,
    "causes": NOTE_MAX_CHARS,
    "measures": NOTE_MAX_CHARS,
    "liaison_opinion": NOTE_MAX_CHARS,
    "signed_by": _column(UnitResult.signed_by),
    "facts_true": _column(UnitResult.facts_true),
    "facts": NOTE_MAX_CHARS,  # a criticism's or an accountability's facts
    "person": _column(Censure.person),
    "text": NOTE_MAX_CHARS,  # a decision of the bureau meeting or the county
    "decided_by": _column(CaseDecision.decided_by),
    # A follow-up visit's notes, and a public notice's texts and publication.
    "outcome_note": 1000,
    "subject": _column(PublicNotice.subject),
    "reported": 4000, "done": 4000, "result": 4000,
    "outlet": _column(NoticePublication.outlet),
    "link": _column(NoticePublication.link),
    # Choices (the domain refuses any other value by its own code); capped so that a megabyte
    # of nonsense is refused before it is echoed anywhere.
    "channel": 40, "importance": 40, "to": 40, "method": 40, "rating": 40, "ground": 40,
    "outcome": 40,
}

# Ids people choose from a list, with the code the domain gives one that is not in the list.
ID_CODES: dict[str, str] = {"liaison_id": "liaison_unknown", "leader_id": "leader_required",
                            "unit_id": "unit_unknown"}


def text_limit(field: str) -> int | None:
    """Return the most characters `field` may hold, or None for a field not capped here."""
    return TEXT_LIMITS.get(field)


def check_text(field: str, value: str) -> str:
    """Refuse text over the field's cap or with a control or bidi character; return it.

    Raises:
        ValidationError: "too_long" or "invalid_characters", naming `field`.
    """
    return check_characters(field, check_length(field, value, TEXT_LIMITS.get(field)))


def check_fields(values: Mapping) -> None:
    """Check every capped text field and every id of a form or a JSON body.

    Raises:
        ValidationError: "too_long", "invalid_characters" or an id's code, naming the first
            bad field.
    """
    for field in TEXT_LIMITS:
        value = values.get(field)
        if isinstance(value, str):
            check_text(field, value)
    for field, code in ID_CODES.items():
        value = values.get(field)
        if isinstance(value, str) and value.strip().isdigit():
            # Past 4,300 digits int() itself refuses (ValueError); no id has more than ten.
            value = int(value.strip()) if len(value.strip()) <= 12 else MAX_ID + 1
        if isinstance(value, int) and not isinstance(value, bool):
            check_id(field, value, code=code)


def check_moment(field: str, moment: datetime | None) -> datetime | None:
    """Refuse a time outside the years EARLIEST_YEAR..LATEST_YEAR; return it.

    Raises:
        ValidationError: "date_out_of_range", naming `field`.
    """
    if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValidationError(f"{field} must fall in {EARLIEST_YEAR}..{LATEST_YEAR}",
                              field=field, code="date_out_of_range")
    return moment


def check_id(field: str, value: int | None, *, code: str) -> int | None:
    """Refuse an id that no row can have (below 1, or beyond a 32-bit INTEGER); return it.

    Raises:
        ValidationError: `code` (the field's "unknown" code), naming `field`.
    """
    if value is not None and not 1 <= value <= MAX_ID:
        raise ValidationError(f"no {field} {value}", field=field, code=code)
    return value


__all__ = ["EARLIEST_YEAR", "LATEST_YEAR", "MAX_ID", "TEXT_LIMITS", "TEXT_PATTERN",
           "check_fields", "check_id", "check_moment", "check_text", "text_limit"]
