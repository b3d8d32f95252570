"""The admin screens: staff accounts and the directory (leaders, liaisons, units)."""
from __future__ import annotations

from io import BytesIO

import redis
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _

from dashboard.auth import LIMITER_KEY, actor, login_required
from dashboard.errors import ERROR_MESSAGES, error_message
from intake import directory
from intake.audit import record_event
from intake.directory_workbook import export_directory, import_directory
from intake.exceptions import DutylineError, ImportRejected
from intake.models import User
from intake.statuses import Role, UnitKind
from web.services import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _fail(exc: DutylineError):
    get_db().rollback()
    flash(error_message(exc), "error")


def _changes(fields: tuple[str, ...], flags: tuple[str, ...] = ()) -> dict:
    """Pick the submitted fields; a checkbox posts a hidden "0" before its "1"."""
    form = request.form
    changes = {key: form.get(key, "") for key in fields if key in form and key not in flags}
    for key in flags:
        if key in form:
            changes[key] = form.getlist(key)[-1] == "1"
    return changes


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


@bp.get("/users/<int:user_id>")
@login_required(Role.ADMIN)
def user_page(user_id: int):
    """Show the form that edits an account."""
    db = get_db()
    return render_template("admin_edit.html", kind="user", record=directory.get_user(db, user_id),
                           leaders=directory.list_leaders(db), units=directory.list_units(db))


@bp.post("/users/<int:user_id>")
@login_required(Role.ADMIN)
def edit_user(user_id: int):
    """Change an account's name, phone, leader or unit."""
    db = get_db()
    try:
        directory.update_user(db, directory.get_user(db, user_id),
                              _changes(directory.USER_FIELDS), actor())
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.user_page", user_id=user_id))
    db.commit()
    flash(_("Saved."), "success")
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
    """Show leaders with their liaisons, the units, and members with too few or many liaisons."""
    db = get_db()
    return render_template("admin_directory.html",
                           leaders=directory.list_leaders(db, include_inactive=True),
                           liaisons=directory.list_liaisons(db), units=directory.list_units(db),
                           load_warnings=directory.check_liaison_load(db),
                           unlinked=directory.list_unlinked_liaisons(db),
                           limits=(directory.MIN_LIAISONS, directory.MAX_LIAISONS))


@bp.get("/directory.xlsx")
@login_required(Role.ADMIN)
def export_workbook():
    """Download the directory as an XLSX workbook."""
    return send_file(BytesIO(export_directory(get_db())), as_attachment=True,
                     download_name="directory.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/directory/import")
@login_required(Role.ADMIN)
def import_workbook():
    """Apply an uploaded directory workbook, all rows or none."""
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "1"
    db = get_db()
    if upload is None or not upload.filename:
        flash(_("Choose an XLSX file to import."), "error")
        return redirect(url_for("admin.directory_page"))
    try:
        # The import reads at most its size limit from the upload (workbook_too_large).
        report = import_directory(db, upload.stream, actor(), dry_run=dry_run)
    except ImportRejected as exc:
        flash(_("Nothing was imported: %(count)s problem(s) in the file.",
                count=len(exc.problems)), "error")
        for problem in exc.problems[:50]:
            flash(_problem_text(problem), "error")
        return redirect(url_for("admin.directory_page"))
    if not dry_run:
        db.commit()
    created = sum(report.created.values())
    updated = sum(report.updated.values())
    message = (_("Check passed: %(created)s to add, %(updated)s to change. Nothing saved yet.",
                 created=created, updated=updated) if dry_run else
               _("Imported: %(created)s added, %(updated)s changed.",
                 created=created, updated=updated))
    flash(message, "success")
    return redirect(url_for("admin.directory_page"))


# Problems with the file as a whole, said in the page's language; a row's problem keeps the
# domain's sentence, which quotes the cell it refuses.
FILE_PROBLEMS = ("workbook_too_large", "too_many_rows", "file_unreadable")


def _problem_text(problem) -> str:
    if problem.code in FILE_PROBLEMS:
        return f"{problem.where}: {ERROR_MESSAGES[problem.code]}"
    return str(problem)


@bp.get("/leaders/<int:leader_id>")
@login_required(Role.ADMIN)
def leader_page(leader_id: int):
    """Show the form that edits a work-group member."""
    db = get_db()
    return render_template("admin_edit.html", kind="leader",
                           record=directory.get_any_leader(db, leader_id),
                           leaders=directory.list_leaders(db))


@bp.post("/leaders/<int:leader_id>")
@login_required(Role.ADMIN)
def edit_leader(leader_id: int):
    """Change a member's card, superior or head flag."""
    db = get_db()
    changes = _changes(directory.LEADER_FIELDS, flags=("on_duty", "is_head"))
    if "reports_to_id" in changes:
        changes["reports_to_id"] = request.form.get("reports_to_id", type=int)
    try:
        directory.update_leader(db, directory.get_any_leader(db, leader_id), changes, actor())
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.leader_page", leader_id=leader_id))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


@bp.get("/liaisons/<int:liaison_id>")
@login_required(Role.ADMIN)
def liaison_page(liaison_id: int):
    """Show the form that edits a liaison and links them to a member."""
    db = get_db()
    return render_template("admin_edit.html", kind="liaison",
                           record=directory.get_liaison(db, liaison_id),
                           leaders=directory.list_leaders(db))


@bp.post("/liaisons/<int:liaison_id>")
@login_required(Role.ADMIN)
def edit_liaison(liaison_id: int):
    """Change a liaison's details, and reassign them when another member is chosen."""
    db = get_db()
    try:
        liaison = directory.get_liaison(db, liaison_id)
        directory.update_liaison(db, liaison, _changes(directory.LIAISON_FIELDS), actor())
        if "leader_id" in request.form:
            leader_id = request.form.get("leader_id", type=int)
            leader = directory.get_any_leader(db, leader_id) if leader_id else None
            directory.reassign_liaison(db, liaison, leader, actor())
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.liaison_page", liaison_id=liaison_id))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


@bp.get("/units/<int:unit_id>")
@login_required(Role.ADMIN)
def unit_page(unit_id: int):
    """Show the form that edits a unit."""
    return render_template("admin_edit.html", kind="unit",
                           record=directory.get_unit(get_db(), unit_id))


@bp.post("/units/<int:unit_id>")
@login_required(Role.ADMIN)
def edit_unit(unit_id: int):
    """Change a unit's name, kind or phone."""
    db = get_db()
    try:
        directory.update_unit(db, directory.get_unit(db, unit_id),
                              _changes(directory.UNIT_FIELDS), actor())
    except DutylineError as exc:
        _fail(exc)
        return redirect(url_for("admin.unit_page", unit_id=unit_id))
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


_GETTERS = {"leaders": directory.get_any_leader, "liaisons": directory.get_liaison,
            "units": directory.get_unit}


@bp.post("/<any(leaders, liaisons, units):kind>/<int:record_id>/active")
@login_required(Role.ADMIN)
def set_record_active(kind: str, record_id: int):
    """Deactivate or reactivate a leader, liaison or unit; nothing is deleted."""
    db = get_db()
    record = _GETTERS[kind](db, record_id)
    directory.set_active(db, record, request.form.get("active") == "1", actor())
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.directory_page"))


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
