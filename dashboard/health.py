"""GET /healthz: the database, Redis, the worker heartbeat and the speech model."""
from __future__ import annotations


import redis
from flask import Blueprint, jsonify
from sqlalchemy import select, text

from intake.heartbeat import HEARTBEAT_FRESH
from intake.models import WorkerHeartbeat, utcnow
from ivr.appcontext import get_db, get_settings
from ivr.queueing import connect_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report each dependency; 200 when the service can take calls, 503 otherwise.

    The top-level "status" is "ok" when calls are also transcribed, "degraded" while the
    worker or the speech model is missing, and "down" (with 503) without database or Redis.
    """
    settings = get_settings()
    report: dict = {}
    try:
        get_db().execute(text("SELECT 1"))
        report["database"] = {"ok": True}
    except Exception as exc:  # reported, not raised: this is the health check
        report["database"] = {"ok": False, "error": str(exc)}
    try:
        connect_redis(settings.effective_redis_url, timeout=1).ping()
        report["redis"] = {"ok": True}
    except redis.RedisError as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
    workers = []
    if report["database"]["ok"]:
        for beat in get_db().scalars(select(WorkerHeartbeat)):
            workers.append({"name": beat.name, "seen_at": beat.seen_at.isoformat(),
                            "fresh": utcnow() - beat.seen_at < HEARTBEAT_FRESH,
                            "model": beat.model_name, "language": beat.model_language,
                            "state": beat.state})
    report["worker"] = {"ok": any(w["fresh"] for w in workers), "workers": workers}
    model_present = (settings.vosk_model_path / "am").is_dir()
    model_in_worker = any(w["fresh"] and w["model"] for w in workers)
    report["model"] = {
        "ok": model_present or model_in_worker,
        "path": str(settings.vosk_model_path),
        "hint": None if (model_present or model_in_worker)
        else "run `dutyline fetch-model` or set VOSK_MODEL_PATH; calls are kept meanwhile",
    }
    serving = report["database"]["ok"] and report["redis"]["ok"]
    # Calls are taken without a worker or a model (the audio is kept), so that is 200 but
    # "degraded": transcription cannot run until both are there.
    transcribing = report["worker"]["ok"] and report["model"]["ok"]
    report["status"] = "ok" if serving and transcribing else "degraded" if serving else "down"
    report["ok"] = report["status"] == "ok"
    return jsonify(report), 200 if serving else 503
