"""Dashboard pages. Each view parses input, calls one intake function and renders."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _

from dashboard import labels, timeline
from dashboard.auth import actor, current_user, login_required
from dashboard.errors import error_message
from dashboard.params import page_number
from intake.cases import handling as case_service
from intake.store.heartbeat import speech_readiness
from intake.outbox.links import base_url, page_link
from intake.store.audit import list_events, record_event
from intake.calls.voicemail import correct_transcript, draft_is_current, retry_transcription
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.rules import censures
from intake.cases import decisions, notices, supervision, visits
from intake.cases.feedback import list_to_rate_by_phone
from intake.cases.transfers import latest_return
from intake.directory.contacts import list_member_contacts
from intake.directory.roster import list_leaders, list_units, search_directory
from intake.rules.access import allowed, principal_of
from intake.clock import Clock
from intake.time.deadlines import deadline_is_provisional
from intake.exceptions import (Conflict, DutylineError, Forbidden, InvalidTransition, NotFound,
                               ValidationError)
from intake.cases.fields import check_fields
from intake.cases.history import list_case_history
from intake.time.calendar import load_calendar
from intake.calls.inbox import (REVIEWABLE_STATES, get_visible_call, get_visible_case, list_inbox,
                                list_visible_cases, next_call_to_review)
from intake.store.models import is_unspaced, join_tokens, utcnow
from intake.outbox.notifications import (count_segments, get_notification, list_case_notifications,
                                         list_failed_notifications, list_recent_notifications,
                                         preview_case_sms, resend_notification)
from intake.statuses import GROUNDS_BY_KIND, CaseStatus, CensureKind, CensureStatus, LiveState, Role
from intake.calls.live import LIVE_DRAFTABLE
from intake.rules.transitions import expect_version
from web.services import get_db, get_job_queue, get_settings

bp = Blueprint("views", __name__)
STAFF = (Role.ADMIN, Role.DUTY, Role.SUPERVISOR)
REVIEWERS = (Role.ADMIN, Role.DUTY)
# Words the recogniser was less sure of than this are marked for the officer to listen to.
LOW_CONFIDENCE = 0.6
EXCERPT_CHARS = 40


def register_filters(app) -> None:
    """Add the template filters, globals and error pages the templates rely on."""

    @app.template_filter("localtime")
    def localtime(value, fmt="%Y-%m-%d %H:%M"):
        if value is None:
            return ""
        return value.astimezone(ZoneInfo(get_settings().timezone)).strftime(fmt)

    @app.template_filter("joined")
    def joined(text):
        return join_tokens(text or "")

    @app.template_filter("unspaced")
    def unspaced(word):
        # Mandarin words sit side by side; other languages' words need a space between them.
        return bool(word) and is_unspaced(word[-1])

    @app.template_filter("percent")
    def percent(value):
        return f"{round((value or 0) * 100)}%"

    app.add_template_global(timeline.time_left, "time_left")
    app.add_template_global(seconds_text, "seconds_text")
    app.add_template_filter(timeline.deadline_text, "deadline")

    @app.context_processor
    def inject_globals():
        return {"current_user": current_user(), "get_locale": get_locale, "STAFF": STAFF, "REVIEWERS": REVIEWERS,
                "labels": labels, "label": labels.label, "LOW_CONFIDENCE": LOW_CONFIDENCE}

    @app.errorhandler(NotFound)
    def not_found(_exc):
        return render_template("error.html", message=_("Not found.")), 404

    @app.errorhandler(Forbidden)
    def forbidden_action(exc):
        return render_template("error.html", message=_user_message(exc)), 403

    @app.errorhandler(InvalidTransition)
    def refused_move(exc):
        return render_template("error.html", message=_user_message(exc)), 409

    @app.errorhandler(DutylineError)
    def domain_error(exc):
        return render_template("error.html", message=_user_message(exc)), 400

    @app.errorhandler(404)
    def http_not_found(_exc):
        return render_template("error.html", message=_("Not found.")), 404

    @app.errorhandler(403)
    def forbidden(_exc):
        return render_template("error.html", message=_("You may not open this page.")), 403

    @app.errorhandler(401)
    def unauthorized(_exc):
        return jsonify({"error": "sign in first"}), 401

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_failed(_exc):
        message = _("The form expired. Reload the page and try again.")
        return render_template("error.html", message=message), 400


def _user_message(exc: DutylineError) -> str:
    return error_message(exc)


HOMES = {Role.ADMIN: "views.inbox", Role.DUTY: "views.inbox", Role.LEADER: "views.my_cases",
         Role.SUPERVISOR: "views.supervision_home", Role.UNIT: "views.unit_home"}


@bp.get("/")
@login_required()
def home():
    """Send each role to its own start page."""
    return redirect(url_for(HOMES[current_user().role]))


def _inbox_page():
    day_text = request.args.get("date", "")
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        day = None
    state = request.args.get("state") or None
    if state not in labels.INBOX_FILTERS:
        state = None
    return list_inbox(get_db(), state=state, query=request.args.get("q", "")[:100], day=day,
                      page=page_number(),
                      tz=ZoneInfo(get_settings().timezone))


def _filter_args() -> dict:
    return {k: v for k, v in request.args.items() if k in ("state", "date", "q") and v}


@bp.get("/inbox")
@login_required(*STAFF)
def inbox():
    """Show calls waiting for review, urgent first, with failed-SMS alerts on top."""
    return render_template("inbox.html", page=_inbox_page(), filters=_filter_args(),
                           failed_sms=list_failed_notifications(get_db()),
                           speech=speech_readiness(get_db()))


@bp.get("/api/inbox")
@login_required(*STAFF)
def inbox_json():
    """Return the inbox rows and SMS alerts as JSON, for polling without a reload."""
    page = _inbox_page()
    return jsonify({"calls": [_call_row(c) for c in page.calls], "has_next": page.has_next,
                    "page": page.page,
                    "failed_sms": [_sms_row(n) for n in list_failed_notifications(get_db())]})


def seconds_text(seconds: int | None) -> str:
    """Say a recording's length in the page's language ("18 s", "18秒"); "" when unknown."""
    return _("%(n)s s", n=seconds) if seconds else ""


def _is_on_the_line(call) -> bool:
    """Tell whether the caller is still speaking and a worker transcribes them live."""
    return call.live_state == LiveState.STREAMING.value and call.status in LIVE_DRAFTABLE


def _call_row(call) -> dict:
    status = call.status.value
    state_label = labels.label(labels.CALL_STATES, status)
    if status == "transcribing":
        state_label += f" {round(call.progress * 100)}%"
    excerpt = call.transcript_for_display[:EXCERPT_CHARS]
    if _is_on_the_line(call):
        state_label = _("On the line")
        excerpt = join_tokens(call.live_text or "")[-EXCERPT_CHARS:]
    return {
        "id": call.id, "reference": call.reference, "status": status,
        "state_label": state_label, "urgent": call.urgent,
        "started_at": call.started_at.isoformat(),
        "time": call.started_at.astimezone(ZoneInfo(get_settings().timezone))
        .strftime("%m-%d %H:%M"),
        "caller": call.liaison.name if call.liaison else (call.from_number or _("Unknown number")),
        "leader": call.leader.name if call.leader else "",
        "duration": call.recording_duration, "progress": call.progress,
        "duration_text": seconds_text(call.recording_duration),
        "excerpt": excerpt, "no_speech": call.no_speech, "live": _is_on_the_line(call),
        "failure_reason": call.failure_reason,
        "failure_label": labels.label(labels.FAILURES, call.failure_code),
        "case_number": call.case.number if call.case else None,
        "case_url": url_for("views.case_page", case_id=call.case.id) if call.case else None,
    }


def _sms_row(notification) -> dict:
    case = notification.case
    return {
        "id": notification.id, "to": notification.to_number,
        "status": notification.status.value,
        "state_label": labels.label(labels.SMS_STATES, notification.status),
        "error_code": notification.error_code, "case_number": case.number if case else "",
        "case_url": url_for("views.case_page", case_id=case.id) if case else "",
        "resend_url": url_for("views.resend", notification_id=notification.id),
    }


@bp.get("/calls/<int:call_id>")
@login_required()
def call_page(call_id: int):
    """Show a call: audio, clickable transcript and the confirm form."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    extracted = call.extracted or {}
    return render_template(
        "call.html", call=call, leaders=list_leaders(db), extracted=extracted,
        fields=extracted.get("fields") or {}, suggested=_suggestions(call),
        has_audio=bool(call.recording_path) and Path(call.recording_path).is_file(),
        summary=case_service.default_summary(call),
        confirmable=call.status in REVIEWABLE_STATES, sms_language=get_settings().language,
        events=list_events(db, "calls", call.id))


