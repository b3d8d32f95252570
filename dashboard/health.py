"""GET /healthz: the database, Redis, the worker heartbeat and the speech model."""
from __future__ import annotations


import redis
from flask import Blueprint, jsonify
from sqlalchemy import select, text

from intake.heartbeat import HEARTBEAT_FRESH
from intake.models import WorkerHeartbeat, utcnow
from jobs.queue import connect_redis
from jobs.schedule import last_sweep
from web.services import get_db, get_settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report each dependency; 200 when the service can take calls, 503 otherwise."""
    settings = get_settings()
    report: dict = {}
    try:
        get_db().execute(text("SELECT 1"))
        report["database"] = {"ok": True}
    except Exception as exc:  # reported, not raised: this is the health check
        report["database"] = {"ok": False, "error": str(exc)}
    try:
        connection = connect_redis(settings.effective_redis_url, timeout=1)
        connection.ping()
        report["redis"] = {"ok": True}
        # When the scheduled sweep (or `dutyline sweep`) last ran, and as of what moment.
        report["sweep"] = {"last": last_sweep(connection)}
    except redis.RedisError as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
        report["sweep"] = {"last": None}
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
    ok = report["database"]["ok"] and report["redis"]["ok"]
    report["ok"] = ok
    return jsonify(report), 200 if ok else 503
