"""Worker heartbeats, for /healthz and the dashboard."""
from __future__ import annotations

from sqlalchemy.orm import Session

from intake.models import WorkerHeartbeat, utcnow


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
