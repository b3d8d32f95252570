"""Reports for the supervision office and the admin: the rates page, its drill-down and exports,
the weekly analysis, and GET /api/v1/reports/rates.

Every view parses the request, calls one intake function and renders or sends its answer.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import (Blueprint, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import get_locale, gettext as _

from dashboard.auth import login_required
from dashboard import labels as label_tables
from dashboard.charts import Series, render_rate_chart
from dashboard.errors import error_message
from intake.reports.bulletin import (compose_bulletin, render_bulletin_docx,
                                     render_bulletin_pdf)
from intake.exceptions import ValidationError
from intake.time.calendar import load_calendar
from intake.reports.exports import render_rates_csv, render_rates_xlsx
from intake.reports.rates import (DRILL_FIGURES, Grouping, compute_rates, compute_rows,
                                  compute_trend, find_unit, list_report_cases, month_period,
                                  parse_grouping, parse_period, resolve_period)
from intake.statuses import Role, UnitKind
from intake.reports.weekly import analyse_week, compose_weekly_digest, name_in_language, week_of
from web.services import get_db, get_settings

bp = Blueprint("reports", __name__)
READERS = (Role.SUPERVISOR, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().astimezone(ZoneInfo(get_settings().timezone)).date()


def _rates(period, grouping=Grouping.NONE, unit=None):
    db = get_db()
    return compute_rates(db, period, now=_now(), calendar=load_calendar(db),
                         tz=get_settings().timezone, grouping=grouping, unit=unit)


def _file_name(period, extension: str) -> str:
    return f"rates-{period.start.isoformat()}-{period.end.isoformat()}.{extension}"


@bp.get("/reports")
@login_required(*READERS)
def page():
    """Show the four rates for a period: overall, per kind, per unit, and a 12-month trend."""
    args = request.args
    preset = args.get("preset", "month")
    try:
        period = resolve_period(preset, args.get("value", ""), args.get("from", ""),
                                args.get("to", ""), _today())
    except ValidationError as exc:
        flash(error_message(exc), "error")
        preset, period = "month", resolve_period("month", "", "", "", _today())
    db = get_db()
    by_unit = _rates(period, Grouping.UNIT)
    kinds = compute_rows(db, period, Grouping.KIND, now=_now(), calendar=load_calendar(db),
                         tz=get_settings().timezone)
    trend = compute_trend(db, period.end, now=_now(), calendar=load_calendar(db),
                          tz=get_settings().timezone)
    labels = [f"{p.start.year % 100:02d}-{p.start.month:02d}" for p, _f in trend]
    chart = render_rate_chart(labels, [
        Series(_("Completion rate"), [f.rate("completion_rate") for _p, f in trend]),
        Series(_("Feedback rate"), [f.rate("feedback_rate") for _p, f in trend]),
        Series(_("Satisfaction rate"), [f.rate("satisfaction_rate") for _p, f in trend]),
        Series(_("Participation rate"), [f.rate("participation_rate") for _p, f in trend]),
    ], title=_("Rates over the last 12 months"))
    return render_template("reports.html", period=period, preset=preset,
                           value=args.get("value", ""), report=by_unit, kinds=kinds,
                           chart=chart, trend=trend, today=_today())


@bp.get("/reports/cases")
@login_required(*READERS)
def cases():
    """List the cases behind one number of the report."""
    args = request.args
    db = get_db()
    try:
        period = parse_period(args.get("from", ""), args.get("to", ""))
        unit = find_unit(db, args["unit_id"]) if args.get("unit_id") else None
        kind = UnitKind(args["kind"]) if args.get("kind") in {k.value for k in UnitKind} else None
        found = list_report_cases(db, period, args.get("figure", "received"), now=_now(),
                                  tz=get_settings().timezone, unit=unit, kind=kind,
                                  missed=args.get("missed") == "1")
    except ValidationError as exc:
        flash(error_message(exc), "error")
        return render_template("report_cases.html", cases=[], figure=None, period=None,
                               unit=None, kind=None, missed=False), 422
    return render_template("report_cases.html", cases=found, figure=args.get("figure"),
                           period=period, unit=unit, kind=kind, missed=args.get("missed") == "1")


@bp.get("/reports/export")
@login_required(*READERS)
def export():
    """Download the period's rates as CSV or XLSX, or its bulletin (通报) as DOCX or PDF."""
    try:
        period = parse_period(request.args.get("from", ""), request.args.get("to", ""))
    except ValidationError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("reports.page"))
    fmt = request.args.get("format", "csv")
    if fmt in ("docx", "pdf"):
        db = get_db()
        bulletin = compose_bulletin(db, period, now=_now(), calendar=load_calendar(db),
                                    tz=get_settings().timezone)
        render = render_bulletin_pdf if fmt == "pdf" else render_bulletin_docx
        return send_file(BytesIO(render(bulletin, get_settings().timezone)),
                         mimetype="application/pdf" if fmt == "pdf" else DOCX,
                         as_attachment=True,
                         download_name=f"bulletin-{period.start}-{period.end}.{fmt}")
    # A person's download: headers, the total and the kinds of unit in their language.
    return _rates_file(_rates(period, Grouping.UNIT), fmt,
                       words={**label_tables.RATE_COLUMNS, **label_tables.UNIT_KINDS})


