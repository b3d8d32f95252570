"""The case API (design.md "The case API"): JSON over HTTP for the bureau's other systems.

Each action calls the same domain function as the page does ("one action, three doors"), so
the permission table, the state machine and the audit rows are the pages'. This module only
authenticates, parses the body into the domain's types, and maps errors onto one envelope:

    {"error": {"code": ..., "field": ..., "message": ...}}

    401 no valid auth (a bad or revoked token, a disabled user, a session write without CSRF)
    404 a case the caller may not see (or that does not exist: ids cannot be probed)
    403 a case the caller may see but may not act on
    409 a move the state machine refuses, or `conflict`: someone else acted on the case first
    422 bad input; `field` names it, `code` says what is wrong
    400, 405, 413, 500: a body that cannot be read, a method the path does not take, a body
        over the limit, a fault of ours; routing failures (404, 405) too are answered here

What each call takes and answers is declared once, in dashboard/contract.py: `_body()` and
`_query()` validate against those declarations, and GET /api/v1/openapi.json is built from
them (OpenAPI 3.1).

Auth is `Authorization: Bearer TOKEN` (intake/directory/tokens.py) or a signed-in browser session,
whose writes must carry the CSRF token in `X-CSRFToken`. Times are ISO 8601 with the
bureau's offset.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request, send_file
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from dashboard import reports
from dashboard.contract import OPERATIONS, known_case_number, openapi_document, parse_body, parse_query
from dashboard.auth import current_user
from dashboard.errors import ERROR_MESSAGES, error_message
from intake.cases import handling as case_actions
from intake.cases import decisions, feedback, notices, supervision, transfers, visits
from intake.rules.access import Principal, check, principal_of
from intake.cases.attachments import MAX_ATTACHMENT_MB, open_attachment, read_upload, served_as
from intake.directory.roster import describe_directory
from intake.calls.dispatch import QueuedWork, commit_and_dispatch
from intake.exceptions import (DutylineError, Forbidden, InvalidTransition, NotFound,
                               ValidationError)
from intake.time.calendar import load_calendar
from intake.calls.inbox import list_visible_cases
from intake.rules.lifecycle import Outcome
from intake.store.models import Case
from intake.statuses import CaseStatus
from intake.directory.tokens import authenticate_token
from intake.rules.transitions import expect_version
from web.services import get_clock, get_db, get_job_queue, get_settings, get_sms_context

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 500
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
# The domain's errors by class, most specific first; anything else the domain refuses is bad input.
STATUS_BY_ERROR = ((NotFound, 404), (Forbidden, 403), (InvalidTransition, 409),
                   (ValidationError, 422))


class Unauthenticated(Exception):
    """No valid credentials on an API request (401)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# ---------------------------------------------------------------- auth and errors
@bp.before_request
def authenticate() -> None:
    """Find who is calling: a bearer token, else the signed-in session (with CSRF on writes)."""
    if request.endpoint in OPERATIONS and OPERATIONS[request.endpoint].public:
        return  # the published contract (openapi.json) names no one's data
    header = request.headers.get("Authorization")
    if header is not None:
        # A request that names a token is judged by it alone, never by a cookie beside it.
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("auth_invalid")
        db = get_db()
        user = authenticate_token(db, token.strip())
        if user is None:
            raise Unauthenticated("auth_invalid")
        db.commit()  # last_used_at
        g.api_user = user
        return
    user = current_user()
    if user is None:
        raise Unauthenticated("auth_required")
    if request.method not in SAFE_METHODS:
        _check_csrf()
    g.api_user = user


def _check_csrf() -> None:
    # The app-wide CSRFProtect skips this blueprint (a token request has no cookie to forge);
    # a cookie-authenticated write must still prove it came from our own page.
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError as CsrfInvalid

    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
    except CsrfInvalid:
        raise Unauthenticated("csrf_invalid") from None


