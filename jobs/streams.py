"""Live call audio in Redis, between the web process and the workers that hold a model.

The web process must not load a model, so the WebSocket view (ivr.stream) only appends
Twilio's frames to one Redis stream per call; a worker's live decoder (transcription.live)
reads them as they come. Who decodes a call is settled by one DEL:

    web, on `start`   XADD audio:<CallSid> {kind: start}; SET offer:<CallSid> PX 1500;
                      LPUSH offers <CallSid>
    worker with a free slot
                      BRPOP offers ─► DEL offer:<CallSid> = 1 ? it is mine: SET owner:<CallSid>
                      (renewed every second, gone 5 s after the worker dies) : too late, skip
    web, 2 s later    owner:<CallSid> missing ─► nobody decodes it: stop forwarding, drop the
                      stream; the recording drafts the call (no model, no worker, all busy)
    web, `media`      XADD {kind: media, audio: μ-law bytes}
    web, `stop`       XADD {kind: stop}; the socket closing without one: XADD {kind: broken}

An offer expires before the web looks for its owner, so a worker that comes free late never
starts a call the web has already given up on. Streams expire an hour after their last frame.
Each worker publishes its load (streams in use of its capacity) for /healthz.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

PREFIX = "dutyline:live:"
OFFERS_KEY = PREFIX + "offers"
LOAD_KEY = PREFIX + "load"
# Per call, how far its decoding fell behind the audio at the worst moment (seconds).
LAG_KEY = PREFIX + "lag"
# A worker must claim a call this soon after `start`; the web checks a little later.
OFFER_MILLISECONDS = 1500
CLAIM_WAIT_SECONDS = 2.0
# A live decoder renews its claim every second; a dead one loses it this long after.
OWNER_SECONDS = 5
STREAM_TTL_SECONDS = 3600
# A worker's published load counts as current for this long.
LOAD_FRESH_SECONDS = 10
MAX_OFFERS = 1000

START, MEDIA, STOP, BROKEN = "start", "media", "stop", "broken"


def _audio_key(call_sid: str) -> str:
    return f"{PREFIX}audio:{call_sid}"


def _offer_key(call_sid: str) -> str:
    return f"{PREFIX}offer:{call_sid}"


def _owner_key(call_sid: str) -> str:
    return f"{PREFIX}owner:{call_sid}"


@dataclass(frozen=True)
class Frame:
    """One entry of a call's stream: its id, kind and (for media) μ-law audio."""

    id: bytes
    kind: str
    audio: bytes = b""