def _rates_file(report, fmt: str, words: dict | None = None):
    if fmt == "xlsx":
        return send_file(BytesIO(render_rates_xlsx(report, words)), mimetype=XLSX,
                         as_attachment=True, download_name=_file_name(report.period, "xlsx"))
    return send_file(BytesIO(render_rates_csv(report, words)), mimetype="text/csv",  # Werkzeug adds "; charset=utf-8" to text/*
                     as_attachment=True, download_name=_file_name(report.period, "csv"))


@bp.get("/reports/weekly")
@login_required(*READERS)
def weekly():
    """Show the weekly analysis (民情分析) and the Monday digest it makes."""
    # Without a week asked for, the page opens on the current week (issue 19 item 7): the
    # office looks at what is coming in now; the Monday digest SMS still covers the last full
    # week (intake.reports.weekly.last_full_week).
    this_week = week_of(_today())
    try:
        monday = week_of(date.fromisoformat(request.args["week"])) \
            if request.args.get("week") else this_week
    except ValueError:
        flash(error_message(ValidationError("", code="date_invalid")), "error")
        monday = this_week
    analysis = analyse_week(get_db(), monday, now=_now(), tz=get_settings().timezone)
    # The page and its digest preview read in the reader's language (the SMS itself goes
    # out in the bureau's language, `dutyline report weekly`).
    language = str(get_locale() or get_settings().language).replace("_", "-")
    return render_template("report_weekly.html", analysis=analysis, this_week=this_week,
                           one_week=timedelta(days=7), language=language,
                           name_in_language=name_in_language,
                           digest=compose_weekly_digest(analysis, language))


def rates_response(args):
    """Answer GET /api/v1/reports/rates: JSON, or with format=csv|xlsx a file.

    The route is dashboard/api.py's (bearer tokens or a session); the page's exports share it.

    Raises:
        ValidationError: a bad or reversed period, an unknown group, unit or format (422).
    """
    period = parse_period(args.get("from", ""), args.get("to", ""))
    grouping = parse_grouping(args.get("group"))
    unit = find_unit(get_db(), args["unit"]) if args.get("unit") else None
    fmt = args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise ValidationError("choose json, csv or xlsx", field="format", code="invalid_input")
    report = _rates(period, grouping, unit)
    if fmt == "json":
        return jsonify(report.to_json())
    return _rates_file(report, fmt)


def drill_url(period, figure: str, row=None, missed: bool = False) -> str:
    """Return the link from a number on the page to the cases behind it."""
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), "figure": figure}
    if row is not None and row.unit_id is not None:
        params["unit_id"] = row.unit_id
    elif row is not None and row.kind is not None:
        params["kind"] = row.kind.value
    if missed:
        params["missed"] = "1"
    return url_for("reports.cases", **params)


@bp.app_context_processor
def report_helpers():
    return {"drill_url": drill_url, "month_period": month_period,
            "DRILL_FIGURES": DRILL_FIGURES}