@bp.errorhandler(Unauthenticated)
def unauthenticated(exc: Unauthenticated):
    response = _error(401, exc.code, None)
    response.headers["WWW-Authenticate"] = 'Bearer realm="dutyline"'
    return response


@bp.errorhandler(DutylineError)
def domain_error(exc: DutylineError):
    get_db().rollback()
    status = next((code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls)), 422)
    if isinstance(exc, Forbidden) and exc.code == "forbidden" and "number" not in (
            request.view_args or {}):
        # The catalogue's "forbidden" speaks of a case; a refusal by role is not about one.
        return _error(status, exc.code, exc.field, str(ERROR_MESSAGES["role_forbidden"]))
    return _error(status, exc.code, exc.field, error_message(exc), **getattr(exc, "details", {}))


@bp.errorhandler(RequestEntityTooLarge)
def body_too_large(_exc):
    # The app refuses bodies over MAX_CONTENT_LENGTH before reading them; for the result
    # that is the scan being too large, stated with the scan limit.
    if request.endpoint == "api.file_result":
        return _error(422, "attachment_too_large", "attachment")
    return _error(413, "body_too_large", None)


# Werkzeug's names for the HTTP errors an API request can meet, as catalogue codes.
HTTP_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                    413: "body_too_large", 500: "server_error"}


@bp.errorhandler(InternalServerError)
def server_error(_exc):
    # An unforeseen fault still answers in the envelope; what was half written is dropped.
    get_db().rollback()
    return _error(500, "server_error", None)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    status = exc.code or 500
    code = HTTP_ERROR_CODES.get(status, (exc.name or "error").lower().replace(" ", "_"))
    response = _error(status, code, None, None if code in ERROR_MESSAGES else exc.description)
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def register_routing_errors(app) -> None:
    """Answer /api/v1 paths that match no route (404) or not that method (405) in the envelope.

    Such a request never reaches the blueprint (there is no rule to belong to), so its
    handlers must be the app's; they wrap the pages' handlers, which keep every other path.
    """
    for status in (404, 405):
        page_handlers = dict(app.error_handler_spec[None].get(status, {}))

        def handle(exc, page_handlers=page_handlers):
            if request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/"):
                return http_error(exc)
            for cls in type(exc).__mro__:
                if cls in page_handlers:
                    return page_handlers[cls](exc)
            return exc

        app.register_error_handler(status, handle)


def _error(status: int, code: str, field: str | None, message: str | None = None, **extra):
    if message is None:
        message = str(ERROR_MESSAGES.get(code, ERROR_MESSAGES["error"]))
    if code == "attachment_too_large":
        extra.setdefault("limit_mb", MAX_ATTACHMENT_MB)
    response = jsonify({"error": {"code": code, "field": field, "message": message, **extra}})
    response.status_code = status
    return response


