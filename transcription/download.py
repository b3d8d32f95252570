"""Download a recording from an allow-listed host only, with size and time limits.

A forged callback could name any URL; fetching it would let an outsider make the worker
reach internal services. Only hosts in TWILIO_RECORDING_HOSTS are contacted.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

MAX_RECORDING_BYTES = 50 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
CHUNK_BYTES = 64 * 1024


class RecordingRefused(Exception):
    """The URL is not on the allow-list, or the response is not acceptable; never retried."""


def is_allowed_url(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Tell whether a recording URL points at an allow-listed host (host or host:port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    host_port = f"{host}:{parts.port}" if parts.port else host
    if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
        return False  # plain http only for a local simulator
    return host in allowed_hosts or host_port in allowed_hosts


def download_recording(url: str, destination: Path, *, allowed_hosts: tuple[str, ...],
                       auth: tuple[str, str] | None, max_bytes: int = MAX_RECORDING_BYTES) -> int:
    """Fetch a recording to `destination` atomically; return its size in bytes.

    Raises:
        RecordingRefused: host not allowed, 4xx answer, or the file is too large.
        requests.RequestException: a transient network or 5xx error (the job retries).
    """
    if not is_allowed_url(url, allowed_hosts):
        log.warning("refused to download a recording from %s (not in %s)", url, allowed_hosts)
        raise RecordingRefused(f"recording URL host is not allowed: {urlsplit(url).hostname}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(url, auth=auth, stream=True, allow_redirects=False,
                      timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)) as response:
        if 400 <= response.status_code < 500 and response.status_code not in (404, 408, 429):
            raise RecordingRefused(f"recording download refused: HTTP {response.status_code}")
        response.raise_for_status()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise RecordingRefused(f"recording is larger than {max_bytes} bytes")
                    out.write(chunk)
            os.replace(tmp, destination)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return size