@bp.get("/calls/<int:call_id>/live")
@login_required()
def call_live_text(call_id: int):
    """Return the text heard so far on a call, for the call page to show without a reload."""
    call = get_visible_call(get_db(), current_user(), call_id)
    return jsonify({"status": call.status.value, "live_state": call.live_state,
                    "on_the_line": _is_on_the_line(call),
                    "text": join_tokens(call.live_text or "")})


def _suggestions(call) -> dict:
    """Return the confirm form's suggestions: the directory's for a known caller, else the draft's."""
    extracted = call.extracted or {}
    dictated = ((extracted.get("fields") or {}).get("phone") or {}).get("value")
    liaison = call.liaison
    return {
        "caller_name": liaison.name if liaison else (extracted.get("name") or ""),
        "caller_unit": (liaison.work_unit if liaison else "") or extracted.get("unit")
        or extracted.get("address") or "",
        "caller_phone": dictated or call.from_number or "",
        "phone_dictated": bool(dictated),
        "liaison_id": call.liaison_id or extracted.get("liaison_id") or "",
        "urgent": bool(call.urgent or extracted.get("urgent")),
    }


@bp.get("/api/calls/<int:call_id>/draft")
@login_required(*REVIEWERS)
def call_draft(call_id: int):
    """Return the confirm form's suggestions, and whether they come from the latest correction."""
    call = get_visible_call(get_db(), current_user(), call_id)
    return jsonify({"current": draft_is_current(call), **_suggestions(call)})


