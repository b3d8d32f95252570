"""`dutyline run`: web (gunicorn), worker and embedded Redis as one supervised unit.

Every child, the embedded Redis included (also when it is restarted), gets
PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no redis-server or worker behind;
Ctrl-C or SIGTERM stops them in order (web, worker, then Redis).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cli.embedded_redis import start_embedded_redis
from cli.first_model import ModelFetch, should_fetch_model
from intake.store.database import session_scope, upgrade_database
from intake.directory.demo import demo_hint, demo_password_unchanged, seed_demo
from intake.store.runtime import get_runtime
from jobs.lifetime import die_with_parent

STOP_GRACE_SECONDS = 10
RESTART_BACKOFF_SECONDS = 2


WEB_THREADS = 4


def _detach_and_die_with_parent() -> None:
    # Own process group: Ctrl-C reaches only the supervisor, which then stops the children
    # in order (Redis last), instead of every process dying at once mid-job. Not Linux:
    # no death signal, and Ctrl-C still stops everything through the signal handlers.
    os.setpgrp()
    die_with_parent(signal.SIGTERM)


def _spawn(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, preexec_fn=_detach_and_die_with_parent)


def _start_redis(settings) -> subprocess.Popen:
    # The one way the supervisor starts Redis, first time and restarts alike: a restarted
    # Redis without the death signal outlived a SIGKILLed supervisor (issue 12, item 13).
    return start_embedded_redis(settings.instance_dir, settings.embedded_redis_socket,
                                _detach_and_die_with_parent)


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def served_base_url(host: str, port: int) -> str:
    """Return the URL `run` serves on, as a browser on this machine would open it."""
    # A wildcard bind is reachable on loopback too; a browser cannot open 0.0.0.0 or [::].
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def link_base(settings, host: str, port: int) -> str:
    """Return the base of every SMS link: PUBLIC_BASE_URL, else the address `run` serves on."""
    return settings.public_base_url or served_base_url(host, port)


def child_environment(settings, host: str, port: int, base: dict | None = None) -> dict:
    """Return the environment of the web and worker processes `run` starts."""
    env = dict(os.environ if base is None else base, DUTYLINE_INSTANCE=str(settings.instance_dir),
               SECRET_KEY=settings.secret_key)
    # Links only: PUBLIC_BASE_URL stays as the operator set it, since webhook signatures are
    # checked against it and a guessed one would refuse every genuine Twilio request.
    env["DUTYLINE_SERVED_URL"] = served_base_url(host, port)
    return env


def run_service(host: str, port: int, web_workers: int, seed: bool) -> int:
    """Start everything, print where to go, and supervise until told to stop."""
    runtime = get_runtime()
    settings = runtime.settings
    upgrade_database(settings.database_url)
    with session_scope(runtime.session_factory) as session:
        if seed:
            seed_demo(session)
        # Printed on every start, not only the first: the hint lasts as long as the password.
        demo_login = demo_password_unchanged(session)
    env = child_environment(settings, host, port)
    redis_process = None
    if settings.redis_url is None:
        redis_process = _start_redis(settings)
        env["REDIS_URL"] = settings.effective_redis_url
    commands = {
        # gthread: a live Media Stream (ivr.stream) holds one thread for the length of its
        # call, so each web worker gets one per live stream on top of the usual four.
        "web": [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers",
                str(web_workers), "--worker-class", "gthread",
                "--threads", str(WEB_THREADS + settings.live_streams), "--access-logfile", "-",
                "dashboard.app:create_app()"],
        "worker": [sys.executable, "-m", "cli", "worker"],
    }
    children = {name: _spawn(argv, env) for name, argv in commands.items()}
    model_fetch = ModelFetch(settings).start() if should_fetch_model(settings) else None
    stopping = False

    def request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"dutyline is running at {served_base_url(host, port)}/", flush=True)
    base = link_base(settings, host, port)
    print(f"links in SMS start with {base}/"
          + ("" if settings.public_base_url else " (set PUBLIC_BASE_URL to change)"), flush=True)
    if demo_login:
        print(demo_hint(), flush=True)
    elif seed:
        print("sign in with your accounts (`dutyline users create` adds one)", flush=True)
    print("press Ctrl-C to stop", flush=True)
    try:
        while not stopping:
            if model_fetch is not None and model_fetch.installed.is_set():
                # The worker loads its model once, at start: restart it to pick up the new one.
                model_fetch = None
                print("restarting the worker to load the speech model", flush=True)
                _stop(children["worker"])
                children["worker"] = _spawn(commands["worker"], env)
            for name, process in list(children.items()):
                if process.poll() is not None and not stopping:
                    print(f"{name} exited with {process.returncode}; restarting", flush=True)
                    time.sleep(RESTART_BACKOFF_SECONDS)
                    children[name] = _spawn(commands[name], env)
            if redis_process is not None and redis_process.poll() is not None and not stopping:
                print("embedded Redis exited; restarting it", flush=True)
                redis_process = _start_redis(settings)
            time.sleep(0.5)
    finally:
        for name in ("web", "worker"):
            _stop(children.get(name))
        _stop(redis_process)
        print("dutyline stopped", flush=True)
    return 0
