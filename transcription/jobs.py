"""RQ jobs that turn a recording into a draft. They take ids and let transient errors raise.

    transcribe_call(call_id)
      begin ─► download (allow-listed host) ─► decode with Vosk ─► extract details ─► draft
         │            │ network error: raise; RQ retries with backoff (call back to QUEUED,
         │            │   the reason noted); FAILED once the retries are used up
         │            └ refused URL or 4xx: FAILED (no retry)
         └ already drafted or confirmed: nothing to do (duplicate or late retry)
      unreadable audio (zero bytes, truncated, corrupt): FAILED with the reason, no retry;
        the audio is kept on disk for a person to play.
      over the maximum length: FAILED, "refused: …".
      silence: DRAFT with an empty transcript and no_speech (the record says "no speech detected").
      no model in this worker: the call stays QUEUED. Workers without a model do not listen
        on the transcription queue at all (cli/worker.py), so the job waits in Redis.
      a duplicate run (a second attempt finishing a call the first already drafted): writes
        nothing, neither the draft nor a failure reason.
      a download killed mid-way (SIGKILL) leaves a partial file; the next attempt removes it.

Follow-up work (urgent alerts, deletion of Twilio's copy) goes through
intake.calls.dispatch.commit_and_dispatch and the jobs.queue.JobQueue adapter.

Every outcome is on the call (status, failure_reason, no_speech, progress), which is what
the dashboard and `dutyline calls show` print.
"""
from __future__ import annotations

import logging
from pathlib import Path

import redis
import requests
from rq import get_current_job
from sqlalchemy import select

from intake.store.audit import WORKER
from intake.calls.voicemail import (OWED_STATES, attach_transcript, begin_transcription,
                                    defer_transcription, fail_transcription, get_call,
                                    mark_call_urgent, report_progress, store_local_audio)
from intake.store.database import session_scope
from intake.calls.dispatch import QueuedWork, alert_urgent_call, commit_and_dispatch
from intake.store.models import Liaison, Unit
from intake.store.runtime import get_runtime
from intake.statuses import CallStatus, DraftPath, FailureCode, LiveState
from jobs.queue import JobQueue, connect_redis
from jobs.streams import LiveStreams
from transcription.audio import is_readable_audio
from transcription.download import RecordingRefused, download_recording, partial_downloads
from transcription.engine import transcribe_file
from transcription.exceptions import AudioTooLong, ModelMissing, UnreadableAudio
from transcription.extraction import DirectoryEntry, DirectoryIndex, extract_caller_details
from transcription.worker import current_model

log = logging.getLogger(__name__)

# Progress is written when it has moved this far since the last write: at most ten
# small transactions per message, however long it is.
PROGRESS_STEP = 0.1
# Slack over MAX_RECORDING_SECONDS: Twilio's maxLength cuts at about the limit, not below it.
LENGTH_SLACK_SECONDS = 5
# How long the batch decode waits for a live decode of the same call to finish first.
LIVE_WAIT_SECONDS = 30


def transcribe_call(call_id: int) -> str:
    """Download, decode and draft one call; return its final status."""
    runtime = get_runtime()
    settings = runtime.settings
    model = current_model()
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, call_id)
        begun = begin_transcription(session, call, WORKER)
        if not begun and not _owes_kept_recording(call):
            return call.status.value
        recording_url, existing, status = call.recording_url, call.recording_path, call.status
        call_sid, streaming = call.call_sid, call.live_state == LiveState.STREAMING.value
    if not begun:
        # Drafted live: the recording is still fetched and kept (the source of truth), and
        # nothing is decoded again.
        _keep_recording(runtime, call_id, recording_url,
                        _audio_path(settings.recordings_dir, call_id), keep_only=True)
        return status.value
    audio_path = Path(existing) if existing else _audio_path(settings.recordings_dir, call_id)
    # No stored path means no verified local copy (first attempt, or a retry that asked for
    # a fresh download): fetch it, replacing whatever file is there.
    if existing is None or not audio_path.exists():
        refused = _keep_recording(runtime, call_id, recording_url, audio_path)
        if refused is not None:
            return refused
    if streaming and not _live_decode_finished(settings, call_sid):
        log.info("call %s is still decoded live after %s s; decoding its recording", call_id,
                 LIVE_WAIT_SECONDS)
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, call_id)
        if call.status != CallStatus.TRANSCRIBING:
            return call.status.value  # the live transcript drafted it meanwhile
    progress = _ProgressWriter(runtime.session_factory, call_id)
    try:
        transcript = transcribe_file(model, audio_path,
                                     max_seconds=settings.max_recording_seconds + LENGTH_SLACK_SECONDS,
                                     on_progress=progress)
    except UnreadableAudio as exc:
        return _fail(runtime, call_id, f"unreadable audio: {exc}", FailureCode.UNREADABLE_AUDIO)
    except AudioTooLong as exc:
        return _fail(runtime, call_id, f"refused: {exc}", FailureCode.TOO_LONG)
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, call_id)
        session.refresh(call, with_for_update=True)
        if call.status != CallStatus.TRANSCRIBING:
            # Another attempt of this job already finished the call: write nothing.
            log.warning("call %s is already %s; this duplicate run writes nothing", call_id,
                        call.status.value)
            return call.status.value
        details = extract_caller_details(
            transcript.text, language=call.language, directory=load_directory_index(session),
            caller_number=call.from_number,
            urgent_keywords=list(settings.urgent_keywords) or None,
        )
        attach_transcript(session, call, text=transcript.text, words=transcript.words,
                          model_name=transcript.model_name,
                          model_version=transcript.model_version,
                          extracted=details.to_json(), actor=WORKER)
        work = QueuedWork()
        if details.urgent and mark_call_urgent(session, call, "keyword", WORKER):
            work = alert_urgent_call(session, call, settings.link_base_url, WORKER)
        if settings.delete_twilio_recordings and _is_verified_copy(audio_path):
            work.recording_deletions.append(call_id)
        # A failed enqueue leaves the SMS pending; the reconciler sends it later.
        commit_and_dispatch(session, work, _job_queue(settings), WORKER)
        return call.status.value


