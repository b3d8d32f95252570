"""No one outside Twilio may inject a call: every webhook checks X-Twilio-Signature, a bad one
gets 403, is logged with the remote address, and stores nothing."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from intake.store.models import AuditEvent, Call
from intake.store.settings import DEV_AUTH_TOKEN
from tests.conftest import PUBLIC_BASE_URL

WEBHOOKS = ["/ivr/voice", "/ivr/dial-status", "/ivr/menu", "/ivr/recorded",
            "/ivr/recording-status", "/sms/status", "/sms/inbound"]
FIELDS = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "9" * 32, "From": "+8613812345678",
          "To": "+8657112345", "CallStatus": "ringing", "RecordingSid": "RE" + "9" * 32,
          "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE9",
          "RecordingStatus": "completed", "RecordingDuration": "9", "Digits": "1"}
VALID = RequestValidator(DEV_AUTH_TOKEN)


def sign(url: str, params: dict, validator: RequestValidator = VALID) -> str:
    return validator.compute_signature(url, params)


def assert_nothing_stored(db_session) -> None:
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Call)) == 0
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def make_client(settings, **overrides):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings.with_overrides(**overrides),
                      "TESTING": True})
    return app.test_client()


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_correct_signature_is_accepted(client, db_session, path):
    response = client.post(path, data=FIELDS,
                           headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + path, FIELDS)})

    assert response.status_code in (200, 204)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_missing_signature_is_refused_logged_and_stores_nothing(client, db_session, path,
                                                                  caplog):
    with caplog.at_level(logging.WARNING, logger="ivr.signature"):
        response = client.post(path, data=FIELDS, environ_base={"REMOTE_ADDR": "203.0.113.7"})

    assert response.status_code == 403
    assert "missing signature from 203.0.113.7" in caplog.text
    assert_nothing_stored(db_session)


@pytest.mark.parametrize("case", ["wrong token", "tampered parameter", "added parameter",
                                  "removed parameter", "replayed on another path",
                                  "signed for another host", "garbage"])
def test_a_bad_signature_is_refused_logged_and_stores_nothing(client, db_session, caplog, case):
    path, fields = "/ivr/voice", dict(FIELDS)
    if case == "wrong token":
        signature = sign(PUBLIC_BASE_URL + path, fields, RequestValidator("someone-elses-token"))
    elif case == "tampered parameter":
        signature = sign(PUBLIC_BASE_URL + path, fields)
        fields["From"] = "+8613900000001"
    elif case == "added parameter":
        signature = sign(PUBLIC_BASE_URL + path, fields)
        fields["Forwarded"] = "yes"
    elif case == "removed parameter":
        signature = sign(PUBLIC_BASE_URL + path, fields)
        del fields["To"]
    elif case == "replayed on another path":
        signature = sign(PUBLIC_BASE_URL + "/ivr/recording-status", fields)
    elif case == "signed for another host":
        signature = sign("https://evil.example" + path, fields)
    else:
        signature = "not-a-signature"

    with caplog.at_level(logging.WARNING, logger="ivr.signature"):
        response = client.post(path, data=fields, headers={"X-Twilio-Signature": signature},
                               environ_base={"REMOTE_ADDR": "198.51.100.23"})

    assert response.status_code == 403
    assert "bad signature from 198.51.100.23" in caplog.text
    assert_nothing_stored(db_session)


def test_a_replayed_body_on_the_recording_path_creates_no_call(client, db_session):
    path = "/ivr/voice"
    signature = sign(PUBLIC_BASE_URL + path, FIELDS)
    assert client.post(path, data=FIELDS, headers={"X-Twilio-Signature": signature}
                       ).status_code == 200

    response = client.post("/ivr/recording-status", data=FIELDS,
                           headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.scalar(select(Call.recording_sid)) is None


def test_behind_a_tls_proxy_the_public_base_url_is_what_was_signed(settings, db_session):
    # Twilio called https://dutyline.example.gov.cn/ivr/voice; the proxy forwarded it to
    # http://127.0.0.1:8000/ivr/voice. PUBLIC_BASE_URL rebuilds what Twilio signed.
    client = make_client(settings)
    signature = sign(PUBLIC_BASE_URL + "/ivr/voice", FIELDS)

    response = client.post("/ivr/voice", data=FIELDS, base_url="http://127.0.0.1:8000",
                           headers={"X-Twilio-Signature": signature,
                                    "X-Forwarded-Proto": "https"})

    assert response.status_code == 200


def test_forwarded_headers_count_only_when_the_operator_trusts_them(settings, db_session,
                                                                    caplog):
    public = "https://hotline.example.gov.cn"
    signature = sign(public + "/ivr/voice", FIELDS)
    headers = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "hotline.example.gov.cn",
               "X-Forwarded-For": "spoofed, 54.172.60.1"}

    untrusting = make_client(settings, public_base_url=None, proxy_count=0)
    with caplog.at_level(logging.WARNING, logger="ivr.signature"):
        refused = untrusting.post("/ivr/voice", data=FIELDS, base_url="http://10.0.0.2:8000",
                                  headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert refused.status_code == 403
    assert "from 10.0.0.1 " in caplog.text  # X-Forwarded-For is not believed either
    assert_nothing_stored(db_session)

    trusting = make_client(settings, public_base_url=None, proxy_count=1)
    caplog.clear()
    accepted = trusting.post("/ivr/voice", data=FIELDS, base_url="http://10.0.0.2:8000",
                             headers=headers)
    assert accepted.status_code == 200

    with caplog.at_level(logging.WARNING, logger="ivr.signature"):
        forged = trusting.post("/ivr/voice", data={**FIELDS, "From": "+10000000000"},
                               base_url="http://10.0.0.2:8000", headers=headers)
    assert forged.status_code == 403
    assert "from 54.172.60.1 " in caplog.text  # the proxy's own entry, not the spoofed one


def test_a_connection_override_fragment_is_accepted_with_or_without_it_in_the_signature(
        settings, db_session):
    client = make_client(settings, webhook_fragment="rc=3&rp=all&ct=2000")
    url = PUBLIC_BASE_URL + "/ivr/voice"

    for signed_url in (url + "#rc=3&rp=all&ct=2000", url):
        response = client.post("/ivr/voice", data=FIELDS,
                               headers={"X-Twilio-Signature": sign(signed_url, FIELDS)})
        assert response.status_code == 200

    other = client.post("/ivr/voice", data=FIELDS,
                        headers={"X-Twilio-Signature": sign(url + "#rc=9", FIELDS)})
    assert other.status_code == 403


def test_the_real_account_token_replaces_the_development_token(settings, db_session):
    client = make_client(settings, twilio_auth_token="real-account-token")

    dev = client.post("/ivr/voice", data=FIELDS, headers={
        "X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/ivr/voice", FIELDS)})
    real = client.post("/ivr/voice", data=FIELDS, headers={
        "X-Twilio-Signature": sign(PUBLIC_BASE_URL + "/ivr/voice", FIELDS,
                                   RequestValidator("real-account-token"))})

    assert (dev.status_code, real.status_code) == (403, 200)
