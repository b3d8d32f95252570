"""The admin screens: staff accounts and the directory (leaders, liaisons, units)."""
from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Callable

import redis
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import get_locale, gettext as _
from sqlalchemy.orm import Session

from dashboard.auth import LIMITER_KEY, actor, login_required
from dashboard.errors import ERROR_MESSAGES, error_message
from dashboard.labels import COLUMN_LABELS, SHEET_LABELS
from intake.directory import roster as directory
from intake.store.audit import record_event
from intake.directory.workbook import export_directory, import_directory
from intake.exceptions import DutylineError, RowsRejected
from intake.store.models import User
from intake.store.spreadsheets import MAX_WORKBOOK_BYTES
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


def _save(write: Callable[[Session], object], back: str, *, done: str | None = None,
          message: str | None = None, refuse: tuple[type[Exception], ...] = (DutylineError,),
          **back_args):
    """Apply one admin write and commit it, or roll back and return to `back` with the error.

    A saved write flashes `message` ("Saved." unless given; "" for none) and goes to `done`
    (`back` unless given). `refuse` adds ValueError where the form carries an enum value.
    """
    db = get_db()
    try:
        write(db)
    except refuse as exc:
        _fail(exc if isinstance(exc, DutylineError) else DutylineError(str(exc)))
        return redirect(url_for(back, **back_args))
    db.commit()
    message = _("Saved.") if message is None else message
    if message:
        flash(message, "success")
    return redirect(url_for(done or back))


def _edit_views(kind: str, get: Callable, lists: dict[str, Callable], update: Callable,
                listing: str, page_doc: str, edit_doc: str) -> None:
    """Register the page that edits one kind of record and the POST that saves it.

    At /admin/<kind>s/<id>, as admin.<kind>_page and admin.edit_<kind>; `lists` are the
    choices the form offers (leaders, units), a saved edit goes to `listing` and a refused
    one back to the form.
    """
    key = f"{kind}_id"

    def page(**ids):
        db = get_db()
        return render_template("admin_edit.html", kind=kind, record=get(db, ids[key]),
                               **{name: read(db) for name, read in lists.items()})

    def edit(**ids):
        return _save(lambda db: update(db, get(db, ids[key])), f"admin.{kind}_page",
                     done=listing, **{key: ids[key]})

    page.__name__, page.__doc__ = f"{kind}_page", page_doc
    edit.__name__, edit.__doc__ = f"edit_{kind}", edit_doc
    for view, method in ((page, "GET"), (edit, "POST")):
        bp.add_url_rule(f"/{kind}s/<int:{key}>", view.__name__, login_required(Role.ADMIN)(view),
                        methods=[method])


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
    return _save(lambda db: directory.create_user(
        db, username=form.get("username", "").strip(), role=form.get("role", ""),
        name=form.get("name", "").strip(), password=form.get("password", ""),
        phone=form.get("phone", "").strip(), actor=actor(),
        leader_id=form.get("leader_id", type=int), unit_id=form.get("unit_id", type=int)),
        "admin.users", message=_("Account created."), refuse=(DutylineError, ValueError))


@bp.post("/users/<int:user_id>/active")
@login_required(Role.ADMIN)
def set_active(user_id: int):
    """Enable or disable an account."""
    return _save(lambda db: directory.set_user_active(db, user_id,
                                                      request.form.get("active") == "1", actor()),
                 "admin.users", message="")


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
                           import_check=session.get(_CHECKED),
                           limits=(directory.MIN_LIAISONS, directory.MAX_LIAISONS))


