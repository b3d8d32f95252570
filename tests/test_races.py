"""One winner (issue 16 items 1 and 2): people acting on one case at the same moment, over
real HTTP against a real gunicorn (2 processes x 4 threads), on SQLite and PostgreSQL.

Each race opens its clients' connections first, then releases them together with a barrier,
so that the requests really overlap. Exactly one wins; every other one is told it lost (409
`conflict`, a flash over the case as it now is, or an SMS reply saying the case was already
rated or acknowledged), and the case's history has exactly one event for the action.

API clients send the version they read (If-Match) and pages carry the one they showed, as a
real client does: a loser is then a conflict whether its request overlapped the winner's
(the compare-and-set in intake.rules.transitions refuses it) or came just after (the version no
longer matches). Concurrent creators get consecutive case numbers and no server error.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from intake.store.audit import Actor
from intake.cases.handling import acknowledge_case, answer_case, handle_case
from intake.clock import Clock
from intake.exceptions import Conflict
from intake.cases.feedback import rate_case, record_feedback
from intake.store.models import AuditEvent, Case, CaseAssignment, InboundMessage
from intake.store.settings import DEV_AUTH_TOKEN
from intake.cases.supervision import escalate_case, extend_deadline, overrule_extension
from intake.directory.tokens import issue_token
from intake.cases.transfers import accept_result, file_result, return_result, transfer_case
from intake.rules.transitions import claim_case
from tests.case_support import CALENDAR, SMS, TZ, add_people, result_form, route_case

CLOCK = Clock(TZ)
TIMEOUT = 30  # seconds for one request; a race settles in well under one
LIAISON = "+8613812345678"  # 张伟, linked to 王建国
LEADER = "+8613900000001"  # 王建国


@pytest.fixture(scope="module")
def server(database_url, redis_server, tmp_path_factory):
    """The service under gunicorn, as in production, on the tests' database and Redis."""
    from cli.bench_ivr import Server, _free_port

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update({"DUTYLINE_INSTANCE": str(tmp_path_factory.mktemp("race-instance")),
                "DATABASE_URL": database_url, "REDIS_URL": redis_server.url,
                "PUBLIC_BASE_URL": base, "SECRET_KEY": "race-secret",
                "DUTYLINE_LANGUAGE": "zh-CN", "VOSK_MODEL_PATH": "/nonexistent"})
    with Server("dashboard.app:create_app()", env, port, workers=2, threads=4):
        yield base


@pytest.fixture
def people(demo, redis):
    return add_people(demo)


