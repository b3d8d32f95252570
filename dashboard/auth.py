"""Sign-in, sign-out, the language switch and the role check every view goes through."""
from __future__ import annotations

import functools
import secrets
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _

from intake.store.audit import Actor, record_event
from intake.directory.roster import end_sessions, find_user, verify_password
from intake.store.models import User, utcnow
from intake.statuses import Role
from web.services import get_db

bp = Blueprint("auth", __name__)
UI_LOCALES = ("zh_CN", "en_US")
LOCALE_COOKIE = "dutyline_locale"
LOCALE_COOKIE_SECONDS = 365 * 86400
LIMITER_KEY = "dutyline.signin_limiter"
REVOCATIONS_KEY = "dutyline.session_revocations"


def current_user() -> User | None:
    """Return the signed-in, still active user of this request, or None."""
    if "user" not in g:
        user_id = session.get("user_id")
        user = get_db().get(User, user_id) if user_id else None
        g.user = user if user is not None and _session_is_current(user) else None
    return g.user


def _session_is_current(user: User) -> bool:
    # A session from before a deactivation, a new password or a "sign out everywhere"
    # carries an older generation; one that was signed out has its id recorded.
    if not user.active or session.get("generation") != user.session_generation:
        return False
    session_id = session.get("sid")
    return not (session_id and current_app.extensions[REVOCATIONS_KEY].is_revoked(session_id))


def actor() -> Actor:
    return Actor.user(current_user(), request.remote_addr)


def login_required(*roles: Role):
    """Require a signed-in user, and one of `roles` when given (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles  # read by the security tests' route census
        return wrapper

    return decorator


def _safe_next(target: str) -> str:
    # Only a same-site path. Browsers drop tabs and newlines from a URL and read "\\" as "/",
    # so "/\t/evil.example" and "/\\evil.example" are "//evil.example", another site; and a
    # newline in a Location header is refused outright. Any control character, space or
    # backslash therefore disqualifies the target.
    unsafe = any(ch == "\\" or ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target)
    if unsafe or not target.startswith("/") or target.startswith("//"):
        return url_for("views.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("views.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign a user in; too many failures lock sign-in for a while."""
    if request.method == "GET":
        return render_template("login.html")
    limiter = current_app.extensions[LIMITER_KEY]
    username = request.form.get("username", "").strip()
    address = request.remote_addr
    db = get_db()
    if not limiter.begin_attempt(username, address):
        record_event(db, Actor(f"anonymous:{username[:40]}", None, address),
                     "user.sign_in_throttled", None, after={"username": username[:60]})
        db.commit()
        flash(_("Too many failed sign-ins. Wait 15 minutes and try again."), "error")
        return render_template("login.html"), 429
    user = find_user(db, username)
    if user is None or not verify_password(user, request.form.get("password", "")):
        record_event(db, Actor(f"anonymous:{username[:40]}", None, address),
                     "user.sign_in_failed", None, after={"username": username[:60]})
        db.commit()
        flash(_("Wrong username or password."), "error")
        return render_template("login.html"), 401
    limiter.succeed(username, address)
    locale = session.get("locale")
    session.clear()  # a fresh session on sign-in, so a planted session id is useless
    session["user_id"] = user.id
    session["generation"] = user.session_generation
    session["sid"] = secrets.token_urlsafe(16)
    if locale:
        session["locale"] = locale
    # "Remember this phone": a 30-day cookie; otherwise the cookie ends with the browser.
    session.permanent = bool(request.form.get("remember"))
    user.last_login_at = utcnow()
    record_event(db, Actor.user(user, address), "user.signed_in", user,
                 after={"remember": session.permanent})
    db.commit()
    return redirect(_safe_next(request.args.get("next", "")))


@bp.post("/logout")
def logout():
    """Sign the user out."""
    user = current_user()
    if user is not None:
        db = get_db()
        who = Actor.user(user, request.remote_addr)
        session_id = session.get("sid")
        if not (session_id and current_app.extensions[REVOCATIONS_KEY].revoke(session_id)):
            end_sessions(db, user, who)  # cannot end just this one: end them all
        record_event(db, who, "user.signed_out", user)
        db.commit()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    """Remember the chosen UI language, in the session and in a year-long cookie."""
    chosen = request.form.get("locale")
    response = redirect(_safe_next(request.form.get("next") or ""))
    if chosen in UI_LOCALES:
        session["locale"] = chosen
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=LOCALE_COOKIE_SECONDS,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
