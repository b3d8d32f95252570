"""Decode calls live, from the Redis streams the web process fills (issue 22).

    dutyline worker (holds the model) ──fork──► live decoder process
        main thread: publish load; while a slot is free, claim an offered call
        one thread per claimed call (up to DUTYLINE_LIVE_STREAMS):
            XREAD frames ─► μ-law → PCM (numpy table) ─► 8 → 16 kHz (PyAV, as the batch
            decode resamples) ─► KaldiRecognizer (one per call) ─► live_text every second
            `stop`    ─► final words, the batch path's extraction, DRAFT (drafted_by live)
            `broken`, no frame for LIVE_IDLE_SECONDS (socket gone, Redis frozen), no words,
            any error ─► live_state BROKEN: the recording drafts the call as before

One `vosk.Model` serves every thread (transcription.engine); Vosk releases the GIL while it
decodes, so threads of one process use several cores. The decoder runs in its own process,
not in the RQ worker, because RQ forks a work-horse per job and forking a process whose other
threads hold locks is unsafe.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import av
import numpy as np
import redis
import vosk

from intake.calls.dispatch import alert_urgent_call, commit_and_dispatch, quote_urgent_call
from intake.calls.live import (abandon_live_transcript, attach_live_transcript,
                               begin_live_transcript, write_live_text)
from intake.calls.voicemail import get_call, mark_call_urgent
from intake.store.audit import WORKER
from intake.store.database import session_scope
from jobs.queue import JobQueue
from jobs.streams import BROKEN, MEDIA, STOP, LiveStreams
from transcription.engine import SpeechModel, Transcript, _collect
from transcription.extraction import extract_caller_details

log = logging.getLogger(__name__)

TWILIO_SAMPLE_RATE = 8000
# Twilio sends a frame every 20 ms; this long without one, the stream is taken as broken.
LIVE_IDLE_SECONDS = 3.0
# The partial text is written to the call at most this often.
PARTIAL_EVERY_SECONDS = 1.0
READ_BLOCK_MS = 500
# Frames are decoded in batches this long (a tenth of a second of latency, a fifth of the cost).
DECODE_EVERY_SECONDS = 0.1
# The claim on a call is renewed this often (jobs.streams.OWNER_SECONDS is the lease).
RENEW_EVERY_SECONDS = 1.0


def _mulaw_table() -> np.ndarray:
    """Return the 256 16-bit PCM values of G.711 μ-law codes."""
    codes = ~np.arange(256, dtype=np.uint8)
    sign = codes & 0x80
    exponent = ((codes >> 4) & 0x07).astype(np.int32)
    mantissa = (codes & 0x0F).astype(np.int32)
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


MULAW_TO_PCM = _mulaw_table()
_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def mulaw_to_pcm16(data: bytes) -> np.ndarray:
    """Decode G.711 μ-law bytes into 16-bit PCM samples (audioop is gone in Python 3.13)."""
    return MULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)]


def pcm16_to_mulaw(samples: np.ndarray) -> bytes:
    """Encode 16-bit PCM samples as G.711 μ-law, as Twilio sends them (for replays and tests)."""
    pcm = samples.astype(np.int32)
    sign = np.where(pcm < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(pcm), _MULAW_CLIP) + _MULAW_BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


class LiveRecognizer:
    """One call's recogniser: takes μ-law frames, gives partial text and the final transcript.

    Twilio's 20 ms frames are decoded in batches of DECODE_EVERY_SECONDS: each
    AcceptWaveform call has a fixed cost, and the partial text is asked for only when it is
    written (once a second), since every PartialResult walks the lattice.
    """

    def __init__(self, model: SpeechModel):
        self.model = model
        self.recognizer = vosk.KaldiRecognizer(model.model, model.sample_rate)
        self.recognizer.SetWords(True)
        self.recognizer.SetPartialWords(False)
        self.resampler = (None if model.sample_rate == TWILIO_SAMPLE_RATE
                          else av.AudioResampler(format="s16", layout="mono",
                                                 rate=model.sample_rate))
        self.texts: list[str] = []
        self.words: list[dict] = []
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.in_utterance = False
        self.seconds = 0.0  # audio received
        self.decoded_seconds = 0.0  # audio given to the recogniser

    def accept(self, mulaw: bytes) -> None:
        """Take one frame of the call's audio; decode once a batch is full."""
        self.pending.append(mulaw)
        self.pending_bytes += len(mulaw)
        self.seconds += len(mulaw) / TWILIO_SAMPLE_RATE
        if self.pending_bytes >= DECODE_EVERY_SECONDS * TWILIO_SAMPLE_RATE:
            self.flush()

    def flush(self) -> None:
        """Decode whatever audio is waiting."""
        if not self.pending:
            return
        samples = mulaw_to_pcm16(b"".join(self.pending))
        self.decoded_seconds += len(samples) / TWILIO_SAMPLE_RATE
        self.pending, self.pending_bytes = [], 0
        for pcm in self._resample(samples):
            self._feed(pcm)

    def text(self) -> str:
        """Return everything heard so far, the unfinished phrase included."""
        partial = ""
        if self.in_utterance:
            partial = json.loads(self.recognizer.PartialResult()).get("partial", "").strip()
        return " ".join(self.texts + ([partial] if partial else []))

    def finish(self) -> Transcript:
        """Flush the recogniser and return the whole transcript with word timings."""
        self.flush()
        if self.resampler is not None:
            for frame in self.resampler.resample(None):
                self._feed(frame.to_ndarray().tobytes())
        _collect(json.loads(self.recognizer.FinalResult()), self.texts, self.words)
        return Transcript(text=" ".join(self.texts), words=self.words,
                          duration_seconds=self.seconds, model_name=self.model.name,
                          model_version=self.model.version, no_speech=not self.words)

    def _resample(self, samples: np.ndarray):
        if self.resampler is None:
            yield samples.tobytes()
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = TWILIO_SAMPLE_RATE
        for out in self.resampler.resample(frame):
            yield out.to_ndarray().tobytes()

    def _feed(self, pcm: bytes) -> None:
        if self.recognizer.AcceptWaveform(pcm):
            _collect(json.loads(self.recognizer.Result()), self.texts, self.words)
            self.in_utterance = False
        else:
            self.in_utterance = True


