"""Recordings are fetched only from allow-listed hosts, within size and time limits, with
retries. Every test talks to a real HTTP server on loopback through the real code path."""
from __future__ import annotations

import logging
import time

import pytest
import requests

from cli.loopback import LoopbackServer, QuietHandler
from transcription.download import (RecordingRefused, TransientDownloadError,
                                    download_recording, is_allowed_url)

AUDIO = b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * 3992


class Recordings(LoopbackServer):
    """A loopback HTTP server whose answers each test scripts: a list of (status, body)."""

    def __init__(self):
        self.script: list = []
        self.requests: list[dict] = []
        owner = self

        class Handler(QuietHandler):
            def do_GET(self):
                owner.requests.append({"path": self.path,
                                       "auth": self.headers.get("Authorization")})
                step = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                status, body, headers = (*step, {})[:3] if len(step) == 2 else step
                if status == "stall":
                    time.sleep(body)
                    status, body = 200, AUDIO
                self.send_body(status, body, headers=headers)

        super().__init__(Handler)
        self.start()

    def url(self, path="/2010-04-01/Accounts/AC0/Recordings/RE1") -> str:
        return f"{self.base_url}{path}"


@pytest.fixture
def recordings():
    server = Recordings()
    yield server
    server.close()


ALLOWED = ("127.0.0.1",)


def fetch(url, tmp_path, **options):
    options.setdefault("allowed_hosts", ALLOWED)
    options.setdefault("auth", ("AC0", "token"))
    options.setdefault("backoff", (0.01,))
    return download_recording(url, tmp_path / "rec.wav", **options)


def test_a_recording_is_downloaded_with_credentials(recordings, tmp_path):
    recordings.script = [(200, AUDIO)]

    size = fetch(recordings.url(), tmp_path)

    assert size == len(AUDIO)
    assert (tmp_path / "rec.wav").read_bytes() == AUDIO
    assert recordings.requests[0]["auth"].startswith("Basic ")
    assert [p.name for p in tmp_path.iterdir()] == ["rec.wav"]  # no partial file left


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.5/Recordings/RE1",
    "https://api.twilio.com.evil.example/Recordings/RE1",
    "https://user@api.twilio.com/Recordings/RE1",
    "file:///etc/passwd",
    "http://api.twilio.com/Recordings/RE1",  # plain http outside loopback
    "not a url",
])
def test_a_forged_recording_url_is_refused_and_logged(url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="transcription.download"):
        with pytest.raises(RecordingRefused):
            download_recording(url, tmp_path / "rec.wav", allowed_hosts=("api.twilio.com",),
                               auth=None)

    assert "refused" in caplog.text
    assert not (tmp_path / "rec.wav").exists()


def test_the_allow_list_matches_host_or_host_and_port():
    assert is_allowed_url("https://api.twilio.com/x", ("api.twilio.com",))
    assert is_allowed_url("http://127.0.0.1:8080/x", ("127.0.0.1:8080",))
    assert not is_allowed_url("http://127.0.0.1:8081/x", ("127.0.0.1:8080",))
    assert not is_allowed_url("https://API.twilio.com.evil/x", ("api.twilio.com",))


def test_a_local_port_not_on_the_list_is_not_contacted(recordings, tmp_path):
    recordings.script = [(200, AUDIO)]

    with pytest.raises(RecordingRefused):
        fetch(recordings.url(), tmp_path, allowed_hosts=("127.0.0.1:1",))

    assert recordings.requests == []


def test_transient_errors_are_retried_with_backoff(recordings, tmp_path):
    recordings.script = [(503, b"busy"), (404, b"not yet"), (200, AUDIO)]

    assert fetch(recordings.url(), tmp_path, attempts=3) == len(AUDIO)
    assert len(recordings.requests) == 3


def test_persistent_trouble_is_raised_for_the_job_to_retry_later(recordings, tmp_path):
    recordings.script = [(502, b"bad gateway")]

    with pytest.raises(requests.RequestException) as caught:
        fetch(recordings.url(), tmp_path, attempts=2)

    assert isinstance(caught.value, TransientDownloadError)
    assert len(recordings.requests) == 2
    assert not (tmp_path / "rec.wav").exists()


@pytest.mark.parametrize("status", [401, 403, 410])
def test_a_refusal_is_not_retried(recordings, tmp_path, status):
    recordings.script = [(status, b"no")]

    with pytest.raises(RecordingRefused):
        fetch(recordings.url(), tmp_path)

    assert len(recordings.requests) == 1


def test_an_oversized_recording_is_refused_and_nothing_is_kept(recordings, tmp_path):
    recordings.script = [(200, AUDIO)]

    with pytest.raises(RecordingRefused, match="larger"):
        fetch(recordings.url(), tmp_path, max_bytes=1000)

    assert list(tmp_path.iterdir()) == []


def test_a_stalled_server_times_out(recordings, tmp_path):
    recordings.script = [("stall", 2.0)]

    with pytest.raises(requests.RequestException):
        fetch(recordings.url(), tmp_path, attempts=1, read_timeout=0.3)


def test_a_redirect_is_followed_only_to_an_allowed_host_and_without_credentials(
        recordings, tmp_path):
    other = Recordings()
    try:
        target = other.url("/signed-media")
        other.script = [(200, AUDIO)]
        recordings.script = [(302, b"", {"Location": target})]

        assert fetch(recordings.url(), tmp_path,
                     allowed_hosts=(f"127.0.0.1:{recordings.port}",
                                    f"127.0.0.1:{other.port}")) == len(AUDIO)
        assert other.requests[0]["auth"] is None

        recordings.script = [(302, b"", {"Location": "http://169.254.169.254/"})]
        with pytest.raises(RecordingRefused, match="redirect"):
            fetch(recordings.url(), tmp_path)
    finally:
        other.close()
