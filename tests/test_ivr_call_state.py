"""GET /ivr/calls/<CallSid>: a call's state for a client holding the webhook token.

`dutyline simulate-call --wait` polls it, so the simulator needs nothing but HTTP.
"""
from twilio.request_validator import RequestValidator

from intake.store.settings import DEV_AUTH_TOKEN
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard_support import make_call


def _signed_get(client, path: str, token: str = DEV_AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, {})
    return client.get(path, headers={"X-Twilio-Signature": signature})


def test_a_signed_request_reads_the_calls_record(client, demo):
    call = make_call(demo, fail="unreadable audio: the file is empty")
    response = _signed_get(client, f"/ivr/calls/{call.call_sid}")
    assert response.status_code == 200
    record = response.get_json()
    assert record["call_sid"] == call.call_sid and record["reference"] == call.reference
    assert record["status"] == "failed"
    assert record["liaison"] == "张伟"
    assert record["failure_reason"] == "unreadable audio: the file is empty"


def test_an_unknown_call_is_404_and_a_bad_signature_403(client, demo):
    call = make_call(demo)
    assert _signed_get(client, "/ivr/calls/CAnothing").status_code == 404
    assert _signed_get(client, f"/ivr/calls/{call.call_sid}", token="guess").status_code == 403
    assert client.get(f"/ivr/calls/{call.call_sid}").status_code == 403
    # A signature for one call does not open another.
    other = RequestValidator(DEV_AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/ivr/calls/CAnothing", {})
    assert client.get(f"/ivr/calls/{call.call_sid}",
                      headers={"X-Twilio-Signature": other}).status_code == 403
