"""The call page and the confirm form: words, sources, corrections, overrides, failed calls."""
from __future__ import annotations

import re

from intake.store.models import AuditEvent, Call, Case
from intake.outbox.notifications import count_segments
from tests.dashboard_support import audit_actions, make_call, sign_in
from transcription.extraction import extract_caller_details

EXTRACTED = {
    "phones": ["+8613812345678"], "name": "张伟", "unit": "城关镇东门社区", "address": None,
    "phone": "+8613812345678", "urgent": True, "urgent_keywords": ["救护车"],
    "liaison_id": None, "unit_id": None,
    "fields": {
        "name": {"value": "张伟", "source": "transcript", "confidence": 0.62, "evidence": "我是张伟"},
        "unit": {"value": "城关镇东门社区", "source": "directory", "confidence": 0.9,
                 "evidence": "东门社区"},
        "address": None,
        "phone": {"value": "+8613812345678", "source": "caller_id", "confidence": 1.0,
                  "evidence": "From"},
    },
}


def test_the_call_page_shows_clickable_words_and_marks_unsure_ones(client, demo):
    call = make_call(demo)
    sign_in(client, "duty")
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    spans = re.findall(r'<span class="word( low)?" data-start="([\d.]+)" data-end="([\d.]+)"', html)
    assert len(spans) == 6
    assert [bool(low) for low, *_ in spans] == [False, False, False, True, False, False]  # 药店 0.45
    assert spans[3][1:] == ("1.4", "1.9")
    assert 'id="next-draft" href="/calls/%d/next"' % call.id in html


def test_the_confirm_form_says_where_each_field_came_from(client, demo):
    call = make_call(demo, "+8615000001234", extracted=EXTRACTED)  # not a known caller ID
    sign_in(client, "duty")
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'value="张伟"' in html and 'value="城关镇东门社区"' in html
    assert "来自留言内容，可信度 62%" in html
    assert "来自通讯录，可信度 90%" in html
    assert "来自来电号码，可信度 100%" in html
    assert re.search(r'name="urgent" value="1" checked', html)  # the extractor heard 救护车
    assert ">我是张伟药店没有降压药</textarea>" in html  # the transcript's first sentence


def test_confirm_routes_to_the_linked_leader_in_one_step(client, demo):
    call = make_call(demo)
    sign_in(client, "duty")
    response = client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": call.liaison_id, "leader_id": call.leader_id,
        "category": "pharmacy", "summary": ""})
    case = demo.query(Case).filter_by(call_id=call.id).one()
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert case.leader.name == "王建国" and case.category == "pharmacy"
    assert case.summary == "我是张伟药店没有降压药"  # the first sentence, when left empty
    assert audit_actions(demo, "cases", case.id) == ["case.routed"]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "案件 %s" % case.number in page and "药品与药店" in page


def test_another_leader_needs_a_reason_which_is_recorded(client, demo):
    call = make_call(demo)
    sign_in(client, "duty")
    refused = client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": call.liaison_id, "leader_id": 2})
    assert refused.status_code == 302 and refused.headers["Location"] == f"/calls/{call.id}"
    assert "转给其他领导时请说明理由" in client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert demo.query(Case).count() == 0
    client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": call.liaison_id, "leader_id": 2,
        "route_reason": "王局长出差"})
    case = demo.query(Case).one()
    assert case.leader.name == "李红" and case.route_reason == "王局长出差"
    routed = demo.query(AuditEvent).filter_by(action="case.routed").one()
    assert routed.after["default_leader"] is False and routed.after["reason"] == "王局长出差"


def test_a_failed_call_can_be_confirmed_by_hand(client, demo):
    call = make_call(demo, "+8615000001234", fail="the recording is not audio")
    sign_in(client, "duty")
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "转写失败" in html and 'id="confirm-form"' in html
    client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "王大妈", "caller_phone": "15000001234", "leader_id": 2,
        "summary": "听录音：反映卫生院收费问题"})
    case = demo.query(Case).one()
    assert case.caller_name == "王大妈" and case.leader.name == "李红"
    demo.expire_all()
    assert demo.get(Call, call.id).status.value == "confirmed"


def test_a_correction_is_stored_beside_the_original(client, demo):
    call = make_call(demo)
    sign_in(client, "duty")
    client.post(f"/calls/{call.id}/transcript", data={"text": "我是张伟，药店没有降压药。"})
    demo.expire_all()
    stored = demo.get(Call, call.id)
    assert stored.transcript_corrected == "我是张伟，药店没有降压药。"
    assert stored.transcript_text == "我 是 张伟 药店 没有 降压药"
    event = demo.query(AuditEvent).filter_by(action="call.transcript_corrected").one()
    assert event.actor == "user:duty" and event.after["text"] == "我是张伟，药店没有降压药。"


