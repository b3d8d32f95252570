"""Photograph the reports page and the weekly analysis for docs/screenshots/.

    python scripts/screenshot_reports.py [--out docs/screenshots]

Starts the real app on a loopback port over a throwaway SQLite database holding the demo
directory, a few more units and a year of sample cases, signs in as the demo admin and
photographs /reports and /reports/weekly with headless Chromium (Debian's chromium, driven by
Playwright). Needs fonts-wqy-microhei for the Chinese text.
"""
from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from studio import ROOT, chromium, demo_server, sign_in

MORE_UNITS = [("南山乡卫生院", "township"), ("东岭镇卫生院", "township"),
              ("县中医院", "county"), ("县疾控中心", "county")]
TOPICS = [("药品供应", "村卫生室没有降压药，老人要跑到镇上去拿药"),
          ("医保", "医保报销太慢，希望加快办理"),
          ("服务态度", "卫生院挂号窗口排队时间太长"),
          ("疫苗接种", "疫苗接种排队太久，希望增加接种时段"),
          ("环境卫生", "卫生院门口垃圾没有及时清运")]
PLACES = ["城关镇东门社区", "南山乡西坑村", "东岭镇上街村", "城关镇北门社区", "县人民医院"]


def _seed(session, now: datetime) -> None:
    from intake.store.audit import Actor
    from intake.directory.demo import seed_demo
    from intake.directory.roster import add_unit
    from intake.store.models import Case, CaseAssignment, Leader, Unit
    from intake.statuses import CaseStatus, Satisfaction, UnitKind

    seed_demo(session)
    for name, kind in MORE_UNITS:
        add_unit(session, name, UnitKind(kind), Actor("screenshots"))
    session.commit()
    units = list(session.query(Unit))
    leaders = list(session.query(Leader))
    rng = random.Random(11)
    for n in range(700):
        received = now - timedelta(days=rng.uniform(0, 365))
        age = (now - received).days
        topic = rng.choice(TOPICS)
        transferred = rng.random() < 0.5
        quality = 0.75 + 0.2 * (1 - age / 365)  # the year gets better
        if age < 3:
            status = CaseStatus.TRANSFERRED if transferred else CaseStatus.ACKNOWLEDGED
        elif age > 20 and rng.random() > 0.01:  # old cases are settled, but for a straggler
            status = rng.choice([CaseStatus.CLOSED] * 5 + [CaseStatus.FED_BACK])
        elif rng.random() < quality:
            status = rng.choice([CaseStatus.CLOSED] * 5 + [CaseStatus.FED_BACK, CaseStatus.ANSWERED])
        else:
            status = CaseStatus.TRANSFERRED if transferred else CaseStatus.HANDLING
        answered = received + timedelta(hours=rng.uniform(3, 24 * (3 if rng.random() < quality else 8))) \
            if status in (CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED) else None
        rating = None
        if status == CaseStatus.CLOSED and rng.random() < 0.06:
            status, answered, rating = CaseStatus.HANDLING, None, Satisfaction.DISSATISFIED
        elif status == CaseStatus.CLOSED:
            rating = Satisfaction.SATISFIED if rng.random() < quality else \
                Satisfaction.BASICALLY_SATISFIED
        deadline = received + timedelta(days=3 if transferred else 0, hours=8)
        case = Case(number=f"{received.year}-{n + 1:06d}", caller_name="张伟",
                    caller_unit=rng.choice(PLACES), leader=rng.choice(leaders), status=status,
                    category=topic[0], summary=topic[1], created_at=received, routed_at=received,
                    answered_at=answered, deadline_at=deadline, satisfaction=rating)
        session.add(case)
        if transferred:
            result = received + timedelta(hours=rng.uniform(5, 24 * (3 if rng.random() < quality else 6))) \
                if status != CaseStatus.TRANSFERRED or rng.random() < 0.3 else None
            unit = rng.choice(units)
            session.add(CaseAssignment(case=case, unit=unit, unit_id=unit.id, assigned_at=received,
                                       due_at=deadline, result_at=result))
    session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with demo_server(lambda session, _tmp: _seed(session, datetime.now(timezone.utc))) as (base, _):
        _photograph(base, out)
    for name in ("reports.png", "weekly.png"):
        print(out / name)
    return 0


def _photograph(base: str, out: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        sign_in(page, base, "admin")
        page.goto(base + "/reports?preset=quarter")
        page.screenshot(path=str(out / "reports.png"), full_page=True)
        page.goto(base + "/reports/weekly")
        page.screenshot(path=str(out / "weekly.png"), full_page=True)


if __name__ == "__main__":
    sys.exit(main())
