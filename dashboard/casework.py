"""Case actions on screen: one form per action of design.md's case API.

Each view parses the form, calls the one intake function for that action, commits and
dispatches the queued SMS (intake.calls.dispatch.commit_and_dispatch), and redirects to the case
with a flash. A refused move (409) or bad input (422) rolls back and flashes the error's
message by its code; NotFound and Forbidden go to the app's 404 and 403 pages.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from dashboard.auth import current_user, login_required
from dashboard.errors import error_message
from dashboard.views import render_case_page
from intake.cases import handling as case_service
from intake.cases import decisions, feedback, supervision, transfers
from intake.cases.attachments import read_upload
from intake.cases.intake_fields import INTAKE_FIELDS
from intake.rules.access import check, principal_of
from intake.directory.roster import list_leaders, list_liaisons
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.exceptions import InvalidTransition, ValidationError
from intake.cases.fields import check_fields, check_moment
from intake.time.calendar import load_calendar
from intake.calls.inbox import get_visible_case
from intake.outbox.notifications import compose_feedback_sms, count_segments
from intake.statuses import CaseChannel, Role
from intake.rules.transitions import expect_version
from web.services import get_clock, get_db, get_job_queue, get_settings, get_sms_context

bp = Blueprint("casework", __name__)
ENTERERS = (Role.ADMIN, Role.DUTY, Role.LEADER)  # a leader: the reports made to them (一.3)


def _who():
    return principal_of(current_user(), request.remote_addr)


def _text(name: str) -> str:
    # Capped by check_fields (intake/cases/fields.py), the same caps as the API's: refused, not cut.
    return request.form.get(name, "")


def _act(case_id: int, action, done: str):
    """Run one case action for the signed-in user; commit, dispatch its SMS, redirect."""
    db = get_db()
    case = get_visible_case(db, current_user(), case_id)
    try:
        expect_version(case, request.form.get("version", type=int))
        check_fields(request.form)
        outcome = action(db, case)
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        # The case page again, with the refusal's status: 409 for the state (a Conflict too:
        # someone else acted first, and the page now shows what they did), 422 for input.
        status = 409 if isinstance(exc, InvalidTransition) else 422
        return render_case_page(db, get_visible_case(db, current_user(), case_id)), status
    commit_and_dispatch(db, QueuedWork(sms=outcome.sms), get_job_queue(), _who().actor)
    flash(done, "success")
    return redirect(url_for("views.case_page", case_id=case_id), code=303)


def _local_datetime(text: str, field: str = "deadline") -> datetime | None:
    """Read a datetime-local field ("2026-12-01T17:30") as the bureau's local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return check_moment(field, moment)


@bp.post("/cases/<int:case_id>/handle")
@login_required()
def handle(case_id: int):
    """The leader handles the case personally (due the same day)."""
    return _act(case_id, lambda db, case: case_service.handle_case(
        db, _who(), case, _text("note"), get_clock(), load_calendar(db)),
        _("You handle this case yourself; it is due today."))


@bp.post("/cases/<int:case_id>/transfer")
@login_required()
def transfer(case_id: int):
    """Transfer the case to a unit chosen from the directory."""
    return _act(case_id, lambda db, case: transfers.transfer_case(
        db, _who(), case, request.form.get("unit_id", type=int), get_clock(), load_calendar(db),
        get_sms_context()), _("Transferred; the unit has been sent an SMS."))


@bp.post("/cases/<int:case_id>/escalate")
@login_required()
def escalate(case_id: int):
    """Escalate the case to the bureau meeting or the county, with a reason."""
    return _act(case_id, lambda db, case: supervision.escalate_case(
        db, _who(), case, request.form.get("to", ""), _text("reason"),
        get_clock()), _("Escalated and registered with the supervision office."))


@bp.post("/cases/<int:case_id>/extend")
@login_required()
def extend(case_id: int):
    """Put an explained, later deadline in force."""
    return _act(case_id, lambda db, case: supervision.extend_deadline(
        db, _who(), case, _local_datetime(request.form.get("deadline", "")),
        _text("reason"), get_clock(), get_sms_context()), _("The new deadline is in force."))