def test_the_sms_preview_counts_70_character_segments(client, demo):
    sign_in(client, "duty")
    short = client.get("/api/sms-preview", query_string={"caller_name": "张伟",
                                                         "summary": "药店没有药"}).get_json()
    assert short["segments"] == count_segments(short["body"])
    assert "【民情联线】案件" in short["body"] and "张伟来电，药店没有药。" in short["body"]
    assert short["segments"] == 2  # the link alone makes it longer than 70 characters
    assert client.get("/api/sms-segments", query_string={"text": "字" * 70}).get_json() == {"segments": 1}
    assert client.get("/api/sms-segments", query_string={"text": "字" * 71}).get_json() == {"segments": 2}


def test_the_audio_is_audited_once_per_listening_not_per_range(client, demo, tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 4000)
    call = make_call(demo, recording_path=wav)
    sign_in(client, "wang")
    first = client.get(f"/calls/{call.id}/audio", headers={"Range": "bytes=0-"})
    assert first.status_code == 206 and first.mimetype == "audio/wav"
    assert client.get(f"/calls/{call.id}/audio", headers={"Range": "bytes=2000-"}).status_code == 206
    assert audit_actions(demo, "calls", call.id).count("call.audio_played") == 1


def test_next_goes_to_the_next_call_waiting_for_review(client, demo):
    first = make_call(demo)
    second = make_call(demo)
    sign_in(client, "duty")
    assert client.get(f"/calls/{first.id}/next").headers["Location"] == f"/calls/{second.id}"
    client.post(f"/calls/{first.id}/confirm", data={"caller_name": "张伟",
                                                     "liaison_id": first.liaison_id})
    response = client.get(f"/calls/{second.id}/next")
    assert response.headers["Location"] == "/inbox"


def test_english_is_remembered_and_times_are_in_shanghai(client, demo):
    from datetime import datetime, timezone

    call = make_call(demo)
    call.started_at = datetime(2026, 5, 1, 16, 5, tzinfo=timezone.utc)
    demo.commit()
    sign_in(client, "duty")
    assert "来电" in client.get(f"/calls/{call.id}").get_data(as_text=True)
    response = client.post("/language", data={"locale": "en_US", "next": f"/calls/{call.id}"})
    assert response.headers["Location"] == f"/calls/{call.id}"
    assert "dutyline_locale=en_US" in response.headers["Set-Cookie"]
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Confirm and route" in html and "2026-05-02 00:05" in html
    client.post("/logout")
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_the_call_page_names_the_words_that_made_the_draft_urgent(client, demo):
    # Issue 24: the draft as the extractor writes it for an everyday description.
    drafted = extract_caller_details("我 家 孩子 突然 抽搐 口吐白沫 一 桌 人 都 吐 了").to_json()
    assert drafted["urgent_keywords"] == ["抽搐", "口吐白沫", "一桌人都吐了"]
    call = make_call(demo, "+8615000001234", extracted=drafted)
    sign_in(client, "duty")
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert re.search(r'id="urgent-words">草稿判为紧急，因为留言中说到：抽搐、口吐白沫、一桌人都吐了</p>', html)
    assert re.search(r'name="urgent" value="1" checked', html)
    client.post("/language", data={"locale": "en_US", "next": f"/calls/{call.id}"})
    english = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Drafted as urgent because the message says: 抽搐、口吐白沫、一桌人都吐了" in english


def test_no_urgent_words_no_line_and_heard_words_are_escaped(client, demo):
    calm = make_call(demo, "+8615000001234",
                     extracted=extract_caller_details("没有 人 中毒 就是 问 一下 疫苗").to_json())
    sign_in(client, "duty")
    assert 'id="urgent-words"' not in client.get(f"/calls/{calm.id}").get_data(as_text=True)
    # A bureau keyword is text from the environment and the words heard come from a caller.
    odd = make_call(demo, "+8615000005678", extracted={**EXTRACTED, "urgent_keywords": ["<b>火</b>"]})
    html = client.get(f"/calls/{odd.id}").get_data(as_text=True)
    assert "&lt;b&gt;火&lt;/b&gt;" in html and "<b>火</b>" not in html
