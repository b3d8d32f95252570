"""`dutyline run --port N` without PUBLIC_BASE_URL: SMS links follow the address it serves on
(issue 19 item 4). The supervisor's child environment, the settings read from it, and the link
a case SMS carries when the web process runs with that environment."""
from __future__ import annotations

import pytest

from cli.supervisor import child_environment, link_base, served_base_url
from intake.store.models import Case, Notification
from intake.store.runtime import reset_runtime
from intake.store.settings import load_settings
from tests.dashboard_support import make_call, sign_in


@pytest.fixture
def bare_settings(tmp_path):
    """Settings of an install with no PUBLIC_BASE_URL."""
    return load_settings({"DUTYLINE_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "k"})


@pytest.mark.parametrize("host, port, expected", [
    ("127.0.0.1", 8731, "http://127.0.0.1:8731"),
    ("0.0.0.0", 8731, "http://127.0.0.1:8731"),
    ("::1", 9000, "http://[::1]:9000"),
    ("dutyline.local", 8000, "http://dutyline.local:8000"),
])
def test_the_served_address_is_one_a_browser_opens(host, port, expected):
    assert served_base_url(host, port) == expected


def test_the_children_read_the_port_run_serves_on_as_their_link_base(bare_settings, tmp_path):
    env = child_environment(bare_settings, "127.0.0.1", 8731, base={"PATH": "/usr/bin"})
    assert env["DUTYLINE_SERVED_URL"] == "http://127.0.0.1:8731"
    assert "PUBLIC_BASE_URL" not in env  # signatures keep checking the request URL
    child = load_settings(env)
    assert child.link_base_url == "http://127.0.0.1:8731"
    assert child.public_base_url is None
    assert link_base(bare_settings, "127.0.0.1", 8731) == "http://127.0.0.1:8731"


def test_public_base_url_still_wins(tmp_path):
    outer = {"DUTYLINE_INSTANCE": str(tmp_path / "i"), "SECRET_KEY": "k",
             "PUBLIC_BASE_URL": "https://dutyline.example.gov.cn/"}
    settings = load_settings(outer)
    env = child_environment(settings, "127.0.0.1", 8731, base=outer)
    assert load_settings(env).link_base_url == "https://dutyline.example.gov.cn"
    assert link_base(settings, "127.0.0.1", 8731) == "https://dutyline.example.gov.cn"


@pytest.fixture
def served_app(env, engine, monkeypatch):
    """The web app started as `run --port 8731` starts it, without PUBLIC_BASE_URL."""
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("DUTYLINE_SERVED_URL", "http://127.0.0.1:8731")
    reset_runtime()
    from dashboard.app import create_app

    yield create_app({"DUTYLINE_SETTINGS": load_settings(), "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    reset_runtime()


def test_a_case_sms_links_to_the_port_run_serves_on(served_app, demo):
    client = served_app.test_client()
    call = make_call(demo)
    sign_in(client, "duty")
    response = client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "caller_unit": "城关镇东门社区", "caller_phone": "+8613812345678",
        "summary": "药店没有降压药，希望尽快解决。", "liaison_id": str(call.liaison_id),
        "leader_id": str(call.leader_id)})
    assert response.status_code == 302
    case = demo.query(Case).filter_by(call_id=call.id).one()
    body = demo.query(Notification).filter_by(case_id=case.id).one().body
    assert f"http://127.0.0.1:8731/cases/{case.id}" in body
    assert "127.0.0.1:8000" not in body
