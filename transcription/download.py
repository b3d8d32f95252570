"""Download a recording from an allow-listed host only, with size and time limits.

A forged callback could name any URL; fetching it would let an outsider make the worker
reach internal services. Only hosts in TWILIO_RECORDING_HOSTS are contacted, over https
(plain http only on loopback, for the local simulator), and a redirect is followed only
to another allow-listed host. Proxy variables in the environment are ignored.

The time limit covers the whole download, headers and body: a read timeout alone bounds
only the gap between two bytes, so a server sending one byte a second would hold the
worker for hours. A watchdog thread shuts the download's sockets down at the deadline,
which wakes any read blocked on them.

Transient trouble (connection errors, timeouts, 5xx, and the 404 Twilio answers for a
moment after the callback while the file is still being stored) is retried here a few
times with backoff; if it persists the error propagates and the RQ job retries later.

    download_recording
      ├── RecordingRefused   not allowed, 4xx, not audio, too large, too slow: never retried
      └── requests.RequestException   transient, after local retries: the job retries
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

log = logging.getLogger(__name__)

MAX_RECORDING_BYTES = 50 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
TOTAL_TIMEOUT_SECONDS = 300
CHUNK_BYTES = 64 * 1024
ATTEMPTS = 3
BACKOFF_SECONDS = (1.0, 4.0)
MAX_REDIRECTS = 3
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORTS = {"https": 443, "http": 80}
MAGIC_BYTES = 12  # enough to tell RIFF....WAVE from anything else
# 404: Twilio may not have stored the file yet; 408/429: slow down and try again.
_RETRY_STATUSES = {404, 408, 429}


class RecordingRefused(Exception):
    """The URL is not on the allow-list, or the response is not acceptable; never retried."""


class TransientDownloadError(requests.RequestException):
    """A 5xx, 404, 408 or 429 answer: worth trying again later."""


def is_allowed_url(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Tell whether a recording URL points at an allow-listed host and port.

    An entry "host:port" allows that port only. A bare "host" allows the scheme's default
    port (443, or 80 for plain http), so "api.twilio.com" does not open api.twilio.com:8443.
    A bare loopback host ("127.0.0.1") allows any port: the local simulator and the tests
    serve recordings on a port picked at run time, and production never lists loopback.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username:
        return False
    host = parts.hostname.lower()
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return False  # plain http only for a local simulator
    for entry in allowed_hosts:
        entry_host, entry_port = _split_entry(entry)
        if entry_host != host:
            continue
        if entry_port is not None:
            if entry_port == port:
                return True
        elif port == DEFAULT_PORTS[parts.scheme] or host in LOOPBACK_HOSTS:
            return True
    return False


def _split_entry(entry: str) -> tuple[str, int | None]:
    """Split an allow-list entry into host and port: "h", "h:8080", "[::1]:8080", "::1"."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return host, int(port) if port.isdigit() else None