# ---------------------------------------------------------------- reading
@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 document of this API, built from its declarations."""
    docs = {endpoint: (current_app.view_functions[endpoint].__doc__ or "").strip()
            for endpoint in OPERATIONS if endpoint in current_app.view_functions}
    return jsonify(openapi_document(current_app.url_map, docs, "dutyline case API", "1"))


@bp.get("/cases")
def list_cases():
    """List the cases the caller may see, newest first, filtered by status, unit or overdue."""
    args = _query()
    status = args.get("status") or None
    if status is not None and status not in {s.value for s in CaseStatus}:
        raise ValidationError("unknown status", field="status", code="status_invalid")
    unit_id = _int(args, "unit", code="unit_unknown")
    limit = _int(args, "limit", code="integer_required") or LIST_LIMIT_DEFAULT
    now = get_clock().now()
    overdue_at = now if _bool(args, "overdue") else None
    rows = list_visible_cases(get_db(), _who(), min(max(limit, 1), LIST_LIMIT_MAX),
                              status=status, unit_id=unit_id, overdue_at=overdue_at)
    return jsonify({"cases": [_summary(case, now) for case in rows], "count": len(rows)})


@bp.get("/cases/<number>")
def show_case(number: str):
    """Return one case with its history, for anyone who may see it."""
    case = _case(number)
    check(_who(), "view", case)
    return jsonify(_record(case))


@bp.get("/cases/<number>/attachments/<int:attachment_id>")
def download_attachment(number: str, attachment_id: int):
    """Send a result's scan to someone who may see its case."""
    attachment, path = open_attachment(get_db(), _who(), _case(number), attachment_id,
                                       get_settings().recordings_dir)
    content_type, download_name = served_as(attachment, path)
    response = send_file(path, mimetype=content_type, as_attachment=True,
                         download_name=download_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"  # the browser takes our type
    return response


@bp.get("/directory")
def directory():
    """Return the leaders, liaisons and units (duty, leaders, supervision and admins)."""
    return jsonify(describe_directory(get_db(), _who()))


@bp.get("/reports/rates")
def report_rates():
    """Return the four rates for a period (per unit with group=unit), or a CSV/XLSX file."""
    if g.api_user.role not in reports.READERS:
        raise Forbidden("only the supervision office and admins read the reports")
    return reports.rates_response(_query())


# ---------------------------------------------------------------- acting
@bp.post("/cases")
def create_case():
    """Enter a case that did not come through voicemail; it goes to the liaison's leader."""
    check(_who(), "create", None)
    body = _body()
    entry = case_actions.CaseEntry(
        caller_name=_text(body, "caller_name"), content=_text(body, "content"),
        caller_unit=_text(body, "caller_unit"), caller_phone=_text(body, "caller_phone"),
        liaison_id=_int(body, "liaison_id", code="liaison_unknown"),
        leader_id=_int(body, "leader_id", code="leader_required"),
        route_reason=_text(body, "route_reason"), urgent=_bool(body, "urgent"),
        received_at=_time(body, "received_at"), channel=_text(body, "channel") or "phone",
        category=_text(body, "category"), importance=_text(body, "importance") or "normal",
        unknown_fields=body.get("unknown_fields"))
    return _done(case_actions.create_case(get_db(), _who(), entry, get_clock(), get_sms_context()), 201)


@bp.post("/cases/<number>/acknowledge")
def acknowledge(number: str):
    """Record that the leader has seen the case."""
    case = _case_for(number, "acknowledge")
    return _done(case_actions.acknowledge_case(get_db(), _who(), case, get_clock(),
                                               via="api"))


@bp.post("/cases/<number>/handle")
def handle(number: str):
    """The leader handles the case directly, due the same day."""
    case = _case_for(number, "handle")
    body = _body()
    return _done(case_actions.handle_case(get_db(), _who(), case, _text(body, "note"),
                                          get_clock(), load_calendar(get_db())))


@bp.post("/cases/<number>/transfer")
def transfer(number: str):
    """Transfer the case to a unit, due in three working days."""
    case = _case_for(number, "transfer")
    body = _body()
    unit_id = _int(body, "unit_id", code="unit_unknown")
    return _done(transfers.transfer_case(get_db(), _who(), case, unit_id, get_clock(),
                                         load_calendar(get_db()), get_sms_context()))


@bp.post("/cases/<number>/escalate")
def escalate(number: str):
    """Send the case to the bureau meeting or the county, with a reason."""
    case = _case_for(number, "escalate")
    body = _body()
    return _done(supervision.escalate_case(get_db(), _who(), case, _text(body, "to"),
                                           _text(body, "reason"), get_clock()))


@bp.post("/cases/<number>/extend")
def extend(number: str):
    """Give the case an explained, later deadline."""
    case = _case_for(number, "extend")
    body = _body()
    deadline = _time(body, "deadline", code="deadline_invalid")
    return _done(supervision.extend_deadline(get_db(), _who(), case, deadline,
                                             _text(body, "reason"), get_clock(), get_sms_context()))


@bp.post("/cases/<number>/overrule")
def overrule(number: str):
    """Set aside the extension in force (supervision office): `reason`, optional `deadline`."""
    case = _case_for(number, "extend")
    body = _body()
    deadline = _time(body, "deadline", code="deadline_invalid")
    return _done(supervision.overrule_extension(get_db(), _who(), case, _text(body, "reason"),
                                                get_clock(), deadline, get_sms_context(),
                                                load_calendar(get_db())))


@bp.post("/cases/<number>/importance")
def mark_importance(number: str):
    """Change the importance mark (supervision office): `importance`, optional `reason`."""
    case = _case_for(number, "mark_importance")
    body = _body()
    return _done(case_actions.mark_importance(get_db(), _who(), case, _text(body, "importance"),
                                              _text(body, "reason"), get_clock()))


@bp.post("/cases/<number>/result")
def file_result(number: str):
    """File the unit's written result, with the signed and sealed scan as `attachment`."""
    case = _case_for(number, "result")
    body = _body()
    form = transfers.ResultForm(
        facts_true=_text(body, "facts_true"), causes=_text(body, "causes"),
        measures=_text(body, "measures"), liaison_opinion=_text(body, "liaison_opinion"),
        signed_by=_text(body, "signed_by"), sealed=_bool(body, "sealed"))
    upload = request.files.get("attachment")
    # A form whose file input was left empty still sends the part, with no file name.
    scan = read_upload(upload.stream, upload.filename) if upload and upload.filename else None
    return _done(transfers.file_result(get_db(), _who(), case, form, get_clock(),
                                       scan=scan, recordings_dir=get_settings().recordings_dir,
                                       sms=get_sms_context(),
                                       scan_required=get_settings().result_scan_required))


@bp.post("/cases/<number>/accept")
def accept(number: str):
    """The supervision office accepts the unit's result."""
    case = _case_for(number, "accept")
    body = _body()
    return _done(transfers.accept_result(
        get_db(), _who(), case, get_clock(), get_sms_context(), load_calendar(get_db()),
        get_settings().feedback_working_days,
        implementation_id=_int(body, "implementation_id", code="implementation_unknown")))


@bp.post("/cases/<number>/return")
def return_result(number: str):
    """The supervision office returns the result for redo, with a category and a reason."""
    case = _case_for(number, "return")
    body = _body()
    return _done(transfers.return_result(
        get_db(), _who(), case, _text(body, "category"), _text(body, "reason"), get_clock(),
        load_calendar(get_db()), get_sms_context(),
        implementation_id=_int(body, "implementation_id", code="implementation_unknown")))


@bp.post("/cases/<number>/answer")
def answer(number: str):
    """Record the leader's answer (direct handling, or the meeting's or county's outcome)."""
    case = _case_for(number, "answer")
    body = _body()
    return _done(case_actions.answer_case(get_db(), _who(), case, _text(body, "note"),
                                          get_clock(), load_calendar(get_db()),
                                          get_settings().feedback_working_days))


@bp.post("/cases/<number>/decision")
def record_decision(number: str):
    """Record the bureau meeting's or the county's decision and the units that carry it out."""
    case = _case_for(number, "decide")
    body = _body()
    orders = [decisions.ImplementationOrder(item.get("unit_id"), item.get("deadline"))
              for item in body.get("implementations") or []]
    return _done(decisions.record_decision(
        get_db(), _who(), case, _text(body, "text"), body.get("decided_at"),
        _text(body, "decided_by"), orders, get_clock(), load_calendar(get_db()),
        get_sms_context(), get_settings().feedback_working_days))


@bp.post("/cases/<number>/feedback")
def record_feedback(number: str):
    """Record the leader's feedback to the liaison; by SMS, send it."""
    case = _case_for(number, "feedback")
    body = _body()
    return _done(feedback.record_feedback(get_db(), _who(), case, _text(body, "method"),
                                          _text(body, "note"), get_clock(), get_sms_context()))


@bp.post("/cases/<number>/rate")
def rate(number: str):
    """Record a rating taken by phone: satisfied closes the case, dissatisfied sends it back."""
    case = _case_for(number, "rate")
    body = _body()
    return _done(feedback.rate_case(get_db(), _who(), case, _text(body, "rating"),
                                    get_clock(), load_calendar(get_db()), get_sms_context(), via="api"))


# ---------------------------------------------------------------- helpers
def _who() -> Principal:
    return principal_of(g.api_user, request.remote_addr)


def _case(number: str) -> Case:
    if not known_case_number(number):
        # Not a case number at all (a NUL byte would even be a 500 from PostgreSQL).
        raise NotFound(f"case {number!r}")
    case = get_db().scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"case {number}")
    return case


