"""Re-extract the dashboard's UI strings and recompile the catalogues.

    python scripts/i18n.py            # extract, update zh_CN/messages.po, compile messages.mo
    python scripts/i18n.py --check    # fail if a msgid lacks a Chinese translation

The compiled messages.mo is committed, so a fresh install needs no compile step.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard"
TRANSLATIONS = DASHBOARD / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh_CN",)


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def untranslated(locale: str) -> list[str]:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    return [m.id if isinstance(m.id, str) else m.id[0] for m in catalog
            if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))
                         or m.fuzzy)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        missing = {locale: untranslated(locale) for locale in LOCALES}
        for locale, ids in missing.items():
            for msgid in ids:
                print(f"{locale}: untranslated {msgid!r}")
        return 1 if any(missing.values()) else 0
    pybabel("extract", "-F", str(DASHBOARD / "babel.cfg"), "-k", "_l", "--no-location",
            "--sort-output", "-o", str(POT), ".")
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale,
                    "--no-fuzzy-matching", "--ignore-obsolete")
        else:
            pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale)
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
