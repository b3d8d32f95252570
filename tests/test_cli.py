"""The dutyline command's service verbs, run as a person would run them."""
import json
import os
import subprocess
import sys


from intake.store.models import AuditEvent, User

DUTYLINE = [sys.executable, "-m", "cli"]


def run(args, env, stdin=None):
    return subprocess.run(DUTYLINE + args, env={**os.environ, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_seed_demo_is_idempotent(env, engine, db_session):
    assert run(["db", "upgrade"], env).returncode == 0
    first = run(["seed-demo"], env)
    assert "password dutyline-demo" in first.stdout
    second = run(["seed-demo"], env)
    assert "nothing seeded" in second.stdout
    assert db_session.query(User).count() == 7


def test_users_create_reads_the_password_from_stdin(env, engine, db_session):
    result = run(["users", "create", "--username", "zhou", "--role", "duty", "--name", "周值班",
                  "--phone", "13900000011"], env, stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    user = db_session.query(User).filter_by(username="zhou").one()
    assert user.role.value == "duty" and "correct horse" not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert db_session.query(AuditEvent).filter_by(action="user.created").count() == 1


def test_users_create_refuses_a_short_password_and_saves_nothing(env, engine, db_session):
    result = run(["users", "create", "--username", "zhou", "--role", "duty", "--name", "周"],
                 env, stdin="short\n")
    assert result.returncode != 0
    assert "at least 8 characters" in result.stderr
    assert db_session.query(User).count() == 0


def test_calls_show_names_a_missing_call(env, engine):
    result = run(["calls", "show", "CAnothing", "--json"], env)
    assert result.returncode != 0 and "no call CAnothing" in result.stderr


def test_extract_prints_the_documented_json_keys(env):
    result = run(["extract", "--text", "我 是 张 伟 电话 幺 三 八 幺 二 三 四 五 六 七 八 这里 有人 中毒 了",
                  "--json"], env)
    payload = json.loads(result.stdout)
    assert payload["phones"] == ["13812345678"]
    assert payload["name"] == "张伟"
    assert payload["urgent"] is True
    assert {"unit", "address"} <= payload.keys()


def test_reconcile_with_redis_away_reports_it_and_keeps_the_call(env, engine, db_session):
    from intake.store.audit import TWILIO
    from intake.calls.voicemail import attach_recording

    outcome = attach_recording(db_session, call_sid="CA1", recording_sid="RE1",
                               recording_url="http://127.0.0.1:9/r", duration_seconds=5,
                               recording_status="completed", from_number="+8613812345678",
                               to_number="+8657112345", language="zh-CN", actor=TWILIO)
    db_session.commit()
    result = run(["reconcile", "--json"], {**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"calls_enqueued": [], "sms_enqueued": [],
                                         "redis_unreachable": True}
    db_session.refresh(outcome.call)
    assert outcome.call.status.value == "recorded"
    assert run(["reconcile", "--json"], env).returncode == 0
    db_session.refresh(outcome.call)
    assert outcome.call.status.value == "queued"


def test_db_rebuild_facts_counts_cases_written_around_the_session(env, engine, db_session):
    """A case inserted in SQL (as a bulk import would) has no facts until the operator
    rebuilds them; then the day sums count it."""
    from datetime import datetime, timezone

    from sqlalchemy import func, insert, select

    from intake.store.models import Case, CaseFactDay

    received = datetime(2026, 3, 10, 2, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(Case.__table__), [{
            "number": "2026-000001", "channel": "voicemail", "caller_name": "联络员",
            "status": "handling", "created_at": received, "routed_at": received}])
    received_sum = select(func.coalesce(func.sum(CaseFactDay.received), 0)).where(
        CaseFactDay.scope == "all")
    assert db_session.scalar(received_sum) == 0
    result = run(["db", "rebuild-facts", "--json"], env)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["cases"] == 1 and printed["day_rows"] == 1
    db_session.rollback()
    assert db_session.scalar(received_sum) == 1
