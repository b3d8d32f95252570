"""What the bureau publishes, on screen: the bulletin archive (通报存档) and the year's summary
(年度工作总结), for the supervision office and the admins.

    GET  /bulletins                      every kept bulletin, its period, version, built time, files
    POST /bulletins                      keep a period the schedule missed (kind, period)
    POST /bulletins/ID/rebuild           keep a new version of the latest bulletin of a period
    GET  /reports/year?year=YYYY[&format=docx|pdf]   the year's summary, or its file

The files themselves are served by the API (GET /api/v1/bulletins/ID.docx|.pdf), which a
signed-in session may call. Each view calls one intake function, which checks the permission
table (intake/rules/access.py: read_bulletins, keep_bulletins).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from dashboard.auth import current_user, login_required
from dashboard.errors import error_message
from intake.exceptions import InvalidTransition, ValidationError
from intake.reports import archive
from intake.reports.year import (RATE_COLUMNS, compose_year_summary, parse_year,
                                 render_year_docx, render_year_pdf)
from intake.rules.access import principal_of
from intake.statuses import BulletinPeriod, Role
from intake.time.calendar import load_calendar
from web.services import get_db, get_settings

bp = Blueprint("publications", __name__)
READERS = (Role.SUPERVISOR, Role.ADMIN)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().astimezone(ZoneInfo(get_settings().timezone)).date()


def _who():
    return principal_of(current_user(), request.remote_addr)


def _back():
    return redirect(url_for("publications.bulletins"), code=303)


@bp.get("/bulletins")
@login_required(*READERS)
def bulletins():
    """List every kept bulletin, newest period first, with both downloads and a rebuild."""
    kept = archive.list_kept_bulletins(get_db(), _who())
    today = _today()
    missing_month = archive.period_before(BulletinPeriod.MONTH, today)
    return render_template("bulletins.html", bulletins=kept, latest=archive.latest_ids(kept),
                           period_label=archive.period_label, month_value=
                           f"{missing_month.start:%Y-%m}", quarter_values=[
                               f"{y}-Q{q}" for y in (today.year, today.year - 1)
                               for q in (4, 3, 2, 1)],
                           language=get_settings().language)


def _keep(action):
    db = get_db()
    try:
        kept = action(db)
    except (ValidationError, InvalidTransition) as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _back()
    db.commit()
    flash(_("Kept as version %(version)s of %(period)s.", version=kept.version,
            period=archive.period_label(kept.period_kind, kept.period_start,
                                        get_settings().language)), "success")
    return _back()


@bp.post("/bulletins")
@login_required(*READERS)
def build():
    """Keep the first bulletin of a period the schedule missed."""
    form = request.form
    return _keep(lambda db: archive.build_missing_bulletin(
        db, _who(), form.get("kind", ""), form.get("period", ""), now=_now(),
        calendar=load_calendar(db), tz=get_settings().timezone))


@bp.post("/bulletins/<int:bulletin_id>/rebuild")
@login_required(*READERS)
def rebuild(bulletin_id: int):
    """Keep a new version of a bulletin's period, built now, beside the old one."""
    return _keep(lambda db: archive.rebuild_bulletin(
        db, _who(), bulletin_id, now=_now(), calendar=load_calendar(db),
        tz=get_settings().timezone))


@bp.get("/reports/year")
@login_required(*READERS)
def year():
    """Show the year's summary, or send it as DOCX or PDF."""
    tz = get_settings().timezone
    try:
        chosen = parse_year(request.args.get("year") or _today().year)
    except ValidationError as exc:
        flash(error_message(exc), "error")
        chosen = _today().year
    db = get_db()
    summary = compose_year_summary(db, chosen, now=_now(), calendar=load_calendar(db), tz=tz)
    fmt = request.args.get("format")
    if fmt in ("docx", "pdf"):
        content = (render_year_pdf if fmt == "pdf" else render_year_docx)(summary, tz)
        return send_file(BytesIO(content), mimetype="application/pdf" if fmt == "pdf" else DOCX,
                         as_attachment=True, download_name=f"year-summary-{chosen}.{fmt}")
    return render_template("year_summary.html", summary=summary, rate_columns=RATE_COLUMNS)
