"""The kept per-case facts (intake.store.case_facts) give exactly the figures that recounting
the history gives, on random histories with transfers, reassignments, redos, extensions and
overrules (a date set after the deadline it replaced had passed), and they are right the
moment after an action, before any commit."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.reports.rates import Grouping, Period, compute_rates, compute_trend
from intake.statuses import CaseStatus, DeadlineKind, Satisfaction, UnitKind
from intake.store.case_facts import rebuild_case_facts
from intake.store.models import Case, CaseAssignment, CaseFacts, CaseUnitFacts, DeadlineChange, Unit
from intake.time.calendar import load_calendar

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


def _later_actions(session, rng: random.Random, cases: list[Case], units: list[Unit]) -> None:
    """Actions on cases already on file: each flush must rewrite their facts."""
    for case in rng.sample(cases, len(cases) // 4):
        action = rng.randrange(5)
        if action == 0 and case.assignments:  # the liaison is dissatisfied: redo
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
    db_session.commit()
    # And a rebuild from scratch (the migration's, the bench's) writes the same facts.
    kept = _fact_rows(db_session)
    rebuild_case_facts(db_session.connection())
    assert _fact_rows(db_session) == kept


def _fact_rows(session):
    return (sorted(tuple(r) for r in session.execute(select(CaseFacts.__table__))),
            sorted(tuple(r) for r in session.execute(select(CaseUnitFacts.__table__))))


def test_deleting_a_case_drops_its_facts(db_session):
    case = Case(number="2026-000001", caller_name="x", status=CaseStatus.HANDLING)
    db_session.add(case)
    db_session.flush()
    assert db_session.get(CaseFacts, case.id) is not None
    db_session.delete(case)
    db_session.flush()
    assert db_session.scalar(select(CaseFacts).where(CaseFacts.case_id == case.id)) is None


def test_the_migration_builds_the_facts_of_the_cases_on_file(tmp_path):
    from sqlalchemy.orm import Session as PlainSession

    from intake.store.database import make_engine, upgrade_database
    from tests.test_migration_0002 import _empty_database

    with _empty_database(tmp_path) as url:
        upgrade_database(url, "0012_feedback_deadline")
        engine = make_engine(url)
        try:
            received = datetime(2026, 4, 1, 2, tzinfo=timezone.utc)
            with PlainSession(engine) as session:  # no facts hook: the table is not there yet
                unit = Unit(name="单位", kind=UnitKind.COUNTY)
                case = Case(number="2026-000001", caller_name="x", status=CaseStatus.CLOSED,
                            created_at=received, answered_at=received + timedelta(hours=5),
                            deadline_at=received + timedelta(days=1),
                            satisfaction=Satisfaction.SATISFIED)
                session.add_all([unit, case])
                session.flush()
                session.add(CaseAssignment(case_id=case.id, unit_id=unit.id, assigned_at=received,
                                           due_at=received + timedelta(days=1),
                                           result_at=received + timedelta(hours=3)))
                session.commit()
            upgrade_database(url)
            with PlainSession(engine) as session:
                facts = session.scalars(select(CaseFacts)).one()
                assert (facts.completed, facts.fed_back, facts.satisfied, facts.answered_on_time,
                        facts.transferred, facts.current_on_time) == (1, 1, 1, 1, 1, 1)
                unit_facts = session.scalars(select(CaseUnitFacts)).one()
                assert unit_facts.kind == UnitKind.COUNTY and unit_facts.on_time == 1
        finally:
            engine.dispose()