def _case_for(number: str, action: str) -> Case:
    # The domain function checks again; checking before the body is parsed means a caller who
    # may not act gets 404 or 403, never a 422 that would confirm the case exists.
    case = _case(number)
    check(_who(), action, case)
    # Optional optimistic lock: `If-Match: "VERSION"` (the case JSON's `version`) refuses,
    # as a 409 conflict, an action taken on a case that changed since the client read it.
    expect_version(case, _if_match())
    return case


def _if_match() -> int | None:
    tag = (request.headers.get("If-Match") or "").strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else None


def _done(outcome: Outcome, status: int = 200):
    db = get_db()
    commit_and_dispatch(db, QueuedWork(sms=outcome.sms), get_job_queue(), _who().actor)
    return jsonify(_record(outcome.case)), status


def _record(case: Case) -> dict:
    settings = get_settings()
    record = case_actions.describe_case(get_db(), case, get_clock().now(), tz=settings.timezone,
                                        language=str(get_locale() or settings.language))
    for attachment in record["attachments"]:
        attachment["url"] = (f"{request.script_root}/api/v1/cases/{case.number}"
                             f"/attachments/{attachment['id']}")
    today = get_clock().today()
    record["visits"] = [visits.describe_visit(visit, settings.timezone, today)
                        for visit in visits.visits_of_case(get_db(), case)]
    # 群众普遍关心: the notices that speak of the case, and whether each was published.
    shown = [notices.describe_notice(notice, settings.timezone, with_texts=False)
             for notice in notices.notices_of_case(get_db(), case)]
    record["public_notices"] = shown
    record["published"] = any(notice["published"] for notice in shown)
    return record


