"""Follow-up visits (回访) on the JSON API.

    GET  /api/v1/visits[?status=scheduled|done|cancelled]   without status: due today or overdue
    POST /api/v1/cases/NUMBER/visits        due_on, method, visitor_ids, note
    POST /api/v1/visits/ID/outcome          outcome (solved, partly_solved, came_back), outcome_note
    POST /api/v1/visits/ID/cancel           reason

The routes hang on the case API's blueprint (its authentication and its one error envelope);
each calls one function of intake.cases.visits, which checks the permission table.
"""
from __future__ import annotations

from flask import jsonify, request

from dashboard.api import _body, _case, _query, _text, _who, bp
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.cases import visits
from intake.exceptions import Conflict
from intake.rules.access import check
from intake.time.calendar import load_calendar
from web.services import get_clock, get_db, get_job_queue, get_settings, get_sms_context


def _json(visit) -> dict:
    record = visits.describe_visit(visit, get_settings().timezone, get_clock().today())
    record["case_status"] = visit.case.status.value
    return record


@bp.get("/visits")
def list_visits():
    """List follow-up visits on cases the caller may see: due or overdue, or by status."""
    args = _query()
    status = args.get("status") or None
    db = get_db()
    if status is None:
        rows = visits.list_due_visits(db, _who(), get_clock().today())
    else:
        rows = visits.list_visits(db, _who(), status=status)
    return jsonify({"visits": [_json(visit) for visit in rows], "count": len(rows)})


@bp.post("/cases/<number>/visits")
def schedule_visit(number: str):
    """Schedule a follow-up visit on a closed case: day, method, who goes."""
    case = _case(number)
    check(_who(), "schedule_visit", case)
    body = _body()
    ids = body.get("visitor_ids")
    if isinstance(ids, str):  # a form: comma-separated ids
        ids = [int(i) for i in ids.replace(",", " ").split() if i.isdigit()]
    plan = visits.VisitPlan(due_on=body.get("due_on"), method=_text(body, "method"),
                            visitor_ids=ids or [], note=_text(body, "note"))
    db = get_db()
    visit = visits.schedule_visit(db, _who(), case, plan, get_clock())
    db.commit()
    return jsonify(_json(visit)), 201


@bp.post("/visits/<int:visit_id>/outcome")
def record_visit_outcome(visit_id: int):
    """Record what the visit found; came_back reopens the case for redo."""
    db = get_db()
    visit = visits.get_visit(db, _who(), visit_id)
    check(_who(), "record_visit", visit.case)
    _expect_version(visit)
    body = _body()
    outcome = visits.record_visit_outcome(db, _who(), visit, _text(body, "outcome"),
                                          _text(body, "outcome_note"), get_clock(),
                                          load_calendar(db), get_sms_context(), via="api")
    commit_and_dispatch(db, QueuedWork(sms=outcome.sms), get_job_queue(), _who().actor)
    return jsonify(_json(visit))


@bp.post("/visits/<int:visit_id>/cancel")
def cancel_visit(visit_id: int):
    """Cancel a scheduled visit, with a reason."""
    db = get_db()
    visit = visits.get_visit(db, _who(), visit_id)
    check(_who(), "record_visit", visit.case)
    _expect_version(visit)
    body = _body()
    visits.cancel_visit(db, _who(), visit, _text(body, "reason"), get_clock())
    db.commit()
    return jsonify(_json(visit))


def _expect_version(visit) -> None:
    # `If-Match: "VERSION"` (the visit JSON's `version`): a client acting on a visit that
    # changed since it read it is refused as a conflict, like a case action.
    tag = (request.headers.get("If-Match") or "").strip().removeprefix("W/").strip('"')
    if tag.isdigit() and int(tag) != visit.version:
        raise Conflict("FollowUpVisit", visit.id, int(tag))


__all__ = ["list_visits", "schedule_visit", "record_visit_outcome", "cancel_visit"]