@bp.get("/calls/<int:call_id>/next")
@login_required(*STAFF)
def next_call(call_id: int):
    """Open the next call waiting for review (keyboard shortcut "n")."""
    following = next_call_to_review(get_db(), after_call_id=call_id)
    if following is None:
        flash(_("No other call is waiting for review."), "success")
        return redirect(url_for("views.inbox"))
    return redirect(url_for("views.call_page", call_id=following.id))


@bp.get("/calls/<int:call_id>/audio")
@login_required()
def call_audio(call_id: int):
    """Serve a call's recording to someone allowed to see the call; the first fetch is audited."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    if not call.recording_path or not Path(call.recording_path).is_file():
        abort(404)
    # A browser fetches audio in ranges; audit the opening request, not every range.
    if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
        record_event(db, actor(), "call.audio_played", call)
        db.commit()
    return send_file(call.recording_path, mimetype="audio/wav", conditional=True)


@bp.post("/calls/<int:call_id>/transcript")
@login_required(*REVIEWERS)
def edit_transcript(call_id: int):
    """Store the officer's correction beside the original transcript and draft the details again."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    text = request.form.get("text", "").strip()[:10000]
    correct_transcript(db, call, text, actor())
    db.commit()
    # After the commit, so the job reads this text; a lost enqueue only costs the redraft.
    get_job_queue().enqueue_redraft(call.id)
    if request.accept_mimetypes.best == "application/json":
        # The page saves in place, so what the officer typed in the form stays there.
        return jsonify({"saved": True, "text": text,
                        "draft": url_for("views.call_draft", call_id=call_id)})
    flash(_("Correction saved; the original transcript is kept."), "success")
    return redirect(url_for("views.call_page", call_id=call_id))


@bp.post("/calls/<int:call_id>/retry")
@login_required(*REVIEWERS)
def retry(call_id: int):
    """Send a failed call back to transcription, fetching its audio again when needed."""
    db = get_db()
    call = get_visible_call(db, current_user(), call_id)
    try:
        refetch = retry_transcription(db, call, actor())
    except InvalidTransition:
        db.rollback()
        flash(_("Only a failed call can be retried."), "error")
        return redirect(url_for("views.call_page", call_id=call_id))
    db.commit()
    # A lost enqueue is not an error here: the reconciler enqueues every QUEUED call.
    get_job_queue().enqueue_transcription(call.id)
    flash(_("Fetching the recording again, then transcribing it.") if refetch
          else _("Transcribing the kept recording again."), "success")
    return redirect(url_for("views.call_page", call_id=call_id))