@bp.post("/cases/<int:case_id>/overrule")
@login_required(Role.SUPERVISOR)
def overrule(case_id: int):
    """Set aside the extension in force, for the supervision office's own reason."""
    new_deadline = request.form.get("deadline", "").strip()
    return _act(case_id, lambda db, case: supervision.overrule_extension(
        db, _who(), case, _text("reason"), get_clock(),
        _local_datetime(new_deadline) if new_deadline else None, get_sms_context(),
        load_calendar(db)),
        _("The extension is overruled; the earlier deadline is in force again."))


@bp.post("/cases/<int:case_id>/importance")
@login_required(Role.SUPERVISOR)
def mark_importance(case_id: int):
    """Change the case's importance mark (重要事项, 领导批示件), for the office's reason."""
    return _act(case_id, lambda db, case: case_service.mark_importance(
        db, _who(), case, request.form.get("importance", ""), _text("reason"), get_clock()),
        _("Importance changed."))


@bp.post("/cases/<int:case_id>/result")
@login_required()
def file_result(case_id: int):
    """File the unit's written result with every prescribed element."""
    form = transfers.ResultForm(
        facts_true=request.form.get("facts_true", ""), causes=_text("causes"),
        measures=_text("measures"), liaison_opinion=_text("liaison_opinion"),
        signed_by=_text("signed_by"), sealed=bool(request.form.get("sealed")))

    def file_with_scan(db, case):
        # Read inside the action, so a refused scan is an ordinary 422 on the case page; the
        # domain checks permission and state before it writes the file.
        upload = request.files.get("attachment")
        scan = read_upload(upload.stream, upload.filename) if upload and upload.filename else None
        return transfers.file_result(db, _who(), case, form, get_clock(), scan=scan,
                                     recordings_dir=get_settings().recordings_dir,
                                     sms=get_sms_context(),
                                     scan_required=get_settings().result_scan_required)

    return _act(case_id, file_with_scan,
                _("The written result is filed with the supervision office."))


@bp.post("/cases/<int:case_id>/accept")
@login_required(Role.SUPERVISOR)
def accept(case_id: int):
    """Accept the unit's result (on a decision, one unit's); the case is answered with the last."""
    return _act(case_id, lambda db, case: transfers.accept_result(
        db, _who(), case, get_clock(), get_sms_context(), load_calendar(db),
        get_settings().feedback_working_days,
        implementation_id=request.form.get("implementation_id", type=int)),
                _("Result accepted."))


@bp.post("/cases/<int:case_id>/return")
@login_required(Role.SUPERVISOR)
def return_result(case_id: int):
    """Return the unit's result for redo, with a category and a reason."""
    return _act(case_id, lambda db, case: transfers.return_result(
        db, _who(), case, request.form.get("category", ""), _text("reason"),
        get_clock(), load_calendar(db), get_sms_context(),
        implementation_id=request.form.get("implementation_id", type=int)),
        _("Result returned for redo; the unit has been sent an SMS."))


@bp.post("/cases/<int:case_id>/decision")
@login_required(Role.SUPERVISOR, Role.ADMIN)
def record_decision(case_id: int):
    """Record the meeting's or the county's decision and the units that carry it out."""
    def decide(db, case):
        # Parsed inside the action, so an unreadable date is an ordinary 422 on the case page.
        # Each row is a unit and its deadline; a row left on "choose a unit" is not one.
        orders = [decisions.ImplementationOrder(int(unit), _form_date(deadline, "deadline"))
                  for unit, deadline in zip(request.form.getlist("unit_id"),
                                            request.form.getlist("deadline"))
                  if unit.strip().isdigit()]
        return decisions.record_decision(
            db, _who(), case, _text("text"), _form_date(request.form.get("decided_at", ""),
                                                        "decided_at"),
            _text("decided_by"), orders, get_clock(), load_calendar(db), get_sms_context(),
            get_settings().feedback_working_days)

    return _act(case_id, decide, _("Decision recorded; each unit has been sent an SMS."))


