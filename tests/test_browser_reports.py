"""The reports page in real headless Chromium: the period picker, the SVG trend under the
Content-Security-Policy, and a rate drilling down to its cases."""
from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings
from tests.report_seed import NOW, seed_report_cases

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(env, engine, monkeypatch):
    """The real app on a loopback port over the demo directory and the seeded report cases."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.directory.demo import seed_demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    # The seed's figures hold as of its NOW, not the real clock's (issue 23; see test_reports).
    monkeypatch.setattr("dashboard.reports._now", lambda: NOW)
    reset_runtime()
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    seeded = seed_report_cases(session)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, seeded
    finally:
        server.shutdown()
        session.close()


def test_a_rate_drills_down_to_its_cases(site, browser):
    base, seeded = site
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems = []
    # The browser asks for /favicon.ico (404); what matters is a CSP refusal.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "dutyline-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    page.click("nav >> text=报表")
    page.fill("input[name=from]", "2026-11-01")
    page.fill("input[name=to]", "2026-11-30")
    page.click("form:has(input[name=from]) button")
    page.wait_for_load_state()
    total = page.locator("#rates-total").inner_text()
    assert "44.4%" in total and "40.0%" in total
    assert page.locator("#trend svg circle").count() >= 4
    assert page.locator("#trend svg").bounding_box()["height"] > 100
    # 县人民医院's participation rate (0%) opens the results late or missing: c3 and c6.
    page.click('tr[data-unit="县人民医院"] td:nth-child(10) a')
    page.wait_for_load_state()
    listed = page.locator("#drill tbody").inner_text()
    cases = seeded["cases"]
    assert cases["c3"].number in listed and cases["c6"].number in listed
    assert cases["c2"].number not in listed
    assert problems == []  # nothing refused by the Content-Security-Policy