@pytest.fixture
def tokens(demo, people):
    issued = {}
    for name in ("duty", "wang", "sup"):
        _row, issued[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()
    return issued


# ---------------------------------------------------------------- clients
class Door:
    """One client: a connection opened before the race, one request sent when it starts."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.response: requests.Response | None = None
        self.error: BaseException | None = None

    def prepare(self) -> None:
        """Open the connection (keep-alive) so that the raced request is sent at once."""
        self.http.get(f"{self.base}/healthz", timeout=TIMEOUT)

    def send(self) -> requests.Response:
        raise NotImplementedError


class ApiDoor(Door):
    """`POST /api/v1/cases/NUMBER/ACTION` with a bearer token and the version read first."""

    def __init__(self, base, token, number, action, body=None):
        super().__init__(base)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.number, self.action, self.body = number, action, body or {}

    def prepare(self):
        case = self.http.get(f"{self.base}/api/v1/cases/{self.number}", headers=self.headers,
                             timeout=TIMEOUT)
        assert case.status_code == 200, case.text
        self.headers["If-Match"] = f'"{case.json()["version"]}"'

    def send(self):
        return self.http.post(f"{self.base}/api/v1/cases/{self.number}/{self.action}",
                              json=self.body, headers=self.headers, timeout=TIMEOUT)

    def won(self) -> bool:
        if self.response.status_code == 200:
            return True
        assert self.response.status_code == 409, self.response.text
        assert self.response.json()["error"]["code"] == "conflict"
        return False


class PageDoor(Door):
    """A signed-in person's case page (CSRF on, as in production) and one of its forms."""

    def __init__(self, base, username, case_id, action, fields=None):
        super().__init__(base)
        self.username, self.case_id, self.action = username, case_id, action
        self.fields = fields or {}

    def prepare(self):
        _sign_in(self.http, self.base, self.username)
        page = self.http.get(f"{self.base}/cases/{self.case_id}", timeout=TIMEOUT)
        assert page.status_code == 200
        self.fields.update(csrf_token=_csrf(page.text),
                           version=re.search(r'name="version" value="(\d+)"', page.text)[1])

    def send(self):
        return self.http.post(f"{self.base}/cases/{self.case_id}/{self.action}", data=self.fields,
                              allow_redirects=False, timeout=TIMEOUT)

    def won(self) -> bool:
        if self.response.status_code in (302, 303):  # back to the case page, done
            return True
        assert self.response.status_code == 409, self.response.text
        # The loser sees the flash over the case page as it now is.
        assert "已有其他人先一步处理了此案件或留言" in self.response.text
        assert f'action="/cases/{self.case_id}/{self.action}"' not in self.response.text
        return False


class SmsDoor(Door):
    """An inbound SMS, signed as Twilio signs it, with its own MessageSid."""

    counter = 0

    def __init__(self, base, from_number, body):
        super().__init__(base)
        SmsDoor.counter += 1
        self.params = {"From": from_number, "To": "+8657112345", "Body": body,
                       "MessageSid": f"SM{SmsDoor.counter:032x}"}

    def send(self):
        signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(
            f"{self.base}/sms/inbound", self.params)
        return self.http.post(f"{self.base}/sms/inbound", data=self.params, timeout=TIMEOUT,
                              headers={"X-Twilio-Signature": signature})

    @property
    def reply(self) -> str:
        assert self.response.status_code == 200, self.response.text
        return re.search(r"<Message>(.*)</Message>", self.response.text)[1]


def race(*doors: Door) -> None:
    """Prepare every door, then send all their requests at the same moment."""
    for door in doors:
        door.prepare()
    barrier = threading.Barrier(len(doors))

    def run(door: Door):
        try:
            barrier.wait(TIMEOUT)
            door.response = door.send()
        except BaseException as exc:  # reported below, in the test's thread
            door.error = exc

    threads = [threading.Thread(target=run, args=(door,)) for door in doors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    for door in doors:
        if door.error is not None:
            raise door.error
        assert door.response is not None


def _sign_in(http: requests.Session, base: str, username: str) -> None:
    login = http.get(f"{base}/login", timeout=TIMEOUT)
    signed_in = http.post(f"{base}/login", allow_redirects=False, timeout=TIMEOUT, data={
        "username": username, "password": "dutyline-demo", "csrf_token": _csrf(login.text)})
    assert signed_in.status_code in (302, 303), signed_in.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def _actions(session, case_id: int) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == case_id)
        .order_by(AuditEvent.id)))


def _fed_back_case(demo, people):
    """A case 王建国 handled, answered and fed back by phone: it waits for the liaison's rating."""
    wang = people["wang"]
    case = route_case(demo, CLOCK)
    acknowledge_case(demo, wang, case, CLOCK)
    handle_case(demo, wang, case, "", CLOCK, CALENDAR)
    answer_case(demo, wang, case, "已协调药店补货", CLOCK)
    record_feedback(demo, wang, case, "phone", "", CLOCK, SMS)
    demo.commit()
    return case


# ---------------------------------------------------------------- item 1: one winner
def test_two_transfers_to_different_units_one_wins(server, demo, people, tokens):
    case = route_case(demo, CLOCK)
    units = people["units"]
    doors = [ApiDoor(server, tokens["wang"], case.number, "transfer", {"unit_id": unit.id})
             for unit in (units["城关镇卫生院"], units["县人民医院"]) * 2]
    race(*doors)

    assert sorted(door.won() for door in doors) == [False, False, False, True]
    winner = next(door for door in doors if door.won())
    actions = _actions(demo, case.id)
    assert actions.count("case.transferred") == 1
    assignments = demo.scalars(select(CaseAssignment).where(CaseAssignment.case_id == case.id)).all()
    assert [a.unit_id for a in assignments] == [winner.body["unit_id"]]


def test_two_offices_recording_a_decision_at_once_one_wins(server, demo, people, tokens):
    case = route_case(demo, CLOCK)
    escalate_case(demo, people["wang"], case, "bureau_meeting", "涉及多个单位", CLOCK)
    demo.commit()
    units = people["units"]
    today = CLOCK.local(CLOCK.now()).date().isoformat()
    doors = [ApiDoor(server, tokens["sup"], case.number, "decision", {
        "text": f"决定{n}", "decided_at": today, "decided_by": "局务会议",
        "implementations": [{"unit_id": unit.id}]})
        for n, unit in enumerate((units["城关镇卫生院"], units["县人民医院"]))]
    doors.append(PageDoor(server, "admin", case.id, "decision", {
        "text": "页面上的决定", "decided_at": today, "decided_by": "局务会议",
        "unit_id": str(units["县人民医院"].id), "deadline": ""}))
    race(*doors)

    assert sorted(door.won() for door in doors) == [False, False, True]
    assert _actions(demo, case.id).count("case.decision_recorded") == 1
    demo.refresh(case)
    assert case.status.value == "implementing" and len(case.decisions) == 1
    assert len(case.implementations) == 1
    assert len(demo.scalars(select(CaseAssignment).where(
        CaseAssignment.case_id == case.id)).all()) == 1


