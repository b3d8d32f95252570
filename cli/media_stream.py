"""Play Twilio's part of a Media Stream: a WAV as μ-law frames over a signed WebSocket.

Twilio opens wss://…/ivr/stream with X-Twilio-Signature over that URL, then sends `connected`,
`start` (with the CallSid as a custom parameter), one `media` message per 20 ms of 8 kHz
μ-law audio, and `stop`. `replay_wav` does the same at real-time pace (or `speed` times
faster), so `dutyline bench live` and the tests drive the real server as Twilio would.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from simple_websocket import Client, ConnectionClosed
from twilio.request_validator import RequestValidator

from transcription.live import TWILIO_SAMPLE_RATE, pcm16_to_mulaw

FRAME_SECONDS = 0.02
FRAME_BYTES = int(TWILIO_SAMPLE_RATE * FRAME_SECONDS)


def wav_to_mulaw(path: str | Path) -> bytes:
    """Return the audio of `path` as 8 kHz mono μ-law, as a phone call carries it."""
    from transcription.audio import iter_pcm16

    pcm = b"".join(iter_pcm16(path, TWILIO_SAMPLE_RATE))
    return pcm16_to_mulaw(np.frombuffer(pcm, dtype=np.int16))


def sign_stream_url(public_url: str, auth_token: str) -> str:
    """Return the X-Twilio-Signature Twilio sends with a stream's upgrade request."""
    return RequestValidator(auth_token).compute_signature(public_url, {})


@dataclass
class ReplayTimes:
    """When the replay began and when it sent `stop` (time.time(), seconds)."""

    started: float
    stopped: float | None
    frames: int


def replay_mulaw(url: str, signature: str, call_sid: str, mulaw: bytes, *, speed: float = 1.0,
                 send_stop: bool = True, stop_after_seconds: float | None = None,
                 on_frame=None) -> ReplayTimes:
    """Stream μ-law audio to `url` as Twilio would; return when it started and stopped.

    Args:
        send_stop: False closes the socket without `stop`, as a dropped connection does.
        stop_after_seconds: end (with or without `stop`) after this much audio.
        on_frame: called with the seconds of audio sent, after each frame.
    """
    ws = Client.connect(url, headers={"X-Twilio-Signature": signature})
    stream_sid = "MZ" + secrets.token_hex(16)
    started = time.time()
    sent = 0
    try:
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
                            "start": {"streamSid": stream_sid, "callSid": call_sid,
                                      "accountSid": "AC" + "0" * 32, "tracks": ["inbound"],
                                      "customParameters": {"CallSid": call_sid},
                                      "mediaFormat": {"encoding": "audio/x-mulaw",
                                                      "sampleRate": TWILIO_SAMPLE_RATE,
                                                      "channels": 1}}}))
        clock = time.monotonic()
        limit = len(mulaw) if stop_after_seconds is None else min(
            len(mulaw), int(stop_after_seconds * TWILIO_SAMPLE_RATE))
        for offset in range(0, limit, FRAME_BYTES):
            chunk = mulaw[offset: offset + FRAME_BYTES]
            sent += 1
            ws.send(json.dumps({"event": "media", "sequenceNumber": str(sent + 1),
                                "streamSid": stream_sid,
                                "media": {"track": "inbound", "chunk": str(sent),
                                          "timestamp": str(int(offset / 8)),
                                          "payload": base64.b64encode(chunk).decode()}}))
            if on_frame is not None:
                on_frame(sent * FRAME_SECONDS)
            due = clock + sent * FRAME_SECONDS / speed
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        stopped = None
        if send_stop:
            ws.send(json.dumps({"event": "stop", "sequenceNumber": str(sent + 2),
                                "streamSid": stream_sid,
                                "stop": {"accountSid": "AC" + "0" * 32, "callSid": call_sid}}))
            stopped = time.time()
    finally:
        try:
            ws.close()
        except (ConnectionClosed, OSError):
            pass  # after `stop` the server may close first, as Twilio's side expects
    return ReplayTimes(started, stopped, sent)


def replay_wav(url: str, signature: str, call_sid: str, wav: str | Path, **options) -> ReplayTimes:
    """Stream a WAV file to `url` as Twilio would; see replay_mulaw."""
    return replay_mulaw(url, signature, call_sid, wav_to_mulaw(wav), **options)

