"""Dashboard pages. Each view parses input, calls one intake function and renders."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _

from intake import cases as case_service
from intake.audit import list_events, record_event
from intake.calls import correct_transcript
from intake.directory import list_leaders, search_directory
from intake.exceptions import DutylineError, InvalidTransition, NotFound, ValidationError
from intake.inbox import (get_visible_call, get_visible_case, list_inbox, list_visible_cases)
from intake.models import Notification, join_tokens
from intake.notifications import count_segments, list_failed_notifications, resend_notification
from intake.statuses import Role
from dashboard.auth import actor, current_user, login_required
from ivr.appcontext import get_db, get_job_queue, get_settings

bp = Blueprint("views", __name__)
STAFF = (Role.ADMIN, Role.DUTY, Role.SUPERVISOR)


def register_filters(app) -> None:
    @app.template_filter("localtime")
    def localtime(value, fmt="%Y-%m-%d %H:%M"):
        if value is None:
            return ""
        return value.astimezone(ZoneInfo(get_settings().timezone)).strftime(fmt)

    @app.template_filter("joined")
    def joined(text):
        return join_tokens(text or "")

    @app.context_processor
    def inject_user():
        return {"current_user": current_user(), "STAFF": STAFF, "get_locale": get_locale}

    @app.errorhandler(NotFound)
    def not_found(_exc):
        return render_template("error.html", message=_("Not found.")), 404


@bp.get("/")
@login_required()
def home():
    """Send each role to its own start page."""
    if current_user().role in STAFF:
        return redirect(url_for("views.inbox"))
    return redirect(url_for("views.my_cases"))


def _inbox_page():
    day_text = request.args.get("date", "")
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        day = None
    return list_inbox(get_db(), state=request.args.get("state") or None,
                      query=request.args.get("q", ""), day=day,
                      page=request.args.get("page", 1, type=int),
                      tz=ZoneInfo(get_settings().timezone))


@bp.get("/inbox")
@login_required(*STAFF)
def inbox():
    """Show unconfirmed calls, urgent first."""
    return render_template("inbox.html", page=_inbox_page(),
                           failed_sms=list_failed_notifications(get_db()))


@bp.get("/api/inbox")
@login_required(*STAFF)
def inbox_json():
    """Return the inbox rows as JSON, for polling without a reload."""
    page = _inbox_page()
    return jsonify({"calls": [_call_row(c) for c in page.calls], "has_next": page.has_next})


def _call_row(call) -> dict:
    return {
        "id": call.id, "reference": call.reference, "status": call.status.value,
        "urgent": call.urgent, "started_at": call.started_at.isoformat(),
        "caller": call.liaison.name if call.liaison else call.from_number,
        "leader": call.leader.name if call.leader else "",
        "duration": call.recording_duration, "progress": call.progress,
        "excerpt": call.transcript_for_display[:40], "no_speech": call.no_speech,
        "failure_reason": call.failure_reason,
    }


@bp.get("/calls/<int:call_id>")
@login_required()
def call_page(call_id: int):
    """Show a call: audio, clickable transcript and the confirm form."""
    call = get_visible_call(get_db(), current_user(), call_id)
    return render_template("call.html", call=call, leaders=list_leaders(get_db()),
                           extracted=call.extracted or {},
                           events=list_events(get_db(), "calls", call.id))


@bp.get("/calls/<int:call_id>/audio")
@login_required()
def call_audio(call_id: int):
    """Serve a call's recording to someone allowed to see the call."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    if not call.recording_path:
        abort(404)
    record_event(db, actor(), "call.audio_played", call)
    db.commit()
    return send_file(call.recording_path, mimetype="audio/wav", conditional=True)


@bp.post("/calls/<int:call_id>/transcript")
@login_required(*STAFF)
def edit_transcript(call_id: int):
    """Store the officer's correction beside the original transcript."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    correct_transcript(db, call, request.form.get("text", "").strip(), actor())
    db.commit()
    return redirect(url_for("views.call_page", call_id=call_id))


@bp.post("/calls/<int:call_id>/confirm")
@login_required(*STAFF)
def confirm(call_id: int):
    """Create the case, route it to a leader and queue the SMS, in one step."""
    db = get_db()
    get_visible_call(db, current_user(), call_id)
    form = request.form
    confirmation = case_service.Confirmation(
        caller_name=form.get("caller_name", ""), caller_unit=form.get("caller_unit", ""),
        caller_phone=form.get("caller_phone", ""),
        liaison_id=form.get("liaison_id", type=int), leader_id=form.get("leader_id", type=int),
        route_reason=form.get("route_reason", ""), category=form.get("category", ""),
        urgent=bool(form.get("urgent")), summary=form.get("summary", ""),
    )
    try:
        case, notification = case_service.confirm_and_route(
            db, call_id, confirmation, actor(), _case_link, get_settings().language)
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("views.call_page", call_id=call_id))
    db.commit()
    get_job_queue().enqueue_sms(notification.id)
    flash(_("Case %(number)s created and sent to %(leader)s.", number=case.number,
            leader=case.leader.name), "success")
    return redirect(url_for("views.case_page", case_id=case.id))


def _case_link(case) -> str:
    base = get_settings().public_base_url or request.host_url.rstrip("/")
    return f"{base}/cases/{case.id}"


@bp.get("/cases")
@login_required()
def my_cases():
    """List the cases the signed-in person may see."""
    return render_template("cases.html", cases=list_visible_cases(get_db(), current_user()))


@bp.get("/cases/<int:case_id>")
@login_required()
def case_page(case_id: int):
    """Show a case: who called, what about, where it stands, and its SMS."""
    db = get_db()
    case = get_visible_case(db, current_user(), case_id)
    notifications = db.query(Notification).filter(Notification.case_id == case.id).all()
    return render_template("case.html", case=case, notifications=notifications,
                           events=list_events(db, "cases", case.id))


@bp.post("/cases/<int:case_id>/acknowledge")
@login_required(Role.LEADER, Role.ADMIN)
def acknowledge(case_id: int):
    """Record the leader's acknowledgement (已收到)."""
    db = get_db()
    case = get_visible_case(db, current_user(), case_id)
    case_service.acknowledge_case(db, case, actor(), via="web")
    db.commit()
    return redirect(url_for("views.case_page", case_id=case_id))


@bp.post("/notifications/<int:notification_id>/resend")
@login_required(*STAFF)
def resend(notification_id: int):
    """Queue a fresh copy of an SMS that did not arrive."""
    db = get_db()
    original = db.get(Notification, notification_id)
    if original is None:
        abort(404)
    copy = resend_notification(db, original, actor())
    db.commit()
    get_job_queue().enqueue_sms(copy.id)
    flash(_("SMS queued again."), "success")
    return redirect(request.referrer or url_for("views.inbox"))


@bp.get("/outbox")
@login_required(*STAFF)
def outbox():
    """Show every SMS, including those kept in the outbox when no Twilio account is set."""
    rows = get_db().query(Notification).order_by(Notification.id.desc()).limit(200).all()
    return render_template("outbox.html", notifications=rows)


@bp.get("/api/directory")
@login_required(*STAFF)
def directory_search():
    """Typeahead over liaisons and units."""
    return jsonify(search_directory(get_db(), request.args.get("q", "")))


@bp.get("/api/sms-segments")
@login_required(*STAFF)
def sms_segments():
    """Count how many SMS segments a text will use."""
    return jsonify({"segments": count_segments(request.args.get("text", ""))})


@bp.errorhandler(DutylineError)
def domain_error(exc):
    return render_template("error.html", message=str(exc)), 400
