"""A local HTTP server standing in for Twilio's REST host (api.twilio.com).

It is injected through the documented seam TWILIO_API_BASE_URL, so the real twilio library
builds, authenticates and sends its real request; the stand-in records the exact form fields
and answers with a Message resource as Twilio does. Nothing inside dutyline is patched.
"""
from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import parse_qs

import requests
from twilio.request_validator import RequestValidator

from cli.loopback import LoopbackServer, QuietHandler


class TwilioStandIn(LoopbackServer):
    """Record POST .../Messages.json requests and answer 201 with a queued message."""

    def __init__(self, status: str = "queued", fail_with: tuple[int, int] | None = None):
        self.requests: list[dict] = []
        self.status = status
        self.fail_with = fail_with  # (HTTP status, Twilio error code) to refuse every send
        standin = self

        class Handler(QuietHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                auth = self.headers.get("Authorization", "")
                user = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[0] \
                    if auth.startswith("Basic ") else None
                sid = "SM" + secrets.token_hex(16)
                standin.requests.append({"path": self.path, "form": form, "auth_user": user,
                                         "sid": sid})
                if standin.fail_with:
                    code, twilio_code = standin.fail_with
                    payload = {"code": twilio_code, "message": "refused by the stand-in",
                               "more_info": "", "status": code}
                else:
                    code = 201
                    payload = {"sid": sid, "status": standin.status, "to": form.get("To"),
                               "from": form.get("From"), "body": form.get("Body"),
                               "account_sid": path_account(self.path), "num_segments": "1",
                               "error_code": None, "error_message": None}
                self.send_body(code, json.dumps(payload).encode(), "application/json")

        super().__init__(Handler)


def path_account(path: str) -> str:
    parts = path.split("/")
    return parts[parts.index("Accounts") + 1] if "Accounts" in parts else ""


def post_status_callback(url: str, auth_token: str, fields: dict) -> requests.Response:
    """POST a message status callback to `url`, signed as Twilio signs it."""
    signature = RequestValidator(auth_token).compute_signature(url, fields)
    return requests.post(url, data=fields, headers={"X-Twilio-Signature": signature}, timeout=10)
