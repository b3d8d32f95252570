"""Phone numbers compared in E.164, so +8613812345678, 13812345678 and 008613812345678 match."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from intake.exceptions import ValidationError

DEFAULT_REGION = "CN"


# Every ring normalises its caller ID and callers ring again: parsing costs more than the lookup.
@lru_cache(maxsize=4096)
def to_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the number in E.164, or None for a withheld, unknown or unparsable number."""
    if not raw:
        return None
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)



def to_valid_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the number in E.164 if it exists in its country's numbering plan, else None.

    Stricter than to_e164, which only checks the length: "12345" is a possible number in
    China but no real line has it, so the directory refuses it.
    """
    e164 = to_e164(raw, region)
    if e164 is None or not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
        return None
    return e164


def require_phone(raw: str | None, field: str = "phone") -> str:
    """Return an entered number in E.164, or refuse it (code phone_invalid) as the directory does.

    The one check for every phone a person types: directory, accounts, the duty phone, a
    caller's phone on a case entered by hand.
    """
    e164 = to_valid_e164(raw)
    if e164 is None:
        raise ValidationError(f"not a valid phone number: {raw!r}", field=field,
                              code="phone_invalid")
    return e164


def optional_phone(raw: str | None, field: str = "phone") -> str:
    """Return an entered number in E.164, "" when left blank; refuse an invalid one."""
    return require_phone(raw, field) if raw and raw.strip() else ""
