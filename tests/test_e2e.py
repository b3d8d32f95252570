"""The whole pipeline with the real service processes: `dutyline run` (gunicorn, the worker
and an embedded Redis), `dutyline simulate-call --wait`, real Vosk decoding, and a duty
officer confirming the draft over HTTP."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.audio_fixtures import espeak_wav
from transcription.engine import default_test_model_path

# Real processes killed, frozen and timed: under pytest-xdist these run one after another on
# one worker (scripts/test.sh: --dist loadgroup), not beside each other.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("processes")]
DUTYLINE = [sys.executable, "-m", "cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path):
    """Start `dutyline run` on embedded defaults and stop it with Ctrl-C (SIGINT)."""
    port = _free_port()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"))}
    # No TWILIO_RECORDING_HOSTS: without Twilio credentials the simulator's loopback host is
    # allowed by default, so the README's smoke test works against a default `dutyline run`.
    env.update(DUTYLINE_INSTANCE=str(instance), VOSK_MODEL_PATH=default_test_model_path(),
               DUTYLINE_LANGUAGE="zh-CN")
    log = open(tmp_path / "service.log", "w")
    process = subprocess.Popen(DUTYLINE + ["run", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            health = requests.get(base + "/healthz", timeout=2).json()
            if health["status"] == "ok":
                break
        except (requests.RequestException, ValueError):
            pass
        if process.poll() is not None:
            pytest.fail((tmp_path / "service.log").read_text())
        time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("service did not become healthy:\n" + (tmp_path / "service.log").read_text())
    yield {"base": base, "env": env, "instance": instance, "process": process, "cwd": tmp_path}
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_simulated_call_becomes_a_draft_then_a_case_with_one_sms(service, tmp_path):
    wav = espeak_wav(tmp_path, "안녕하세요 저는 김민수입니다 약국 문제로 전화드렸습니다", voice="ko",
                     rate=8000)
    # The README's line, run from an unrelated folder with none of the server's settings:
    # simulate-call talks HTTP only, and leaves nothing behind where it ran.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    client_env = {k: v for k, v in service["env"].items() if not k.startswith("DUTYLINE_")}
    result = subprocess.run(
        DUTYLINE + ["simulate-call", "--url", service["base"], "--wav", str(wav),
                    "--from", "+8613812345678", "--wait", "--timeout", "120", "--json"],
        env=client_env, cwd=elsewhere, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert list(elsewhere.iterdir()) == []
    record = json.loads(result.stdout)
    assert record["status"] == "draft"
    assert record["liaison"] == "张伟"  # the demo directory knows this caller ID
    assert record["transcript"].strip()
    assert record["words"] and all(w["end"] > w["start"] >= 0 for w in record["words"])
    assert Path(record["recording_path"]).stat().st_size == wav.stat().st_size
    assert record["recording_duration"] >= 1

    shown = subprocess.run(DUTYLINE + ["calls", "show", record["call_sid"], "--json"],
                           env=service["env"], cwd=service["cwd"], capture_output=True,
                           text=True, timeout=60)
    assert json.loads(shown.stdout)["transcript"] == record["transcript"]

    officer = requests.Session()
    login_page = officer.get(service["base"] + "/login")
    officer.post(service["base"] + "/login", data={
        "username": "duty", "password": "dutyline-demo", "csrf_token": _csrf(login_page.text)})
    call_page = officer.get(f"{service['base']}/calls/{record['id']}")
    assert call_page.status_code == 200
    confirmed = officer.post(f"{service['base']}/calls/{record['id']}/confirm", data={
        "csrf_token": _csrf(call_page.text), "caller_name": "张伟", "caller_unit": "城关镇东门社区",
        "caller_phone": "13812345678", "liaison_id": "1", "leader_id": "1",
        "summary": "药店问题"}, allow_redirects=False)
    assert confirmed.status_code == 302 and "/cases/" in confirmed.headers["Location"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        outbox = officer.get(service["base"] + "/outbox").text
        if "药店问题" in outbox:
            break
        time.sleep(0.5)
    assert outbox.count("药店问题") == 1  # one SMS to the leader, kept in the outbox
    again = officer.post(f"{service['base']}/calls/{record['id']}/confirm", data={
        "csrf_token": _csrf(call_page.text), "caller_name": "张伟", "leader_id": "1"})
    assert officer.get(service["base"] + "/outbox").text.count("药店问题") == 1
    assert again.status_code in (200, 302)


def test_ctrl_c_leaves_no_redis_or_worker_behind(service):
    instance = str(service["instance"])
    service["process"].send_signal(signal.SIGINT)
    service["process"].wait(30)
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-af", instance], capture_output=True, text=True).stdout
    assert "redis-server" not in leftovers
    workers = subprocess.run(["pgrep", "-af", "cli worker"], capture_output=True, text=True).stdout
    assert str(service["process"].pid) not in workers
