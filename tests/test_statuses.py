"""The transition maps are explicit, and only move_status changes a status."""
import re
from pathlib import Path

import pytest

from intake.store.audit import SYSTEM
from intake.exceptions import InvalidTransition
from intake.store.models import AuditEvent, Call
from intake.statuses import CALL_TRANSITIONS, CASE_TRANSITIONS, CallStatus, CaseStatus
from intake.rules.transitions import move_status

ROOT = Path(__file__).resolve().parent.parent


def test_every_status_has_an_entry_in_its_map():
    assert set(CALL_TRANSITIONS) == set(CallStatus)
    assert set(CASE_TRANSITIONS) == set(CaseStatus)


def test_final_states_lead_nowhere():
    assert CALL_TRANSITIONS[CallStatus.CONFIRMED] == frozenset()


def test_a_closed_case_reopens_only_for_redo_as_after_a_dissatisfied_rating():
    # A follow-up visit (回访) that finds the problem back reopens a closed case to whoever
    # answered it, exactly where a dissatisfied rating sends a fed-back one.
    redo_targets = CASE_TRANSITIONS[CaseStatus.FED_BACK] - {CaseStatus.CLOSED}
    assert CASE_TRANSITIONS[CaseStatus.CLOSED] == redo_targets


def test_every_state_is_reachable_from_the_start():
    for transitions, start in ((CALL_TRANSITIONS, CallStatus.RINGING),
                               (CASE_TRANSITIONS, CaseStatus.ROUTED)):
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in transitions[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen == set(type(start))


def test_a_disallowed_move_raises_and_writes_nothing(db_session):
    call = Call(call_sid="CA1", reference="123456", status=CallStatus.RINGING)
    db_session.add(call)
    db_session.flush()
    with pytest.raises(InvalidTransition, match="ringing to confirmed"):
        move_status(db_session, call, CallStatus.CONFIRMED, SYSTEM, "call.confirmed")
    assert call.status == CallStatus.RINGING
    assert db_session.query(AuditEvent).count() == 0
    move_status(db_session, call, CallStatus.RECORDED, SYSTEM, "call.recorded")
    event = db_session.query(AuditEvent).one()
    assert (event.before, event.after["status"]) == ({"status": "ringing"}, "recorded")


def test_nothing_but_move_status_assigns_a_call_or_case_status():
    pattern = re.compile(r"\b(call|case)\.status\s*=[^=]")
    offenders = [str(p.relative_to(ROOT)) for package in ("intake", "ivr", "transcription",
                                                          "dashboard", "cli")
                 for p in (ROOT / package).rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
