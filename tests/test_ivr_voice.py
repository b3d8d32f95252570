"""The call flow, as Twilio sees it: POST the exact form fields, parse the TwiML, check verbs,
attributes and the spoken text, in Mandarin (default) and English."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import time

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from intake.store.audit import Actor
from intake.time.duty import add_duty_period, set_duty_exception, set_duty_phone, set_prompt_audio
from intake.store.models import AuditEvent, Call, Leader, Liaison, Notification, utcnow
from intake.store.settings import DEV_AUTH_TOKEN
from intake.statuses import CallStatus
from tests.conftest import PUBLIC_BASE_URL

ADMIN = Actor("test-admin")
ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))

TEXT = {
    "zh-CN": {
        "say": {"language": "cmn-CN", "voice": "Polly.Zhiyu"},
        "greeting": "您好，这里是县卫生健康局民情联线。",
        "greeting_known": "张伟联络员，您好。",
        "connecting": "正在为您转接值班室，请稍候。",
        "menu": "如有急事，请按1。普通留言，请在提示音后开始讲话，讲完请按井号键。",
        "urgent_ack": "已为您标记为急事，值班领导会尽快处理。请在提示音后讲述情况，讲完请按井号键。",
        "record": "请在提示音后留言，讲完请按井号键。",
        "thanks": "感谢您的留言。您的留言编号是：{reference}。我们会尽快处理。再见。",
        "no_message": "没有录到您的留言。如需留言，请重新拨打。再见。",
        "dial_done": "感谢您的来电，再见。",
    },
    "en-US": {
        "say": {"language": "en-US", "voice": "Polly.Joanna"},
        "greeting": "Hello, this is the county health bureau liaison line.",
        "greeting_known": "Hello, 张伟.",
        "connecting": "Connecting you to the duty room. Please hold.",
        "menu": "If this is urgent, press 1. Otherwise, leave your message after the tone "
                "and press the pound key when you are done.",
        "urgent_ack": "Your message is marked urgent; the leader on duty will be alerted. "
                      "Please speak after the tone and press the pound key when you are done.",
        "record": "Please leave your message after the tone and press the pound key when done.",
        "thanks": "Thank you for your message. Your reference number is {reference}. Goodbye.",
        "no_message": "We did not record a message. Please call again to leave one. Goodbye.",
        "dial_done": "Thank you for calling. Goodbye.",
    },
}
RECORD_ATTRS = {"action": "/ivr/recorded", "method": "POST",
                "recordingStatusCallback": "/ivr/recording-status",
                "recordingStatusCallbackMethod": "POST",
                "recordingStatusCallbackEvent": "completed absent", "maxLength": "300",
                "finishOnKey": "#", "trim": "trim-silence", "playBeep": "true"}


@pytest.fixture(params=["zh-CN", "en-US"])
def language(request):
    return request.param


@pytest.fixture
def hotline(settings, demo, language):
    """A client for the app in one language, and a Twilio-signed POST helper."""
    from dashboard.app import create_app

    voice = "Polly.Zhiyu" if language == "zh-CN" else "Polly.Joanna"
    app = create_app({"DUTYLINE_SETTINGS": settings.with_overrides(language=language,
                                                                  voice_name=voice),
                      "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    validator = RequestValidator(DEV_AUTH_TOKEN)

    def post(path: str, params: dict):
        signature = validator.compute_signature(PUBLIC_BASE_URL + path, params)
        return client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    return post


def call_fields(call_sid="CA" + "1" * 32, from_number="+8613812345678", **extra):
    return {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": from_number,
            "To": "+8657112345", "CallStatus": "ringing", "Direction": "inbound",
            "ApiVersion": "2010-04-01", **extra}


def twiml_of(response) -> ET.Element:
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def verbs(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def assert_say(element: ET.Element, language: str, key: str, **values) -> None:
    assert element.tag == "Say"
    assert element.attrib == TEXT[language]["say"]
    assert element.text == TEXT[language][key].format(**values)


def assert_voicemail(root: ET.Element, language: str, start: int) -> None:
    gather, stream, record = root[start], root[start + 1], root[start + 2]
    assert gather.tag == "Gather"
    assert gather.attrib == {"numDigits": "1", "timeout": "4", "action": "/ivr/menu",
                             "method": "POST"}
    assert len(gather) == 1
    assert_say(gather[0], language, "menu")
    assert_live_stream(stream)
    assert record.tag == "Record"
    assert record.attrib == RECORD_ATTRS


def assert_live_stream(start: ET.Element) -> None:
    """The caller's audio streams live to /ivr/stream while the message is recorded."""
    assert start.tag == "Start" and [child.tag for child in start] == ["Stream"]
    stream = start[0]
    assert stream.attrib == {"url": "wss://dutyline.example.gov.cn/ivr/stream"}
    (parameter,) = stream
    assert parameter.tag == "Parameter" and parameter.attrib["name"] == "CallSid"
    assert parameter.attrib["value"].startswith("CA")


