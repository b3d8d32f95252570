"""What a case is taken down with (一.4): name, work unit or address, phone and content, each
either given or marked unknown with the reason it is unknown.

The rules want the duty room (and a leader told directly, 一.3) to record who reported what
and how to reach them. A liaison may refuse to leave a phone number, or a visitor may not
know their unit; then the field stays empty and the case says why, for example
`{"caller_phone": "来访者不愿留电话"}`. A field that is neither given nor marked, or marked
without a reason, refuses the whole entry with `IntakeIncomplete`, naming every such field:

    caller_name_required, caller_unit_required, caller_phone_required, content_required
                              the field is empty and not marked unknown
    unknown_reason_required   the field is marked unknown but the reason is empty
    unknown_fields_invalid    the marks are not a map of these four fields to text
    too_long, invalid_characters   a reason over REASON_MAX_CHARS, or with control characters

A mark on a field that has a value after all (typed, or read from the liaison's entry in the
directory) is dropped: the value is what the case knows.
"""
from __future__ import annotations

from collections.abc import Mapping

from intake.exceptions import IntakeIncomplete, ValidationError
from intake.store.text import check_characters

INTAKE_FIELDS = ("caller_name", "caller_unit", "caller_phone", "content")
REASON_MAX_CHARS = 200


def read_unknown_marks(marks) -> dict[str, str]:
    """Return the unknown marks as {field: reason}, reasons stripped; refuse anything else.

    Raises:
        ValidationError: not a map of intake fields to text ("unknown_fields_invalid").
    """
    if marks is None:
        return {}
    if not isinstance(marks, Mapping):
        raise ValidationError("unknown_fields maps a field to why it is unknown",
                              field="unknown_fields", code="unknown_fields_invalid")
    read = {}
    for field, reason in marks.items():
        if field not in INTAKE_FIELDS or not isinstance(reason, str):
            raise ValidationError(f"{field!r} cannot be marked unknown", field="unknown_fields",
                                  code="unknown_fields_invalid")
        read[field] = reason.strip()
    return read


def settle_intake_fields(values: Mapping[str, str], marks: Mapping[str, str]) -> dict[str, str]:
    """Return the marks that stand (fields left empty, each with its reason).

    Args:
        values: the four intake fields as the case will keep them ("" when empty).
        marks: {field: reason} as read by `read_unknown_marks`.

    Raises:
        IntakeIncomplete: a field neither given nor marked with a reason (every one named).
        ValidationError: a reason too long or with forbidden characters.
    """
    standing: dict[str, str] = {}
    problems: dict[str, str] = {}
    for field in INTAKE_FIELDS:
        if (values.get(field) or "").strip():
            continue
        if field not in marks:
            problems[field] = f"{field}_required"
            continue
        reason = marks[field]
        if not reason:
            problems[field] = "unknown_reason_required"
            continue
        if len(reason) > REASON_MAX_CHARS:
            raise ValidationError("the reason is too long", field=f"unknown_fields.{field}",
                                  code="too_long")
        standing[field] = check_characters(f"unknown_fields.{field}", reason)
    if problems:
        raise IntakeIncomplete(problems)
    return standing


__all__ = ["INTAKE_FIELDS", "REASON_MAX_CHARS", "read_unknown_marks", "settle_intake_fields"]
