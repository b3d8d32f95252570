"""Per-request access to settings, the database session and the job queue.

The app factory (dashboard.app.create_app) puts a `Services` object in app.extensions;
views of ivr/ and dashboard/ reach it through these helpers, never through module globals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from intake.clock import Clock
from intake.outbox.notifications import SmsContext
from intake.store.settings import Settings

EXTENSION_KEY = "dutyline"


@dataclass
class Services:
    settings: Settings
    session_factory: sessionmaker[Session]
    job_queue_factory: Callable[[], "object"]
    # Per-process values that may be a few seconds old (see ivr.views.hotline_config).
    cache: dict = field(default_factory=dict)
    # Where the live call audio goes (a jobs.streams.LiveStreams); None: nowhere.
    live_streams: "object | None" = None


def install_services(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION_KEY] = services
    app.teardown_appcontext(_close_db)


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]


def get_settings() -> Settings:
    return services().settings


def get_db() -> Session:
    """Return this request's database session, opening it on first use."""
    if "db" not in g:
        g.db = services().session_factory()
    return g.db


def get_clock() -> Clock:
    """Return the clock every case action of this request runs on (the bureau's zone)."""
    return Clock(get_settings().timezone)


def get_sms_context() -> SmsContext:
    """Return how this site's case SMS link to case pages, in its language and zone."""
    settings = get_settings()
    return SmsContext.for_site(settings.link_base_url, settings.language, settings.timezone)


def get_job_queue():
    """Return this request's job queue (an jobs.queue.JobQueue)."""
    if "job_queue" not in g:
        g.job_queue = services().job_queue_factory()
    return g.job_queue


def get_live_streams():
    """Return where the WebSocket view hands live call audio (a jobs.streams.LiveStreams)."""
    return services().live_streams


def _close_db(_exc) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
