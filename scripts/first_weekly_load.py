"""Time the weekly analysis's first and second load on a freshly started `dutyline run`.

    .venv/bin/python scripts/first_weekly_load.py [--settle 0]

Enters 12 cases received last week into a temporary instance (SQLite, demo directory), starts
`dutyline run --web-workers 1` on it on a free port (embedded Redis), waits for /healthz, signs in as the supervision office
(duban), waits --settle seconds (a visitor rarely arrives the very second the service is up),
then GETs /reports/weekly twice and prints both times (issue 19 item 16).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests


SUMMARIES = ["城关镇卫生院门诊排队太久", "药店没有降压药", "村卫生室缺少常用药", "县人民医院挂号难",
             "乡镇卫生院夜间无人值班", "疫苗接种点排队太久"]


def enter_cases(instance: str, count: int = 12) -> None:
    """Seed the demo directory and `count` cases received a week ago, through the domain."""
    from datetime import timedelta

    os.environ.update(DUTYLINE_INSTANCE=instance)
    from intake.cases.handling import CaseEntry, create_case
    from intake.clock import Clock
    from intake.directory.demo import seed_demo
    from intake.directory.roster import find_user
    from intake.outbox.notifications import SmsContext
    from intake.store.database import session_scope, upgrade_database
    from intake.store.runtime import get_runtime

    runtime = get_runtime()
    upgrade_database(runtime.settings.database_url)
    clock = Clock()
    with session_scope(runtime.session_factory) as session:
        seed_demo(session)
        duty = find_user(session, "duty")
        for n in range(count):
            create_case(session, duty, CaseEntry(
                caller_name="张伟", content=SUMMARIES[n % len(SUMMARIES)],
                caller_phone="+8613812345678", received_at=clock.now() - timedelta(days=7)),
                clock, SmsContext.for_site(None))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=0.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"))}
        env.update(DUTYLINE_INSTANCE=f"{tmp}/instance", VOSK_MODEL_PATH=f"{tmp}/no-model")
        for name in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"):
            os.environ.pop(name, None)
        enter_cases(f"{tmp}/instance")
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "cli", "run", "--port", str(port),
                                    "--web-workers", "1"], env=env, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if requests.get(base + "/healthz", timeout=2).status_code in (200, 503):
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            up = time.monotonic() - started
            visitor = requests.Session()
            page = visitor.get(base + "/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            visitor.post(base + "/login", data={"username": "duban", "password": "dutyline-demo",
                                                 "csrf_token": token})
            time.sleep(args.settle)
            times = []
            for _ in range(2):
                t = time.perf_counter()
                response = visitor.get(base + "/reports/weekly")
                times.append(time.perf_counter() - t)
                assert response.status_code == 200, response.status_code
            print(f"service up after {up:.1f} s; weekly analysis: first {times[0]:.2f} s, "
                  f"second {times[1]:.2f} s")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(30)


if __name__ == "__main__":
    main()
