"""Every error code the domain raises has a message in English and in Mandarin (zh_CN)."""
from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from dashboard.errors import ERROR_MESSAGES

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "dashboard" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"


def _codes_in_intake() -> set[str]:
    """Read intake/'s source: code="..." in any call, and `code = "..."` class defaults."""
    codes = set()
    for path in (ROOT / "intake").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.add(keyword.value.value)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (isinstance(item, ast.Assign) and len(item.targets) == 1
                            and getattr(item.targets[0], "id", None) == "code"
                            and isinstance(item.value, ast.Constant)):
                        codes.add(item.value.value)
    return codes


def test_the_source_scan_finds_the_codes():
    codes = _codes_in_intake()
    # Known raises, so a broken scan cannot pass by finding nothing.
    assert {"unit_name_taken", "not_found", "forbidden", "invalid_transition",
            "reason_required", "deadline_not_later"} <= codes


def test_every_code_raised_in_intake_has_an_english_and_a_mandarin_message():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    missing, untranslated = [], []
    for code in sorted(_codes_in_intake()):
        if code not in ERROR_MESSAGES:
            missing.append(code)
            continue
        english = ERROR_MESSAGES[code]._args[0]  # the lazy string's msgid
        message = catalog.get(english)
        if not english or message is None or not message.string or message.fuzzy:
            untranslated.append(code)
    assert missing == [] and untranslated == []


def test_a_duplicate_unit_name_says_so_in_both_languages(client, demo):
    from tests.dashboard_support import sign_in

    sign_in(client, "admin")
    client.post("/admin/units", data={"name": "城关镇卫生院", "kind": "township"})
    page = client.get("/admin/directory").get_data(as_text=True)
    assert "已存在同名单位" in page and "请填写姓名" not in page
    client.post("/language", data={"locale": "en_US"})
    client.post("/admin/units", data={"name": "城关镇卫生院", "kind": "township"})
    page = client.get("/admin/directory").get_data(as_text=True)
    assert "A unit with that name already exists." in page
