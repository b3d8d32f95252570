"""The directory edit and the two-tap contact log in real headless Chromium (CSRF on)."""
from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from intake.store.models import ContactLog, Leader
from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(env, engine, monkeypatch):
    """The real app on a loopback port over the demo directory."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.directory.demo import seed_demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_runtime()
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, session
    finally:
        server.shutdown()
        session.close()


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "dutyline-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_an_admin_edits_a_leader_in_the_browser(site, browser):
    base, session = site
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, base, "admin")
    page.goto(base + "/admin/directory")
    assert "按规定至少 2 名" in page.locator("#load-warnings").inner_text()
    page.click("#leaders >> text=李红")
    page.wait_for_load_state()
    page.fill("input[name=phone]", "12345")
    page.click("#edit-form button")
    page.wait_for_load_state()
    assert "电话号码无效" in page.locator(".flash.error[role=alert]").inner_text()
    page.fill("input[name=title]", "医政科主任")
    page.select_option("select[name=reports_to_id]", label="王建国")
    page.check("input[type=checkbox][name=on_duty]")
    page.click("#edit-form button")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/directory")
    row = page.locator("#leaders tr", has_text="李红").inner_text()
    assert "医政科主任" in row and "王建国" in row and "急事提醒" in row
    session.expire_all()
    li = session.query(Leader).filter_by(name="李红").one()
    assert (li.title, li.phone, li.on_duty) == ("医政科主任", "+8613900000002", True)


def test_a_leader_logs_a_call_with_two_taps_on_a_phone(site, browser):
    base, session = site
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(page, base, "wang")
    page.click("text=我已联系 张伟")           # tap one: open
    page.click("#contact-duty button:visible")  # tap two: confirm
    page.wait_for_load_state()
    assert "已记录：您今天联系了 张伟" in page.locator(".flash.success").inner_text()
    assert "✓ 张伟" in page.locator("#contact-duty").inner_text()
    session.expire_all()
    assert session.query(ContactLog).count() == 1
