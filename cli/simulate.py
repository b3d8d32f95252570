"""`dutyline simulate-call` and `simulate-sms`: play Twilio's part against a running server.

It makes Twilio's requests in Twilio's order, with Twilio's form fields and signatures,
and serves the WAV over HTTP so the worker downloads it as it would from api.twilio.com.
It talks to the server over HTTP only: it reads the call's state from GET /ivr/calls/<sid>,
signed like a webhook, so it needs no database and creates no instance folder. It signs
with TWILIO_AUTH_TOKEN (the development token when unset) and PUBLIC_BASE_URL, as the
server checks them. `simulate-sms` posts one inbound SMS to /sms/inbound, signed the same
way, and returns the reply the server would have Twilio text back.
"""
from __future__ import annotations

import secrets
import time
import wave
from pathlib import Path
from xml.etree import ElementTree

import requests
from twilio.request_validator import RequestValidator

from cli.loopback import LoopbackServer, QuietHandler

ACCOUNT_SID_FOR_SIMULATION = "AC" + "0" * 32
FINAL_STATES = {"draft", "failed", "no_message", "confirmed"}


class RecordingServer(LoopbackServer):
    """Serve one audio file at /Recordings/<sid> on a loopback port, in a thread."""

    def __init__(self, audio: Path):
        payload = audio.read_bytes()

        class Handler(QuietHandler):
            def do_GET(self):
                self.send_body(200, payload, "audio/x-wav")

        super().__init__(Handler)


def _wav_seconds(path: Path) -> int:
    try:
        with wave.open(str(path)) as w:
            return max(1, round(w.getnframes() / w.getframerate()))
    except (wave.Error, EOFError):
        return 1


class TwilioSimulator:
    """Send signed webhooks to a dutyline server as Twilio would."""

    def __init__(self, base_url: str, auth_token: str, public_base_url: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.public_base_url = (public_base_url or base_url).rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.http = requests.Session()

    def post(self, path: str, params: dict) -> requests.Response:
        signature = self.validator.compute_signature(self.public_base_url + path, params)
        return self.http.post(self.base_url + path, data=params,
                              headers={"X-Twilio-Signature": signature}, timeout=15)

    def get(self, path: str) -> requests.Response:
        signature = self.validator.compute_signature(self.public_base_url + path, {})
        return self.http.get(self.base_url + path, headers={"X-Twilio-Signature": signature},
                             timeout=15)

    def fetch_call(self, call_sid: str) -> dict | None:
        """Return the server's record of a call, or None while it does not know the call."""
        response = self.get(f"/ivr/calls/{call_sid}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def call(self, wav: Path, from_number: str, recording_base_url: str,
             to_number: str = "+8657112345", digits: str | None = None) -> dict:
        """Play one call through to the recording callback; return the sids used."""
        call_sid = "CA" + secrets.token_hex(16)
        recording_sid = "RE" + secrets.token_hex(16)
        base = {"AccountSid": ACCOUNT_SID_FOR_SIMULATION, "CallSid": call_sid,
                "From": from_number, "To": to_number, "Direction": "inbound",
                "ApiVersion": "2010-04-01"}
        self.post("/ivr/voice", {**base, "CallStatus": "ringing"}).raise_for_status()
        if digits:
            self.post("/ivr/menu", {**base, "CallStatus": "in-progress", "Digits": digits,
                                    "FinishedOnKey": ""}).raise_for_status()
        recording_url = (f"{recording_base_url}/2010-04-01/Accounts/"
                         f"{ACCOUNT_SID_FOR_SIMULATION}/Recordings/{recording_sid}")
        record_fields = {"RecordingSid": recording_sid, "RecordingUrl": recording_url,
                         "RecordingDuration": str(_wav_seconds(wav))}
        self.post("/ivr/recorded", {**base, "CallStatus": "in-progress", **record_fields,
                                    "Digits": "#"}).raise_for_status()
        self.post("/ivr/recording-status", {
            "AccountSid": ACCOUNT_SID_FOR_SIMULATION, "CallSid": call_sid,
            "RecordingStatus": "completed", "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
            "RecordingStartTime": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            **record_fields}).raise_for_status()
        return {"call_sid": call_sid, "recording_sid": recording_sid}

    def sms(self, from_number: str, body: str, to_number: str = "+8657112345") -> dict:
        """Send one inbound SMS as Twilio would; return its sid and the server's reply texts."""
        message_sid = "SM" + secrets.token_hex(16)
        fields = {"AccountSid": ACCOUNT_SID_FOR_SIMULATION, "MessageSid": message_sid,
                  "SmsSid": message_sid, "SmsMessageSid": message_sid, "From": from_number,
                  "To": to_number, "Body": body, "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        response = self.post("/sms/inbound", fields)
        response.raise_for_status()
        return {"message_sid": message_sid, "replies": reply_texts(response.text)}


def reply_texts(twiml: str) -> list[str]:
    """Return the texts of the <Message> verbs in a TwiML answer (none: no reply is sent)."""
    root = ElementTree.fromstring(twiml)
    return ["".join(message.itertext()).strip() for message in root.iter("Message")]