@bp.get("/directory.xlsx")
@login_required(Role.ADMIN)
def export_workbook():
    """Download the directory as an XLSX workbook, its headers in the requester's language."""
    language = str(get_locale() or "zh_CN").replace("_", "-")
    return send_file(BytesIO(export_directory(get_db(), language)), as_attachment=True,
                     download_name="directory.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


CHECKED_FILES_KEY = "dutyline.checked_directory_files"
# How long a checked file waits for its "导入": long enough to read the summary, short enough
# that an import does not apply a check nobody remembers.
CHECKED_FILE_SECONDS = 3600
_CHECKED = "directory_import"  # the session's note of the file this admin checked


class CheckedFiles:
    """Directory files that passed their check, kept in Redis by their SHA-256 until imported.

    The admin uploads once: the check keeps the bytes, the page shows what would change, and
    the "导入" button names the file by its hash. Redis, not the instance folder, so that the
    button works on whichever web process answers it.
    """

    def __init__(self, connection: redis.Redis):
        self.connection = connection

    @staticmethod
    def _key(digest: str) -> str:
        return f"dutyline:directory-import:{digest}"

    def keep(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        self.connection.set(self._key(digest), content, ex=CHECKED_FILE_SECONDS)
        return digest

    def take(self, digest: str) -> bytes | None:
        """Return the file kept under `digest`, or None when it expired or is not that file."""
        content = self.connection.get(self._key(digest))
        if content is None or hashlib.sha256(content).hexdigest() != digest:
            return None
        return content

    def drop(self, digest: str) -> None:
        self.connection.delete(self._key(digest))


def _checked_files() -> CheckedFiles:
    return current_app.extensions[CHECKED_FILES_KEY]


def _refused(exc: RowsRejected):
    flash(_("Nothing was imported: %(count)s problem(s) in the file.", count=len(exc.rows)),
          "error")
    for problem in exc.rows[:50]:
        flash(_problem_text(problem), "error")
    return redirect(url_for("admin.directory_page"))


@bp.post("/directory/import")
@login_required(Role.ADMIN)
def import_workbook():
    """Check an uploaded directory workbook and show what importing it would change.

    Nothing is saved here: a file that passes is kept (by its hash) for the "Import" button
    of import_checked, so the admin need not upload it again.
    """
    upload = request.files.get("file")
    db = get_db()
    if upload is None or not upload.filename:
        flash(_("Choose an XLSX file to import."), "error")
        return redirect(url_for("admin.directory_page"))
    # The check reads at most the size limit from the upload (workbook_too_large); so does this.
    content = upload.stream.read(MAX_WORKBOOK_BYTES + 1)
    try:
        report = import_directory(db, content, actor(), dry_run=True)
    except RowsRejected as exc:
        session.pop(_CHECKED, None)
        return _refused(exc)
    try:
        digest = _checked_files().keep(content)
    except redis.RedisError:
        flash(_("The file passed its check but cannot be kept while Redis is unreachable; "
                "try again later."), "error")
        return redirect(url_for("admin.directory_page"))
    session[_CHECKED] = {"sha256": digest, "name": upload.filename[:120],
                         "report": report.to_json()}
    return redirect(url_for("admin.directory_page") + "#import-check", code=303)


@bp.post("/directory/import/confirm")
@login_required(Role.ADMIN)
def import_checked():
    """Import the file this admin checked, unchanged since the check, all rows or none."""
    checked = session.get(_CHECKED) or {}
    digest = request.form.get("sha256", "")
    if not digest or digest != checked.get("sha256"):
        flash(_("That is not the file you checked: check the file again."), "error")
        return redirect(url_for("admin.directory_page"))
    try:
        content = _checked_files().take(digest)
    except redis.RedisError:
        content = None
    if content is None:
        session.pop(_CHECKED, None)
        flash(_("The checked file is no longer kept (it expired or changed): check it again."),
              "error")
        return redirect(url_for("admin.directory_page"))
    db = get_db()
    try:
        # The rows are checked again here: the directory may have changed since the check.
        report = import_directory(db, content, actor())
    except RowsRejected as exc:
        return _refused(exc)
    db.commit()
    session.pop(_CHECKED, None)
    try:
        _checked_files().drop(digest)
    except redis.RedisError:
        pass  # it expires on its own; the session no longer names it, so it cannot be re-applied
    flash(_("Imported: %(created)s added, %(updated)s changed.",
            created=sum(report.created.values()), updated=sum(report.updated.values())),
          "success")
    return redirect(url_for("admin.directory_page"))


@bp.post("/directory/import/cancel")
@login_required(Role.ADMIN)
def cancel_import():
    """Forget the checked file without importing it."""
    checked = session.pop(_CHECKED, None) or {}
    if checked.get("sha256"):
        try:
            _checked_files().drop(checked["sha256"])
        except redis.RedisError:
            pass  # it expires on its own
    return redirect(url_for("admin.directory_page"))


# A problem reads in the page's language: where it is (sheet, row, column by their labels) and
# what is wrong, by its code. The domain's English sentence (which quotes the refused cell) is
# for logs and the CLI; a code the table does not know falls back to it.
def _problem_text(problem) -> str:
    where = " ".join(part for part in (
        str(SHEET_LABELS.get(problem.sheet, problem.sheet or "")),
        problem.row and _("row %(n)s", n=problem.row),
        problem.column and _("column %(name)s", name=COLUMN_LABELS.get(problem.column,
                                                                       problem.column)),
    ) if part)
    message = ERROR_MESSAGES.get(problem.code) if problem.code else None
    text = str(message) if message is not None else problem.message
    return _("%(where)s: %(what)s", where=where, what=text) if where else text


def _update_user(db: Session, user) -> None:
    directory.update_user(db, user, _changes(directory.USER_FIELDS), actor())


def _update_leader(db: Session, leader) -> None:
    changes = _changes(directory.LEADER_FIELDS, flags=("on_duty", "is_head"))
    if "reports_to_id" in changes:
        changes["reports_to_id"] = request.form.get("reports_to_id", type=int)
    directory.update_leader(db, leader, changes, actor())


def _update_liaison(db: Session, liaison) -> None:
    # Reassigned when another member is chosen: the form posts leader_id only then.
    directory.update_liaison(db, liaison, _changes(directory.LIAISON_FIELDS), actor())
    if "leader_id" in request.form:
        leader_id = request.form.get("leader_id", type=int)
        leader = directory.get_any_leader(db, leader_id) if leader_id else None
        directory.reassign_liaison(db, liaison, leader, actor())


def _update_unit(db: Session, unit) -> None:
    directory.update_unit(db, unit, _changes(directory.UNIT_FIELDS), actor())


_edit_views("user", directory.get_user,
            {"leaders": directory.list_leaders, "units": directory.list_units}, _update_user,
            "admin.users", "Show the form that edits an account.",
            "Change an account's name, phone, leader or unit.")
_edit_views("leader", directory.get_any_leader, {"leaders": directory.list_leaders},
            _update_leader, "admin.directory_page",
            "Show the form that edits a work-group member.",
            "Change a member's card, superior or head flag.")
_edit_views("liaison", directory.get_liaison, {"leaders": directory.list_leaders},
            _update_liaison, "admin.directory_page",
            "Show the form that edits a liaison and links them to a member.",
            "Change a liaison's details, and reassign them when another member is chosen.")
_edit_views("unit", directory.get_unit, {}, _update_unit, "admin.directory_page",
            "Show the form that edits a unit.", "Change a unit's name, kind or phone.")


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
    return _save(lambda db: directory.add_leader(
        db, form.get("name", ""), form.get("phone", ""), actor(), title=form.get("title", ""),
        email=form.get("email", ""), on_duty=bool(form.get("on_duty"))), "admin.directory_page")


@bp.post("/liaisons")
@login_required(Role.ADMIN)
def add_liaison():
    """Add a liaison linked to a leader."""
    form = request.form

    def add(db: Session) -> None:
        leader_id = form.get("leader_id", type=int)
        leader = directory.get_leader(db, leader_id) if leader_id else None
        directory.add_liaison(db, form.get("name", ""), form.get("phone", ""), leader, actor(),
                              work_unit=form.get("work_unit", ""), address=form.get("address", ""))

    return _save(add, "admin.directory_page")


@bp.post("/units")
@login_required(Role.ADMIN)
def add_unit():
    """Add a handling unit."""
    form = request.form

    def add(db: Session) -> None:
        kind = UnitKind(form.get("kind", UnitKind.TOWNSHIP.value))
        directory.add_unit(db, form.get("name", ""), kind, actor(), phone=form.get("phone", ""))

    return _save(add, "admin.directory_page", refuse=(DutylineError, ValueError))
