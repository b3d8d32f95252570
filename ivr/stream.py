"""GET /ivr/stream: Twilio's Media Stream of a call being recorded, relayed to the workers.

    Twilio ──wss──► /ivr/stream (signed upgrade; 403 before the upgrade otherwise)
       connected ─► nothing
       start     ─► LiveStreams.open: start marker, offer to the workers
       media     ─► LiveStreams.append: the μ-law frame, as it came
       stop      ─► LiveStreams.close(STOP)
       socket gone without `stop` ─► LiveStreams.close(BROKEN)

The web process holds no model: it only appends frames to Redis (jobs.streams), and a
worker that holds one decodes them (transcription.live). When no worker claims the call
within jobs.streams.CLAIM_WAIT_SECONDS (no model, no worker, every slot busy), or Redis stops
answering, forwarding stops for that call and its recording drafts it, as before. The
socket is still read to the end either way: Twilio must never see the stream refused mid-call.

WebSockets come from flask-sock (simple-websocket underneath): it runs inside our Flask app on
gunicorn's threaded worker (`gthread`, which `dutyline run` uses) and on werkzeug's server,
so the stream needs no second server, event loop or port. A stream holds one gunicorn
thread for the length of the call.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import time

from flask import Blueprint
from flask_sock import Sock

from ivr.signature import check_stream_upgrade
from web.services import get_live_streams, get_settings

log = logging.getLogger(__name__)
bp = Blueprint("ivr_stream", __name__)
sock = Sock()

STREAM_PATH = "/ivr/stream"
# Twilio sends a frame every 20 ms while the call lasts; this long without one, it is gone.
RECEIVE_TIMEOUT_SECONDS = 10
# The same names as jobs.streams (ivr may not import jobs): the end-of-stream markers.
STOP, BROKEN = "stop", "broken"


@bp.before_request
def _verify_upgrade():
    check_stream_upgrade()


class StreamRelay:
    """Follow one Media Stream's messages and forward its audio while a worker decodes it."""

    def __init__(self, streams, clock=time.monotonic):
        self.streams = streams
        self.clock = clock
        self.call_sid: str | None = None
        self.forwarding = False
        self.claim_checked = False
        self.opened_at = 0.0
        self.stopped = False

    def handle(self, message: dict) -> bool:
        """Act on one message; return False after `stop`."""
        event = message.get("event")
        if event == "start":
            self._start(message.get("start") or {})
        elif event == "media" and self.forwarding:
            self._media(message.get("media") or {})
        elif event == "stop":
            self.stopped = True
            if self.forwarding:
                self.forwarding = False
                self.streams.close(self.call_sid, STOP)
            return False
        return True

    def end(self) -> None:
        """The socket closed: tell the decoder the stream broke unless Twilio said `stop`."""
        if self.forwarding and not self.stopped:
            self.forwarding = False
            self.streams.close(self.call_sid, BROKEN)

    def _start(self, start: dict) -> None:
        self.call_sid = ((start.get("customParameters") or {}).get("CallSid")
                         or start.get("callSid"))
        if not self.call_sid or self.streams is None:
            return
        self.forwarding = self.streams.open(self.call_sid)
        self.opened_at = self.clock()

    def _media(self, media: dict) -> None:
        if not self.claim_checked and self.clock() - self.opened_at >= self.streams.claim_wait:
            self.claim_checked = True
            if not self.streams.is_claimed(self.call_sid):
                log.info("no worker decodes call %s live; its recording will", self.call_sid)
                self.forwarding = False
                self.streams.drop(self.call_sid)
                return
        try:
            audio = base64.b64decode(media.get("payload", ""), validate=True)
        except (binascii.Error, ValueError):
            return
        if not self.streams.append(self.call_sid, audio):
            # Redis stopped answering: the decoder notices the silence and gives the call
            # back to the recording; forwarding later frames would leave a hole in the middle.
            self.forwarding = False


@sock.route(STREAM_PATH, bp=bp)
def stream(ws) -> None:
    """Relay one call's live audio to the workers until Twilio stops the stream."""
    relay = StreamRelay(get_live_streams() if get_settings().live_streams > 0 else None)
    try:
        while True:
            raw = ws.receive(timeout=RECEIVE_TIMEOUT_SECONDS)
            if raw is None:
                break
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not relay.handle(message):
                break
    finally:
        relay.end()
