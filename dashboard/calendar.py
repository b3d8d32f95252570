"""The admin's working-day calendar: a year's holidays and adjusted workdays, entries, imports.

From 1 November every admin page shows a banner while next year has neither the package's
data nor the bureau's entries. The clock is `app.config["DUTYLINE_CLOCK"]` (a function
returning an aware datetime), so the banner can be tested on any date.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l

from dashboard.auth import actor, current_user, login_required
from dashboard.errors import ERROR_MESSAGES
from intake.time import calendar as holidays
from intake.exceptions import DutylineError, RejectedRow, RowsRejected
from intake.store.models import utcnow
from intake.statuses import Role
from intake.clock import Clock, FixedClock
from web.services import get_clock, get_db, get_settings

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")

# Domain errors name a field; people read these.
ERRORS = {
    "date": _l("That is not a date that exists."),
    "kind": _l("Choose holiday or workday."),
    "reason": _l("Keep the reason under 200 characters."),
    "already_workday": _l("That day is already a workday: a workday entry is for a day that "
                          "would otherwise be off."),
    "no_entry": _l("That day has no entry of the bureau's."),
    "duplicate": _l("This date is already on an earlier row."),
    "file": _l("The file cannot be read: give a CSV or XLSX file of date, kind and reason."),
}
SOURCES = {
    "entry": _l("Bureau entry"),
    "official": _l("State Council notice"),
    "statutory": _l("Statutory holiday"),
    "estimated": _l("Estimated"),
    "week": _l("Ordinary week"),
}
WEEKDAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
YEAR_SOURCES = {
    "official": _l("This year follows the State Council's notice (chinese-calendar package), "
                   "with the bureau's entries on top."),
    "entered": _l("This year has no official data yet: the bureau's entries decide, then the "
                  "fixed-date statutory holidays, then the estimated lunar holidays (provisional "
                  "until an entry confirms them)."),
    "estimated": _l("This year has neither official data nor entries: the lunar holidays are "
                    "estimated, and every deadline counted over it is provisional. Import the "
                    "State Council's notice when it is published."),
}


# The calendar writes the reasons of official, statutory and estimated days itself, in Chinese
# (the holiday's name, then 调休上班, 补假, 调休 or （估算）). An English page names them in English;
# a bureau entry's reason is what the admin typed and stays as typed.
# Written out (not built from holidays.OFFICIAL_NAMES) so that `pybabel extract` sees them.
HOLIDAY_NAMES = {
    "元旦": _l("New Year's Day"), "春节": _l("Spring Festival"), "清明节": _l("Tomb-sweeping Day"),
    "劳动节": _l("Labour Day"), "端午节": _l("Dragon Boat Festival"), "国庆节": _l("National Day"),
    "中秋节": _l("Mid-autumn Festival"), "抗战胜利70周年纪念日": _l("Anti-Fascist 70th Day"),
    "国庆": _l("National Day"), "中秋": _l("Mid-autumn Festival"), "端午": _l("Dragon Boat Festival"),
    "清明": _l("Tomb-sweeping Day"), "除夕": _l("New Year's Eve"),
}
REASON_FORMS = (("调休上班", _l("%(name)s: adjusted workday")),
                ("（估算）", _l("%(name)s (estimated)")),
                ("补假", _l("%(name)s: substitute day off")),
                ("调休", _l("%(name)s: bridge day off")))


def day_reason(day) -> str:
    """Return a calendar day's reason in the page's language (a bureau entry's as typed)."""
    reason = day["reason"]
    if day["source"] == "entry" or not reason or get_locale().language == "zh":
        return reason
    for suffix, form in REASON_FORMS:
        if reason.endswith(suffix):
            return str(form) % {"name": _name(reason.removesuffix(suffix))}
    return _name(reason)


def _name(chinese: str) -> str:
    name = HOLIDAY_NAMES.get(chinese)
    if name is None:  # a form inside a form: 国庆节补假（估算）
        for suffix, form in REASON_FORMS:
            if chinese.endswith(suffix):
                return str(form) % {"name": _name(chinese.removesuffix(suffix))}
        return chinese
    return str(name)


def local_today():
    clock = current_app.config.get("DUTYLINE_CLOCK", utcnow)
    return clock().astimezone(ZoneInfo(get_settings().timezone)).date()


def _clock() -> Clock:
    # The clock that says which deadlines have passed (not recounted); a test may set one.
    configured = current_app.config.get("DUTYLINE_CLOCK")
    return FixedClock(configured(), get_settings().timezone) if configured else get_clock()


def _message(field: str | None, fallback: str) -> str:
    # A file refused as a whole (too large, too many rows) names its error code as the field.
    return str(ERRORS.get(field) or ERROR_MESSAGES.get(field) or fallback)


def _back(year: int | None = None):
    return redirect(url_for("calendar.page", year=year) if year else url_for("calendar.page"))


@bp.app_context_processor
def inject_banner():
    """Offer base.html the year whose holidays an admin should enter now (or None)."""
    user = current_user()
    if user is None or user.role is not Role.ADMIN:
        return {"calendar_banner_year": None}
    calendar = holidays.load_calendar(get_db())
    return {"calendar_banner_year": holidays.year_needing_entries(calendar, local_today())}


@bp.get("")
@login_required(Role.ADMIN)
def page():
    """List a year's holidays and adjusted workdays, with forms to change them."""
    year = request.args.get("year", type=int) or local_today().year
    try:
        record = holidays.describe_year(holidays.load_calendar(get_db()), year)
    except DutylineError as exc:
        flash(_message(getattr(exc, "field", None), str(exc)), "error")
        return _back()
    return render_template("admin_calendar.html", record=record, sources=SOURCES,
                           year_sources=YEAR_SOURCES, weekdays=WEEKDAYS, day_reason=day_reason)


@bp.post("/entries")
@login_required(Role.ADMIN)
def set_entry():
    """Enter the bureau's holiday or adjusted workday on one date."""
    form = request.form
    db = get_db()
    try:
        wanted = holidays.EntryInput(holidays.parse_day(form.get("date", "")),
                                     holidays.parse_kind(form.get("kind", "")),
                                     form.get("reason", "").strip())
        holidays.set_calendar_entry(db, wanted, actor(), clock=_clock())
    except DutylineError as exc:
        db.rollback()
        flash(_message(getattr(exc, "field", None), str(exc)), "error")
        return _back(request.form.get("year", type=int))
    db.commit()
    flash(_("Saved."), "success")
    return _back(wanted.day.year)


@bp.post("/entries/remove")
@login_required(Role.ADMIN)
def remove_entry():
    """Remove the bureau's entry on one date."""
    db = get_db()
    try:
        day = holidays.parse_day(request.form.get("date", ""))
        holidays.remove_calendar_entry(db, day, actor(), clock=_clock())
    except DutylineError as exc:
        db.rollback()
        flash(_message(getattr(exc, "field", None), str(exc)), "error")
        return _back(request.form.get("year", type=int))
    db.commit()
    flash(_("Entry removed."), "success")
    return _back(day.year)


@bp.post("/import")
@login_required(Role.ADMIN)
def import_file():
    """Enter every row of an uploaded CSV or XLSX file, or none of them."""
    upload = request.files.get("file")
    db = get_db()
    try:
        if upload is None or not upload.filename:
            raise RowsRejected([RejectedRow(None, None, None, "file", "no file")])
        count = holidays.import_calendar_entries(
            db, holidays.read_calendar_file(upload.filename, upload.stream), actor(),
            clock=_clock())
    except RowsRejected as exc:
        db.rollback()
        flash(_("Nothing was imported."), "error")
        for row in exc.rows:
            text = _message(row.code, row.message)
            flash(_("Row %(line)s: %(problem)s", line=row.row, problem=text) if row.row else text,
                  "error")
        return _back(request.form.get("year", type=int))
    db.commit()
    flash(_("Imported %(count)s entries.", count=count), "success")
    return _back(request.form.get("year", type=int))
