"""The kept per-case facts (intake.store.case_facts) give exactly the figures that recounting
the history gives, on random histories with transfers, reassignments, redos, extensions,
overrules (a date set after the deadline it replaced had passed) and decisions carried out by
units (implementations accepted, returned, redone, late; a second decision after a rating),
and they are right the moment after an action, before any commit."""
from __future__ import annotations

import random
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select

from intake.reports.rates import Grouping, Period, compute_rates, compute_trend
from intake.statuses import (CaseStatus, DeadlineKind, ImplementationStatus, Satisfaction,
                             UnitKind)
from intake.store.case_facts import rebuild_case_facts, rebuild_fact_days
from intake.store.database import make_engine, make_session_factory, upgrade_database
from intake.store.models import (Case, CaseAnswerDay, CaseAssignment, CaseDecision, CaseFactDay,
                                 CaseFacts, CaseUnitFacts, DeadlineChange, Unit)
from intake.time.calendar import load_calendar
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade

PERIOD = Period(date(2026, 3, 1), date(2026, 5, 31))
SPAN_START = datetime(2026, 2, 20, tzinfo=timezone.utc)  # some cases before the period
SPAN_DAYS = 110  # and some after it


def _figures(session, now, recount: bool) -> dict:
    calendar = load_calendar(session)
    out = {}
    for grouping in Grouping:
        out[grouping.value or "total"] = compute_rates(
            session, PERIOD, now=now, calendar=calendar, grouping=grouping,
            recount=recount).to_json()
    units = list(session.scalars(select(Unit).order_by(Unit.id)))
    out["one_unit"] = compute_rates(session, PERIOD, now=now, calendar=calendar,
                                    unit=units[0], recount=recount).to_json()
    out["trend"] = [(p.start.isoformat(), f.to_json()) for p, f in compute_trend(
        session, date(2026, 6, 1), now=now, calendar=calendar, months=5, recount=recount)]
    return out


def _random_history(session, rng: random.Random, units: list[Unit], n: int) -> list[Case]:
    cases = []
    for i in range(n):
        received = SPAN_START + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))
        deadline = None if rng.random() < 0.1 else received + timedelta(days=rng.randint(0, 6),
                                                                       hours=8)
        case = Case(number=f"2026-{i + 1:06d}", caller_name="联络员", created_at=received,
                    routed_at=received, deadline_at=deadline, status=CaseStatus.HANDLING)
        session.add(case)
        session.flush()
        moment = received
        assignments: list[CaseAssignment] = []
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):  # transfers and reassignments
            moment += timedelta(hours=rng.randint(1, 40))
            assignment = CaseAssignment(
                case_id=case.id, unit_id=rng.choice(units).id, assigned_at=moment,
                assigned_by="test",
                due_at=None if rng.random() < 0.1 else moment + timedelta(days=rng.randint(1, 5)))
            if rng.random() < 0.7:
                assignment.result_at = moment + timedelta(hours=rng.randint(2, 150))
            if rng.random() < 0.3:  # redo: returned for format/quality, or the liaison
                assignment.returns = rng.randint(1, 3)
                assignment.dissatisfied_redos = rng.randint(0, 1)
            session.add(assignment)
            assignments.append(assignment)
            case.status = CaseStatus.TRANSFERRED
        if rng.random() < 0.3 and case.deadline_at is not None:  # an extension, maybe late
            old = case.deadline_at
            changed = old + timedelta(hours=rng.choice([-30, -2, 3, 50]))
            case.deadline_at = old + timedelta(days=rng.randint(1, 5))
            session.add(DeadlineChange(case_id=case.id, kind=DeadlineKind.EXTENSION,
                                       old_deadline=old, new_deadline=case.deadline_at,
                                       changed_by="supervision", changed_at=changed))
        if rng.random() < 0.1:  # a deadline rule change, not an extension: counts nothing
            session.add(DeadlineChange(case_id=case.id, kind=DeadlineKind.FEEDBACK,
                                       old_deadline=case.deadline_at, new_deadline=None,
                                       changed_by="x", changed_at=moment + timedelta(days=9)))
        if rng.random() < 0.2:  # escalated: the meeting's decision, carried out by units
            for _ in range(rng.choice([1, 1, 1, 2])):  # a rating may bring a second decision
                moment += timedelta(hours=rng.randint(1, 60))
                _decide(session, rng, case, units, moment)
            if all(i.implementation_status == ImplementationStatus.ACCEPTED
                   for i in case.implementations) and rng.random() < 0.7:
                case.answered_at = moment + timedelta(days=rng.randint(1, 8))
                case.status = rng.choice([CaseStatus.ANSWERED, CaseStatus.FED_BACK,
                                          CaseStatus.CLOSED])
                if case.status != CaseStatus.ANSWERED:
                    case.fed_back_at = case.answered_at + timedelta(hours=rng.randint(1, 60))
                    case.satisfaction = rng.choice(list(Satisfaction))
            cases.append(case)
            session.flush()
            continue
        ending = rng.random()
        if ending < 0.75:
            case.answered_at = moment + timedelta(hours=rng.randint(1, 24 * 9))
            case.status = CaseStatus.ANSWERED
            if rng.random() < 0.8:
                case.feedback_due_at = case.answered_at + timedelta(days=rng.randint(0, 2))
            if rng.random() < 0.7:
                case.fed_back_at = case.answered_at + timedelta(hours=rng.randint(1, 60))
                case.status = rng.choice([CaseStatus.FED_BACK, CaseStatus.CLOSED])
                if case.status == CaseStatus.CLOSED or rng.random() < 0.2:
                    case.satisfaction = rng.choice(list(Satisfaction))
        elif ending < 0.8 and assignments:  # answered without an answer time on file
            case.status = CaseStatus.ANSWERED
        cases.append(case)
        session.flush()
    return cases


