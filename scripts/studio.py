"""What the screenshot scripts share: the real app over a throwaway database, and Chromium.

    with demo_server(seed) as (base, seeded):     # seed(session, tmp_path) fills the database
        with chromium() as browser:
            page = browser.new_page(...)
            sign_in(page, base, "duty")

The app runs on a loopback port in this process, over a throwaway SQLite database, with no
Redis and no Twilio account; Chromium is Debian's (CHROMIUM), driven by Playwright, with no
browser download. Chinese text needs fonts-wqy-microhei.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEMO_PASSWORD = "dutyline-demo"


@contextmanager
def demo_server(seed: Callable[[Any, Path], Any]) -> Iterator[tuple[str, Any]]:
    """Serve the app over a new database that `seed` fills; yield its URL and seed's answer."""
    with tempfile.TemporaryDirectory(prefix="dutyline-shots-") as tmp:
        tmp_path = Path(tmp)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        os.environ.update(DUTYLINE_INSTANCE=str(tmp_path / "instance"),
                          DATABASE_URL=f"sqlite:///{tmp_path / 'shots.sqlite3'}",
                          PUBLIC_BASE_URL=base, SECRET_KEY="screenshots",
                          REDIS_URL="redis://127.0.0.1:1/0", DUTYLINE_LANGUAGE="zh-CN")
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            os.environ.pop(name, None)
        logging.disable(logging.WARNING)  # Redis is deliberately absent
        from werkzeug.serving import make_server

        from dashboard.app import create_app
        from intake.store.database import make_engine, make_session_factory, upgrade_database
        from intake.store.settings import load_settings

        upgrade_database(os.environ["DATABASE_URL"])
        session = make_session_factory(make_engine(os.environ["DATABASE_URL"]))()
        seeded = seed(session, tmp_path)
        session.close()
        app = create_app({"DUTYLINE_SETTINGS": load_settings()})
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield base, seeded
        finally:
            server.shutdown()


@contextmanager
def chromium() -> Iterator[Any]:
    """Start headless Debian Chromium through Playwright; yield the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base: str, username: str) -> None:
    """Sign a page in as a demo account."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
