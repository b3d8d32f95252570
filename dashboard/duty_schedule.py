"""The admin's duty schedule: the duty phone, weekly staffed windows and date exceptions.

The same intake.time.duty functions as `dutyline duty ...`, with the same checks and audit rows.
Holidays are not entered here but in the working calendar (/admin/calendar).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from dashboard.auth import actor, login_required
from dashboard.errors import error_message
from intake.time import duty
from intake.exceptions import DutylineError, NotFound
from intake.statuses import Role
from web.services import get_db

bp = Blueprint("duty_schedule", __name__, url_prefix="/admin/duty")

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


def _back():
    return redirect(url_for("duty_schedule.page"))


def _save(change, done: str):
    """Run one change and commit it, or roll back and flash the error by its code."""
    db = get_db()
    try:
        change(db)
    except DutylineError as exc:
        db.rollback()
        flash(error_message(exc), "error")
        return _back()
    db.commit()
    flash(done, "success")
    return _back()


@bp.get("")
@login_required(Role.ADMIN)
def page():
    """List the duty phone, the weekly windows and the date exceptions, with forms."""
    db = get_db()
    periods, exceptions = duty.list_duty_schedule(db)
    return render_template("admin_duty.html", phone=duty.get_setting(db, duty.DUTY_PHONE_KEY),
                           periods=periods, exceptions=exceptions, weekdays=WEEKDAYS,
                           clock=duty.format_clock)


@bp.post("/phone")
@login_required(Role.ADMIN)
def set_phone():
    """Set the phone calls are put through to during duty hours."""
    number = request.form.get("phone", "")
    return _save(lambda db: duty.set_duty_phone(db, number, actor()), _("Duty phone saved."))


@bp.post("/periods")
@login_required(Role.ADMIN)
def add_period():
    """Add a weekly staffed window."""
    form = request.form

    def change(db):
        duty.add_duty_period(db, duty.parse_weekday(form.get("weekday", "")),
                             duty.parse_clock(form.get("starts", ""), "starts"),
                             duty.parse_clock(form.get("ends", ""), "ends"), actor())

    return _save(change, _("Window added."))


@bp.post("/periods/<int:period_id>/remove")
@login_required(Role.ADMIN)
def remove_period(period_id: int):
    """Remove one weekly window."""
    return _save(lambda db: duty.remove_duty_period(db, period_id, actor()),
                 _("Window removed."))


@bp.post("/exceptions")
@login_required(Role.ADMIN)
def set_exception():
    """Override the weekly schedule on one date: closed, or staffed (all day or some hours)."""
    form = request.form

    def change(db):
        starts, ends = form.get("starts", "").strip(), form.get("ends", "").strip()
        duty.set_duty_exception(db, duty.parse_duty_day(form.get("day", "")),
                                form.get("staffed") == "1", actor(),
                                duty.parse_clock(starts, "starts") if starts else None,
                                duty.parse_clock(ends, "ends") if ends else None,
                                form.get("note", "").strip())

    return _save(change, _("Exception saved."))


@bp.post("/exceptions/remove")
@login_required(Role.ADMIN)
def remove_exception():
    """Drop a date's exception, so the weekly windows apply again."""
    def change(db):
        if not duty.remove_duty_exception(db, duty.parse_duty_day(request.form.get("day", "")),
                                          actor()):
            raise NotFound("no exception on that date")

    return _save(change, _("Exception removed."))
