"""Notices to the public (公告) on the JSON API, for the supervision office.

    GET  /api/v1/notices                    every notice, newest first
    POST /api/v1/notices                    subject, reported, done, result, cases
    GET  /api/v1/notices/ID                 one notice with its texts and publications
    GET  /api/v1/notices/ID.docx|.pdf       the notice as it goes to the outlet
    POST /api/v1/notices/ID/publications    outlet, published_on, link

A case's JSON (GET /api/v1/cases/NUMBER) lists the notices that speak of it and whether each
was published. Each route calls one function of intake.cases.notices.
"""
from __future__ import annotations

from flask import jsonify

from dashboard.api import _body, _text, _who, bp
from dashboard.notices import download_response, notice_file
from intake.cases import notices
from intake.rules.access import check
from web.services import get_clock, get_db, get_settings


def _json(notice) -> dict:
    return notices.describe_notice(notice, get_settings().timezone)


@bp.get("/notices")
def list_notices():
    """List the notices to the public, newest first (supervision office)."""
    rows = notices.list_notices(get_db(), _who())
    return jsonify({"notices": [_json(n) for n in rows], "count": len(rows)})


@bp.post("/notices")
def write_notice():
    """Write a notice on one case or a group of cases of wide public concern (a draft)."""
    check(_who(), "notice", None)  # the role first: a refusal by role is not "bad input"
    body = _body()
    numbers = body.get("cases")
    draft = notices.NoticeDraft(subject=_text(body, "subject"), reported=_text(body, "reported"),
                                done=_text(body, "done"), result=_text(body, "result"),
                                case_numbers=numbers if numbers is not None else [])
    db = get_db()
    notice = notices.write_notice(db, _who(), draft, get_clock())
    db.commit()
    return jsonify(_json(notice)), 201


@bp.get("/notices/<int:notice_id>")
def show_notice(notice_id: int):
    """Return one notice with its texts, cases and publications."""
    return jsonify(_json(notices.get_notice(get_db(), _who(), notice_id)))


@bp.get("/notices/<int:notice_id>.<any(docx, pdf):fmt>")
def download_notice(notice_id: int, fmt: str):
    """Send the notice as DOCX or PDF, with no personal data."""
    return download_response(*notice_file(notices.get_notice(get_db(), _who(), notice_id), fmt))


@bp.post("/notices/<int:notice_id>/publications")
def record_publication(notice_id: int):
    """Record where and when the notice appeared: outlet, published_on, link."""
    db = get_db()
    notice = notices.get_notice(db, _who(), notice_id)
    body = _body()
    notices.record_publication(db, _who(), notice, _text(body, "outlet"),
                               body.get("published_on"), _text(body, "link"), get_clock())
    db.commit()
    return jsonify(_json(notice)), 201