def spoken_reference(reference: str, language: str) -> str:
    if language == "zh-CN":
        return "，".join(ZH_DIGITS[d] for d in reference)
    return ", ".join(reference)


def put_on_duty(db_session, phone="+8657188889999"):
    now_weekday = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).weekday()
    set_duty_phone(db_session, phone, ADMIN)
    add_duty_period(db_session, now_weekday, time(0, 0), time.max, ADMIN)
    db_session.commit()


# ---------------------------------------------------------------- known and unknown callers
@pytest.mark.parametrize("number", ["+8613812345678", "13812345678", "008613812345678"])
def test_a_known_liaison_is_greeted_by_name_and_linked_from_the_first_request(
        hotline, db_session, language, number):
    root = twiml_of(hotline("/ivr/voice", call_fields(from_number=number)))

    assert verbs(root) == ["Say", "Gather", "Start", "Record"]
    assert_say(root[0], language, "greeting_known")
    assert_voicemail(root, language, 1)
    call = db_session.scalar(select(Call))
    zhang = db_session.scalar(select(Liaison).where(Liaison.name == "张伟"))
    assert (call.liaison_id, call.leader_id) == (zhang.id, zhang.leader_id)
    assert call.from_e164 == "+8613812345678"
    assert call.status == CallStatus.RINGING


@pytest.mark.parametrize("number", ["+8613055550000", "", "Anonymous", "+266696687"])
def test_an_unknown_or_withheld_number_is_still_served(hotline, db_session, language, number):
    root = twiml_of(hotline("/ivr/voice", call_fields(from_number=number)))

    assert verbs(root) == ["Say", "Gather", "Start", "Record"]
    assert_say(root[0], language, "greeting")
    call = db_session.scalar(select(Call))
    assert call.liaison_id is None and call.leader_id is None
    assert len(call.reference) == 6 and call.reference.isdigit()


def test_an_inactive_liaison_is_not_greeted_by_name(hotline, db_session, language):
    db_session.scalar(select(Liaison).where(Liaison.name == "张伟")).active = False
    db_session.commit()

    root = twiml_of(hotline("/ivr/voice", call_fields()))

    assert_say(root[0], language, "greeting")


# ---------------------------------------------------------------- duty hours
def test_in_duty_hours_the_call_is_put_through_to_the_duty_phone(hotline, db_session, language):
    put_on_duty(db_session)

    root = twiml_of(hotline("/ivr/voice", call_fields()))

    assert verbs(root) == ["Say", "Say", "Dial"]
    assert_say(root[0], language, "greeting_known")
    assert_say(root[1], language, "connecting")
    dial = root[2]
    assert dial.attrib == {"timeout": "20", "action": "/ivr/dial-status", "method": "POST"}
    assert dial.text == "+8657188889999"


def test_a_holiday_sends_callers_to_voicemail_despite_the_weekly_schedule(
        hotline, db_session, language):
    put_on_duty(db_session)
    today = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date()
    set_duty_exception(db_session, today, False, ADMIN, note="国庆节")
    db_session.commit()

    root = twiml_of(hotline("/ivr/voice", call_fields()))

    assert verbs(root) == ["Say", "Gather", "Start", "Record"]


def test_without_a_duty_phone_calls_go_to_voicemail_even_in_duty_hours(
        hotline, db_session, language):
    add_duty_period(db_session, 0, time(0, 0), time.max, ADMIN)
    db_session.commit()

    root = twiml_of(hotline("/ivr/voice", call_fields(from_number="+8613055550000")))

    assert verbs(root) == ["Say", "Gather", "Start", "Record"]


