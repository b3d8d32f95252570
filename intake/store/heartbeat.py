"""Worker heartbeats, for /healthz and the dashboard."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.models import WorkerHeartbeat, utcnow


def beat(session: Session, name: str, model_name: str | None, language: str | None,
         state: str) -> None:
    """Record that a worker is alive, with the model it holds."""
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        row = WorkerHeartbeat(name=name)
        session.add(row)
    row.seen_at = utcnow()
    row.model_name = model_name
    row.model_language = language
    row.state = str(state)


# Workers beat at least every ~30 s while idle (cli/worker.py); twice that is "gone".
HEARTBEAT_FRESH = timedelta(seconds=60)
SPEECH_READY, SPEECH_NO_MODEL, SPEECH_NO_WORKER = "ready", "no_model", "no_worker"


def list_fresh_workers(session: Session) -> list[WorkerHeartbeat]:
    """Return the workers seen within HEARTBEAT_FRESH."""
    return list(session.scalars(select(WorkerHeartbeat).where(
        WorkerHeartbeat.seen_at >= utcnow() - HEARTBEAT_FRESH)))


def speech_readiness(session: Session) -> str:
    """Tell whether calls will be transcribed now: ready, no_model or no_worker."""
    workers = list_fresh_workers(session)
    if not workers:
        return SPEECH_NO_WORKER
    return SPEECH_READY if any(w.model_name for w in workers) else SPEECH_NO_MODEL
