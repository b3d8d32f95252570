"""The reconciler enqueues what no live job covers, and only that, against real Redis."""
from __future__ import annotations

from rq import Queue
from rq.job import Job
from sqlalchemy import select

from intake.store.audit import Actor
from intake.calls.voicemail import attach_recording, mark_call_enqueued
from intake.store.models import Call
from intake.statuses import CallStatus
from jobs.queue import JobQueue, JobState, connect_redis, transcription_job_id
from jobs.reconciler import reconcile

TEST = Actor("test")


def recorded_call(session, n: int) -> Call:
    outcome = attach_recording(
        session, call_sid=f"CA{n:032d}", recording_sid=f"RE{n:032d}",
        recording_url="https://api.twilio.com/r", duration_seconds=10,
        recording_status="completed", from_number="+8613812345678", to_number="+8657112345",
        language="zh-CN", actor=TEST)
    session.commit()
    return outcome.call


def test_recorded_calls_are_enqueued_once_however_often_it_runs(db_session, redis, queue):
    calls = [recorded_call(db_session, n) for n in (1, 2)]

    first = reconcile(db_session, queue)
    second = reconcile(db_session, queue)

    assert first.calls_enqueued == [c.id for c in calls]
    assert second.calls_enqueued == []
    assert sorted(Queue("transcription", connection=redis).job_ids) == sorted(
        transcription_job_id(c.id) for c in calls)
    assert {c.status for c in calls} == {CallStatus.QUEUED}


def test_a_queued_call_whose_job_vanished_is_enqueued_again(db_session, redis, queue):
    call = recorded_call(db_session, 3)
    queue.enqueue_transcription(call.id)
    mark_call_enqueued(db_session, call, TEST)
    db_session.commit()
    redis.flushdb()  # Redis lost its data (restart without persistence)

    assert reconcile(db_session, queue).calls_enqueued == [call.id]
    assert queue.inspect_job(transcription_job_id(call.id)) == JobState.COVERED


def test_a_finished_job_is_replaced_not_duplicated(db_session, redis, queue):
    call = recorded_call(db_session, 4)
    queue.enqueue_transcription(call.id)
    job = Job.fetch(transcription_job_id(call.id), connection=redis)
    Queue("transcription", connection=redis).remove(job)
    job.set_status("finished")

    assert queue.inspect_job(job.id) == JobState.DONE
    assert reconcile(db_session, queue).calls_enqueued == [call.id]
    assert Queue("transcription", connection=redis).job_ids == [job.id]


def test_a_job_rq_gave_up_on_marks_the_call_failed(db_session, redis, queue):
    call = recorded_call(db_session, 5)
    queue.enqueue_transcription(call.id)
    job = Job.fetch(transcription_job_id(call.id), connection=redis)
    Queue("transcription", connection=redis).remove(job)
    job.set_status("failed")

    report = reconcile(db_session, queue)

    assert report.calls_failed == [call.id]
    db_session.refresh(call)
    assert call.status == CallStatus.FAILED and "retries" in call.failure_reason


def test_with_redis_unreachable_nothing_changes(db_session, tmp_path):
    call = recorded_call(db_session, 6)
    away = JobQueue(connect_redis(f"unix://{tmp_path}/nobody-here.sock", timeout=0.5))

    report = reconcile(db_session, away)

    assert report.redis_unreachable
    db_session.refresh(call)
    assert call.status == CallStatus.RECORDED
    assert db_session.scalar(select(Call.enqueued_at)) is None


def test_a_webhook_and_the_reconciler_racing_enqueue_one_job(db_session, redis, queue):
    call = recorded_call(db_session, 7)

    results = [queue.enqueue_transcription(call.id) for _ in range(3)]

    assert results == [True, True, True]
    assert Queue("transcription", connection=redis).count == 1
