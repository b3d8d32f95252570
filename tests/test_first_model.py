"""Installing the speech model: from a local zip, from the model site (a loopback server
standing in for it here), and in the background on the first `dutyline run`."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from cli.first_model import ModelFetch, should_fetch_model
from cli.loopback import LoopbackServer, QuietHandler
from intake.store.settings import MODEL_NAMES, load_settings

MODEL = MODEL_NAMES["zh-CN"]


def _model_zip(name: str = MODEL) -> bytes:
    """A small zip laid out like a Vosk model (am/, conf/, graph/) in one top folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/am/final.mdl", os.urandom(300_000))
        archive.writestr(f"{name}/conf/model.conf", "--sample-frequency=16000\n")
        archive.writestr(f"{name}/graph/words.txt", "<eps> 0\n")
    return buffer.getvalue()


class ModelSite(LoopbackServer):
    """Serve one model zip at any path ending /<name>.zip; hold answers until `release` is set."""

    def __init__(self, payload: bytes, name: str = MODEL):
        self.requests: list[str] = []
        self.release = threading.Event()
        self.release.set()
        site = self

        class Handler(QuietHandler):
            def do_GET(self):
                site.requests.append(self.path)
                if not self.path.endswith(f"/{name}.zip"):
                    return self.send_body(404)
                site.release.wait(60)
                self.send_body(200, payload, "application/zip")

        super().__init__(Handler)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/models"


def _settings(tmp_path, site_url: str, **env):
    return load_settings({"DUTYLINE_INSTANCE": str(tmp_path / "instance"),
                          "VOSK_MODEL_SITE": site_url, **env})


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A fresh instance folder with the default model path, for `dutyline fetch-model`."""
    from intake.store.runtime import reset_runtime

    monkeypatch.setenv("DUTYLINE_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DUTYLINE_LANGUAGE", "zh-CN")
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    reset_runtime()
    yield monkeypatch
    reset_runtime()


def test_fetch_model_installs_from_a_local_zip(tmp_path, cli_env):
    from cli.main import main

    zip_path = tmp_path / f"{MODEL}.zip"
    zip_path.write_bytes(_model_zip())
    result = CliRunner().invoke(main, ["fetch-model", "--zip", str(zip_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "instance" / "models" / MODEL / "am" / "final.mdl").is_file()


def test_fetch_model_downloads_from_the_model_site(tmp_path, cli_env):
    from cli.main import main

    with ModelSite(_model_zip()) as site:
        cli_env.setenv("VOSK_MODEL_SITE", site.base_url + "/models")
        result = CliRunner().invoke(main, ["fetch-model"])
    assert result.exit_code == 0, result.output
    assert site.requests == [f"/models/{MODEL}.zip"]
    assert (tmp_path / "instance" / "models" / MODEL / "conf" / "model.conf").is_file()


def test_background_fetch_prints_progress_and_installs(tmp_path):
    out = io.StringIO()
    with ModelSite(_model_zip()) as site:
        settings = _settings(tmp_path, site.base_url)
        assert should_fetch_model(settings)
        fetch = ModelFetch(settings, out).start()
        assert fetch.finished.wait(30)
    lines = out.getvalue().splitlines()
    assert fetch.installed.is_set() and fetch.error is None
    assert lines[0].startswith("no speech model yet: fetching") and "background" in lines[0]
    assert any(line.startswith("fetching speech model:") and line.endswith("(100%)")
               for line in lines)
    assert lines[-1] == f"speech model installed at {settings.vosk_model_path}"
    assert not should_fetch_model(settings)  # present now: the next run fetches nothing


def test_an_unreachable_site_gets_the_offline_message(tmp_path):
    out = io.StringIO()
    fetch = ModelFetch(_settings(tmp_path, _closed_port_url()), out).start()
    assert fetch.finished.wait(30)
    assert not fetch.installed.is_set()
    assert f"dutyline fetch-model --zip {MODEL}.zip" in out.getvalue()
    assert not (tmp_path / "instance" / "models" / MODEL).exists()


def test_a_model_path_of_the_operators_own_is_not_fetched(tmp_path):
    settings = _settings(tmp_path, _closed_port_url(),
                         VOSK_MODEL_PATH=str(tmp_path / "my-own-model"))
    assert not should_fetch_model(settings)


@pytest.mark.slow
def test_the_first_run_takes_calls_while_it_fetches_the_model(tmp_path):
    """`dutyline run` without a model: healthy but degraded while the site is slow, then the
    model is installed and the worker restarted; the demo hint is printed on every start."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL",
                                "VOSK_", "DUTYLINE_"))}
    site = ModelSite(_model_zip()).start()
    site.release.clear()
    env.update(DUTYLINE_INSTANCE=str(tmp_path / "instance"), VOSK_MODEL_SITE=site.base_url)
    base = f"http://127.0.0.1:{port}"
    try:
        log_path = tmp_path / "run.log"
        process = _start_run(env, port, log_path, tmp_path)
        try:
            health = _wait_for_health(base, process, log_path)
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            assert site.requests  # the download has begun, and the service already answers
            assert requests.get(base + "/login", timeout=5).status_code == 200
            site.release.set()
            _wait_for_line(log_path, "restarting the worker to load the speech model", process)
        finally:
            _stop_run(process)
        log = log_path.read_text()
        assert "no speech model yet: fetching" in log
        assert "fetching speech model:" in log and "(100%)" in log
        assert "sign in as duty / dutyline-demo" in log
        assert "INFO  [alembic" not in log and "alembic.runtime" not in log
        # The second start: no fetch (the model is there), and the hint again.
        second_log = tmp_path / "run2.log"
        process = _start_run(env, port, second_log, tmp_path)
        try:
            _wait_for_health(base, process, second_log)
        finally:
            _stop_run(process)
        log = second_log.read_text()
        assert "sign in as duty / dutyline-demo" in log
        assert "fetching" not in log
    finally:
        site.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_run(env, port, log_path: Path, cwd: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "-m", "cli", "run", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=cwd)


def _wait_for_health(base: str, process: subprocess.Popen, log_path: Path):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(log_path.read_text())
        try:
            return requests.get(base + "/healthz", timeout=2)
        except requests.RequestException:
            time.sleep(0.3)
    pytest.fail("no answer from /healthz:\n" + log_path.read_text())


def _wait_for_line(log_path: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if text in log_path.read_text():
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"{text!r} not printed:\n" + log_path.read_text())


def _stop_run(process: subprocess.Popen) -> None:
    import signal

    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
