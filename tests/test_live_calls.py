"""The live transcript's rules without a model (issue 22): one draft, the recording kept,
the inbox and the call page while the caller speaks, the alert's first sentence, capacity."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from intake.calls.dispatch import alert_urgent_call, quote_urgent_call
from intake.calls.live import (abandon_live_transcript, attach_live_transcript,
                               begin_live_transcript, write_live_text)
from intake.calls.voicemail import (attach_recording, attach_transcript, begin_transcription,
                                    mark_call_urgent, register_call)
from intake.store.audit import TWILIO, WORKER
from intake.store.models import AuditEvent, Call, Notification
from intake.store.text import first_sentence
from intake.statuses import CallStatus
from jobs.streams import LiveStreams
from tests.dashboard_support import sign_in

WORDS = [{"word": "안녕하세요", "start": 0.1, "end": 0.6, "conf": 1.0},
         {"word": "약국", "start": 0.7, "end": 1.0, "conf": 1.0}]


def _ring(session, sid="CA" + "a" * 32) -> Call:
    registered = register_call(session, sid, "+8613812345678", "+8657112345", "zh-CN", TWILIO)
    session.commit()
    return session.get(Call, registered.id)


def _draft_live(session, call: Call, text="안녕하세요 약국") -> bool:
    drafted = attach_live_transcript(session, call, text=text, words=WORDS, model_name="m",
                                     model_version="1", extracted={}, actor=WORKER)
    session.commit()
    return drafted


def _record(session, call: Call, recording_sid="RE" + "a" * 32):
    outcome = attach_recording(
        session, call_sid=call.call_sid, recording_sid=recording_sid,
        recording_url=f"https://api.twilio.com/Recordings/{recording_sid}", duration_seconds=5,
        recording_status="completed", from_number=call.from_number, to_number="+8657112345",
        language="zh-CN", actor=TWILIO)
    session.commit()
    return outcome


def _drafts(session, call: Call) -> int:
    return session.scalar(select(func.count()).where(
        AuditEvent.action == "call.drafted", AuditEvent.entity_id == call.id))


def test_a_live_draft_keeps_the_recording_and_the_batch_path_does_not_redraft(demo):
    call = _ring(demo)
    assert begin_live_transcript(demo, call.call_sid, WORKER) is call
    assert begin_live_transcript(demo, call.call_sid, WORKER) is None  # one decoder a call
    assert write_live_text(demo, call.id, "안녕하세요")
    assert _draft_live(demo, call)
    assert (call.status, call.drafted_by, call.live_state) == (CallStatus.DRAFT, "live",
                                                               "drafted")

    outcome = _record(demo, call)
    assert outcome.is_new and outcome.needs_transcription  # the job fetches and keeps it
    assert call.status == CallStatus.DRAFT and call.recording_sid == "RE" + "a" * 32
    assert not _record(demo, call).is_new  # the same callback again: nothing
    assert not begin_transcription(demo, call, WORKER)  # nothing to decode
    assert call.transcript_text == "안녕하세요 약국" and _drafts(demo, call) == 1


def test_the_batch_draft_wins_over_a_live_decode_that_finishes_later(demo):
    call = _ring(demo)
    begin_live_transcript(demo, call.call_sid, WORKER)
    demo.commit()
    _record(demo, call)
    begin_transcription(demo, call, WORKER)
    attach_transcript(demo, call, text="배치", words=WORDS[:1], model_name="m",
                      model_version="1", extracted={}, actor=WORKER)
    demo.commit()
    assert (call.drafted_by, call.live_state) == ("batch", "broken")

    assert not _draft_live(demo, call)
    assert not write_live_text(demo, call.id, "늦은")
    assert call.transcript_text == "배치" and _drafts(demo, call) == 1


def test_a_live_decode_may_overtake_a_batch_decode_in_progress_once(demo):
    call = _ring(demo)
    begin_live_transcript(demo, call.call_sid, WORKER)
    demo.commit()
    _record(demo, call)
    begin_transcription(demo, call, WORKER)
    demo.commit()
    assert call.status == CallStatus.TRANSCRIBING

    assert _draft_live(demo, call)
    assert call.status == CallStatus.DRAFT and call.drafted_by == "live"
    assert _drafts(demo, call) == 1


def test_a_broken_stream_leaves_the_call_to_its_recording(demo):
    call = _ring(demo)
    begin_live_transcript(demo, call.call_sid, WORKER)
    demo.commit()
    assert abandon_live_transcript(demo, call.id, "no audio for 3 s", WORKER)
    demo.commit()
    assert not abandon_live_transcript(demo, call.id, "again", WORKER)
    assert call.live_state == "broken" and call.status == CallStatus.RINGING
    assert not _draft_live(demo, call)
    assert _record(demo, call).needs_transcription and call.status == CallStatus.RECORDED
    event = demo.scalar(select(AuditEvent).where(AuditEvent.action == "call.live_broken"))
    assert event.after == {"live_state": "broken", "reason": "no audio for 3 s"}


def test_the_inbox_and_the_call_page_show_the_text_while_the_caller_speaks(client, demo):
    calm = _ring(demo, "CA" + "b" * 32)
    call = _ring(demo)
    begin_live_transcript(demo, call.call_sid, WORKER)
    write_live_text(demo, call.id, "안녕하세요 약국")
    demo.commit()
    sign_in(client, "duty")

    rows = {row["id"]: row for row in client.get("/api/inbox").get_json()["calls"]}
    assert (rows[call.id]["state_label"], rows[call.id]["live"]) == ("通话中", True)
    assert rows[call.id]["excerpt"] == "안녕하세요 약국"
    assert rows[calm.id]["live"] is False and rows[calm.id]["excerpt"] == ""
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "通话中" in page and f'data-poll="/calls/{call.id}/live"' in page
    assert client.get(f"/calls/{call.id}/live").get_json() == {
        "status": "ringing", "live_state": "streaming", "on_the_line": True,
        "text": "안녕하세요 약국"}

    _draft_live(demo, call)
    assert client.get(f"/calls/{call.id}/live").get_json()["on_the_line"] is False
    row = [r for r in client.get("/api/inbox").get_json()["calls"] if r["id"] == call.id][0]
    assert row["state_label"] == "待确认" and row["live"] is False


def test_an_urgent_alert_sent_before_any_text_is_followed_by_one_quoting_it(demo):
    call = _ring(demo)
    mark_call_urgent(demo, call, "keypad", TWILIO)
    first = alert_urgent_call(demo, call, "https://x", TWILIO).sms
    demo.commit()
    assert first and all("“" not in demo.get(Notification, n).body for n in first)
    begin_live_transcript(demo, call.call_sid, WORKER)
    demo.commit()
    _draft_live(demo, call, "안녕하세요 약국에 불이 났어요. 빨리 와 주세요")

    second = quote_urgent_call(demo, call, "https://x", WORKER).sms
    demo.commit()
    assert len(second) == len(first)
    assert all("“안녕하세요약국에불이났어요.”" in demo.get(Notification, n).body.replace(" ", "")
               or "“안녕하세요 약국에 불이 났어요.”" in demo.get(Notification, n).body
               for n in second)
    assert quote_urgent_call(demo, call, "https://x", WORKER).sms == []  # once
    # An alert raised once there is text quotes it from the start, and gets no second one.
    later = _ring(demo, "CA" + "c" * 32)
    later.transcript_text = "약국 에 불 이 났어요"
    mark_call_urgent(demo, later, "keypad", TWILIO)
    (alert, *_) = alert_urgent_call(demo, later, "https://x", TWILIO).sms
    assert "“약국 에 불 이 났어요”" in demo.get(Notification, alert).body
    assert quote_urgent_call(demo, later, "https://x", WORKER).sms == []


def test_first_sentence_stops_at_the_first_sentence_end_or_a_few_words():
    assert first_sentence("药店没有降压药。请尽快处理。") == "药店没有降压药。"
    assert first_sentence("") == ""
    long = "하나 " * 30
    assert first_sentence(long).endswith("…") and len(first_sentence(long)) <= 41


def test_an_offer_nobody_claims_in_time_goes_to_the_recording(redis):
    streams = LiveStreams(redis)
    assert streams.open("CA1") and streams.open("CA2")
    assert streams.take_offer("w1") == "CA1" and streams.is_claimed("CA1")
    time.sleep(1.6)  # past jobs.streams.OFFER_MILLISECONDS: the web gives CA2 to the recording
    assert streams.take_offer("w1") is None and not streams.is_claimed("CA2")
    streams.publish_load("w1", 1, 4)
    assert streams.load() == {"in_use": 1, "capacity": 4,
                              "workers": {"w1": {"in_use": 1, "capacity": 4}}}


def test_healthz_details_show_the_live_streams_in_use(client, demo, redis):
    LiveStreams(redis).publish_load("worker-1-live", 3, 4)
    sign_in(client, "admin")
    live = client.get("/healthz?detail=1").get_json()["live_streams"]
    assert (live["in_use"], live["capacity"]) == (3, 4)
    client.post("/logout")
    assert "live_streams" not in client.get("/healthz").get_json()
