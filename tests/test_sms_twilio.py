"""SMS through the real twilio library to a stand-in REST host (TWILIO_API_BASE_URL), from the
RQ job, with Twilio's status callbacks and inbound replies signed with the account's token."""
from __future__ import annotations

import pytest
from rq import Queue
from twilio.request_validator import RequestValidator

from intake.store.models import Case, Notification
from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings
from jobs.queue import SMS_QUEUE
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard_support import audit_actions, make_call, sign_in
from tests.twilio_standin import TwilioStandIn
from tests.rq_support import SimpleWorker

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "standin-auth-token"
FROM_NUMBER = "+8657100001111"
SERVICE_SID = "MG" + "2" * 32


@pytest.fixture
def standin():
    with TwilioStandIn() as server:
        yield server


@pytest.fixture
def twilio_app(env, engine, standin, monkeypatch):
    """The app with a Twilio account whose REST host is the stand-in."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", FROM_NUMBER)
    monkeypatch.setenv("TWILIO_API_BASE_URL", standin.base_url)
    reset_runtime()
    from dashboard.app import create_app

    return create_app({"DUTYLINE_SETTINGS": load_settings(), "TESTING": True,
                       "WTF_CSRF_ENABLED": False})


@pytest.fixture
def twilio_client(twilio_app):
    return twilio_app.test_client()


def _signed(client, path: str, fields: dict, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, fields)
    return client.post(path, data=fields, headers={"X-Twilio-Signature": signature})


def _run_sms_jobs(redis) -> None:
    SimpleWorker([Queue(SMS_QUEUE, connection=redis)], connection=redis).work(burst=True)


def _confirm(client, call_id: int, **fields):
    data = {"caller_name": "张伟", "caller_unit": "城关镇东门社区", "caller_phone": "+8613812345678",
            "summary": "药店没有降压药，希望尽快解决。", **fields}
    return client.post(f"/calls/{call_id}/confirm", data=data)


def test_confirming_sends_the_sms_through_twilio_with_the_status_callback(
        demo, twilio_client, standin, redis):
    call = make_call(demo)
    sign_in(twilio_client, "duty")
    response = _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id),
                        leader_id=str(call.leader_id))
    assert response.status_code == 302
    case = demo.query(Case).filter_by(call_id=call.id).one()
    notification = demo.query(Notification).filter_by(case_id=case.id).one()
    assert notification.status.value == "pending"

    _run_sms_jobs(redis)

    assert len(standin.requests) == 1
    sent = standin.requests[0]
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent["auth_user"] == ACCOUNT_SID
    assert sent["form"] == {
        "To": "+8613900000001",  # 王建国, the liaison's linked leader
        "From": FROM_NUMBER,
        "Body": notification.body,
        "StatusCallback": f"{PUBLIC_BASE_URL}/sms/status",
    }
    assert notification.body.startswith(f"【民情联线】案件{case.number}：张伟（城关镇东门社区）来电")
    assert f"{PUBLIC_BASE_URL}/cases/{case.id}" in notification.body
    demo.expire_all()
    notification = demo.get(Notification, notification.id)
    assert notification.twilio_sid == sent["sid"]
    assert notification.status.value == "queued"

    for state in ("sent", "delivered"):
        assert _signed(twilio_client, "/sms/status", {
            "MessageSid": sent["sid"], "MessageStatus": state, "AccountSid": ACCOUNT_SID,
            "To": "+8613900000001", "From": FROM_NUMBER}).status_code == 204
    demo.expire_all()
    assert demo.get(Notification, notification.id).status.value == "delivered"
    page = twilio_client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "已送达" in page


def test_a_messaging_service_replaces_the_from_number(demo, twilio_client, standin, redis,
                                                      monkeypatch):
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", SERVICE_SID)
    reset_runtime()  # the job reads the environment afresh
    call = make_call(demo)
    sign_in(twilio_client, "duty")
    _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
    _run_sms_jobs(redis)
    form = standin.requests[0]["form"]
    assert form["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in form
    assert set(form) == {"To", "MessagingServiceSid", "Body", "StatusCallback"}


def test_an_undelivered_sms_raises_an_alert_with_resend_and_call_the_leader(
        demo, twilio_client, standin, redis):
    call = make_call(demo)
    sign_in(twilio_client, "duty")
    _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
    _run_sms_jobs(redis)
    sid = standin.requests[0]["sid"]
    assert _signed(twilio_client, "/sms/status", {
        "MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}).status_code == 204
    # A late "sent" must not hide the failure.
    _signed(twilio_client, "/sms/status", {"MessageSid": sid, "MessageStatus": "sent"})
    inbox = twilio_client.get("/inbox").get_data(as_text=True)
    assert "短信未送达" in inbox and "30003" in inbox
    assert 'href="tel:+8613900000001"' in inbox
    failed = demo.query(Notification).filter_by(twilio_sid=sid).one()
    assert twilio_client.get("/api/inbox").get_json()["failed_sms"][0]["error_code"] == "30003"

    assert twilio_client.post(f"/notifications/{failed.id}/resend").status_code == 302
    _run_sms_jobs(redis)
    assert len(standin.requests) == 2
    assert standin.requests[1]["form"]["Body"] == standin.requests[0]["form"]["Body"]
    assert twilio_client.get("/api/inbox").get_json()["failed_sms"] == []
    assert "sms.resent" in audit_actions(demo, "notifications", failed.id)


def test_a_permanent_twilio_refusal_marks_the_sms_failed_without_retry(
        demo, twilio_client, redis):
    with TwilioStandIn(fail_with=(400, 21211)) as refusing:
        # Point the job at the refusing stand-in.
        import os
        os.environ["TWILIO_API_BASE_URL"] = refusing.base_url
        reset_runtime()
        call = make_call(demo)
        sign_in(twilio_client, "duty")
        _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
        _run_sms_jobs(redis)
        assert len(refusing.requests) == 1
    demo.expire_all()
    notification = demo.query(Notification).one()
    assert notification.status.value == "failed"
    assert notification.error_code == "21211"
    assert Queue(SMS_QUEUE, connection=redis).scheduled_job_registry.count == 0


def test_a_status_callback_without_a_valid_signature_changes_nothing(demo, twilio_client,
                                                                    standin, redis):
    call = make_call(demo)
    sign_in(twilio_client, "duty")
    _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
    _run_sms_jobs(redis)
    sid = standin.requests[0]["sid"]
    fields = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30008"}
    assert twilio_client.post("/sms/status", data=fields).status_code == 403
    # Signed with the development token instead of the account's: refused too.
    assert _signed(twilio_client, "/sms/status", fields, token="dutyline-development-token"
                   ).status_code == 403
    demo.expire_all()
    assert demo.query(Notification).one().status.value == "queued"


def test_a_leader_acknowledges_by_replying_1(demo, twilio_client, standin, redis):
    call = make_call(demo)
    sign_in(twilio_client, "duty")
    _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
    case = demo.query(Case).one()
    response = _signed(twilio_client, "/sms/inbound", {
        "From": "13900000001", "To": FROM_NUMBER, "Body": " 1 ", "MessageSid": "SM" + "9" * 32,
        "AccountSid": ACCOUNT_SID})
    assert response.status_code == 200
    assert f"已确认收到案件{case.number}" in response.get_data(as_text=True)
    demo.expire_all()
    case = demo.get(Case, case.id)
    assert case.acknowledged_at is not None and case.status.value == "acknowledged"
    assert "case.acknowledged" in audit_actions(demo, "cases", case.id)
    # Another leader's "1" does not acknowledge 王建国's case.
    other = _signed(twilio_client, "/sms/inbound", {"From": "+8613900000002", "Body": "1",
                                                    "MessageSid": "SM" + "8" * 32})
    assert other.status_code == 200 and case.number not in other.get_data(as_text=True)


def test_a_reply_posted_three_times_with_one_message_sid_acknowledges_one_case(
        demo, twilio_client, standin, redis):
    """Issue 12 item 1: the same signed /sms/inbound three times acted on three cases."""
    sign_in(twilio_client, "duty")
    calls = [make_call(demo) for _ in range(3)]
    for call in calls:
        _confirm(twilio_client, call.id, liaison_id=str(call.liaison_id))
    oldest = demo.query(Case).order_by(Case.id).first()
    fields = {"From": "+8613900000001", "To": FROM_NUMBER, "Body": "1",
              "MessageSid": "SM" + "7" * 32, "AccountSid": ACCOUNT_SID}
    bodies = [_signed(twilio_client, "/sms/inbound", fields).get_data(as_text=True)
              for _ in range(3)]
    assert all(f"已确认收到案件{oldest.number}" in body for body in bodies)
    demo.expire_all()
    acknowledged = [c.number for c in demo.query(Case).order_by(Case.id)
                    if c.acknowledged_at is not None]
    assert acknowledged == [oldest.number]
