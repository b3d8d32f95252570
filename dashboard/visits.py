"""Follow-up visits (回访) on screen: scheduled, recorded and cancelled from the case page.

Each view calls the one intake.cases.visits function the API calls, commits (dispatching the
SMS of a case reopened for redo), flashes and goes back to the case; bad input or a refused
move flashes the error's message and shows the case again with the refusal's status.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from dashboard.auth import current_user, login_required
from dashboard.errors import error_message
from dashboard.views import render_case_page
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.calls.inbox import get_visible_case
from intake.cases import visits
from intake.exceptions import Conflict, InvalidTransition, ValidationError
from intake.rules.access import principal_of
from intake.rules.lifecycle import Outcome
from intake.time.calendar import load_calendar
from web.services import get_clock, get_db, get_job_queue, get_sms_context

bp = Blueprint("visits", __name__)


def _who():
    return principal_of(current_user(), request.remote_addr)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _run(case_id: int, action, done: str, visit=None):
    """Run one visit action; commit and dispatch, or show the refusal on the case page."""
    db = get_db()
    try:
        seen = request.form.get("visit_version", type=int)
        if visit is not None and seen is not None and seen != visit.version:
            # The page showed a visit someone has recorded or cancelled since.
            raise Conflict("FollowUpVisit", visit.id, seen)
        outcome = action(db)
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        status = 409 if isinstance(exc, InvalidTransition) else 422
        return render_case_page(db, get_visible_case(db, current_user(), case_id)), status
    sms = outcome.sms if isinstance(outcome, Outcome) else []
    commit_and_dispatch(db, QueuedWork(sms=sms), get_job_queue(), _who().actor)
    flash(done, "success")
    return redirect(url_for("views.case_page", case_id=case_id) + "#visits", code=303)


@bp.post("/cases/<int:case_id>/visits")
@login_required()
def schedule(case_id: int):
    """Schedule a follow-up visit on a closed case."""
    case = get_visible_case(get_db(), current_user(), case_id)
    form = request.form
    plan = visits.VisitPlan(due_on=_day(form.get("due_on", "")), method=form.get("method", ""),
                            visitor_ids=[int(i) for i in form.getlist("visitor_ids") if i.isdigit()],
                            note=form.get("note", ""))
    return _run(case_id, lambda db: visits.schedule_visit(db, _who(), case, plan, get_clock()),
                _("The follow-up visit is scheduled; the visitors are reminded by SMS on the day."))


@bp.post("/visits/<int:visit_id>/outcome")
@login_required()
def record_outcome(visit_id: int):
    """Record what the visit found; a problem that came back reopens the case."""
    db = get_db()
    visit = visits.get_visit(db, _who(), visit_id)
    case_id = visit.case_id
    return _run(case_id, lambda db: visits.record_visit_outcome(
        db, _who(), visit, request.form.get("outcome", ""), request.form.get("outcome_note", ""),
        get_clock(), load_calendar(db), get_sms_context()),
        _("The visit's outcome is recorded."), visit)


@bp.post("/visits/<int:visit_id>/cancel")
@login_required()
def cancel(visit_id: int):
    """Cancel a scheduled visit, with a reason."""
    db = get_db()
    visit = visits.get_visit(db, _who(), visit_id)
    return _run(visit.case_id, lambda db: visits.cancel_visit(
        db, _who(), visit, request.form.get("reason", ""), get_clock()),
        _("The visit is cancelled."), visit)
