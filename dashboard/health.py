"""GET /healthz: the database, Redis, the worker heartbeat, the speech model, the
scheduled sweep and the SMS.

Anyone may ask whether the service is up, so the public answer says only that: the overall
state, each component's ok/degraded and when the scheduled sweep last finished. Host names,
error texts, worker names and PIDs, the model path and what the sweeps did help an attacker
as much as an operator, so they go only to a signed-in admin (/healthz?detail=1) and to
`dutyline health --json` on the machine itself.

Background work that stops says so here: "sweep" is degraded when no scheduled sweep has
finished for three intervals (jobs.schedule.judge_sweeps; a manual `dutyline sweep` does not
count), "sms" while SMS fail or wait to be sent too long (intake.outbox.notifications.judge_sms).
"""
from __future__ import annotations

from datetime import datetime

import redis
from flask import Blueprint, jsonify, request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dashboard.auth import current_user
from intake.store.heartbeat import HEARTBEAT_FRESH
from intake.store.models import WorkerHeartbeat, utcnow
from intake.outbox.notifications import judge_sms
from intake.store.settings import Settings
from intake.statuses import Role
from jobs.queue import connect_redis
from jobs.schedule import judge_sweeps, last_sweep
from jobs.streams import LiveStreams
from web.services import get_db, get_settings

bp = Blueprint("health", __name__)
COMPONENTS = ("database", "redis", "worker", "model", "sweep", "sms")


def build_report(settings: Settings, session: Session, now: datetime | None = None) -> dict:
    """Check each dependency as of `now` (default: the current time) and return everything
    found, details included."""
    now = now or utcnow()
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
        # The last scheduled sweep is what says the scheduler works; the last manual one is
        # shown beside it, labelled, and judged by nobody.
        last = last_sweep(connection)
        report["sweep"] = {**judge_sweeps(last, now, settings.sweep_interval_seconds),
                           "last": last, "manual": last_sweep(connection, manual=True)}
        # Live streams in use of the workers' capacity (issue 22): a detail, judged by nobody;
        # calls beyond the capacity are drafted from their recording.
        report["live_streams"] = {**LiveStreams(connection).load(),
                                  "per_worker": settings.live_streams}
    except redis.RedisError as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
        report["sweep"] = {"ok": False, "last": None, "manual": None,
                           "hint": "Redis is unreachable"}
    workers = []
    if report["database"]["ok"]:
        for beat in session.scalars(select(WorkerHeartbeat)):
            workers.append({"name": beat.name, "seen_at": beat.seen_at.isoformat(),
                            "fresh": now - beat.seen_at < HEARTBEAT_FRESH,
                            "model": beat.model_name, "language": beat.model_language,
                            "state": beat.state})
    report["worker"] = {"ok": any(w["fresh"] for w in workers), "workers": workers}
    report["sms"] = judge_sms(session, now) if report["database"]["ok"] else {"ok": False}
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
    # Calls are taken without a worker, a model, a sweeping scheduler or working SMS (the
    # audio and the rows are kept), so that is 200 but "degraded": something that should run
    # in the background does not.
    background = all(report[name]["ok"] for name in ("worker", "model", "sweep", "sms"))
    report["status"] = "ok" if serving and background else "degraded" if serving else "down"
    report["ok"] = report["status"] == "ok"
    return report


def summarize(report: dict) -> dict:
    """Keep only the overall state and each component's ok/degraded."""
    summary = {"ok": report["ok"], "status": report["status"]}
    for name in COMPONENTS:
        summary[name] = {"ok": report[name]["ok"], "status": report[name]["status"]}
    # When the scheduled sweep last finished is a time, not a detail of the machine: shown to
    # all. Its host, duration and counts are details.
    last = report["sweep"]["last"]
    summary["sweep"]["last"] = {"finished_at": last["finished_at"]} if last else None
    return summary


def _state(ok: bool) -> str:
    return "ok" if ok else "degraded"


@bp.get("/healthz")
def healthz():
    """Report each dependency; 200 when the service can take calls, 503 otherwise.

    The top-level "status" is "ok" when calls are also transcribed, swept and texted,
    "degraded" while the worker, the speech model, the scheduled sweep or the SMS are not
    working, and "down" (with 503) without database or Redis. Details only for a signed-in
    admin asking ?detail=1.
    """
    report = build_report(get_settings(), get_db())
    user = current_user() if request.args.get("detail") == "1" else None
    body = report if user is not None and user.role == Role.ADMIN else summarize(report)
    return jsonify(body), 503 if report["status"] == "down" else 200