def test_two_ratings_one_wins(server, demo, people, tokens):
    case = _fed_back_case(demo, people)
    doors = [ApiDoor(server, tokens["duty"], case.number, "rate", {"rating": "satisfied"}),
             ApiDoor(server, tokens["wang"], case.number, "rate", {"rating": "dissatisfied"})]
    race(*doors)

    assert sorted(door.won() for door in doors) == [False, True]
    winner = next(door for door in doors if door.won())
    actions = _actions(demo, case.id)
    rated = [a for a in actions if a in ("case.closed", "case.rated_dissatisfied")]
    expected = "case.closed" if winner.body["rating"] == "satisfied" else "case.rated_dissatisfied"
    assert rated == [expected]
    demo.refresh(case)
    assert case.satisfaction.value == winner.body["rating"]


def test_rating_sms_3_and_1_at_once_count_once(server, demo, people):
    case = _fed_back_case(demo, people)
    doors = [SmsDoor(server, LIAISON, body) for body in ("3", "1", "3", "1")]
    race(*doors)

    replies = [door.reply for door in doors]
    counted = [door for door, reply in zip(doors, replies) if "已有评价" not in reply]
    assert len(counted) == 1, replies
    assert all(reply == f"案件{case.number}已有评价，本次回复未重复记录。"
               for door, reply in zip(doors, replies) if door is not counted[0])
    actions = _actions(demo, case.id)
    assert len([a for a in actions if a in ("case.closed", "case.rated_dissatisfied")]) == 1
    demo.refresh(case)
    assert case.satisfaction.value == {"1": "satisfied", "3": "dissatisfied"}[
        counted[0].params["Body"]]
    # Every message is kept, once, with what it did.
    outcomes = sorted(demo.scalars(select(InboundMessage.outcome)))
    assert outcomes.count("rated") == 1 and len(outcomes) == 4


def test_acknowledge_from_page_api_and_sms_at_once(server, demo, people, tokens):
    case = route_case(demo, CLOCK)
    page = PageDoor(server, "wang", case.id, "acknowledge")
    api = ApiDoor(server, tokens["wang"], case.number, "acknowledge")
    sms = SmsDoor(server, LEADER, f"1 {case.number}")
    race(page, api, sms)

    sms_won = sms.reply == f"已确认收到案件{case.number}。"
    if not sms_won:
        assert sms.reply == f"案件{case.number}已确认收到，无需再回复。"
    assert [page.won(), api.won(), sms_won].count(True) == 1
    assert _actions(demo, case.id).count("case.acknowledged") == 1
    demo.refresh(case)
    assert case.status.value == "acknowledged"


def test_two_officers_confirm_one_call_one_case(server, demo, people):
    from tests.dashboard_support import make_call

    call = make_call(demo, LIAISON)
    doors = [ConfirmDoor(server, username, call.id, {
        "caller_name": "张伟", "liaison_id": str(call.liaison_id), "summary": "药店没有降压药"})
        for username in ("duty", "admin")]
    race(*doors)

    assert [door.response.status_code for door in doors] == [302, 302]
    assert demo.scalar(select(func.count()).select_from(Case).where(Case.call_id == call.id)) == 1
    # The winner lands on the new case; the loser is sent back to the call, with a flash.
    landed = sorted(door.response.headers["Location"].split("/")[1] for door in doors)
    assert landed == ["calls", "cases"]


class ConfirmDoor(Door):
    """A duty officer's call page and its confirm form."""

    def __init__(self, base, username, call_id, fields):
        super().__init__(base)
        self.username, self.call_id, self.fields = username, call_id, fields

    def prepare(self):
        _sign_in(self.http, self.base, self.username)
        page = self.http.get(f"{self.base}/calls/{self.call_id}", timeout=TIMEOUT)
        assert page.status_code == 200
        self.fields["csrf_token"] = _csrf(page.text)

    def send(self):
        return self.http.post(f"{self.base}/calls/{self.call_id}/confirm", data=self.fields,
                              allow_redirects=False, timeout=TIMEOUT)


