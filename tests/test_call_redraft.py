"""Corrections re-draft the suggested caller details (a job on the light queue, real Redis),
the SMS preview shows the real next case number, and search finds calls in every state."""
from __future__ import annotations

from rq import Queue

from intake.store.audit import Actor
from intake.calls.voicemail import correct_transcript, draft_is_current, refresh_draft
from intake.cases.handling import Confirmation, confirm_and_route
from jobs.queue import SMS_QUEUE
from tests.dashboard_support import audit_actions, make_call, sign_in
from tests.rq_support import SimpleWorker

TEST = Actor("test")
# What the recogniser heard: no name, no number.
HEARD = [("药店", 0.1, 0.5, 0.5), ("没有", 0.5, 0.9, 0.5), ("药", 0.9, 1.2, 0.5)]
CORRECTED = "我是刘芳，电话幺三八幺二三四零零零零，药店没有药"


def _work_light_queue(redis) -> None:
    SimpleWorker([Queue(SMS_QUEUE, connection=redis)], connection=redis).work(burst=True)


def test_saving_a_correction_drafts_the_details_again(settings, client, demo, redis):
    call = make_call(demo, "+8615000001234", words=HEARD)  # an unknown caller ID
    sign_in(client, "duty")
    before = client.get(f"/api/calls/{call.id}/draft").get_json()
    assert before["current"] is True and before["caller_name"] == ""

    saved = client.post(f"/calls/{call.id}/transcript", data={"text": CORRECTED},
                        headers={"Accept": "application/json"})
    assert saved.status_code == 200
    assert saved.get_json() == {"saved": True, "text": CORRECTED,
                                "draft": f"/api/calls/{call.id}/draft"}
    assert client.get(f"/api/calls/{call.id}/draft").get_json()["current"] is False
    _work_light_queue(redis)

    after = client.get(f"/api/calls/{call.id}/draft").get_json()
    assert after["current"] is True
    assert after["caller_name"] == "刘芳"
    assert after["caller_phone"] == "13812340000" and after["phone_dictated"] is True
    assert after["caller_unit"] == "南山乡卫生院" and after["liaison_id"]
    demo.expire_all()
    assert call.transcript_text == "药店 没有 药"  # the model's original stays
    assert "call.redrafted" in audit_actions(demo, "calls", call.id)


def test_without_javascript_the_correction_still_saves_and_redirects(settings, client, demo,
                                                                      redis):
    call = make_call(demo, words=HEARD)
    sign_in(client, "duty")
    response = client.post(f"/calls/{call.id}/transcript", data={"text": CORRECTED})
    assert response.status_code == 302
    assert Queue(SMS_QUEUE, connection=redis).get_job_ids() == [f"redraft-call-{call.id}"]


def test_a_draft_of_an_older_correction_is_not_filed(demo):
    call = make_call(demo, words=HEARD)
    correct_transcript(demo, call, "第一次更正", TEST)
    correct_transcript(demo, call, "第二次更正", TEST)
    demo.commit()
    assert refresh_draft(demo, call, "第一次更正", {"name": "旧"}, TEST) is False
    assert not draft_is_current(call)
    assert refresh_draft(demo, call, "第二次更正", {"name": "新"}, TEST) is True
    assert draft_is_current(call) and call.extracted["name"] == "新"


def test_the_sms_preview_shows_the_next_case_number(client, demo):
    sign_in(client, "duty")
    year = client.get("/api/sms-preview").get_json()["number"].split("-")[0]
    first = client.get("/api/sms-preview", query_string={"caller_name": "张伟"}).get_json()
    assert first["number"] == f"{year}-000001" and f"案件{year}-000001" in first["body"]
    call = make_call(demo)
    case, _ = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), TEST, lambda c: f"https://x/{c.id}",
        "zh-CN")
    demo.commit()
    assert case.number == first["number"]  # the preview told the truth
    second = client.get("/api/sms-preview", query_string={"caller_name": "张伟"}).get_json()
    assert second["number"] == f"{year}-000002" and "000000" not in second["body"].split("/")[0]


def test_search_finds_confirmed_calls_from_the_open_view(client, demo):
    confirmed = make_call(demo, "+8613712345678", words=HEARD)
    case, _ = confirm_and_route(demo, confirmed.id, Confirmation(
        caller_name="陈明", liaison_id=confirmed.liaison_id), TEST,
        lambda c: f"https://x/{c.id}", "zh-CN")
    open_call = make_call(demo, "+8613812340000", words=[("疫苗", 0.1, 0.5, 0.9)])
    demo.commit()
    sign_in(client, "duty")
    open_ids = [r["id"] for r in client.get("/api/inbox").get_json()["calls"]]
    assert open_ids == [open_call.id]  # the open view still hides confirmed calls
    rows = client.get("/api/inbox", query_string={"q": "药店没有"}).get_json()["calls"]
    assert [r["id"] for r in rows] == [confirmed.id]
    assert rows[0]["case_number"] == case.number
    assert rows[0]["case_url"] == f"/cases/{case.id}"
    page = client.get("/inbox", query_string={"q": "陈明"}).get_data(as_text=True)
    assert f'href="/cases/{case.id}">{case.number}</a>' in page
    call_page = client.get(f"/calls/{confirmed.id}").get_data(as_text=True)
    assert f'<p id="case-link">已确认为 <a href="/cases/{case.id}">案件 {case.number}</a>' in call_page


def test_the_units_name_is_labelled_and_the_page_has_a_favicon(client, demo):
    sign_in(client, "admin")
    page = client.get("/admin/directory").get_data(as_text=True)
    assert "<th>名称</th><th>类型</th>" in page or "<th>名称</th>" in page
    assert '<label>名称 <input name="name" required></label>' in page
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_clearing_the_correction_drafts_from_the_models_text_again(demo):
    call = make_call(demo, words=HEARD)
    assert draft_is_current(call)  # the worker's first draft
    correct_transcript(demo, call, CORRECTED, TEST)
    demo.commit()  # as the page does before the job runs
    assert refresh_draft(demo, call, CORRECTED, {"name": "刘芳"}, TEST)
    correct_transcript(demo, call, "", TEST)
    demo.commit()
    assert not draft_is_current(call)
    assert refresh_draft(demo, call, "药店 没有 药", {"name": None}, TEST)
    assert draft_is_current(call) and call.extracted["name"] is None
