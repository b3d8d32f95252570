"""Duties pages: the month's contact duties, commendations, and contact cards."""
from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from dashboard.errors import error_message
from dashboard.auth import actor, current_user, login_required
from intake.directory import roster as directory
from intake.directory.cards import render_contact_cards
from intake.reports.commendations import list_commendations, record_commendation
from intake.directory.contacts import list_contact_duties, log_contact, parse_month
from intake.exceptions import DutylineError, ValidationError
from intake.statuses import Role
from web.services import get_db, get_settings

bp = Blueprint("duties", __name__, url_prefix="/duties")
OVERSIGHT = (Role.ADMIN, Role.SUPERVISOR, Role.DUTY)
KEEPERS = (Role.ADMIN, Role.SUPERVISOR)


def _today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


@bp.get("/contacts")
@login_required(*OVERSIGHT)
def contacts():
    """Show each member's liaisons contacted this month, flagging those still owed a call."""
    try:
        month = parse_month(request.args.get("month", "")) if request.args.get("month") \
            else _today().replace(day=1)
    except ValidationError as exc:
        flash(error_message(exc), "error")
        month = _today().replace(day=1)
    return render_template("duties_contacts.html", month=month,
                           duties=list_contact_duties(get_db(), month))


@bp.post("/contacts")
@login_required(Role.LEADER)
def log_call():
    """Record the signed-in member's call to one of their liaisons ("I called X")."""
    db = get_db()
    user = current_user()
    try:
        liaison_id = request.form.get("liaison_id", type=int)
        if not liaison_id:
            raise ValidationError("choose a liaison", field="liaison",
                                  code="liaison_not_members")
        entry = log_contact(db, directory.get_leader(db, user.leader_id),
                            directory.get_liaison(db, liaison_id), actor(), on=_today(),
                            today=_today(), note=request.form.get("note", "")[:500])
    except DutylineError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return redirect(url_for("views.my_cases"))
    db.commit()
    flash(_("Noted: you called %(name)s today.", name=entry.liaison.name), "success")
    return redirect(url_for("views.my_cases"))


@bp.get("/commendations")
@login_required(*OVERSIGHT)
def commendations():
    """List commendations, newest first, with a form to record one."""
    db = get_db()
    return render_template("duties_commendations.html", commendations=list_commendations(db),
                           leaders=directory.list_leaders(db), units=directory.list_units(db),
                           today=_today())


@bp.post("/commendations")
@login_required(*KEEPERS)
def add_commendation():
    """Record a letter, banner or media praise for a member or a unit."""
    db = get_db()
    form = request.form
    target = form.get("target", "")
    try:
        try:
            received_on = date.fromisoformat(form.get("received_on", ""))
        except ValueError:
            raise ValidationError("not a date", field="received_on", code="date_invalid") from None
        kind, _sep, target_id = target.partition(":")
        leader = directory.get_any_leader(db, int(target_id)) if kind == "leader" and \
            target_id.isdigit() else None
        unit = directory.get_unit(db, int(target_id)) if kind == "unit" and \
            target_id.isdigit() else None
        record_commendation(db, kind=form.get("kind", ""), received_on=received_on,
                            evidence=form.get("evidence", ""), giver=form.get("giver", ""),
                            actor=actor(), today=_today(), leader=leader, unit=unit)
    except DutylineError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return redirect(url_for("duties.commendations"))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("duties.commendations"))


@bp.get("/cards.pdf")
@login_required(*OVERSIGHT, Role.LEADER)
def cards():
    """Download contact cards: every member's, one member's, or a leader's own."""
    db = get_db()
    user = current_user()
    leader_id = user.leader_id if user.role == Role.LEADER else request.args.get("leader_id",
                                                                                   type=int)
    if user.role == Role.LEADER and leader_id is None:
        abort(404)
    leaders = [directory.get_leader(db, leader_id)] if leader_id else directory.list_leaders(db)
    return send_file(BytesIO(render_contact_cards(leaders)), mimetype="application/pdf",
                     download_name="contact-cards.pdf", as_attachment=False)