def test_an_answered_duty_call_says_goodbye_and_hangs_up(hotline, db_session, language):
    put_on_duty(db_session)
    hotline("/ivr/voice", call_fields())

    root = twiml_of(hotline("/ivr/dial-status", call_fields(DialCallStatus="completed",
                                                            DialCallDuration="42")))

    assert verbs(root) == ["Say", "Hangup"]
    assert_say(root[0], language, "dial_done")
    assert db_session.scalar(select(Call.dial_status)) == "completed"
    # No voicemail will follow: the call waits in the inbox to be confirmed as a phone case.
    assert db_session.scalar(select(Call.status)).value == "no_message"


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed", "canceled"])
def test_an_unanswered_duty_call_falls_through_to_voicemail(hotline, db_session, language,
                                                            outcome):
    put_on_duty(db_session)
    hotline("/ivr/voice", call_fields())

    root = twiml_of(hotline("/ivr/dial-status", call_fields(DialCallStatus=outcome)))

    assert verbs(root) == ["Gather", "Start", "Record"]
    assert_voicemail(root, language, 0)
    assert db_session.scalar(select(Call.dial_status)) == outcome
    assert db_session.scalar(select(Call.status)).value == "ringing"  # the voicemail follows
    assert db_session.scalar(select(func.count()).where(
        AuditEvent.action == "call.dial_finished")) == 1


# ---------------------------------------------------------------- menu and urgent path
def test_pressing_1_marks_the_call_urgent(hotline, db_session, language):
    hotline("/ivr/voice", call_fields())

    root = twiml_of(hotline("/ivr/menu", call_fields(Digits="1", CallStatus="in-progress")))

    assert verbs(root) == ["Say", "Start", "Record"]
    assert_say(root[0], language, "urgent_ack")
    assert_live_stream(root[1])
    assert root[2].attrib == RECORD_ATTRS
    call = db_session.scalar(select(Call))
    assert call.urgent is True and call.urgent_source == "keypad"


@pytest.mark.parametrize("digits", ["2", "#", ""])
def test_any_other_key_records_a_normal_message(hotline, db_session, language, digits):
    hotline("/ivr/voice", call_fields())

    root = twiml_of(hotline("/ivr/menu", call_fields(Digits=digits)))

    assert verbs(root) == ["Say", "Start", "Record"]
    assert_say(root[0], language, "record")
    assert db_session.scalar(select(Call.urgent)) is False


def test_an_urgent_message_alerts_the_on_duty_leaders_before_transcription(
        hotline, db_session, redis, language):
    from rq import Queue

    sid = "CA" + "2" * 32
    hotline("/ivr/voice", call_fields(sid, "13712345678"))  # 陈明, whose leader is 李红
    hotline("/ivr/menu", call_fields(sid, "13712345678", Digits="1"))
    response = hotline("/ivr/recording-status", recording_fields(sid))

    assert response.status_code == 204
    alerts = db_session.scalars(select(Notification).where(
        Notification.kind == "urgent_alert")).all()
    leaders = {db_session.get(Leader, n.leader_id).name for n in alerts}
    assert leaders == {"王建国", "李红"}  # the on-duty leader, and the caller's own leader
    assert all("陈明" in n.body for n in alerts)
    assert all("/calls/" in n.body for n in alerts)
    assert sorted(Queue("sms", connection=redis).job_ids) == sorted(
        f"send-sms-{n.id}" for n in alerts)
    call = db_session.scalar(select(Call))
    assert call.status == CallStatus.QUEUED and call.transcript_text is None


# ---------------------------------------------------------------- recordings
def recording_fields(call_sid, recording_sid="RE" + "3" * 32, status="completed",
                     duration="12"):
    return {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "RecordingSid": recording_sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/"
                            f"Recordings/{recording_sid}",
            "RecordingStatus": status, "RecordingDuration": duration,
            "RecordingChannels": "1", "RecordingSource": "RecordVerb"}


