"""Notices to the public (公告) on screen, for the supervision office: write one on a case or
a group of cases, preview it, download it as DOCX or PDF, and record where it was published.

Each view calls one intake.cases.notices function (the API calls the same ones), commits and
redirects with a flash; bad input shows the form again with the error's message.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from dashboard.auth import current_user, login_required
from dashboard.errors import error_message
from intake.cases import notices
from intake.exceptions import InvalidTransition, ValidationError
from intake.reports.documents import render_docx, render_pdf
from intake.rules.access import principal_of
from intake.statuses import Role
from web.services import get_clock, get_db, get_settings

bp = Blueprint("notices", __name__)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _who():
    return principal_of(current_user(), request.remote_addr)


def _draft(form) -> notices.NoticeDraft:
    return notices.NoticeDraft(
        subject=form.get("subject", ""), reported=form.get("reported", ""),
        done=form.get("done", ""), result=form.get("result", ""),
        case_numbers=[n for n in form.get("cases", "").replace("，", ",").replace(",", "\n")
                      .splitlines() if n.strip()])


def notice_file(notice, fmt: str):
    """Return (bytes, content type, file name) of a notice in the bureau's language."""
    document = notices.build_notice_document(notice, get_settings().timezone,
                                             get_settings().language)
    if fmt == "pdf":
        return render_pdf(document), "application/pdf", f"notice-{notice.id}.pdf"
    return render_docx(document), DOCX, f"notice-{notice.id}.docx"


@bp.get("/notices")
@login_required(Role.SUPERVISOR)
def index():
    """List the notices to the public and offer the form to write one."""
    rows = notices.list_notices(get_db(), _who())
    return render_template("notices.html", notices=rows, form=request.args)


@bp.post("/notices")
@login_required(Role.SUPERVISOR)
def write():
    """Write a notice on one case or a group of cases of wide public concern (a draft)."""
    db = get_db()
    try:
        notice = notices.write_notice(db, _who(), _draft(request.form), get_clock())
    except ValidationError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return render_template("notices.html", notices=notices.list_notices(db, _who()),
                               form=request.form, error_field=exc.field), 422
    db.commit()
    flash(_("The notice is written. Check the preview, then download it for the outlet."),
          "success")
    return redirect(url_for("notices.show", notice_id=notice.id), code=303)


@bp.get("/notices/<int:notice_id>")
@login_required(Role.SUPERVISOR)
def show(notice_id: int):
    """Preview a notice as it will be printed, with its downloads and its publications."""
    db = get_db()
    notice = notices.get_notice(db, _who(), notice_id)
    return _render(notice)


def _render(notice, status: int = 200, form=None):
    document = notices.build_notice_document(notice, get_settings().timezone,
                                             get_settings().language)
    blocks = [(type(block).__name__, block) for block in document.blocks]
    return render_template("notice.html", notice=notice, document=document, blocks=blocks,
                           form=form or {}, today=get_clock().today()), status


@bp.post("/notices/<int:notice_id>/revise")
@login_required(Role.SUPERVISOR)
def revise(notice_id: int):
    """Rewrite a draft notice's texts."""
    db = get_db()
    notice = notices.get_notice(db, _who(), notice_id)
    try:
        notices.revise_notice(db, _who(), notice, _draft(request.form), get_clock())
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _render(notices.get_notice(db, _who(), notice_id), 422, request.form)
    db.commit()
    flash(_("The notice is revised."), "success")
    return redirect(url_for("notices.show", notice_id=notice_id), code=303)


@bp.post("/notices/<int:notice_id>/publication")
@login_required(Role.SUPERVISOR)
def publish(notice_id: int):
    """Record where and when the notice appeared; its cases then show it as published."""
    db = get_db()
    notice = notices.get_notice(db, _who(), notice_id)
    form = request.form
    try:
        day = date.fromisoformat(form.get("published_on", "").strip())
    except ValueError:
        day = None
    try:
        notices.record_publication(db, _who(), notice, form.get("outlet", ""), day,
                                   form.get("link", ""), get_clock())
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _render(notices.get_notice(db, _who(), notice_id), 422, form)
    db.commit()
    flash(_("The publication is recorded; the cases show the notice as published."), "success")
    return redirect(url_for("notices.show", notice_id=notice_id), code=303)


@bp.get("/notices/<int:notice_id>.<any(docx, pdf):fmt>")
@login_required(Role.SUPERVISOR)
def download(notice_id: int, fmt: str):
    """Download the notice as DOCX or PDF, as it goes to the outlet."""
    notice = notices.get_notice(get_db(), _who(), notice_id)
    return download_response(*notice_file(notice, fmt))


def download_response(content: bytes, mimetype: str, name: str) -> Response:
    """Return a built file as an attachment named for its type."""
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
