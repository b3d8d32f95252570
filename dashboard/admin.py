"""The admin screens: staff accounts and the directory (leaders, liaisons, units)."""
from __future__ import annotations

import redis
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from dashboard import labels
from dashboard.auth import LIMITER_KEY, actor, login_required
from intake import directory
from intake.audit import record_event
from intake.exceptions import DutylineError
from intake.models import User
from intake.statuses import Role, UnitKind
from ivr.appcontext import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _fail(exc: DutylineError):
    get_db().rollback()
    flash(str(labels.FIELD_ERRORS.get(getattr(exc, "field", None), str(exc))), "error")


@bp.get("/users")
@login_required(Role.ADMIN)
def users():
    """List the accounts and offer a form for a new one."""
    db = get_db()
    return render_template("admin_users.html", users=directory.list_users(db),
                           leaders=directory.list_leaders(db), units=directory.list_units(db),
                           roles=list(Role))


@bp.post("/users")
@login_required(Role.ADMIN)
def create_user():
    """Create an account with a role."""
    form = request.form
    db = get_db()
    try:
        directory.create_user(
            db, username=form.get("username", "").strip(), role=form.get("role", ""),
            name=form.get("name", "").strip(), password=form.get("password", ""),
            phone=form.get("phone", "").strip(), actor=actor(),
            leader_id=form.get("leader_id", type=int), unit_id=form.get("unit_id", type=int))
    except (DutylineError, ValueError) as exc:
        _fail(exc if isinstance(exc, DutylineError) else DutylineError(str(exc)))
        return redirect(url_for("admin.users"))
    db.commit()
    flash(_("Account created."), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@login_required(Role.ADMIN)
def set_active(user_id: int):
    """Enable or disable an account."""
    db = get_db()
    try:
        directory.set_user_active(db, user_id, request.form.get("active") == "1", actor())
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.users"))
    db.commit()
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/unlock")
@login_required(Role.ADMIN)
def unlock_user(user_id: int):
    """Clear an account's sign-in locks, so its owner may try again at once."""
    db = get_db()
    user = db.get(User, user_id) or abort(404)
    try:
        cleared = current_app.extensions[LIMITER_KEY].unlock(user.username)
    except redis.RedisError:
        flash(_("Sign-in locks cannot be cleared while Redis is unreachable."), "error")
        return redirect(url_for("admin.users"))
    record_event(db, actor(), "user.sign_in_unlocked", user, after={"locks": cleared})
    db.commit()
    flash(_("Sign-in unlocked for %(name)s.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.get("/directory")
@login_required(Role.ADMIN)
def directory_page():
    """Show leaders with their liaisons, and the units."""
    db = get_db()
    return render_template("admin_directory.html", leaders=directory.list_leaders(db),
                           liaisons=directory.list_liaisons(db), units=directory.list_units(db))


@bp.post("/leaders")
@login_required(Role.ADMIN)
def add_leader():
    """Add a work-group member."""
    form = request.form
    db = get_db()
    try:
        directory.add_leader(db, form.get("name", ""), form.get("phone", ""), actor(),
                             title=form.get("title", ""), email=form.get("email", ""),
                             on_duty=bool(form.get("on_duty")))
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.directory_page"))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


@bp.post("/liaisons")
@login_required(Role.ADMIN)
def add_liaison():
    """Add a liaison linked to a leader."""
    form = request.form
    db = get_db()
    try:
        leader_id = form.get("leader_id", type=int)
        leader = directory.get_leader(db, leader_id) if leader_id else None
        directory.add_liaison(db, form.get("name", ""), form.get("phone", ""), leader, actor(),
                              work_unit=form.get("work_unit", ""), address=form.get("address", ""))
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.directory_page"))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


@bp.post("/units")
@login_required(Role.ADMIN)
def add_unit():
    """Add a handling unit."""
    form = request.form
    db = get_db()
    try:
        kind = UnitKind(form.get("kind", UnitKind.TOWNSHIP.value))
        directory.add_unit(db, form.get("name", ""), kind, actor(), phone=form.get("phone", ""))
    except (DutylineError, ValueError) as exc:
        _fail(exc if isinstance(exc, DutylineError) else DutylineError(str(exc)))
        return redirect(url_for("admin.directory_page"))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))