def _decide(session, rng: random.Random, case: Case, units: list[Unit], moment: datetime) -> None:
    """Record a decision with one to three implementations in random states."""
    decision = CaseDecision(case=case, text="整改", decided_at=moment.date(), decided_by="局务会议",
                            decided_in=CaseStatus.BUREAU_MEETING, recorded_at=moment)
    session.add(decision)
    for unit in rng.sample(units, rng.randint(1, 3)):
        implementation = CaseAssignment(
            case=case, unit_id=unit.id, decision=decision, assigned_at=moment, assigned_by="t",
            due_at=None if rng.random() < 0.05 else moment + timedelta(days=rng.randint(1, 6)),
            implementation_status=ImplementationStatus.ASSIGNED)
        state = rng.randrange(5)
        if state:  # a result filed on time or late; then returned, waiting or accepted
            implementation.result_at = moment + timedelta(hours=rng.randint(2, 200))
            implementation.implementation_status = (
                ImplementationStatus.ASSIGNED, ImplementationStatus.RESULT_FILED,
                ImplementationStatus.ACCEPTED, ImplementationStatus.ACCEPTED)[state - 1]
            if state == 1:
                implementation.returns = rng.randint(1, 2)
        session.add(implementation)
    case.status = CaseStatus.DECISION_IMPLEMENTING
    session.flush()


def _implementation_action(session, rng: random.Random, case: Case, units: list[Unit]) -> None:
    """A unit files, the office returns or accepts, or the case gets another decision."""
    implementations = [a for a in case.assignments if a.decision_id is not None]
    if not implementations or rng.random() < 0.25:
        _decide(session, rng, case, units, case.created_at + timedelta(days=rng.randint(1, 20)))
        return
    implementation = rng.choice(implementations)
    status = implementation.implementation_status
    if status == ImplementationStatus.ASSIGNED:  # filed (again), maybe late
        implementation.result_at = implementation.assigned_at + timedelta(
            hours=rng.choice([5, 30, 200]))
        implementation.implementation_status = ImplementationStatus.RESULT_FILED
    elif status == ImplementationStatus.RESULT_FILED and rng.random() < 0.5:  # returned
        implementation.implementation_status = ImplementationStatus.ASSIGNED
        implementation.returns = (implementation.returns or 0) + 1
    else:
        implementation.implementation_status = ImplementationStatus.ACCEPTED