def is_audio(head: bytes) -> bool:
    """Tell whether a file's first bytes are those of an audio format Twilio serves."""
    return (
        (head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE")
        or head[:3] == b"ID3"  # MP3 with a tag
        or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # MP3 frame
        or head[:4] in (b"OggS", b"fLaC")
    )


def download_recording(url: str, destination: Path, *, allowed_hosts: tuple[str, ...],
                       auth: tuple[str, str] | None, max_bytes: int = MAX_RECORDING_BYTES,
                       attempts: int = ATTEMPTS,
                       backoff: tuple[float, ...] = BACKOFF_SECONDS,
                       read_timeout: float = READ_TIMEOUT_SECONDS,
                       total_timeout: float = TOTAL_TIMEOUT_SECONDS) -> int:
    """Fetch a recording to `destination` atomically; return its size in bytes.

    Raises:
        RecordingRefused: host not allowed, 4xx answer, too large, or over the time limit.
        requests.RequestException: a transient error that outlasted the local retries.
    """
    if not is_allowed_url(url, allowed_hosts):
        log.warning("refused to download a recording from %s (not in %s)", url, allowed_hosts)
        raise RecordingRefused(f"recording URL host is not allowed: {_host(url)}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + total_timeout
    watchdog = _Watchdog(total_timeout)
    with requests.Session() as http, watchdog:
        http.trust_env = False  # no HTTP(S)_PROXY detours, no .netrc credentials
        for scheme in ("http://", "https://"):
            http.mount(scheme, _WatchedAdapter(watchdog))
        for attempt in range(1, attempts + 1):
            try:
                return _download_once(http, url, destination, allowed_hosts, auth, max_bytes,
                                      min(read_timeout, total_timeout), deadline)
            except (requests.RequestException, TransientDownloadError) as exc:
                if watchdog.expired:
                    log.warning("download of %s cut off at the %.0f s limit", url, total_timeout)
                    raise RecordingRefused("recording download took longer than allowed") from exc
                if not isinstance(exc, (requests.ConnectionError, requests.Timeout,
                                        TransientDownloadError)):
                    raise
                if attempt == attempts or time.monotonic() >= deadline:
                    log.warning("download of %s failed %d time(s): %s", url, attempt, exc)
                    raise
                pause = backoff[min(attempt - 1, len(backoff) - 1)] if backoff else 0
                log.info("download of %s failed (%s); retrying in %.1f s", url, exc, pause)
                time.sleep(pause)
    raise AssertionError("unreachable")


def _download_once(http: requests.Session, url: str, destination: Path,
                   allowed_hosts: tuple[str, ...], auth, max_bytes: int, read_timeout: float,
                   deadline: float) -> int:
    origin = _origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        # Credentials go only to the origin the callback named, never to a redirect target.
        response = http.get(url, auth=auth if _origin(url) == origin else None, stream=True,
                            allow_redirects=False,
                            timeout=(CONNECT_TIMEOUT_SECONDS, read_timeout))
        with response:
            if response.is_redirect:
                target = urljoin(url, response.headers.get("Location", ""))
                if not is_allowed_url(target, allowed_hosts):
                    log.warning("refused a recording redirect from %s to %s", url, target)
                    raise RecordingRefused(f"recording redirects to a host that is not "
                                           f"allowed: {_host(target)}")
                url = target
                continue
            status = response.status_code
            if status in _RETRY_STATUSES or status >= 500:
                raise TransientDownloadError(f"HTTP {status} from {_host(url)}")
            if status >= 400:
                raise RecordingRefused(f"recording download refused: HTTP {status}")
            # The allow-list says where, not what: a URL naming some other page of an allowed
            # host must not be stored and served as a recording. Twilio always labels audio.
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type and not content_type.startswith("audio/"):
                raise RecordingRefused(f"recording is not audio: Content-Type {content_type}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise RecordingRefused(f"recording is larger than {max_bytes} bytes")
            return _save(response, destination, max_bytes, deadline)
    raise RecordingRefused(f"more than {MAX_REDIRECTS} redirects")


def _save(response: requests.Response, destination: Path, max_bytes: int,
          deadline: float) -> int:
    size = 0
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=_partial_prefix(destination))
    try:
        head = b""
        with os.fdopen(fd, "wb") as out:
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise RecordingRefused(f"recording is larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise RecordingRefused("recording download took longer than allowed")
                if len(head) < MAGIC_BYTES:
                    head += chunk[:MAGIC_BYTES - len(head)]
                    if len(head) == MAGIC_BYTES and not is_audio(head):
                        raise RecordingRefused("recording is not audio by its first bytes")
                out.write(chunk)
        if not is_audio(head):
            raise RecordingRefused("recording is not audio by its first bytes")
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def partial_downloads(destination: Path) -> list[Path]:
    """Return the partial files that unfinished downloads to `destination` left behind."""
    return sorted(destination.parent.glob(_partial_prefix(destination) + "*"))


def _partial_prefix(destination: Path) -> str:
    return f".{destination.name}.part-"


class _Watchdog:
    """Shut down every socket of one download when its time limit passes."""

    def __init__(self, seconds: float):
        self.expired = False
        self._connections: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def watch(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection) -> None:
    # shutdown(), unlike close(), wakes a read that another thread is blocked in.
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connection pools hand each connection to the watchdog."""

    def __init__(self, watchdog: _Watchdog):
        self._watchdog = watchdog  # before super().__init__, which builds the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        watchdog = self._watchdog

        def watched(pool_class):
            class WatchedPool(pool_class):
                def _get_conn(self, timeout=None):
                    connection = super()._get_conn(timeout)
                    watchdog.watch(connection)
                    return connection

            return WatchedPool

        self.poolmanager.pool_classes_by_scheme = {
            "http": watched(HTTPConnectionPool), "https": watched(HTTPSConnectionPool)}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
