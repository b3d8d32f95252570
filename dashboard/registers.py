"""The registers of criticism and accountability on screen: the supervision office records,
confirms, dismisses and withdraws, from forms on its home page (views.supervision_home).

Each view calls the one intake.rules.censures function the API calls, commits, flashes and goes
back to the supervision home; bad input or a refused move flashes the error's message.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from dashboard.auth import current_user, login_required
from dashboard.errors import error_message
from intake.rules import censures
from intake.store.models import Censure
from intake.rules.access import principal_of
from intake.cases.attachments import open_censure_scan, read_upload, record_censure_with_scan, served_as
from intake.exceptions import Conflict, InvalidTransition, NotFound, ValidationError
from intake.statuses import CensureKind, Role
from web.services import get_clock, get_db, get_settings

bp = Blueprint("registers", __name__)
REGISTERS = {"criticisms": CensureKind.CRITICISM, "accountability": CensureKind.ACCOUNTABILITY}
DECISIONS = {"confirm": censures.confirm_censure, "dismiss": censures.dismiss_censure,
             "withdraw": censures.withdraw_censure}


def _done_text(decision: str) -> str:
    # Written out so that pybabel extracts each message.
    if decision == "confirm":
        return _("Confirmed: it is published.")
    if decision == "dismiss":
        return _("Dismissed: it will not be published.")
    return _("Withdrawn: it is no longer published.")


def _back():
    return redirect(url_for("views.supervision_home") + "#registers", code=303)


def _who():
    return principal_of(current_user(), request.remote_addr)


@bp.post("/registers/<any(criticisms, accountability):register>")
@login_required(Role.SUPERVISOR)
def record(register: str):
    """Record a criticism or an accountability the office has decided."""
    form = request.form
    entry = censures.CensureEntry(
        ground=form.get("ground", ""), facts=form.get("facts", "")[:censures.FACTS_MAX_CHARS + 1],
        case_numbers=[n for n in form.get("cases", "").replace(",", "\n").replace("，", "\n")
                      .splitlines() if n.strip()],
        unit_id=form.get("unit_id", type=int), duty_room=bool(form.get("duty_room")),
        person=form.get("person", "")[:censures.PERSON_MAX_CHARS + 1])
    db = get_db()
    upload = request.files.get("scan")
    try:
        scan = read_upload(upload.stream, upload.filename) if upload and upload.filename else None
        record_censure_with_scan(db, _who(), REGISTERS[register], entry, get_clock(), scan,
                                 get_settings().recordings_dir)
    except ValidationError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _back()
    db.commit()
    flash(_("Recorded on the register."), "success")
    return _back()


@bp.get("/registers/<int:censure_id>/scans/<int:scan_id>")
@login_required(Role.SUPERVISOR, Role.ADMIN)
def download_scan(censure_id: int, scan_id: int):
    """Send a criticism's (or an accountability's) scan to those who read the registers."""
    try:
        attachment, path = open_censure_scan(get_db(), _who(), censure_id, scan_id,
                                             get_settings().recordings_dir)
    except NotFound:
        abort(404)
    content_type, download_name = served_as(attachment, path)
    response = send_file(path, mimetype=content_type, as_attachment=True,
                         download_name=download_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"  # the browser takes our type
    return response


@bp.post("/registers/<int:censure_id>/<any(confirm, dismiss, withdraw):decision>")
@login_required(Role.SUPERVISOR)
def decide(censure_id: int, decision: str):
    """Confirm or dismiss a proposal, or withdraw a confirmed entry, with a reason."""
    db = get_db()
    censure = db.get(Censure, censure_id)
    if censure is None:
        abort(404)
    action = DECISIONS[decision]
    try:
        action(db, _who(), censure, request.form.get("reason", "")[:censures.REASON_MAX_CHARS + 1],
               get_clock(), seen_version=request.form.get("version", type=int))
    except Conflict:
        db.rollback()
        flash(_("Someone else decided this entry first; the register shows it as it now is."),
              "error")
        return _back()
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _back()
    db.commit()
    flash(_done_text(decision), "success")
    return _back()
