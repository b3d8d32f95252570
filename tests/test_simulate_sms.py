"""`dutyline simulate-sms` against a live server on loopback (real HTTP, signed like
simulate-call): a leader's "1 <number>" acknowledges, a liaison's "1" rates (issue 19 item 15)."""
from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from intake.cases.feedback import record_feedback
from intake.cases.handling import Confirmation, answer_case, confirm_and_route, handle_case
from intake.clock import Clock
from intake.outbox.notifications import SmsContext
from intake.store.audit import Actor
from intake.store.models import Case, InboundMessage, User
from intake.store.settings import load_settings
from intake.time.calendar import BureauCalendar
from tests.dashboard_support import make_call

WANG, ZHANG = "+8613900000001", "+8613812345678"
SMS = SmsContext(lambda case: f"https://x/cases/{case.id}")


@pytest.fixture
def served(env, engine, demo):
    """The web app on a loopback port in a thread, as `dutyline run` would serve it."""
    from dashboard.app import create_app

    server = make_server("127.0.0.1", 0, create_app({"DUTYLINE_SETTINGS": load_settings()}),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _route(demo) -> Case:
    # The server runs on the real clock, so the case is routed on it too.
    call = make_call(demo, ZHANG)
    case, _ = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), Actor("user:duty"), SMS.case_link,
        "zh-CN", Clock())
    demo.commit()
    return case


def _simulate(url: str, sender: str, body: str, *extra: str):
    from cli.main import main

    return CliRunner().invoke(main, ["simulate-sms", "--url", url, "--from", sender,
                                     "--body", body, *extra])


def test_a_leader_acknowledges_the_named_case_by_simulated_sms(served, demo):
    older, named = _route(demo), _route(demo)
    result = _simulate(served, WANG, f"1 {named.number}")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"已确认收到案件{named.number}。"
    demo.expire_all()
    assert demo.get(Case, named.id).acknowledged_at is not None
    assert demo.get(Case, older.id).acknowledged_at is None
    assert demo.query(InboundMessage).count() == 1


def test_a_liaison_rates_by_simulated_sms_and_json_shows_the_reply(served, demo):
    case = _route(demo)
    wang = demo.query(User).filter_by(username="wang").one()
    clock = Clock()
    handle_case(demo, wang, case, "", clock, BureauCalendar())
    answer_case(demo, wang, case, "已处理", clock)
    record_feedback(demo, wang, case, "phone", "已电话告知", clock, SMS)
    demo.commit()
    result = _simulate(served, ZHANG, "1", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["message_sid"].startswith("SM") and len(answer["replies"]) == 1
    assert case.number in answer["replies"][0]
    demo.expire_all()
    assert demo.get(Case, case.id).status.value == "closed"


def test_a_wrong_token_is_refused_with_a_hint(served, demo, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-servers-token")
    result = _simulate(served, WANG, "1")
    assert result.exit_code != 0 and "403" in result.output and "TWILIO_AUTH_TOKEN" in result.output
    assert demo.query(InboundMessage).count() == 0
