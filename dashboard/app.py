"""The Flask app factory. Nothing is created at import time."""
from __future__ import annotations

from datetime import timedelta

from babel import support
from flask import Flask, request, session
from flask_babel import Babel, Domain, get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from intake.store.database import make_engine, make_session_factory
from intake.store.settings import Settings, load_settings
from jobs.queue import (WEB_ENQUEUE_BUDGET_SECONDS, JobQueue, connect_redis,
                        connect_redis_for_requests)
from jobs.streams import LiveStreams
from web.services import Services, install_services

# A live audio frame waits for Redis at most this long; then that call goes to its recording.
LIVE_FRAME_BUDGET_SECONDS = 1.0

# No inline script or style anywhere, so the policy can forbid both: an injected <script>
# would not run even if a template forgot to escape it.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; media-src 'self'; "
                           "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
                           "form-action 'self'")


class CatalogDomain(Domain):
    """Load catalogues by language_TERRITORY, the way they are named on disk (zh_CN).

    Babel parses "zh_CN" into zh_Hans_CN (it adds the script), and gettext then looks for
    translations/zh_Hans_CN and translations/zh only, so zh_CN would never be found.
    """

    def __init__(self):
        super().__init__()
        self._catalogs: dict[str, support.NullTranslations] = {}

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        name = f"{locale.language}_{locale.territory}" if locale.territory else locale.language
        if name not in self._catalogs:
            catalog = support.NullTranslations()
            for directory in self.translation_directories:
                found = support.Translations.load(directory, [name, locale.language],
                                                  self.domain[0])
                if isinstance(found, support.Translations):
                    catalog = found
                    break
            self._catalogs[name] = catalog
        return self._catalogs[name]


def create_app(config: dict | None = None) -> Flask:
    """Create the web app: dashboard, Twilio webhooks and /healthz.

    Args:
        config: Flask config overrides; "DUTYLINE_SETTINGS" may carry a ready Settings.
    """
    config = dict(config or {})
    settings: Settings = config.pop("DUTYLINE_SETTINGS", None) or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="dutyline_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(
            settings.public_base_url and settings.public_base_url.startswith("https")
        ),
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.language.replace("-", "_"),
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    app.config.update(config)
    if settings.proxy_count:
        # Once, here: every view then reads the client's address, scheme and host from
        # request.remote_addr / request.url, taking only the entries our proxies appended.
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    engine = make_engine(settings.database_url)
    # One client (and connection pool) per app; redis-py resets the pool after a fork, so
    # gunicorn workers forked from a preloaded app each get their own connections. Each
    # request's enqueues share one short budget (jobs.queue): Twilio waits only 15 s.
    redis_client = connect_redis_for_requests(settings.effective_redis_url)
    install_services(app, Services(
        settings=settings,
        session_factory=make_session_factory(engine),
        job_queue_factory=lambda: JobQueue(redis_client, budget=WEB_ENQUEUE_BUDGET_SECONDS),
        # Its own client: a live frame waits for Redis at most a second (jobs.streams).
        live_streams=LiveStreams(connect_redis_for_requests(settings.effective_redis_url,
                                                            budget=LIVE_FRAME_BUDGET_SECONDS))
        if settings.live_streams > 0 else None,
    ))

    from dashboard import admin, api, auth, casework, duties, health, views
    from dashboard import api_registers  # noqa: F401  (adds the registers' routes to api.bp)
    from dashboard import api_bulletins  # noqa: F401  (adds the archive's routes to api.bp)
    from dashboard import publications
    from dashboard import api_visits  # noqa: F401  (adds the follow-up visits' routes to api.bp)
    from dashboard import registers
    from dashboard import visits as follow_up_visits
    from dashboard import notices as public_notices
    from dashboard import api_notices  # noqa: F401  (adds the notices' routes to api.bp)
    from dashboard import calendar as working_calendar
    from dashboard import duty_schedule
    from dashboard.params import DatabaseIdConverter
    from dashboard import reports
    from dashboard.ratelimit import SignInLimiter
    from dashboard.sessions import SessionRevocations
    from ivr.views import bp as ivr_bp

    signin_redis = connect_redis(settings.effective_redis_url, timeout=1)
    app.extensions[auth.LIMITER_KEY] = SignInLimiter(signin_redis)
    app.extensions[admin.CHECKED_FILES_KEY] = admin.CheckedFiles(signin_redis)
    app.extensions[auth.REVOCATIONS_KEY] = SessionRevocations(
        signin_redis, int(app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()))

    def select_locale() -> str:
        # The explicit choice wins (session, then the year-long cookie); then the bureau's
        # configured language. The browser's Accept-Language is not consulted: duty-room
        # machines often ship with English browsers, and the bureau's default is Chinese.
        for chosen in (session.get("locale"), request.cookies.get(auth.LOCALE_COOKIE)):
            if chosen in auth.UI_LOCALES:
                return chosen
        return app.config["BABEL_DEFAULT_LOCALE"]

    babel = Babel(app, locale_selector=select_locale,
                  timezone_selector=lambda: settings.timezone)
    babel.domain_instance = CatalogDomain()
    csrf = CSRFProtect(app)
    csrf.exempt(ivr_bp)  # Twilio's requests carry a signature instead of a CSRF token
    app.url_map.converters["int"] = DatabaseIdConverter  # before any rule is added
    # The API checks CSRF itself, only for cookie-authenticated writes (dashboard/api.py).
    csrf.exempt(api.bp)
    app.register_blueprint(ivr_bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(casework.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(working_calendar.bp)
    app.register_blueprint(duty_schedule.bp)
    app.register_blueprint(duties.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(registers.bp)
    app.register_blueprint(publications.bp)
    app.register_blueprint(follow_up_visits.bp)
    app.register_blueprint(public_notices.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    views.register_filters(app)
    if not app.testing and app.config.get("DUTYLINE_PRELOAD_TOPICS", True):
        # jieba's dictionary takes 1-4 s to load: at start, not on the first weekly analysis
        # (issue 19 item 16). In gunicorn the factory runs in each worker before it accepts
        # requests, so no request ever waits for it. The tests' apps (TESTING) skip it.
        from intake.reports.weekly import preload_segmenter

        preload_segmenter()
    api.register_routing_errors(app)  # after the pages' 404, which it wraps

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in ("static", None) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"  # case pages hold personal data
        return response

    return app
