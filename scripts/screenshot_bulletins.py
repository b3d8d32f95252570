"""Photograph the 通报 archive and the first page of a kept bulletin's PDF for docs/screenshots/.

    python scripts/screenshot_bulletins.py [--out docs/screenshots]

Seeds a throwaway database as scripts/screenshot_reports.py does (the demo directory and a
year of sample cases), keeps last month's and last quarter's bulletins as the sweep would on
their first working days, rebuilds last month's once (version 2 beside version 1), signs in
as the demo admin and photographs /bulletins with headless Chromium; the PDF's first page is
drawn by pdftoppm (Debian's poppler-utils: apt-get install poppler-utils).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from screenshot_reports import _seed
from studio import ROOT, chromium, demo_server, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _keep_bulletins(session, _tmp) -> bytes:
    """Seed, keep last month's and last quarter's bulletins and a rebuild; return the PDF."""
    from intake.reports.archive import (first_working_day, keep_bulletin, period_before,
                                        period_containing)
    from intake.statuses import BulletinPeriod
    from intake.store.audit import Actor
    from intake.time.calendar import load_calendar

    now = datetime.now(timezone.utc)
    _seed(session, now)
    calendar = load_calendar(session)
    today = now.astimezone(SHANGHAI).date()
    kept = {}
    for kind in BulletinPeriod:
        day = first_working_day(period_containing(kind, today).start, calendar)
        built = datetime.combine(day, time(9, 0), SHANGHAI)
        kept[kind] = keep_bulletin(session, kind, period_before(kind, today), seen_version=0,
                                   now=built, calendar=calendar, actor=Actor("system:sweep"))
    month = kept[BulletinPeriod.MONTH]
    rebuilt = keep_bulletin(session, BulletinPeriod.MONTH, period_before(BulletinPeriod.MONTH,
                                                                           today),
                            seen_version=1, now=month.built_at + timedelta(days=2, hours=6),
                            calendar=calendar, actor=Actor("user:admin", name="管理员"))
    session.commit()
    return bytes(rebuilt.pdf)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 1
    with demo_server(_keep_bulletins) as (base, pdf):
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1366, "height": 760}, locale="zh-CN")
            sign_in(page, base, "admin")
            page.goto(base + "/bulletins")
            page.screenshot(path=str(out / "bulletins.png"), full_page=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bulletin.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile",
                        str(source), str(out / "bulletin-pdf")], check=True)
    for name in ("bulletins.png", "bulletin-pdf.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
