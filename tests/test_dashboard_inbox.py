"""The inbox: urgent first, filters, Chinese substring search over Vosk's spaced text,
pagination, and the JSON that polling reads."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from intake.calls.voicemail import mark_call_urgent
from intake.store.audit import TWILIO
from intake.calls.inbox import PAGE_SIZE, list_inbox, next_call_to_review
from tests.dashboard_support import make_call, sign_in

SPACED = [("我", 0.1, 0.2, 0.9), ("家", 0.2, 0.3, 0.9), ("附近", 0.3, 0.6, 0.9),
          ("药店", 0.6, 0.9, 0.9), ("没有", 0.9, 1.2, 0.9), ("降压药", 1.2, 1.8, 0.9)]
OTHER = [("疫苗", 0.1, 0.5, 0.9), ("排队", 0.5, 0.9, 0.9), ("太", 0.9, 1.0, 0.9),
         ("久", 1.0, 1.2, 0.9)]


def test_urgent_calls_come_first_and_are_marked_red(client, demo):
    calm = make_call(demo, "+8613712345678", words=OTHER)
    urgent = make_call(demo, "+8613812340000", words=SPACED)
    newest = make_call(demo, "+8613912345678", words=OTHER)
    mark_call_urgent(demo, urgent, "keypad", TWILIO)
    demo.commit()
    sign_in(client, "duty")
    rows = client.get("/api/inbox").get_json()["calls"]
    assert [r["id"] for r in rows] == [urgent.id, newest.id, calm.id]
    html = client.get("/inbox").get_data(as_text=True)
    assert f'<tr class="urgent" data-id="{urgent.id}">' in html
    assert f'<tr class="" data-id="{calm.id}">' in html
    assert rows[0]["caller"] == "刘芳" and rows[0]["leader"] == "王建国"
    assert rows[0]["state_label"] == "待确认"


def test_search_finds_chinese_substrings_across_vosk_spaces(client, demo):
    match = make_call(demo, "+8613712345678", words=SPACED)
    make_call(demo, "+8613812340000", words=OTHER)
    sign_in(client, "duty")
    for query in ("药店没有", "没有降压", "附近 药店", "降压药"):
        ids = [r["id"] for r in client.get("/api/inbox", query_string={"q": query}).get_json()["calls"]]
        assert ids == [match.id], query
    assert client.get("/api/inbox", query_string={"q": "医院"}).get_json()["calls"] == []


def test_search_by_phone_name_and_corrected_text(client, demo):
    from intake.store.audit import Actor
    from intake.calls.voicemail import correct_transcript

    zhang = make_call(demo, "+8613812345678", words=OTHER)
    chen = make_call(demo, "+8613712345678", words=OTHER)
    unknown = make_call(demo, "+8615000001234", words=OTHER)
    correct_transcript(demo, unknown, "救护车来得很慢", Actor("test"))
    demo.commit()
    sign_in(client, "duty")

    def ids(q):
        return {r["id"] for r in client.get("/api/inbox", query_string={"q": q}).get_json()["calls"]}

    assert ids("13812345678") == {zhang.id}
    assert ids("陈明") == {chen.id}
    assert ids("1234") == {unknown.id, zhang.id, chen.id}  # 138123456…, 137123456…, 150…1234
    assert ids("救护车") == {unknown.id}
    assert ids("%") == set()  # a wildcard typed by a person is a literal character


def test_filters_by_state_and_by_day_in_the_bureau_time_zone(client, demo):
    draft = make_call(demo, words=SPACED)
    failed = make_call(demo, "+8613712345678", fail="the audio is corrupt")
    # 2026-03-01 23:30 in Shanghai is 15:30 UTC the same day; 00:30 the next day is 16:30 UTC.
    draft.started_at = datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc)
    failed.started_at = datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)
    demo.commit()
    sign_in(client, "duty")

    def ids(**params):
        return [r["id"] for r in client.get("/api/inbox", query_string=params).get_json()["calls"]]

    assert ids(state="failed") == [failed.id]
    assert ids(state="draft") == [draft.id]
    assert ids(date="2026-03-01") == [draft.id]
    assert ids(date="2026-03-02") == [failed.id]
    assert ids(state="confirmed") == []
    assert ids(state="bogus") == ids()  # an unknown filter shows the open calls
    html = client.get("/inbox", query_string={"state": "failed"}).get_data(as_text=True)
    assert "失败" in html


def test_pages_hold_fifty_calls_and_link_to_each_other(client, demo):
    for _ in range(PAGE_SIZE + 3):
        make_call(demo, words=OTHER)
    sign_in(client, "duty")
    first = client.get("/api/inbox").get_json()
    second = client.get("/api/inbox", query_string={"page": 2}).get_json()
    assert len(first["calls"]) == PAGE_SIZE and first["has_next"]
    assert len(second["calls"]) == 3 and not second["has_next"]
    assert not {r["id"] for r in first["calls"]} & {r["id"] for r in second["calls"]}
    html = client.get("/inbox?page=2").get_data(as_text=True)
    assert 'rel="prev"' in html and 'rel="next"' not in html


def test_transcribing_calls_show_their_progress(client, demo):
    from intake.store.audit import WORKER
    from intake.calls.voicemail import (attach_recording, begin_transcription, mark_call_enqueued,
                                        report_progress)

    outcome = attach_recording(demo, call_sid="CAprogress", recording_sid="REprogress",
                               recording_url="http://127.0.0.1/r", duration_seconds=9,
                               recording_status="completed", from_number="+8613812345678",
                               to_number="+8657112345", language="zh-CN", actor=TWILIO)
    demo.commit()
    mark_call_enqueued(demo, outcome.call, TWILIO)
    begin_transcription(demo, outcome.call, WORKER)
    report_progress(outcome.call, 0.42)
    demo.commit()
    sign_in(client, "duty")
    row = client.get("/api/inbox").get_json()["calls"][0]
    assert row["state_label"] == "转写中 42%"
    assert "转写中 42%" in client.get("/inbox").get_data(as_text=True)


def test_next_call_to_review_walks_urgent_then_oldest(demo):
    old = make_call(demo, words=OTHER)
    new = make_call(demo, words=OTHER)
    old.started_at -= timedelta(hours=1)
    demo.commit()
    assert next_call_to_review(demo).id == old.id
    assert next_call_to_review(demo, after_call_id=old.id).id == new.id
    mark_call_urgent(demo, new, "staff", TWILIO)
    demo.commit()
    assert next_call_to_review(demo).id == new.id


def test_list_inbox_excludes_confirmed_calls_by_default(demo):
    from intake.store.audit import Actor
    from intake.cases.handling import Confirmation, confirm_and_route

    call = make_call(demo, words=OTHER)
    confirm_and_route(demo, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id),
                      Actor("test"), lambda c: "https://x", "zh-CN")
    demo.commit()
    assert list_inbox(demo).calls == []
    assert [c.id for c in list_inbox(demo, state="confirmed").calls] == [call.id]
