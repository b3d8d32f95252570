"""Every UI string is in the Chinese catalogue, translated, and the committed .mo matches."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "dashboard" / "translations" / "zh_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _text(string) -> tuple:
    return (string,) if isinstance(string, str) else tuple(string)


def _catalog():
    with open(LC / "messages.po", "rb") as handle:
        return read_po(handle, locale="zh_CN")


def test_every_string_in_the_code_and_templates_is_translated():
    method_map = [("dashboard/templates/**.html", "jinja2"), ("dashboard/**.py", "python")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    catalog = _catalog()
    translated = {_msgid(m) for m in catalog if m.id and m.string and not m.fuzzy
                  and (isinstance(m.string, str) or all(m.string))}
    assert len(found) > 150
    assert found - translated == set()


def test_the_committed_mo_matches_the_po():
    with open(LC / "messages.mo", "rb") as handle:
        compiled = {_msgid(m): _text(m.string) for m in read_mo(handle) if m.id}
    source = {_msgid(m): _text(m.string) for m in _catalog() if m.id}
    assert compiled == source
