"""Sign-in, sign-out and role checks for every view."""
from __future__ import annotations

import functools

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _

from intake.audit import Actor, record_event
from intake.directory import find_user, verify_password
from intake.models import User, utcnow
from intake.statuses import Role
from ivr.appcontext import get_db

bp = Blueprint("auth", __name__)


def current_user() -> User | None:
    if "user" not in g:
        user_id = session.get("user_id")
        user = get_db().get(User, user_id) if user_id else None
        g.user = user if user is not None and user.active else None
    return g.user


def actor() -> Actor:
    return Actor.user(current_user(), request.remote_addr)


def login_required(*roles: Role):
    """Require a signed-in user, and one of `roles` when given (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign a user in."""
    if request.method == "POST":
        db = get_db()
        user = find_user(db, request.form.get("username", "").strip())
        if user is not None and verify_password(user, request.form.get("password", "")):
            session.clear()
            session["user_id"] = user.id
            session.permanent = bool(request.form.get("remember"))
            user.last_login_at = utcnow()
            record_event(db, Actor.user(user, request.remote_addr), "user.signed_in", user)
            db.commit()
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("views.home")
            return redirect(target)
        flash(_("Wrong username or password."), "error")
    return render_template("login.html")


@bp.post("/logout")
def logout():
    """Sign the user out."""
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    """Remember the chosen UI language."""
    chosen = request.form.get("locale")
    if chosen in ("zh_CN", "en_US"):
        session["locale"] = chosen
    return redirect(request.referrer or url_for("views.home"))
