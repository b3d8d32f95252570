"""Absolute links to dashboard pages, for SMS bodies and anything read outside a browser.

The base is PUBLIC_BASE_URL. Without it, the address `dutyline run` serves on (it passes
DUTYLINE_SERVED_URL to its web and worker processes); failing both, FALLBACK_BASE_URL
(http://127.0.0.1:8000, where `dutyline run` serves by default): a single-machine install
with no public address gets links that open on that machine, and never a bare path.
Set PUBLIC_BASE_URL for links that open on a leader's phone.
"""
from __future__ import annotations

FALLBACK_BASE_URL = "http://127.0.0.1:8000"
PAGE_PATHS = {"case": "/cases/{id}", "call": "/calls/{id}"}


def base_url(public_base_url: str | None) -> str:
    """Return the base of every absolute link: PUBLIC_BASE_URL, or the one fallback."""
    return (public_base_url or FALLBACK_BASE_URL).rstrip("/")


def page_link(public_base_url: str | None, page: str, record_id: int) -> str:
    """Return the absolute URL of a case page or a call page.

    Raises:
        KeyError: for a page other than "case" or "call".
    """
    return base_url(public_base_url) + PAGE_PATHS[page].format(id=record_id)