@bp.post("/calls/<int:call_id>/confirm")
@login_required(*REVIEWERS)
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
        importance=form.get("importance") or "normal",
    )
    try:
        check_fields(form)  # the same caps as the API's (intake/cases/fields.py)
        case, notification = case_service.confirm_and_route(
            db, call_id, confirmation, actor(), _case_link, get_settings().language,
            Clock(get_settings().timezone))
    except (ValidationError, InvalidTransition, NotFound) as exc:
        db.rollback()
        flash(_user_message(exc), "error")
        return redirect(url_for("views.call_page", call_id=call_id))
    commit_and_dispatch(db, QueuedWork(sms=[notification.id] if notification else []),
                        get_job_queue(), actor())
    flash(_("Case %(number)s created and sent to %(leader)s.", number=case.number,
            leader=case.leader.name), "success")
    return redirect(url_for("views.case_page", case_id=case.id))


def _case_link(case) -> str:
    return page_link(get_settings().link_base_url, "case", case.id)


@bp.get("/cases")
@login_required()
def my_cases():
    """List the cases the signed-in person may see, optionally in one state or overdue.

    A leader also sees this month's liaison calls still owed.
    """
    user = current_user()
    status = request.args.get("status") or None
    if status not in labels.CASE_STATES:
        status = None
    overdue = request.args.get("overdue") == "1"
    duty = None
    if user.role == Role.LEADER and user.leader is not None:
        today = utcnow().astimezone(ZoneInfo(get_settings().timezone)).date()
        duty = list_member_contacts(get_db(), user.leader, today)
    cases = list_visible_cases(get_db(), user, limit=500, status=status,
                               overdue_at=utcnow() if overdue else None)
    # The duty room phones the liaisons whose rating stalled (issue 17 item 7). The clock is
    # app.config["DUTYLINE_CLOCK"] when a test sets one, as on the calendar page.
    to_rate = (list_to_rate_by_phone(get_db(), current_app.config.get("DUTYLINE_CLOCK", utcnow)(),
                                     load_calendar(get_db()), get_settings().timezone)
               if user.role == Role.DUTY else [])
    # A leader's own follow-up visits (回访) due today or overdue, above the list.
    visits_due = (visits.list_due_visits(get_db(), user, _local_day(
        current_app.config.get("DUTYLINE_CLOCK", utcnow)())) if user.role == Role.LEADER else [])
    return render_template("cases.html", cases=cases, status=status, overdue=overdue,
                           now=utcnow(), contact_duty=duty, to_rate=to_rate,
                           visits_due=visits_due)


@bp.get("/cases/<int:case_id>")
@login_required()
def case_page(case_id: int):
    """Show a case: who called, what about, where it stands, its history and the actions open."""
    db = get_db()
    return render_case_page(db, get_visible_case(db, current_user(), case_id))


def render_case_page(db, case) -> str:
    """Render a case page for the signed-in user with the action forms they may use."""
    principal = principal_of(current_user(), request.remote_addr)
    return render_template(
        "case.html", case=case, now=utcnow(),
        deadline_provisional=deadline_is_provisional(case, load_calendar(db),
                                                     Clock(get_settings().timezone)),
        can=lambda action: allowed(principal, action, case),
        units=[u for u in list_units(db) if u.active],
        notifications=list_case_notifications(db, case.id),
        chases=censures.count_chases(db, case.id),
        scan_required=get_settings().result_scan_required,
        returned=latest_return(case),
        visits=visits.visits_of_case(db, case),
        visitors=visits.possible_visitors(db, case) if allowed(principal, "schedule_visit", case) else [],
        today=Clock(get_settings().timezone).today(),
        public_notices=notices.notices_of_case(db, case),
        history=[entry for entry in list_case_history(db, case, str(get_locale()),
                                                      get_settings().timezone)
                 if not entry.action.startswith("sms.")])


