"""One winner on the registers of criticism and accountability (issue 17, "register decisions
have no compare-and-set"): two office users deciding one entry at once, over real HTTP against
the real gunicorn of tests/test_races.py, on SQLite and PostgreSQL.

Exactly one decision is kept. An API loser gets 409 `conflict`; a page loser is told on the
supervision home that someone else decided first. The entry's audit trail has one decision.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import select

from intake.clock import Clock
from intake.directory.tokens import issue_token
from intake.exceptions import Conflict
from intake.rules import censures
from intake.statuses import CensureGround, CensureKind, CensureStatus
from intake.store.audit import Actor
from intake.store.models import AuditEvent, Censure
from tests.case_support import TZ, add_people, route_case
from tests.test_races import TIMEOUT, Door, _csrf, _sign_in, race, server  # noqa: F401

CLOCK = Clock(TZ)
DECIDED_FIRST = "已有其他人先一步处理了此条记录"


@pytest.fixture
def people(demo, redis):
    return add_people(demo)


@pytest.fixture
def tokens(demo, people):
    issued = {}
    for name in ("sup", "duban"):
        _row, issued[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()
    return issued


def _proposal(demo, people) -> Censure:
    case = route_case(demo, CLOCK)
    censure = censures.propose_censure(
        demo, CensureKind.CRITICISM, CensureGround.LATE_UNEXPLAINED,
        key=f"race:{case.id}", facts=censures.late_unexplained_facts(case.number),
        now=datetime.now(timezone.utc), unit_id=people["units"]["城关镇卫生院"].id, cases=[case])
    demo.commit()
    return censure


class RegisterApiDoor(Door):
    """`POST /api/v1/criticisms/ID/DECISION` with the version read first (If-Match)."""

    def __init__(self, base, token, censure_id, decision):
        super().__init__(base)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.censure_id, self.decision = censure_id, decision

    def prepare(self):
        listed = self.http.get(f"{self.base}/api/v1/criticisms?status=proposed",
                               headers=self.headers, timeout=TIMEOUT)
        entry = next(c for c in listed.json()["criticisms"] if c["id"] == self.censure_id)
        self.headers["If-Match"] = f'"{entry["version"]}"'

    def send(self):
        return self.http.post(
            f"{self.base}/api/v1/criticisms/{self.censure_id}/{self.decision}",
            json={"reason": f"{self.decision} 理由"}, headers=self.headers, timeout=TIMEOUT)

    def won(self) -> bool:
        if self.response.status_code == 200:
            return True
        assert self.response.status_code == 409, self.response.text
        assert self.response.json()["error"]["code"] == "conflict"
        return False


class RegisterPageDoor(Door):
    """An office user's supervision home and one decision form on it."""

    def __init__(self, base, username, censure_id, decision):
        super().__init__(base)
        self.username, self.censure_id, self.decision = username, censure_id, decision

    def prepare(self):
        _sign_in(self.http, self.base, self.username)
        home = self.http.get(f"{self.base}/supervision", timeout=TIMEOUT).text
        form = home.split(f'/registers/{self.censure_id}/{self.decision}"')[1].split("</form>")[0]
        self.fields = {"csrf_token": _csrf(home), "reason": f"{self.decision} 理由",
                       "version": re.search(r'name="version" value="(\d+)"', form)[1]}

    def send(self):
        return self.http.post(f"{self.base}/registers/{self.censure_id}/{self.decision}",
                              data=self.fields, timeout=TIMEOUT)  # follows to the home page

    def won(self) -> bool:
        assert self.response.status_code == 200, self.response.text
        if DECIDED_FIRST in self.response.text:
            return False
        assert 'class="flash success"' in self.response.text, self.response.text
        return True


def _decisions(demo, censure_id: int) -> list[str]:
    demo.expire_all()
    return [action for action in demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "censures", AuditEvent.entity_id == censure_id)
        .order_by(AuditEvent.id)) if not action.endswith(".proposed")]


def test_two_office_users_deciding_one_proposal_one_wins(server, demo, people, tokens):
    censure = _proposal(demo, people)
    doors = [RegisterApiDoor(server, tokens["sup"], censure.id, "confirm"),
             RegisterApiDoor(server, tokens["duban"], censure.id, "dismiss"),
             RegisterPageDoor(server, "sup", censure.id, "dismiss"),
             RegisterPageDoor(server, "duban", censure.id, "confirm")]
    race(*doors)

    assert sorted(door.won() for door in doors) == [False, False, False, True]
    winner = next(door for door in doors if door.won())
    decisions = _decisions(demo, censure.id)
    assert decisions == [f"criticism.{ {'confirm': 'confirmed', 'dismiss': 'dismissed'}[winner.decision]}"]
    kept = demo.get(Censure, censure.id)
    assert kept.version == 2
    assert kept.decision_reason == f"{winner.decision} 理由"


def test_a_decision_on_an_entry_decided_since_it_was_read_is_a_conflict(demo, people):
    censure = _proposal(demo, people)
    seen = censure.version
    censures.confirm_censure(demo, people["sup"], censure, "属实", CLOCK, seen_version=seen)
    demo.commit()
    with pytest.raises(Conflict):
        censures.withdraw_censure(demo, people["duban"], censure, "撤销", CLOCK, seen_version=seen)
    demo.rollback()
    assert demo.get(Censure, censure.id).status is CensureStatus.CONFIRMED
    assert _decisions(demo, censure.id) == ["criticism.confirmed"]


def test_the_api_refuses_a_stale_if_match_on_a_register_entry_with_409(api, demo, people):
    censure = _proposal(demo, people)
    stale = {"If-Match": f'"{censure.version}"'}
    assert api("sup", "POST", f"/criticisms/{censure.id}/confirm", json={"reason": "属实"},
               headers=stale).status_code == 200
    late = api("sup", "POST", f"/criticisms/{censure.id}/withdraw", json={"reason": "撤销"},
               headers=stale)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "conflict"
    body_version = api("sup", "POST", f"/criticisms/{censure.id}/withdraw",
                       json={"reason": "撤销", "version": censure.version})
    assert body_version.status_code == 409
    assert api("sup", "POST", f"/criticisms/{censure.id}/withdraw",
               json={"reason": "撤销", "version": censure.version + 1}).status_code == 200
