"""Translated names of states, roles and sources, so templates never show a raw enum value.

The msgids are written out here (not built from enum values) so that `pybabel extract` sees them.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CALL_STATES = {
    "ringing": _l("Ringing"),
    "recorded": _l("Pending"),
    "queued": _l("Pending"),
    "transcribing": _l("Transcribing"),
    "draft": _l("Draft"),
    "failed": _l("Failed"),
    "no_message": _l("No message"),
    "confirmed": _l("Confirmed"),
}
CASE_STATES = {
    "routed": _l("Routed"),
    "acknowledged": _l("Acknowledged"),
    "handling": _l("Handling"),
    "transferred": _l("Transferred to unit"),
    "result_filed": _l("Result filed"),
    "bureau_meeting": _l("Bureau meeting"),
    "county": _l("County committee"),
    "answered": _l("Answered"),
    "fed_back": _l("Fed back"),
    "closed": _l("Closed"),
}
SMS_STATES = {
    "pending": _l("Waiting to send"),
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "undelivered": _l("Undelivered"),
    "failed": _l("Failed"),
    "outbox": _l("Kept in outbox"),
}
ROLES = {
    "admin": _l("Administrator"),
    "duty": _l("Duty staff"),
    "leader": _l("Leader"),
    "supervisor": _l("Supervision office"),
    "unit": _l("Unit handler"),
}
SOURCES = {
    "caller_id": _l("caller ID"),
    "directory": _l("directory"),
    "transcript": _l("transcript"),
}
UNIT_KINDS = {"township": _l("Township health centre"), "county": _l("County unit")}
CATEGORIES = {
    "medical_service": _l("Medical service"),
    "public_health": _l("Public health"),
    "pharmacy": _l("Medicines and pharmacies"),
    "insurance": _l("Medical insurance"),
    "staff_conduct": _l("Staff conduct"),
    "other": _l("Other"),
}
# Filters offered above the inbox: "" shows every open call.
INBOX_FILTERS = ("", "queued", "transcribing", "draft", "failed", "no_message", "confirmed", "all")
FILTER_NAMES = {"": _l("Open"), "all": _l("All")}
# Domain errors carry an English message for logs; people see these, keyed by field.
FIELD_ERRORS = {
    "caller_name": _l("Enter the caller's name."),
    "reason": _l("Say why this case goes to another leader."),
    "leader_id": _l("Choose a leader: the caller is not a known liaison."),
    "summary": _l("Keep the summary under 200 characters."),
    "username": _l("That username is empty or taken."),
    "password": _l("The password must be at least 8 characters."),
    "phone": _l("That is not a valid phone number, or it is already in the directory."),
    "unit_id": _l("A unit account needs a unit."),
    "name": _l("Enter a name."),
    "active": _l("You cannot disable your own account."),
}
# Domain errors that carry a code; a code wins over the field's message.
ERROR_CODES = {
    "phone_invalid": _l("That is not a valid phone number. Enter a mobile number such as 139 0000 0001, or a landline with its area code."),
    "phone_taken": _l("Another liaison already has that phone number."),
    "name_missing": _l("Enter a name."),
    "name_taken": _l("That name is already in the directory."),
    "kind_unknown": _l("Choose a kind from the list."),
    "reporting_cycle": _l("A member cannot report to themselves, directly or through others."),
    "leader_inactive": _l("That leader is deactivated; choose an active one."),
    "leader_missing": _l("A leader account needs a leader in the directory."),
    "unit_missing": _l("A unit account needs a unit."),
    "liaison_not_members": _l("That liaison is not one of this member's liaisons."),
    "liaison_inactive": _l("That liaison is deactivated."),
    "date_in_future": _l("The date cannot be in the future."),
    "note_too_long": _l("The note is too long."),
    "month_invalid": _l("Choose a month as YYYY-MM."),
    "commendation_target": _l("Choose either a member or a unit, not both."),
    "evidence_missing": _l("Say what proves the commendation (the letter, a photo, a link)."),
    "evidence_too_long": _l("The evidence text is too long."),
    "unknown_leader": _l("There is no active leader by that name."),
    "unknown_liaison": _l("There is no active liaison by that name."),
    "date_invalid": _l("Enter a date as YYYY-MM-DD."),
}


COMMENDATION_KINDS = {"letter": _l("Letter of praise"), "banner": _l("Silk banner"),
                      "media": _l("Media praise")}


def error_message(exc) -> str:
    """Return the translated message of a domain error: by code, else by field, else its text."""
    code = getattr(exc, "code", None)
    if code in ERROR_CODES:
        return str(ERROR_CODES[code])
    return str(FIELD_ERRORS.get(getattr(exc, "field", None), str(exc)))


def label(table: dict, value) -> str:
    """Return the translated label of an enum member or its value."""
    key = getattr(value, "value", value)
    return str(table.get(key, key or ""))