@bp.get("/unit")
@login_required(Role.UNIT)
def unit_home():
    """Show a unit its cases: those waiting for its written result first, with time left."""
    user = current_user()
    cases = list_visible_cases(get_db(), user, limit=500)
    waiting = [c for c in cases if allowed(user, "result", c)
               and c.status is not CaseStatus.DECISION_IMPLEMENTING]
    # A decision's implementations are listed by their own deadline, the unit's, not the case's.
    implementations = (decisions.list_unit_implementations(get_db(), user.unit_id)
                       if user.unit_id else [])
    busy = {c.id for c in waiting} | {i.case_id for i in implementations}
    return render_template("unit_home.html", waiting=waiting, implementations=implementations,
                           others=[c for c in cases if c.id not in busy], now=utcnow())


@bp.get("/supervision")
@login_required(Role.SUPERVISOR, Role.ADMIN)
def supervision_home():
    """Show the supervision office its work: verdicts, extensions, escalations, overdue cases."""
    db = get_db()
    now = current_app.config.get("DUTYLINE_CLOCK", utcnow)()
    return render_template(
        "supervision_home.html", now=now,
        results=supervision.list_results_awaiting_verdict(db),
        implementation_results=decisions.list_implementations_awaiting_verdict(db),
        extensions=supervision.list_recent_extensions(db, now),
        extension_days=supervision.EXTENSIONS_LISTED_DAYS,
        escalations=supervision.list_escalations(db),
        overdue=list_visible_cases(db, current_user(), limit=500, overdue_at=now),
        proposals=[c for kind in CensureKind for c in censures.list_censures(
            db, current_user(), kind, status=CensureStatus.PROPOSED.value)],
        confirmed=[c for kind in CensureKind for c in censures.list_censures(
            db, current_user(), kind, status=CensureStatus.CONFIRMED.value, limit=100)],
        grounds=GROUNDS_BY_KIND, units=list_units(db),
        visits_due=visits.list_due_visits(db, current_user(), _local_day(now)),
        now_day=_local_day(now))


def _local_day(moment) -> date:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


@bp.post("/cases/<int:case_id>/acknowledge")
@login_required()
def acknowledge(case_id: int):
    """Record the leader's acknowledgement (已收到)."""
    db = get_db()
    case = get_visible_case(db, current_user(), case_id)
    try:
        expect_version(case, request.form.get("version", type=int))
        case_service.acknowledge_case(db, principal_of(current_user(), request.remote_addr),
                                      case, Clock(get_settings().timezone), via="web")
    except Conflict as exc:
        # Someone acknowledged (or acted) first, by SMS or the API: say so over the case as
        # it now is (the rollback expired it, so it is read again).
        db.rollback()
        flash(_user_message(exc), "error")
        return render_case_page(db, get_visible_case(db, current_user(), case_id)), 409
    db.commit()
    return redirect(url_for("views.case_page", case_id=case_id))


@bp.post("/notifications/<int:notification_id>/resend")
@login_required(*REVIEWERS)
def resend(notification_id: int):
    """Queue a fresh copy of an SMS that did not arrive."""
    db = get_db()
    copy = resend_notification(db, get_notification(db, notification_id), actor())
    commit_and_dispatch(db, QueuedWork(sms=[copy.id]), get_job_queue(), actor())
    flash(_("SMS queued again."), "success")
    return redirect(url_for("views.inbox"))


@bp.get("/outbox")
@login_required(*STAFF)
def outbox():
    """Show the latest SMS, including those kept in the outbox when no Twilio account is set."""
    return render_template("outbox.html", notifications=list_recent_notifications(get_db()))


@bp.get("/api/directory")
@login_required(*REVIEWERS)
def directory_search():
    """Typeahead over liaisons and units."""
    return jsonify(search_directory(get_db(), request.args.get("q", "")[:60]))


@bp.get("/api/sms-preview")
@login_required(*REVIEWERS)
def sms_preview():
    """Show the SMS a confirmation would send, and how many 70-character segments it uses."""
    args = request.args
    return jsonify(preview_case_sms(args.get("caller_name", "")[:60], args.get("caller_unit", "")[:200],
                                    args.get("summary", "")[:200], base_url(get_settings().link_base_url),
                                    get_settings().language,
                                    case_service.peek_next_case_number(get_db(), Clock(get_settings().timezone))))


@bp.get("/api/sms-segments")
@login_required(*REVIEWERS)
def sms_segments():
    """Count how many SMS segments a text will use."""
    return jsonify({"segments": count_segments(request.args.get("text", "")[:2000])})