def _owes_kept_recording(call) -> bool:
    """Tell whether a call the live transcript drafted still has its recording to fetch."""
    return (call.drafted_by == DraftPath.LIVE.value and bool(call.recording_url)
            and not call.recording_path)


def _keep_recording(runtime, call_id: int, recording_url: str, audio_path: Path,
                    keep_only: bool = False) -> str | None:
    """Download the recording to `audio_path` and note it on the call; a status if refused."""
    settings = runtime.settings
    for stale in partial_downloads(audio_path):
        stale.unlink(missing_ok=True)  # left by an attempt killed mid-download
    try:
        size = download_recording(
            recording_url, audio_path, allowed_hosts=settings.recording_hosts,
            auth=(settings.twilio_account_sid or "", settings.twilio_auth_token),
        )
    except RecordingRefused as exc:
        if keep_only:
            # The draft stands; the refusal is in the log and the audio stays at Twilio.
            log.warning("recording of live-drafted call %s refused: %s", call_id, exc)
            return None
        return _fail(runtime, call_id, f"refused: {exc}", FailureCode.DOWNLOAD_REFUSED)
    with session_scope(runtime.session_factory) as session:
        store_local_audio(get_call(session, call_id), str(audio_path), size)
    return None


def _live_decode_finished(settings, call_sid: str) -> bool:
    """Wait (at most LIVE_WAIT_SECONDS) while a worker still decodes the call live.

    The live decode drafts within a second or two of hang-up; decoding the recording beside
    it would cost a core for nothing. A live decoder that died loses its claim within
    jobs.streams.OWNER_SECONDS, so the wait ends soon after.
    """
    try:
        return LiveStreams(_job_queue(settings).connection).wait_until_released(
            call_sid, LIVE_WAIT_SECONDS)
    except redis.RedisError as exc:
        log.warning("cannot tell whether call %s is decoded live: %s", call_sid, exc)
        return False


def _is_verified_copy(audio_path: Path) -> bool:
    """Tell whether the local recording is whole: non-empty with a readable audio header."""
    return audio_path.exists() and audio_path.stat().st_size > 0 and is_readable_audio(audio_path)


def _job_queue(settings) -> JobQueue:
    """Return the adapter on this job's Redis connection (or the configured one, run by hand)."""
    job = get_current_job()
    return JobQueue(job.connection if job is not None
                    else connect_redis(settings.effective_redis_url))


def on_transcription_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """Record a raised error on the call: retrying while RQ will retry, FAILED once it gives up.

    RQ 3.0 calls on_failure after *every* failed attempt, before it decides whether to retry
    (Worker._finalize_failure runs the callback, then handle_job_failure retries while
    job.retries_left > 0 and only then decrements it). So retries_left here still counts
    this attempt's retry: non-zero means another attempt is coming.
    """
    runtime = get_runtime()
    reason = f"{exc_type.__name__}: {exc_value}"
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, job.args[0])
        if call.status not in OWED_STATES:
            # Drafted (or failed) by another attempt: an error in this duplicate run is not
            # the call's story, and writing it would put "retrying …" on a finished call.
            log.warning("call %s is already %s; not recording %s", call.id, call.status.value,
                        reason)
            return
        if issubclass(exc_type, ModelMissing):
            # A worker without a model ran the job (it should not listen on this queue).
            # The call stays owed: the reconciler enqueues it again for a worker with a model.
            defer_transcription(session, call, f"waiting for a speech model: {exc_value}",
                                WORKER, FailureCode.WAITING_FOR_MODEL)
        elif job.retries_left:
            interval = job.get_retry_interval()
            defer_transcription(session, call, f"retrying in {interval} s after: {reason}",
                                WORKER)
        else:
            code = (FailureCode.DOWNLOAD_FAILED if issubclass(exc_type, requests.RequestException)
                    else FailureCode.JOB_FAILED)
            fail_transcription(session, call, reason, WORKER, code)


def _fail(runtime, call_id: int, reason: str, code: FailureCode) -> str:
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, call_id)
        fail_transcription(session, call, reason, WORKER, code)
        return call.status.value


def _audio_path(recordings_dir: Path, call_id: int) -> Path:
    return recordings_dir / f"call-{call_id}.wav"


def load_directory_index(session) -> DirectoryIndex:
    """Return the active liaisons and units, for matching names and units in a transcript."""
    entries = [DirectoryEntry("liaison", l.id, l.name, l.phone, l.work_unit or None)
               for l in session.scalars(select(Liaison).where(Liaison.active.is_(True)))]
    entries += [DirectoryEntry("unit", u.id, u.name)
                for u in session.scalars(select(Unit).where(Unit.active.is_(True)))]
    return DirectoryIndex(entries)


class _ProgressWriter:
    """Write decoding progress (0..1) to the call every PROGRESS_STEP, in its own transaction.

    The final 1.0 is left to attach_transcript, which writes it with the draft.
    """

    def __init__(self, session_factory, call_id: int):
        self.session_factory = session_factory
        self.call_id = call_id
        self.written = 0.0

    def __call__(self, fraction: float) -> None:
        if fraction >= 1.0 or fraction - self.written < PROGRESS_STEP:
            return
        self.written = fraction
        with session_scope(self.session_factory) as session:
            report_progress(get_call(session, self.call_id), fraction)
