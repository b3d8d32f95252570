"""The call page in real headless Chromium: a saved correction re-drafts the suggestions but
keeps what the officer typed, the typeahead keeps a dictated number beside the directory's,
the SMS preview names the next case number, a failed call has a retry button, and the page
has a favicon. The redraft job runs on a real RQ worker against real Redis."""
from __future__ import annotations

import datetime

import pytest

from rq import Queue

from jobs.queue import SMS_QUEUE, TRANSCRIPTION_QUEUE
from tests.dashboard_support import make_call
from tests.test_browser_flow import _sign_in, _work, live  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HEARD = [("药店", 0.1, 0.5, 0.5), ("没有", 0.5, 0.9, 0.5), ("药", 0.9, 1.2, 0.5)]
CORRECTED = "我是刘芳，电话幺三八幺二三四零零零零，药店没有药"


def test_a_correction_redrafts_only_what_the_officer_left_alone(live, browser):
    call = make_call(live["session"], "+8615000001234", words=HEARD)  # an unknown caller ID
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, live["base"], "duty")
    page.goto(f"{live['base']}/calls/{call.id}")
    assert page.input_value("#caller_name") == ""
    assert page.input_value("#caller_phone") == "+8615000001234"  # caller ID only, so far

    page.fill("#caller_unit", "东门社区居委会")  # the officer knows better: keep it
    page.click("details.edit summary")
    page.fill("#transcript-form textarea", CORRECTED)
    page.click("#transcript-form button")
    page.wait_for_function(
        "() => document.getElementById('redraft-note').textContent.includes('正在重新提取')")
    assert page.locator("#corrected span").inner_text() == CORRECTED
    _work(live["redis"], SMS_QUEUE)  # the redraft job, on a real worker
    page.wait_for_function(
        "() => document.getElementById('redraft-note').textContent.includes('已根据更正更新')",
        timeout=15000)
    assert page.input_value("#caller_name") == "刘芳"
    assert page.input_value("#caller_phone") == "13812340000"  # dictated in the correction
    assert page.input_value("#caller_unit") == "东门社区居委会"  # typed: untouched by the draft
    assert page.input_value("#liaison_id") != ""

    # Picking another liaison in the typeahead keeps the dictated number and shows both.
    page.fill("#caller_name", "张")
    page.wait_for_selector("#typeahead li")
    page.locator("#typeahead li", has_text="张伟").dispatch_event("mousedown")
    assert page.input_value("#caller_name") == "张伟"
    assert page.input_value("#caller_phone") == "13812340000"
    alternative = page.locator("#phone-alternative")
    assert alternative.is_visible()
    assert "通讯录号码：+8613812345678" in alternative.inner_text()
    page.click("#use-directory-phone")
    assert page.input_value("#caller_phone") == "+8613812345678"
    assert not alternative.is_visible()

    # The SMS preview names the case number this confirmation will get.
    year = datetime.datetime.now(datetime.timezone.utc).year
    page.wait_for_function("() => document.getElementById('sms-number').textContent.length > 0")
    assert f"{year}-000001" in page.locator("#sms-number").inner_text()
    assert f"案件{year}-000001" in page.locator("#sms-body").inner_text()
    assert "000000，" not in page.locator("#sms-body").inner_text()

    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon == "/static/favicon.svg"
    assert page.request.get(live["base"] + icon).status == 200


def test_a_failed_call_is_retried_from_its_page(live, browser):
    session = live["session"]
    call = make_call(session, fail="refused: recording URL host is not allowed: 10.0.0.1")
    call.failure_code = "download_refused"
    session.commit()
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    _sign_in(page, live["base"], "duty")
    page.goto(f"{live['base']}/calls/{call.id}")
    assert "无法获取录音" in page.locator("#failure").inner_text()
    assert "请收听录音" not in page.content()
    page.click("#retry-form button")
    page.wait_for_load_state()
    assert "正在重新获取录音" in page.content()
    assert page.locator("#call-state").inner_text() == "排队中"
    session.expire_all()
    assert call.status.value == "queued" and call.failure_code is None
    assert Queue(TRANSCRIPTION_QUEUE, connection=live["redis"]).get_job_ids() == [
        f"transcribe-call-{call.id}"]