# ---------------------------------------------------------------- item 2: case numbers
def test_concurrent_creators_get_consecutive_numbers(server, demo, people, tokens):
    clients, per_client = 6, 8
    year = datetime.now(ZoneInfo(TZ)).year
    statuses: list[int] = []
    numbers: list[str] = []
    lock = threading.Lock()

    class CreateDoor(Door):
        def send(self):
            for i in range(per_client):
                response = self.http.post(
                    f"{self.base}/api/v1/cases", timeout=TIMEOUT,
                    headers={"Authorization": f"Bearer {tokens['duty']}"},
                    json={"caller_name": "张伟", "caller_phone": LIAISON, "channel": "phone",
                          "content": f"第{i}件：村卫生室没有降压药"})
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 201:
                        numbers.append(response.json()["number"])
            return response

    race(*(CreateDoor(server) for _ in range(clients)))

    assert statuses == [201] * (clients * per_client)
    expected = [f"{year}-{value:06d}" for value in range(1, clients * per_client + 1)]
    assert sorted(numbers) == expected
    stored = sorted(demo.scalars(select(Case.number)))
    assert stored == expected


# ---------------------------------------------------------------- every action is a claim
def _routed(demo, people):
    return route_case(demo, CLOCK)


def _handling(demo, people):
    case = route_case(demo, CLOCK)
    handle_case(demo, people["wang"], case, "", CLOCK, CALENDAR)
    return case


def _extended(demo, people):
    case = _handling(demo, people)
    extend_deadline(demo, people["sup"], case, case.deadline_at + timedelta(days=2), "等待化验",
                    CLOCK)
    return case


def _transferred(demo, people):
    case = route_case(demo, CLOCK)
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, CLOCK, CALENDAR,
                  SMS)
    return case


def _result_filed(demo, people):
    case = _transferred(demo, people)
    file_result(demo, people["cg"], case, result_form(), CLOCK, scan_required=False)
    return case


def _answered(demo, people):
    case = _handling(demo, people)
    answer_case(demo, people["wang"], case, "已协调药店补货", CLOCK)
    return case


ACTIONS = {
    "acknowledge": (_routed, lambda s, p, c: acknowledge_case(s, p["wang"], c, CLOCK)),
    "handle": (_routed, lambda s, p, c: handle_case(s, p["wang"], c, "", CLOCK, CALENDAR)),
    "transfer": (_routed, lambda s, p, c: transfer_case(
        s, p["wang"], c, p["units"]["县人民医院"].id, CLOCK, CALENDAR, SMS)),
    "escalate": (_routed, lambda s, p, c: escalate_case(
        s, p["wang"], c, "bureau_meeting", "涉及多个单位", CLOCK)),
    "extend": (_handling, lambda s, p, c: extend_deadline(
        s, p["sup"], c, c.deadline_at + timedelta(days=1), "等待化验", CLOCK)),
    "overrule": (_extended, lambda s, p, c: overrule_extension(s, p["sup"], c, "理由不足", CLOCK)),
    "result": (_transferred, lambda s, p, c: file_result(s, p["cg"], c, result_form(), CLOCK, scan_required=False)),
    "accept": (_result_filed, lambda s, p, c: accept_result(s, p["sup"], c, CLOCK)),
    "return": (_result_filed, lambda s, p, c: return_result(
        s, p["sup"], c, "format", "缺少公章页", CLOCK, CALENDAR, SMS)),
    "answer": (_handling, lambda s, p, c: answer_case(s, p["wang"], c, "已办结", CLOCK)),
    "feedback": (_answered, lambda s, p, c: record_feedback(s, p["wang"], c, "phone", "", CLOCK, SMS)),
    "rate": (_fed_back_case, lambda s, p, c: rate_case(
        s, p["duty"], c, "satisfied", CLOCK, CALENDAR, SMS)),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_on_a_case_that_changed_since_it_was_read_is_a_conflict(
        action, demo, people, session_factory):
    prepare, act = ACTIONS[action]
    case = prepare(demo, people)
    demo.commit()
    # Another request reads the case, as a door does before it acts...
    reader = session_factory()
    try:
        seen = reader.get(Case, case.id)
        _ = (seen.status, seen.version, seen.deadline_changes, seen.assignments, seen.results)
        events = demo.scalar(select(func.count()).select_from(AuditEvent))
        # ...and meanwhile someone else's action commits (every action bumps the version).
        claim_case(demo, case)
        demo.commit()
        with pytest.raises(Conflict) as refused:
            act(reader, people, seen)
        assert refused.value.code == "conflict"
        reader.rollback()
    finally:
        reader.close()
    demo.expire_all()
    assert demo.scalar(select(func.count()).select_from(AuditEvent)) == events