def test_the_caller_hears_the_reference_digit_by_digit(hotline, db_session, language):
    sid = "CA" + "4" * 32
    hotline("/ivr/voice", call_fields(sid))

    root = twiml_of(hotline("/ivr/recorded", {**call_fields(sid), **recording_fields(sid)}))

    reference = db_session.scalar(select(Call.reference))
    assert verbs(root) == ["Say", "Hangup"]
    assert_say(root[0], language, "thanks", reference=spoken_reference(reference, language))


def test_an_empty_recording_tells_the_caller_nothing_was_recorded(hotline, language):
    sid = "CA" + "5" * 32
    hotline("/ivr/voice", call_fields(sid))

    root = twiml_of(hotline("/ivr/recorded", {**call_fields(sid),
                                              **recording_fields(sid, duration="0")}))

    assert verbs(root) == ["Say", "Hangup"]
    assert_say(root[0], language, "no_message")


@pytest.mark.parametrize("status,duration", [("absent", "0"), ("completed", "0"),
                                             ("absent", "")])
def test_an_empty_recording_leaves_a_no_message_call_and_queues_nothing(
        hotline, db_session, redis, language, status, duration):
    from rq import Queue

    sid = "CA" + "6" * 32
    hotline("/ivr/voice", call_fields(sid))

    response = hotline("/ivr/recording-status",
                       recording_fields(sid, status=status, duration=duration))

    assert response.status_code == 204
    call = db_session.scalar(select(Call))
    assert call.status == CallStatus.NO_MESSAGE
    assert call.from_e164 == "+8613812345678"  # duty staff can call back
    assert Queue("transcription", connection=redis).count == 0
    assert db_session.scalar(select(func.count()).where(
        AuditEvent.action == "call.no_message")) == 1


def test_a_recording_is_committed_and_queued_once(hotline, db_session, redis, language):
    from rq import Queue

    sid = "CA" + "7" * 32
    hotline("/ivr/voice", call_fields(sid))

    hotline("/ivr/recording-status", recording_fields(sid))

    call = db_session.scalar(select(Call))
    assert call.status == CallStatus.QUEUED
    assert call.recording_url.endswith(call.recording_sid)
    assert Queue("transcription", connection=redis).job_ids == [f"transcribe-call-{call.id}"]


# ---------------------------------------------------------------- settings that shape TwiML
def test_an_uploaded_prompt_is_played_instead_of_spoken(hotline, db_session, language):
    set_prompt_audio(db_session, language, "greeting", "https://cdn.example.gov.cn/hello.mp3",
                     ADMIN)
    db_session.commit()

    root = twiml_of(hotline("/ivr/voice", call_fields(from_number="+8613055550000")))

    assert verbs(root) == ["Play", "Gather", "Start", "Record"]
    assert root[0].text == "https://cdn.example.gov.cn/hello.mp3"
    assert_say(root[1][0], language, "menu")  # the other prompts are still spoken


def test_the_recording_limit_comes_from_the_settings(settings, demo):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings.with_overrides(max_recording_seconds=90),
                      "TESTING": True})
    params = call_fields()
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/ivr/voice", params)
    root = twiml_of(app.test_client().post("/ivr/voice", data=params,
                                           headers={"X-Twilio-Signature": signature}))

    assert root.find("Record").attrib["maxLength"] == "90"


def test_a_connection_override_fragment_is_put_on_every_callback_url(settings, demo):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings.with_overrides(webhook_fragment="rc=2&rp=all"),
                      "TESTING": True})
    params = call_fields()
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/ivr/voice#rc=2&rp=all", params)
    root = twiml_of(app.test_client().post("/ivr/voice", data=params,
                                           headers={"X-Twilio-Signature": signature}))

    assert root.find("Gather").attrib["action"] == "/ivr/menu#rc=2&rp=all"
    assert root.find("Record").attrib["action"] == "/ivr/recorded#rc=2&rp=all"
    assert root.find("Record").attrib["recordingStatusCallback"] == (
        "/ivr/recording-status#rc=2&rp=all")


def test_an_unexpected_error_answers_polite_twiml_that_still_records(
        hotline, language, monkeypatch):
    import intake.calls.voicemail

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake.calls.voicemail, "register_call", broken)

    root = twiml_of(hotline("/ivr/voice", call_fields()))

    assert verbs(root) == ["Say", "Record"]  # the fallback takes the message without a live stream
    assert root[1].attrib == RECORD_ATTRS