class LiveStreams:
    """Both ends of the per-call Redis streams; every method may raise redis.RedisError."""

    def __init__(self, connection: redis.Redis):
        self.connection = connection

    # -- the web process's end: never raises, answers False when Redis does not ----------

    claim_wait = CLAIM_WAIT_SECONDS

    def open(self, call_sid: str) -> bool:
        """Mark the start of a call's stream and offer it to the workers."""
        key = _audio_key(call_sid)
        pipe = self.connection.pipeline(transaction=False)
        pipe.xadd(key, {"kind": START})
        pipe.expire(key, STREAM_TTL_SECONDS)
        pipe.set(_offer_key(call_sid), "1", px=OFFER_MILLISECONDS)
        pipe.lpush(OFFERS_KEY, call_sid)
        # With no live decoder running nobody pops the offers: keep only the newest.
        pipe.ltrim(OFFERS_KEY, 0, MAX_OFFERS - 1)
        return self._quietly(pipe.execute, "open", call_sid)

    def append(self, call_sid: str, audio: bytes) -> bool:
        """Append one frame of μ-law audio."""
        return self._quietly(
            lambda: self.connection.xadd(_audio_key(call_sid), {"kind": MEDIA, "audio": audio}),
            "append to", call_sid)

    def close(self, call_sid: str, kind: str = STOP) -> bool:
        """Mark the end of the stream: STOP (hang-up) or BROKEN (the socket went away)."""
        key = _audio_key(call_sid)
        pipe = self.connection.pipeline(transaction=False)
        pipe.xadd(key, {"kind": kind})
        pipe.expire(key, STREAM_TTL_SECONDS)
        return self._quietly(pipe.execute, "close", call_sid)

    def is_claimed(self, call_sid: str) -> bool:
        """Tell whether a worker decodes this call (False when Redis cannot say)."""
        try:
            return bool(self.connection.exists(_owner_key(call_sid)))
        except redis.RedisError as exc:
            log.warning("cannot tell who decodes call %s live: %s", call_sid, exc)
            return False

    def drop(self, call_sid: str) -> bool:
        """Forget a stream nobody decodes."""
        return self._quietly(
            lambda: self.connection.delete(_audio_key(call_sid), _offer_key(call_sid)),
            "drop", call_sid)

    def _quietly(self, action, verb: str, call_sid: str) -> bool:
        # A frozen or absent Redis must not break the call: Twilio keeps recording, and the
        # recording drafts the call. The failure is logged, not raised.
        try:
            action()
            return True
        except redis.RedisError as exc:
            log.warning("could not %s the live stream of call %s: %s", verb, call_sid, exc)
            return False

    # -- the worker's end ---------------------------------------------------------------

    def take_offer(self, worker: str, timeout: float = 1.0) -> str | None:
        """Wait up to `timeout` for a new call and claim it; None when there was none to claim."""
        popped = self.connection.brpop([OFFERS_KEY], timeout=max(1, round(timeout)))
        if popped is None:
            return None
        call_sid = popped[1].decode()
        if self.connection.delete(_offer_key(call_sid)) != 1:
            return None  # offered too long ago: the web has given it to the recording
        self.connection.set(_owner_key(call_sid), worker, ex=OWNER_SECONDS)
        return call_sid

    def renew(self, call_sid: str, worker: str) -> None:
        """Keep the claim on a call alive."""
        self.connection.set(_owner_key(call_sid), worker, ex=OWNER_SECONDS)

    def release(self, call_sid: str) -> None:
        """Give up the claim and delete the stream."""
        self.connection.delete(_owner_key(call_sid), _audio_key(call_sid))

    def read(self, call_sid: str, after: bytes | str, block_ms: int) -> list[Frame]:
        """Return the frames after id `after`, waiting up to `block_ms` for the first one."""
        answer = self.connection.xread({_audio_key(call_sid): after}, block=block_ms,
                                       count=500)
        frames = []
        for _key, entries in answer or []:
            for entry_id, fields in entries:
                frames.append(Frame(entry_id, fields.get(b"kind", b"").decode(),
                                    fields.get(b"audio", b"")))
        return frames

    def wait_until_released(self, call_sid: str, timeout: float, poll: float = 0.2) -> bool:
        """Wait while a worker decodes the call live; False if it still does after `timeout`."""
        deadline = time.monotonic() + timeout
        while self.connection.exists(_owner_key(call_sid)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    def record_lag(self, call_sid: str, seconds: float) -> None:
        """Keep how far a call's decoding fell behind real time, for `dutyline bench live`."""
        pipe = self.connection.pipeline(transaction=False)
        pipe.hset(LAG_KEY, call_sid, f"{seconds:.3f}")
        pipe.expire(LAG_KEY, STREAM_TTL_SECONDS)
        pipe.execute()

    # -- capacity ----------------------------------------------------------------------

    def publish_load(self, worker: str, in_use: int, capacity: int) -> None:
        """Say how many live streams this worker decodes, of how many it accepts."""
        self.connection.hset(LOAD_KEY, worker, json.dumps(
            {"in_use": in_use, "capacity": capacity, "at": time.time()}))

    def load(self) -> dict:
        """Return the live streams in use and the capacity of the workers seen lately."""
        now = time.time()
        workers = {}
        for name, raw in self.connection.hgetall(LOAD_KEY).items():
            entry = json.loads(raw)
            if now - entry["at"] <= LOAD_FRESH_SECONDS:
                workers[name.decode()] = {"in_use": entry["in_use"],
                                          "capacity": entry["capacity"]}
        return {"in_use": sum(w["in_use"] for w in workers.values()),
                "capacity": sum(w["capacity"] for w in workers.values()),
                "workers": workers}
