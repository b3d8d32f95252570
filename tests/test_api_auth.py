"""Who the API believes: tokens made and revoked by `dutyline users token`, stored only as
hashes, and a signed-in browser session whose writes carry the CSRF token."""
from __future__ import annotations

import hashlib
import re

import pytest

from intake.store.models import ApiToken, AuditEvent
from tests.case_support import add_people
from tests.test_cli import run


def _token(env, username):
    result = run(["users", "token", username], env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert re.fullmatch(r"dl_[A-Za-z0-9_-]{43}", token), token
    return token


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _ack(client, number, token):
    return client.post(f"/api/v1/cases/{number}/acknowledge",
                       headers={"Authorization": f"Bearer {token}"})


def _case_number(client, token):
    response = client.post("/api/v1/cases", json={
        "caller_name": "张伟", "caller_phone": "+8613812345678", "content": "药店没有降压药"},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def test_the_cli_prints_a_token_and_keeps_only_its_hash(env, client, demo):
    duty, wang = _token(env, "duty"), _token(env, "wang")
    demo.expire_all()
    rows = demo.query(ApiToken).order_by(ApiToken.id).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(t.encode()).hexdigest()
                                            for t in (duty, wang)]
    assert all(duty not in str(e.after) for e in demo.query(AuditEvent))
    number = _case_number(client, duty)
    assert _ack(client, number, wang).status_code == 200
    demo.expire_all()
    assert demo.query(ApiToken).filter_by(token_hash=rows[1].token_hash).one().last_used_at
    listed = run(["users", "tokens", "wang"], env)
    assert listed.returncode == 0 and "live" in listed.stdout and wang not in listed.stdout
    assert run(["users", "token", "nobody"], env).returncode != 0


def test_revoke_ends_all_of_a_users_tokens_or_one_by_id(env, client, demo):
    first, second, duty = _token(env, "wang"), _token(env, "wang"), _token(env, "duty")
    number = _case_number(client, duty)
    demo.expire_all()
    second_id = demo.query(ApiToken).filter_by(
        token_hash=hashlib.sha256(second.encode()).hexdigest()).one().id
    one = run(["users", "token", "wang", "--revoke", "--id", str(second_id)], env)
    assert one.returncode == 0 and "revoked 1" in one.stdout
    assert _ack(client, number, second).status_code == 401
    assert _ack(client, number, first).status_code == 200
    every = run(["users", "token", "wang", "--revoke"], env)
    assert every.returncode == 0 and "revoked 1" in every.stdout
    assert _ack(client, number, first).status_code == 401
    assert client.get("/api/v1/cases", headers=_bearer(duty)).status_code == 200
    assert run(["users", "token", "wang", "--revoke", "--id", "9999"], env).returncode != 0
    demo.expire_all()
    assert demo.query(AuditEvent).filter_by(action="api_token.revoked").count() == 2


def test_a_disabled_users_token_fails_and_cannot_be_renewed(env, client, demo):
    from intake.store.audit import Actor
    from intake.directory.roster import set_user_active
    from intake.store.models import User

    token = _token(env, "li")
    assert client.get("/api/v1/directory", headers=_bearer(token)).status_code == 200
    set_user_active(demo, demo.query(User).filter_by(username="li").one().id, False, Actor("test"))
    demo.commit()
    assert client.get("/api/v1/directory", headers=_bearer(token)).status_code == 401
    refused = run(["users", "token", "li"], env)
    assert refused.returncode != 0 and "disabled" in refused.stderr


@pytest.fixture
def csrf_app(settings):
    from dashboard.app import create_app

    return create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True})


def test_a_signed_in_session_calls_the_api_and_writes_need_the_csrf_token(csrf_app, demo):
    add_people(demo)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    signed_in = client.post("/login", data={"username": "duty", "password": "dutyline-demo",
                                            "csrf_token": csrf})
    assert signed_in.status_code == 302
    # Sign-in starts a fresh session; the page's <meta name="csrf-token"> carries the new token.
    page = client.get("/cases").get_data(as_text=True)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    body = {"caller_name": "张伟", "caller_phone": "+8613812345678", "content": "药店没有降压药"}
    without = client.post("/api/v1/cases", json=body)
    assert without.status_code == 401
    assert without.get_json()["error"]["code"] == "csrf_invalid"
    assert client.post("/api/v1/cases", json=body,
                       headers={"X-CSRFToken": "forged"}).status_code == 401
    made = client.post("/api/v1/cases", json=body, headers={"X-CSRFToken": csrf})
    assert made.status_code == 201
    assert client.get("/api/v1/cases").get_json()["count"] == 1  # reads need no token
    # A bearer request is judged by its token alone: a cookie beside a bad token is no help.
    assert client.get("/api/v1/cases", headers={"Authorization": "Bearer dl_x"}).status_code == 401
    # A cross-site form post carries the cookie but not the token.
    assert client.post(f"/api/v1/cases/{made.get_json()['number']}/rate",
                       data={"rating": "satisfied"}).status_code == 401
