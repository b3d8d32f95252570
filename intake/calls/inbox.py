"""The duty room's inbox and who may see which call or case."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, exists, func, or_, select, union_all
from sqlalchemy.orm import Session, joinedload

from intake.rules.access import visible, visible_cases_clause
from intake.store.database import LIKE_ESCAPE, contains_pattern
from intake.store.search_index import (MIN_INDEXED_CHARS, indexed_text_matching,
                                       short_text_matching)
from intake.exceptions import NotFound
from intake.store.models import Call, Case, CaseAssignment, Liaison, Notification
from intake.statuses import WORKING_STATES, CallStatus, CaseStatus, ImplementationStatus, Role

PAGE_SIZE = 50
INBOX_STATES = (
    CallStatus.RINGING, CallStatus.RECORDED, CallStatus.QUEUED, CallStatus.TRANSCRIBING,
    CallStatus.DRAFT, CallStatus.FAILED, CallStatus.NO_MESSAGE,
)
STAFF_ROLES = (Role.ADMIN, Role.DUTY, Role.SUPERVISOR)
# A search with at least this many candidates walks the newest-first index instead of
# sorting them: at 500,000 calls, 2,000 matches are one in 250, a page 13,000 rows in.
MANY_CALLS = 2000
# States a duty officer reviews and may confirm, in the order "next draft" walks them.
REVIEWABLE_STATES = (CallStatus.DRAFT, CallStatus.FAILED, CallStatus.NO_MESSAGE)


@dataclass
class InboxPage:
    calls: list[Call]
    page: int
    has_next: bool


def list_inbox(session: Session, *, state: str | None = None, query: str = "",
               day: date | None = None, page: int = 1, tz=timezone.utc) -> InboxPage:
    """Return one page of calls, urgent first, newest first.

    Without a state the page holds the open (unconfirmed) calls, except for a search, which
    looks through calls in every state: someone searching for a caller wants their
    confirmed calls too.
    """
    stmt = select(Call).options(joinedload(Call.liaison), joinedload(Call.leader),
                                joinedload(Call.case))
    if state == "all":
        pass
    elif state:
        stmt = stmt.where(Call.status == CallStatus(state))
    elif not query.strip():
        stmt = stmt.where(Call.status.in_(INBOX_STATES))
    if day is not None:
        start = datetime.combine(day, time(0), tzinfo=tz)
        stmt = stmt.where(Call.started_at >= start, Call.started_at < start + timedelta(days=1))
    urgent_first = Call.urgent.desc()
    if query.strip():
        query = query.strip()
        candidates = _candidates(session, query)
        if candidates is not None:
            # The ids go in as a list: given the index's subquery instead, PostgreSQL plans
            # a scan of calls testing every row and joins the index's answer afterwards.
            stmt = stmt.where(Call.id.in_(candidates), _matches_query(query))
            # The index narrows a search to few rows: sorting them beats walking the order
            # index across the whole table, which both planners otherwise pick. Sorting on
            # an expression keeps them off that index.
            urgent_first = func.coalesce(Call.urgent, False).desc()
        else:
            # MANY_CALLS candidates (a common character, a name of liaisons with thousands of
            # calls): such a query matches many calls, so walking the order index newest
            # first meets a page of them early, where sorting them all would not. The
            # conditions are the same exact ones as the indexed path's.
            stmt = stmt.where(_matches_query(query))
    stmt = stmt.order_by(urgent_first, Call.started_at.desc(), Call.id.desc())
    page = max(page, 1)
    rows = list(session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return InboxPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def _indexable(query: str) -> bool:
    return len(query.replace(" ", "")) >= MIN_INDEXED_CHARS


def _candidates(session: Session, query: str) -> list[int] | None:
    """The ids of calls that may match `query`, found through indexes; _matches_query decides.
    None when there are MANY_CALLS or more (the caller walks the newest-first index).

    Each branch finds a superset of the calls its condition in _matches_query matches: the
    trigram index for the transcript (spaced and unspaced), the correction and the number (a
    query of one or two characters: the index of short text, for the transcript and the
    correction; a number needs three digits), the small liaisons table and
    ix_calls_liaison_started for a name, the unique reference.
    """
    dialect = session.get_bind().dialect.name
    text_ids = _text_candidates(dialect, query)
    if text_ids is None:
        return None
    # UNION ALL with a limit stops reading at MANY_CALLS (a repeated id only counts early).
    found = list(session.scalars(union_all(
        *text_ids,
        select(Call.id).where(Call.liaison_id.in_(
            select(Liaison.id).where(Liaison.name.ilike(contains_pattern(query),
                                                        escape=LIKE_ESCAPE)))),
        select(Call.id).where(Call.reference == query)).limit(MANY_CALLS)))
    return None if len(found) >= MANY_CALLS else sorted(set(found))


def _text_candidates(dialect: str, query: str):
    """SELECTs of ids whose text may match `query`, or None when no index can tell."""
    if not _indexable(query):
        # PostgreSQL's index of characters cannot tell order: the exact text conditions go
        # with it, so that a pair of common characters apart counts as few candidates.
        return short_text_matching(dialect, query, exact=_matches_text(query))
    digits = "".join(ch for ch in query if ch.isdigit())
    needles = {query, query.replace(" ", "")}
    if len(digits) >= MIN_INDEXED_CHARS:
        needles.add(digits)
    return [indexed_text_matching(dialect, sorted(needles))]


def _matches_query(query: str):
    """Match a phone number, a liaison's name, a reference or any words of the transcript."""
    like = contains_pattern(query)
    digits = "".join(ch for ch in query if ch.isdigit())
    matches = [_matches_text(query),
               Call.reference == query,
               Call.liaison_id.in_(select(Liaison.id).where(Liaison.name.ilike(like, escape=LIKE_ESCAPE)))]
    if len(digits) >= 3:
        matches.append(Call.from_number.like(f"%{digits}%"))
    return or_(*matches)