@dataclass
class LiveDecoder:
    """Claim offered calls while slots are free and decode each in its own thread."""

    model: SpeechModel
    streams: LiveStreams
    session_factory: object
    settings: object
    worker: str
    capacity: int
    stopping: threading.Event = field(default_factory=threading.Event)
    active: dict = field(default_factory=dict)
    decoded: int = 0

    def serve(self) -> None:
        """Serve until `stopping` is set."""
        log.info("live decoder %s takes up to %s streams", self.worker, self.capacity)
        while not self.stopping.is_set():
            self._reap()
            try:
                self.streams.publish_load(self.worker, len(self.active), self.capacity)
                if len(self.active) >= self.capacity:
                    self.stopping.wait(0.2)
                    continue
                call_sid = self.streams.take_offer(self.worker, timeout=1)
            except redis.RedisError as exc:
                log.warning("live decoder cannot reach Redis: %s", exc)
                self.stopping.wait(1)
                continue
            if call_sid is not None:
                thread = threading.Thread(target=self.decode_call, args=(call_sid,),
                                          name=f"live-{call_sid}", daemon=True)
                self.active[call_sid] = thread
                thread.start()
        for thread in list(self.active.values()):
            thread.join(5)

    def _reap(self) -> None:
        for call_sid, thread in list(self.active.items()):
            if not thread.is_alive():
                del self.active[call_sid]

    def decode_call(self, call_sid: str) -> None:
        """Decode one claimed call to its draft, or give it back to the recording."""
        call_id = None
        try:
            with session_scope(self.session_factory) as session:
                call = begin_live_transcript(session, call_sid, WORKER)
                call_id = call.id if call is not None else None
            if call_id is None:
                log.info("call %s is unknown or already drafted: not decoded live", call_sid)
                return
            outcome = self._decode(call_sid, call_id)
            if outcome is not None:
                self._give_back(call_id, outcome)
        except Exception as exc:  # any failure hands the call to the recording's path
            log.exception("live decoding of call %s failed", call_sid)
            if call_id is not None:
                self._give_back(call_id, f"{type(exc).__name__}: {exc}")
        finally:
            try:
                self.streams.release(call_sid)
            except redis.RedisError:
                pass  # the lease runs out by itself within jobs.streams.OWNER_SECONDS

    def _decode(self, call_sid: str, call_id: int) -> str | None:
        """Return None once drafted (or superseded), else why the stream was given up."""
        live = LiveRecognizer(self.model)
        after: bytes | str = "0-0"
        now = time.monotonic()
        last_frame = last_write = last_renew = now
        first_audio = None
        lag = 0.0
        written = ""
        while True:
            frames = self.streams.read(call_sid, after, READ_BLOCK_MS)
            now = time.monotonic()
            for frame in frames:
                after = frame.id
                last_frame = now
                if frame.kind == MEDIA:
                    first_audio = first_audio or now
                    live.accept(frame.audio)
                elif frame.kind == STOP:
                    transcript = live.finish()
                    self.streams.record_lag(call_sid, lag)
                    return self._draft(call_id, transcript)
                elif frame.kind == BROKEN:
                    return "the media stream closed without stop"
            if first_audio is not None:
                # Behind real time: wall time since the first frame minus the audio decoded.
                lag = max(lag, time.monotonic() - first_audio - live.seconds)
            if now - last_frame > LIVE_IDLE_SECONDS:
                return f"no audio for {LIVE_IDLE_SECONDS:g} s"
            if now - last_renew >= RENEW_EVERY_SECONDS:
                self.streams.renew(call_sid, self.worker)
                last_renew = now
            text = live.text()
            if text != written and now - last_write >= PARTIAL_EVERY_SECONDS:
                with session_scope(self.session_factory) as session:
                    if not write_live_text(session, call_id, text):
                        return None  # the recording drafted the call meanwhile
                written, last_write = text, now

    def _draft(self, call_id: int, transcript: Transcript) -> str | None:
        if not transcript.words:
            return "no speech heard"
        settings = self.settings
        from transcription.jobs import load_directory_index  # the batch job's own lookup

        with session_scope(self.session_factory) as session:
            call = get_call(session, call_id)
            details = extract_caller_details(
                transcript.text, language=call.language,
                directory=load_directory_index(session), caller_number=call.from_number,
                urgent_keywords=list(settings.urgent_keywords) or None)
            if not attach_live_transcript(session, call, text=transcript.text,
                                          words=transcript.words,
                                          model_name=transcript.model_name,
                                          model_version=transcript.model_version,
                                          extracted=details.to_json(), actor=WORKER):
                return None
            if details.urgent and mark_call_urgent(session, call, "keyword", WORKER):
                work = alert_urgent_call(session, call, settings.link_base_url, WORKER)
            else:
                # Urgent by keypad: if its alert went before there was text, quote it now.
                work = quote_urgent_call(session, call, settings.link_base_url, WORKER)
            commit_and_dispatch(session, work, JobQueue(self.streams.connection), WORKER)
        self.decoded += 1
        return None

    def _give_back(self, call_id: int, reason: str) -> None:
        log.info("call %s goes to its recording: %s", call_id, reason)
        with session_scope(self.session_factory) as session:
            abandon_live_transcript(session, call_id, reason, WORKER)


def run_live_decoder(model: SpeechModel, settings, session_factory, connection: redis.Redis,
                     worker: str, stopping: threading.Event | None = None) -> LiveDecoder:
    """Build the live decoder of a worker and serve until `stopping` is set."""
    decoder = LiveDecoder(model=model, streams=LiveStreams(connection),
                          session_factory=session_factory, settings=settings, worker=worker,
                          capacity=settings.live_streams,
                          stopping=stopping or threading.Event())
    decoder.serve()
    return decoder