def _summary(case: Case, now: datetime) -> dict:
    zone = ZoneInfo(get_settings().timezone)

    def iso(moment):
        return moment.astimezone(zone).isoformat() if moment else None

    return {"number": case.number, "status": case.status.value, "urgent": case.urgent,
            "caller_name": case.caller_name, "summary": case.summary,
            "leader": case.leader.name if case.leader else None,
            "unit": case.unit.name if case.unit else None,
            "deadline": iso(case.deadline_at), "overdue": case.is_overdue(now),
            "redo_count": case.redo_count, "supervised": case.supervised,
            "satisfaction": case.satisfaction.value if case.satisfaction else None,
            "created_at": iso(case.created_at)}


def _body():
    """Return the request's fields (a JSON object, or a form: multipart for the scan), checked
    against the call's declaration in dashboard/contract.py."""
    if request.mimetype == "application/json" or (request.data and not request.form):
        return parse_body(request.endpoint, json=request.get_data())
    return parse_body(request.endpoint, form=request.form)


def _query():
    """Return the query string's parameters, checked against the call's declaration."""
    return parse_query(request.endpoint, request.args)


def _text(body, name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text", field=name, code="text_required")
    return value


def _int(body, name: str, *, code: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a whole number", field=name, code=code)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValidationError(f"{name} must be a whole number", field=name, code=code)


def _bool(body, name: str) -> bool:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValidationError(f"{name} must be true or false", field=name, code="boolean_required")


def _time(body, name: str, *, code: str = "time_invalid") -> datetime | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value  # already read by the declaration (dashboard/contract.py)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{name} must be an ISO 8601 time", field=name, code=code) from None
    if moment.tzinfo is None:
        raise ValidationError("give the time with its offset", field=name,
                              code="time_without_offset")
    return moment