def _matches_text(query: str):
    """Match the transcript or the correction."""
    like = contains_pattern(query)
    unspaced = contains_pattern(query.replace(" ", ""))
    # Vosk writes Mandarin with spaces between words ("药 店 没 有 药"); a person types
    # "药店没有药", so the unspaced transcript is searched too.
    return or_(Call.transcript_text.ilike(like, escape=LIKE_ESCAPE),
               Call.transcript_corrected.ilike(like, escape=LIKE_ESCAPE),
               func.replace(Call.transcript_text, " ", "").ilike(unspaced, escape=LIKE_ESCAPE))


def next_call_to_review(session: Session, after_call_id: int | None = None) -> Call | None:
    """Return the call a duty officer should review next: urgent first, then oldest."""
    stmt = select(Call).where(Call.status.in_(REVIEWABLE_STATES))
    if after_call_id is not None:
        stmt = stmt.where(Call.id != after_call_id)
    return session.scalar(stmt.order_by(Call.urgent.desc(), Call.started_at, Call.id).limit(1))


def can_see_call(user, call: Call) -> bool:
    """Staff see every call; a leader sees calls routed or linked to them."""
    if user.role in STAFF_ROLES:
        return True
    if user.role == Role.LEADER and user.leader_id is not None:
        return call.leader_id == user.leader_id or (
            call.case is not None and call.case.leader_id == user.leader_id)
    return call.case is not None and visible(user, call.case)


def can_see_case(user, case: Case) -> bool:
    """Tell whether a user may see a case (the permission table's "view")."""
    return visible(user, case)


def get_visible_call(session: Session, user, call_id: int) -> Call:
    """Return a call the user may see; NotFound otherwise, so ids cannot be probed."""
    call = session.get(Call, call_id)
    if call is None or not (can_see_call(user, call) or _was_alerted(session, user, call)):
        raise NotFound(f"call {call_id}")
    return call


def _was_alerted(session: Session, user, call: Call) -> bool:
    # An urgent alert goes to every on-duty leader, not only the caller's own, with a link
    # to the call: whoever was sent that link may open it.
    if user.role != Role.LEADER or user.leader_id is None:
        return False
    return session.scalar(select(Notification.id).where(
        Notification.call_id == call.id, Notification.leader_id == user.leader_id).limit(1)
    ) is not None


def get_visible_case(session: Session, user, case_id: int) -> Case:
    """Return a case the user may see; NotFound otherwise, so ids cannot be probed."""
    case = session.get(Case, case_id)
    if case is None or not can_see_case(user, case):
        raise NotFound(f"case {case_id}")
    return case


def list_visible_cases(session: Session, user, limit: int = 100, *,
                       status: CaseStatus | None = None, unit_id: int | None = None,
                       overdue_at: datetime | None = None) -> list[Case]:
    """Return the cases a user may see, newest first, optionally filtered.

    Args:
        status: only cases in this state.
        unit_id: only cases ever assigned to this unit.
        overdue_at: only cases still being worked on whose deadline is before this moment,
            answered ones whose feedback deadline is, and decisions a unit is late carrying out.
    """
    stmt = select(Case).where(visible_cases_clause(user))
    if status is not None:
        stmt = stmt.where(Case.status == CaseStatus(status))
    if unit_id is not None:
        stmt = stmt.where(exists(select(CaseAssignment.id).where(
            CaseAssignment.case_id == Case.id, CaseAssignment.unit_id == unit_id)))
    if overdue_at is not None:
        stmt = stmt.where(or_(
            and_(Case.status.in_(WORKING_STATES), Case.deadline_at < overdue_at),
            # An answered case whose feedback to the liaison is late is overdue too.
            and_(Case.status == CaseStatus.ANSWERED, Case.feedback_due_at < overdue_at),
            # So is a decision one of whose units owes its result past its own deadline
            # (Case.is_overdue says the same for one case).
            and_(Case.status == CaseStatus.DECISION_IMPLEMENTING, exists(
                select(CaseAssignment.id).where(
                    CaseAssignment.case_id == Case.id, CaseAssignment.decision_id.is_not(None),
                    CaseAssignment.implementation_status == ImplementationStatus.ASSIGNED,
                    CaseAssignment.due_at < overdue_at)))))
    return list(session.scalars(stmt.order_by(Case.id.desc()).limit(limit)))
