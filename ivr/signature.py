"""Verify X-Twilio-Signature on every webhook; a bad or missing one gets 403 and stores nothing.

Twilio signs the exact URL it was configured with. Behind a TLS-terminating proxy the
request arrives as http://internal:8000/..., so the URL is rebuilt from PUBLIC_BASE_URL
(or from X-Forwarded-Proto/Host as written by the DUTYLINE_PROXY_COUNT proxies the operator
declared, through werkzeug's ProxyFix). Connection overrides
(`#rc=2&rp=all`) never reach the server (a fragment is not sent over HTTP). Twilio's
documentation does not say whether the fragment is part of the signed string, so the URL
is checked both with the configured fragment (TWILIO_WEBHOOK_FRAGMENT) and without it;
either way the secret token, the path and every parameter are covered.

A failure is logged with the remote address and answered 403 before the view runs, so
a refused request stores nothing.
"""
from __future__ import annotations

import functools
import logging

from flask import abort, request
from twilio.request_validator import RequestValidator

from web.services import get_settings

log = logging.getLogger(__name__)


def public_url() -> str:
    """Rebuild the URL Twilio used for this request."""
    settings = get_settings()
    path = request.full_path if request.query_string else request.path
    if settings.public_base_url:
        return settings.public_base_url + path
    # Behind DUTYLINE_PROXY_COUNT proxies, ProxyFix (in the app factory) has already set the
    # scheme and host from the entries our own proxies wrote, not from what the client sent.
    query = request.query_string.decode()
    return request.base_url + (f"?{query}" if query else "")


def public_url_for(path: str) -> str:
    """Return the external URL of a path of this app, as Twilio is told it."""
    settings = get_settings()
    base = settings.public_base_url or request.host_url.rstrip("/")
    return base + path


def websocket_url(url: str) -> str:
    """Return the ws:// or wss:// form of an http(s) URL: what Twilio signs for a stream."""
    for web, socket in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(web):
            return socket + url[len(web):]
    return url


def candidate_urls(url: str, fragment: str | None) -> list[str]:
    urls = [url]
    if fragment:
        urls.insert(0, f"{url}#{fragment.lstrip('#')}")
    return urls


def is_valid_signature(url: str, params: dict, signature: str, auth_token: str,
                       fragment: str | None = None) -> bool:
    validator = RequestValidator(auth_token)
    return any(validator.validate(candidate, params, signature)
               for candidate in candidate_urls(url, fragment))


def verify_twilio_signature(view):
    """Refuse a webhook whose signature does not match (403), before anything is read."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        settings = get_settings()
        signature = request.headers.get("X-Twilio-Signature", "")
        url = public_url()
        # The MultiDict, not a flattened dict: a repeated parameter is part of what was signed.
        params = request.form if request.method == "POST" else {}
        fragment = settings.webhook_fragment
        if not signature or not is_valid_signature(
            url, params, signature, settings.twilio_auth_token, fragment
        ):
            log.warning("refused webhook with a %s signature from %s for %s",
                        "bad" if signature else "missing", request.remote_addr, url)
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def check_stream_upgrade() -> None:
    """Refuse a Media Stream upgrade whose signature does not match (403, before the upgrade).

    Twilio signs a WebSocket request like a webhook: the wss:// URL it opened, no parameters.
    """
    settings = get_settings()
    signature = request.headers.get("X-Twilio-Signature", "")
    url = websocket_url(public_url())
    if not signature or not is_valid_signature(url, {}, signature, settings.twilio_auth_token):
        log.warning("refused media stream with a %s signature from %s for %s",
                    "bad" if signature else "missing", request.remote_addr, url)
        abort(403)