def _later_actions(session, rng: random.Random, cases: list[Case], units: list[Unit]) -> None:
    """Actions on cases already on file: each flush must rewrite their facts."""
    for case in rng.sample(cases, len(cases) // 4):
        action = rng.randrange(7)
        if action >= 5:
            _implementation_action(session, rng, case, units)
        elif action == 0 and case.assignments:  # the liaison is dissatisfied: redo
            case.status = CaseStatus.TRANSFERRED
            case.satisfaction = Satisfaction.DISSATISFIED
            case.assignments[-1].dissatisfied_redos = (case.assignments[-1].dissatisfied_redos
                                                       or 0) + 1
        elif action == 1:  # reassigned to another unit
            session.add(CaseAssignment(case_id=case.id, unit_id=rng.choice(units).id,
                                       assigned_at=case.created_at + timedelta(days=3),
                                       assigned_by="test",
                                       due_at=case.created_at + timedelta(days=6)))
            case.status = CaseStatus.TRANSFERRED
        elif action == 2 and case.deadline_at is not None:  # overruled after the deadline
            session.add(DeadlineChange(case_id=case.id, kind=DeadlineKind.EXTENSION,
                                       old_deadline=case.deadline_at,
                                       new_deadline=case.deadline_at + timedelta(days=3),
                                       changed_by="supervision",
                                       changed_at=case.deadline_at + timedelta(hours=1)))
            case.deadline_at += timedelta(days=3)
        elif action == 3:  # a result comes in
            for assignment in case.assignments[-1:]:
                assignment.result_at = assignment.assigned_at + timedelta(hours=20)
                case.status = CaseStatus.HANDLING
        else:  # rated
            case.satisfaction = rng.choice(list(Satisfaction))
        session.flush()
    unit = rng.choice(units)  # a unit moves to the other kind
    unit.kind = UnitKind.COUNTY if unit.kind == UnitKind.TOWNSHIP else UnitKind.TOWNSHIP
    session.flush()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_facts_give_the_figures_recounting_the_history_gives(db_session, seed):
    rng = random.Random(seed)
    units = [Unit(name=f"单位{i}", kind=UnitKind.TOWNSHIP if i % 3 else UnitKind.COUNTY)
             for i in range(5)]
    db_session.add_all(units)
    db_session.flush()
    cases = _random_history(db_session, rng, units, 160)
    moments = [datetime(2026, 4, 15, tzinfo=timezone.utc), datetime(2026, 7, 1, tzinfo=timezone.utc)]
    for now in moments:
        assert _figures(db_session, now, recount=False) == _figures(db_session, now, recount=True)
    _later_actions(db_session, rng, cases, units)
    # Not committed: the figure must be right the moment after the action.
    for now in moments:
        facts = _figures(db_session, now, recount=False)
        assert facts == _figures(db_session, now, recount=True)
    total = facts["total"]["total"]  # the figures compared above are not all zeros
    assert total["received"] > 50 and total["transferred_due"] > 10 and total["rated"] > 5
    assert 0 < total["answered_on_time"] < total["completed"]
    assert 0 < total["on_time"] < total["transferred_due"]
    assert total["average_working_days"] > 0
    assert any(row["returns_in_row"] for row in facts["unit"]["rows"])
    # Decisions were among the histories: a case counted once for each of its units.
    carried_out = db_session.scalars(select(Case).join(CaseDecision)).unique().all()
    assert len({a.unit_id for c in carried_out for a in c.assignments
                if a.decision_id is not None}) > 1
    assert any(len({a.unit_id for a in c.implementations}) > 1 for c in carried_out)
    # A report in a zone other than the bureau's sums the fact rows, not the day sums.
    elsewhere = {"tz": "Europe/London", "now": moments[1], "calendar": load_calendar(db_session),
                 "grouping": Grouping.UNIT}
    assert compute_rates(db_session, PERIOD, **elsewhere).to_json() == compute_rates(
        db_session, PERIOD, recount=True, **elsewhere).to_json()
    db_session.commit()
    # And a rebuild from scratch (the migration's, the bench's) writes the same facts, and the
    # day sums the hook added up action by action are the sums of those facts.
    kept, days = _fact_rows(db_session), _day_rows(db_session)
    assert len(days[0]) > 100 and len(days[1]) > 100
    rebuild_case_facts(db_session.connection())
    assert _fact_rows(db_session) == kept
    rebuild_fact_days(db_session.connection())
    assert _day_rows(db_session) == days


def _fact_rows(session):
    return (sorted(tuple(r) for r in session.execute(select(CaseFacts.__table__))),
            sorted(tuple(r) for r in session.execute(select(CaseUnitFacts.__table__))))


def _day_rows(session):
    """The day sums, without rows an action took back to nothing (a rebuild writes none)."""
    return (sorted(tuple(r) for r in session.execute(select(CaseFactDay.__table__))
                   if any(r[3:])),
            sorted(tuple(r) for r in session.execute(select(CaseAnswerDay.__table__)) if r[-1]))


def test_an_action_undone_by_its_savepoint_leaves_the_day_sums_as_they_were(db_session):
    """The SMS reply path acts inside a savepoint that can roll back (intake.cases.replies)."""
    received = datetime(2026, 3, 10, 2, tzinfo=timezone.utc)
    case = Case(number="2026-000001", caller_name="x", status=CaseStatus.HANDLING,
                created_at=received, routed_at=received)
    db_session.add(case)
    db_session.commit()
    before = _day_rows(db_session)
    assert db_session.scalar(select(CaseFactDay.received).where(CaseFactDay.scope == "all")) == 1
    with pytest.raises(RuntimeError):
        with db_session.begin_nested():
            case.status, case.answered_at = CaseStatus.ANSWERED, received + timedelta(hours=3)
            db_session.flush()
            assert _day_rows(db_session) != before
            raise RuntimeError("the other action won")
    assert _day_rows(db_session) == before


def test_deleting_a_case_drops_its_facts(db_session):
    case = Case(number="2026-000001", caller_name="x", status=CaseStatus.HANDLING)
    db_session.add(case)
    db_session.flush()
    assert db_session.get(CaseFacts, case.id) is not None
    db_session.delete(case)
    db_session.flush()
    assert db_session.scalar(select(CaseFacts).where(CaseFacts.case_id == case.id)) is None


def test_the_migration_builds_the_facts_of_the_cases_on_file_with_their_decisions(tmp_path):
    """Revision 0017 computes the facts of the cases already on file, implementations too."""
    now = datetime(2026, 7, 1, tzinfo=timezone.utc)
    with _empty_database(tmp_path) as url:
        upgrade_database(url)
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                units = [Unit(name=f"单位{i}", kind=UnitKind.TOWNSHIP) for i in range(4)]
                session.add_all(units)
                session.flush()
                _random_history(session, random.Random(4), units, 60)
                session.commit()
                kept = _fact_rows(session)
                assert session.scalar(select(func.count()).where(
                    CaseAssignment.decision_id.is_not(None))) > 3
                days = _day_rows(session)
            _downgrade(url, "0016_notices_visits")
            assert "case_facts" not in inspect(engine).get_table_names()
            upgrade_database(url)
            with make_session_factory(engine)() as session:
                assert _fact_rows(session) == kept
                assert _day_rows(session) == days
                assert _figures(session, now, recount=False) == _figures(session, now,
                                                                           recount=True)
        finally:
            engine.dispose()


def test_actions_at_the_same_moment_on_cases_of_one_day_all_count(session_factory):
    """Four clients answer cases received the same day, each in its own transaction, at once:
    every answer reaches the day's sums (on PostgreSQL each upsert waits for the row another
    transaction holds and adds to it; SQLite lets one writer in at a time). A lost increment
    would leave the sums below a rebuild's."""
    received = datetime(2026, 3, 10, 2, tzinfo=timezone.utc)
    with session_factory() as session:
        ids = []
        for i in range(40):
            case = Case(number=f"2026-{i + 1:06d}", caller_name="x", status=CaseStatus.HANDLING,
                        created_at=received + timedelta(minutes=i), routed_at=received)
            session.add(case)
            session.flush()
            ids.append(case.id)
        session.commit()
    barrier = threading.Barrier(4)
    errors = []

    def answer(mine: list[int]) -> None:
        try:
            for case_id in mine:
                barrier.wait(timeout=30)  # the four actions start together
                with session_factory() as session:
                    case = session.get(Case, case_id)
                    case.status = CaseStatus.ANSWERED
                    case.answered_at = received + timedelta(hours=5)
                    session.flush()
                    time.sleep(0.02)  # hold the flushed change while the others flush theirs
                    session.commit()
        except Exception as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=answer, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    with session_factory() as session:
        kept = _day_rows(session)
        day = session.execute(select(CaseFactDay.received, CaseFactDay.completed)
                              .where(CaseFactDay.scope == "all")).all()
        assert [tuple(row) for row in day] == [(40, 40)]
        rebuild_fact_days(session.connection())
        assert _day_rows(session) == kept
        session.rollback()
