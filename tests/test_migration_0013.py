"""Revision 0013_decisions: cases the bureau meeting or the county answered before it get their
decision row from the escalation entry; transfers stay transfers; the revision downgrades."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from intake.cases.handling import answer_case
from intake.cases.supervision import escalate_case
from intake.cases.transfers import transfer_case
from intake.clock import FixedClock
from intake.directory.demo import seed_demo
from intake.store.database import make_engine, make_session_factory, upgrade_database
from intake.store.models import Case, CaseAssignment, CaseDecision, User
from intake.statuses import CaseStatus
from tests.case_support import CALENDAR, SMS, TZ, route_case
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade

# 23:30 UTC on 30 September is already 1 October in the bureau's zone: the date is local.
LATE = datetime(2026, 9, 30, 23, 30, tzinfo=timezone.utc)


def test_answered_escalations_become_decisions_and_transfers_stay_transfers(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                seed_demo(session)
                session.commit()
                wang = session.scalar(select(User).where(User.username == "wang"))
                clock = FixedClock(LATE - timedelta(days=2), TZ)
                meeting = route_case(session, clock)
                escalate_case(session, wang, meeting, "bureau_meeting", "涉及多个单位", clock)
                twice = route_case(session, clock)
                escalate_case(session, wang, twice, "bureau_meeting", "需研究", clock)
                escalate_case(session, wang, twice, "county", "需县政府协调", clock)
                waiting = route_case(session, clock)
                escalate_case(session, wang, waiting, "county", "尚未研究", clock)
                transferred = route_case(session, clock)
                transfer_case(session, wang, transferred, 1, clock, CALENDAR, SMS)
                session.commit()
                answer_case(session, wang, meeting, "局务会议决定统一配送", FixedClock(LATE, TZ))
                answer_case(session, wang, twice, "县政府决定新建站点", FixedClock(LATE, TZ))
                session.commit()
                ids = meeting.id, twice.id, waiting.id, transferred.id
            _downgrade(url, "0012_feedback_deadline")
            upgrade_database(url, "0013_decisions")
            # The models are the head's: read what 0013 moved once the later revisions ran too.
            upgrade_database(url)
            with make_session_factory(engine)() as session:
                decisions = {d.case_id: d for d in session.scalars(select(CaseDecision))}
                assert set(decisions) == {ids[0], ids[1]}
                first, second = decisions[ids[0]], decisions[ids[1]]
                assert (first.text, first.decided_by, first.decided_in) == (
                    "局务会议决定统一配送", "局务会议", CaseStatus.BUREAU_MEETING)
                assert first.decided_at == date(2026, 10, 1) and first.recorded_at == LATE
                # Escalated twice: the county answered it, not the meeting.
                assert (second.decided_by, second.decided_in) == ("县政府", CaseStatus.COUNTY)
                assert first.implementations == [] and first.recorded_by == "system:migration"
                assignment = session.scalar(select(CaseAssignment))
                assert assignment.case_id == ids[3] and assignment.decision_id is None
                assert assignment.implementation_status is None
                assert session.get(Case, ids[3]).assignment == assignment
                assert session.get(Case, ids[2]).decision is None
            _downgrade(url, "0012_feedback_deadline")
            upgrade_database(url)
        finally:
            engine.dispose()