def _form_date(text: str, field: str):
    """Read a date field ("2026-12-01"); empty is None, anything else unreadable is refused."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        code = "decided_at_invalid" if field == "decided_at" else "implementation_deadline_invalid"
        raise ValidationError(f"{field} must be a date", field=field, code=code) from None


@bp.post("/cases/<int:case_id>/answer")
@login_required()
def answer(case_id: int):
    """Record the answer (direct handling, or the meeting's or the county's decision)."""
    return _act(case_id, lambda db, case: case_service.answer_case(
        db, _who(), case, _text("note"), get_clock(), load_calendar(db),
        get_settings().feedback_working_days), _("Answer recorded."))


@bp.get("/cases/<int:case_id>/feedback/preview")
@login_required()
def feedback_preview(case_id: int):
    """Show the SMS the liaison would get, with its segment count, before it is sent."""
    db = get_db()
    case = get_visible_case(db, current_user(), case_id)
    check(_who(), "feedback", case)  # only the one who may send it previews it
    note = request.args.get("note", "")[:feedback.FEEDBACK_NOTE_MAX_CHARS]
    body = compose_feedback_sms(case, note, get_settings().language)
    # The SMS goes out in the bureau's language, whatever the page's: the page marks it so.
    return render_template("feedback_preview.html", case=case, note=note, body=body,
                           sms_language=get_settings().language,
                           segments=count_segments(body))


@bp.post("/cases/<int:case_id>/feedback")
@login_required()
def record_feedback(case_id: int):
    """Record how the answer was fed back to the liaison; by SMS, send it."""
    return _act(case_id, lambda db, case: feedback.record_feedback(
        db, _who(), case, request.form.get("method", ""), _text("note"), get_clock(), get_sms_context()),
        _("Feedback recorded; the liaison is asked to rate it by SMS."))


@bp.post("/cases/<int:case_id>/rate")
@login_required()
def rate(case_id: int):
    """Record a rating the liaison gave by phone."""
    return _act(case_id, lambda db, case: feedback.rate_case(
        db, _who(), case, request.form.get("rating", ""), get_clock(), load_calendar(db), get_sms_context(),
        via="phone"), _("Rating recorded."))


def _entry_choices(db) -> dict:
    """Return the new-case form's choices: a leader records only what was reported to them."""
    user = current_user()
    liaisons = [l for l in list_liaisons(db) if l.active]
    if user.role == Role.LEADER:
        return {"leaders": [], "by_leader": True, "channels": [CaseChannel.LEADER.value],
                "liaisons": [l for l in liaisons if l.leader_id == user.leader_id]}
    return {"leaders": list_leaders(db), "liaisons": liaisons, "by_leader": False,
            "channels": [c.value for c in CaseChannel if c != CaseChannel.VOICEMAIL]}


def _unknown_marks(form) -> dict[str, str]:
    # Each intake field has an "unknown" box and a reason beside it; the page always sends
    # the map, so it is held to all four fields (intake.cases.intake_fields).
    return {field: form.get(f"unknown_reason_{field}", "") for field in INTAKE_FIELDS
            if form.get(f"unknown_{field}")}


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required(*ENTERERS)
def new_case():
    """Enter a case by hand: told to the leader, brought in person, or taken on a live call."""
    db = get_db()
    choices = _entry_choices(db)
    if request.method == "GET":
        return render_template("case_new.html", form={}, fields=INTAKE_FIELDS, **choices)
    form = request.form
    try:
        check_fields(form)
        entry = case_service.CaseEntry(
            caller_name=form.get("caller_name", ""), content=form.get("content", ""),
            caller_unit=form.get("caller_unit", ""), caller_phone=form.get("caller_phone", ""),
            liaison_id=form.get("liaison_id", type=int), leader_id=form.get("leader_id", type=int),
            route_reason=form.get("route_reason", ""),
            urgent=bool(form.get("urgent")), channel=form.get("channel", ""),
            received_at=(_local_datetime(form["received_at"], "received_at")
                         if form.get("received_at") else None),
            category=form.get("category", ""), importance=form.get("importance") or "normal",
            unknown_fields=_unknown_marks(form))
        outcome = case_service.create_case(db, _who(), entry, get_clock(), get_sms_context())
    except ValidationError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return render_template("case_new.html", form=form, error_field=exc.field,
                               error_fields=set(getattr(exc, "problems", None) or [exc.field]),
                               fields=INTAKE_FIELDS, **choices), 422
    commit_and_dispatch(db, QueuedWork(sms=outcome.sms), get_job_queue(), _who().actor)
    case = outcome.case
    flash(_("Case %(number)s created and sent to %(leader)s.", number=case.number,
            leader=case.leader.name), "success")
    return redirect(url_for("views.case_page", case_id=case.id), code=303)
