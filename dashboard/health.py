"""GET /healthz: the database, Redis, the worker heartbeat and the speech model.

Anyone may ask whether the service is up, so the public answer says only that: the overall
state and each component's ok/degraded. Host names, error texts, worker names and PIDs and
the model path help an attacker as much as an operator, so they go only to a signed-in
admin (/healthz?detail=1) and to `dutyline health --json` on the machine itself.
"""
from __future__ import annotations

import redis
from flask import Blueprint, jsonify, request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dashboard.auth import current_user
from intake.heartbeat import HEARTBEAT_FRESH
from intake.models import WorkerHeartbeat, utcnow
from intake.settings import Settings
from intake.statuses import Role
from jobs.queue import connect_redis
from jobs.schedule import last_sweep
from web.services import get_db, get_settings

bp = Blueprint("health", __name__)
COMPONENTS = ("database", "redis", "worker", "model")


def build_report(settings: Settings, session: Session) -> dict:
    """Check each dependency and return everything found, details included."""
    report: dict = {}
    try:
        session.execute(text("SELECT 1"))
        report["database"] = {"ok": True}
    except Exception as exc:  # reported, not raised: this is the health check
        session.rollback()
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
        for beat in session.scalars(select(WorkerHeartbeat)):
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
    for name in COMPONENTS:
        report[name]["status"] = _state(report[name]["ok"])
    serving = report["database"]["ok"] and report["redis"]["ok"]
    # Calls are taken without a worker or a model (the audio is kept), so that is 200 but
    # "degraded": transcription cannot run until both are there.
    transcribing = report["worker"]["ok"] and report["model"]["ok"]
    report["status"] = "ok" if serving and transcribing else "degraded" if serving else "down"
    report["ok"] = report["status"] == "ok"
    return report


def summarize(report: dict) -> dict:
    """Keep only the overall state and each component's ok/degraded."""
    summary = {"ok": report["ok"], "status": report["status"]}
    for name in COMPONENTS:
        summary[name] = {"ok": report[name]["ok"], "status": report[name]["status"]}
    # When the scheduled sweep last ran is a time, not a detail of the machine: shown to all.
    summary["sweep"] = report["sweep"]
    return summary


def _state(ok: bool) -> str:
    return "ok" if ok else "degraded"


@bp.get("/healthz")
def healthz():
    """Report each dependency; 200 when the service can take calls, 503 otherwise.

    The top-level "status" is "ok" when calls are also transcribed, "degraded" while the
    worker or the speech model is missing, and "down" (with 503) without database or Redis.
    Details only for a signed-in admin asking ?detail=1.
    """
    report = build_report(get_settings(), get_db())
    user = current_user() if request.args.get("detail") == "1" else None
    body = report if user is not None and user.role == Role.ADMIN else summarize(report)
    return jsonify(body), 503 if report["status"] == "down" else 200
