"""Security: CSRF on every POST, a role check on every route, 404 for other people's cases
and recordings, text never rendered as HTML, and sign-in throttled per account and address."""
from __future__ import annotations

import re
import secrets
from datetime import date

import pytest

from intake.store.audit import Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.clock import Clock
from intake.time.calendar import BureauCalendar
from intake.outbox.notifications import SmsContext
from intake.cases.transfers import transfer_case
from intake.calls.voicemail import correct_transcript
from intake.rules.censures import propose_censure
from intake.statuses import CensureGround, CensureKind
from intake.directory.roster import add_liaison, create_user, get_leader
from intake.statuses import NoticeStatus, VisitMethod, VisitStatus
from intake.store.models import (AuditEvent, Case, FollowUpVisit, KeptBulletin, PublicNotice,
                                 ResultAttachment, Unit, User, utcnow)
from tests.dashboard_support import make_call, sign_in

TEST = Actor("test")
PUBLIC = {"auth.login", "auth.set_language", "health.healthz", "static",
          "api.openapi"}  # the published contract (OpenAPI 3.1) names no one's data
STAFF = {"admin", "duty", "supervisor"}
REVIEWERS = {"admin", "duty"}
EVERYONE = STAFF | {"leader", "other_leader", "unit"}
# Who may reach each endpoint. A new route fails test_every_route_is_in_the_table until it
# is added here, so nobody adds a page without deciding who may open it.
ALLOWED = {
    "auth.logout": EVERYONE,
    "views.home": EVERYONE,
    "views.inbox": STAFF,
    "views.inbox_json": STAFF,
    "views.call_page": EVERYONE,
    "views.call_live_text": EVERYONE,
    "views.next_call": STAFF,
    "views.call_audio": EVERYONE,
    "views.edit_transcript": REVIEWERS,
    "views.confirm": REVIEWERS,
    "views.retry": REVIEWERS,
    "views.call_draft": REVIEWERS,
    "views.my_cases": EVERYONE,
    "views.case_page": EVERYONE,
    # Staff may see the case but only its leader may acknowledge it (intake/rules/access.py): 403.
    "views.acknowledge": {"leader", "other_leader", "unit"},
    "views.resend": REVIEWERS,
    "views.outbox": STAFF,
    "views.directory_search": REVIEWERS,
    "views.sms_preview": REVIEWERS,
    "views.sms_segments": REVIEWERS,
    "admin.users": {"admin"},
    "admin.create_user": {"admin"},
    "admin.set_active": {"admin"},
    "admin.unlock_user": {"admin"},
    "admin.directory_page": {"admin"},
    "admin.add_leader": {"admin"},
    "admin.add_liaison": {"admin"},
    "admin.add_unit": {"admin"},
    "calendar.page": {"admin"},
    "calendar.set_entry": {"admin"},
    "calendar.remove_entry": {"admin"},
    "calendar.import_file": {"admin"},
    "duty_schedule.page": {"admin"},
    "duty_schedule.set_phone": {"admin"},
    "duty_schedule.add_period": {"admin"},
    "duty_schedule.remove_period": {"admin"},
    "duty_schedule.set_exception": {"admin"},
    "duty_schedule.remove_exception": {"admin"},
    "admin.user_page": {"admin"},
    "admin.edit_user": {"admin"},
    "admin.export_workbook": {"admin"},
    "admin.import_workbook": {"admin"},
    "admin.import_checked": {"admin"},
    "admin.cancel_import": {"admin"},
    "admin.leader_page": {"admin"},
    "admin.edit_leader": {"admin"},
    "admin.liaison_page": {"admin"},
    "admin.edit_liaison": {"admin"},
    "admin.unit_page": {"admin"},
    "admin.edit_unit": {"admin"},
    "admin.set_record_active": {"admin"},
    "duties.contacts": STAFF,
    "duties.log_call": {"leader", "other_leader"},
    "duties.commendations": STAFF,
    "duties.add_commendation": {"admin", "supervisor"},
    "duties.cards": STAFF | {"leader", "other_leader"},
    # The case API (dashboard/api.py) answers a signed-in session as it answers a token.
    "api.list_cases": EVERYONE,
    "api.show_case": EVERYONE,
    "api.download_attachment": EVERYONE,
    "api.directory": EVERYONE - {"unit"},
    "api.create_case": REVIEWERS | {"leader", "other_leader"},  # a report made to them (一.3)
    "api.acknowledge": {"leader", "other_leader", "unit"},
    "api.handle": {"leader", "other_leader", "unit"},
    "api.transfer": {"leader", "other_leader", "unit"},
    "api.escalate": {"leader", "other_leader", "unit"},
    "api.extend": {"leader", "other_leader", "unit", "supervisor"},
    "api.overrule": {"supervisor", "other_leader", "unit"},
    "api.file_result": {"other_leader", "unit"},
    "api.accept": {"supervisor", "other_leader", "unit"},
    "api.return_result": {"supervisor", "other_leader", "unit"},
    "api.mark_importance": {"supervisor", "other_leader", "unit"},
    "api.answer": {"leader", "other_leader", "unit"},
    "api.record_decision": {"supervisor", "admin", "other_leader", "unit"},
    "api.record_feedback": {"leader", "other_leader", "unit"},
    "api.rate": {"duty", "leader", "other_leader", "unit"},
    "views.unit_home": {"unit"},
    "views.supervision_home": {"supervisor", "admin"},
    # Case actions pass the sign-in check for everyone; the permission table (intake/rules/access.py)
    # then gives 403 to a party with no such action and 404 to one who may not see the case.
    "casework.handle": {"leader", "other_leader", "unit"},
    "casework.transfer": {"leader", "other_leader", "unit"},
    "casework.escalate": {"leader", "other_leader", "unit"},
    "casework.answer": {"leader", "other_leader", "unit"},
    "casework.feedback_preview": {"leader", "other_leader", "unit"},
    "casework.record_feedback": {"leader", "other_leader", "unit"},
    "casework.extend": {"leader", "other_leader", "unit", "supervisor"},
    "casework.rate": {"leader", "other_leader", "unit", "duty"},
    "casework.file_result": {"other_leader", "unit"},  # its unit only, once transferred
    "casework.accept": {"supervisor"},
    "casework.return_result": {"supervisor"},
    "casework.overrule": {"supervisor"},
    "casework.record_decision": {"supervisor", "admin"},
    "casework.new_case": REVIEWERS | {"leader", "other_leader"},
    "casework.mark_importance": {"supervisor"},
    "reports.page": {"admin", "supervisor"},
    "reports.cases": {"admin", "supervisor"},
    "reports.export": {"admin", "supervisor"},
    "reports.weekly": {"admin", "supervisor"},
    "api.report_rates": {"admin", "supervisor"},
    # The registers of criticism and accountability (intake/rules/censures.py): the office acts.
    "api.list_register": {"admin", "supervisor"},
    "api.record_in_register": {"supervisor"},
    "api.decide_in_register": {"supervisor"},
    "registers.record": {"supervisor"},
    "registers.decide": {"supervisor"},
    "registers.download_scan": {"admin", "supervisor"},
    # The bulletin archive and the year's summary (intake/reports/archive.py, year.py).
    "publications.bulletins": {"admin", "supervisor"},
    "publications.build": {"admin", "supervisor"},
    "publications.rebuild": {"admin", "supervisor"},
    "publications.year": {"admin", "supervisor"},
    "api.list_bulletins": {"admin", "supervisor"},
    "api.download_bulletin": {"admin", "supervisor"},
    # Follow-up visits (intake/cases/visits.py): the office or the case's leader; everyone
    # else who may see the case is refused by the permission table (403), others get 404.
    "visits.schedule": {"leader", "other_leader", "unit", "supervisor"},
    "visits.record_outcome": {"leader", "other_leader", "unit", "supervisor"},
    "visits.cancel": {"leader", "other_leader", "unit", "supervisor"},
    "api.list_visits": EVERYONE,
    "api.schedule_visit": {"leader", "other_leader", "unit", "supervisor"},
    "api.record_visit_outcome": {"leader", "other_leader", "unit", "supervisor"},
    "api.cancel_visit": {"leader", "other_leader", "unit", "supervisor"},
    # Notices to the public (intake/cases/notices.py): the supervision office only.
    "notices.index": {"supervisor"},
    "notices.write": {"supervisor"},
    "notices.show": {"supervisor"},
    "notices.revise": {"supervisor"},
    "notices.publish": {"supervisor"},
    "notices.download": {"supervisor"},
    "api.list_notices": {"supervisor"},
    "api.write_notice": {"supervisor"},
    "api.show_notice": {"supervisor"},
    "api.download_notice": {"supervisor"},
    "api.record_publication": {"supervisor"},
}
CASE_ACTIONS = {e for e in ALLOWED if e.startswith("casework.") and e != "casework.new_case"}
# Object routes where the other leader and the unit pass the role check but must not see
# this particular call or case: they get 404, exactly as for an id that does not exist.
OBJECT_HIDDEN = {"views.call_page", "views.call_live_text", "views.call_audio", "views.case_page", "views.acknowledge",
                 *(e for e in ALLOWED if e.startswith("api.") and e not in (
                     "api.list_cases", "api.directory", "api.create_case", "api.list_visits")),
                 *(CASE_ACTIONS - {"casework.accept", "casework.return_result",
                                   "casework.record_decision"}),
                 "visits.schedule", "visits.record_outcome", "visits.cancel"}


@pytest.fixture
def world(demo, tmp_path, settings):
    """Wang's case (with audio and a result scan) from a confirmed call, and every role."""
    session = demo
    wav = tmp_path / "call.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 100)
    call = make_call(session, recording_path=wav)
    case, notification = confirm_and_route(
        session, call.id, Confirmation(caller_name="张伟", liaison_id=call.liaison_id), TEST,
        lambda c: f"https://x/cases/{c.id}", "zh-CN")
    unit = session.query(Unit).first()
    scans = settings.recordings_dir / "attachments"
    scans.mkdir(parents=True, exist_ok=True)
    (scans / "census.pdf").write_bytes(b"%PDF-1.4\n")
    scan = ResultAttachment(case=case, filename="s.pdf", content_type="application/pdf", size=10,
                            sha256="0" * 64, stored_name="census.pdf", uploaded_by="test")
    session.add(scan)
    create_user(session, username="sup", role="supervisor", name="督办", password="dutyline-demo",
                actor=TEST)
    create_user(session, username="spare", role="duty", name="备用", password="dutyline-demo",
                actor=TEST)  # the census's admin POSTs disable this one
    create_user(session, username="unit1", role="unit", name="卫生院", password="dutyline-demo",
                actor=TEST, unit_id=unit.id)
    censure = propose_censure(session, CensureKind.CRITICISM, CensureGround.LATE_UNEXPLAINED,
                              key="census", facts="超期", now=utcnow(), unit_id=unit.id,
                              cases=[case])
    (scans / "census-notice.pdf").write_bytes(b"%PDF-1.4\n")
    censure_scan = ResultAttachment(censure_id=censure.id, filename="通报.pdf",
                                    content_type="application/pdf", size=10, sha256="0" * 64,
                                    stored_name="census-notice.pdf", uploaded_by="test")
    session.add(censure_scan)
    bulletin = KeptBulletin(period_kind="month", period_start=date(2026, 11, 1),
                            period_end=date(2026, 11, 30), version=1, built_at=utcnow(),
                            built_by="test", docx=b"PK", pdf=b"%PDF-1.4\n", docx_sha256="0" * 64,
                            pdf_sha256="0" * 64)
    session.add(bulletin)
    visit = FollowUpVisit(case=case, due_on=utcnow().date(), method=VisitMethod.PHONE,
                          status=VisitStatus.SCHEDULED, note="", outcome_note="",
                          scheduled_by="test", finished_by="")
    notice = PublicNotice(subject="普查", reported="-", done="-", result="-",
                          status=NoticeStatus.DRAFT, created_by="test")
    session.add_all([visit, notice])
    session.commit()
    users = {u.username: u.id for u in session.query(User)}
    return {"call": call, "case": case, "notification": notification, "unit": unit,
            "scan": scan, "censure": censure, "censure_scan": censure_scan,
            "bulletin": bulletin, "visit": visit, "notice": notice,
            "spare_user": users["spare"],
            "users": {"admin": users["admin"], "duty": users["duty"], "supervisor": users["sup"],
                      "leader": users["wang"], "other_leader": users["li"],
                      "unit": users["unit1"]}}


def _as(client, user_id):
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:
            session["user_id"] = user_id
            session["generation"] = 0  # a fresh account's; see dashboard/sessions.py
            session["sid"] = secrets.token_hex(8)  # so the census's sign-out ends only this one


def _url(rule, world) -> str:
    values = {"call_id": world["call"].id, "case_id": world["case"].id,
              "notification_id": world["notification"].id, "user_id": world["spare_user"],
              "filename": "app.css", "leader_id": world["call"].leader_id,
              "liaison_id": world["call"].liaison_id, "unit_id": world["unit"].id,
              "record_id": world["unit"].id, "kind": "units",
              "number": world["case"].number,
              "attachment_id": world["scan"].id,
              "period_id": 1,  # no such window: the admin is told so, others get 403
              "register": "criticisms", "censure_id": world["censure"].id,
              "scan_id": world["censure_scan"].id,
              "decision": "confirm", "bulletin_id": world["bulletin"].id, "visit_id": world["visit"].id,
              "notice_id": world["notice"].id, "fmt": "pdf"}
    return rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    dashboard = {e for e in endpoints if not e.startswith("ivr.")}
    assert dashboard - PUBLIC - set(ALLOWED) == set()


def test_every_route_checks_the_role(app, world):
    client = app.test_client()
    checked = 0
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC or rule.endpoint.startswith("ivr."):
            continue
        url = _url(rule, world)
        for role, user_id in [("anonymous", None), *world["users"].items()]:
            _as(client, user_id)
            response = client.open(url, method=method, data={})
            allowed = role in ALLOWED[rule.endpoint]
            where = f"{role} {method} {url} -> {response.status_code}"
            if role == "anonymous":
                assert response.status_code in (302, 401), where
                if response.status_code == 302:
                    assert "/login" in response.headers["Location"], where
            elif not allowed:
                assert response.status_code == 403, where
            elif role in ("other_leader", "unit") and rule.endpoint in OBJECT_HIDDEN:
                assert response.status_code == 404, where
            else:
                assert response.status_code not in (401, 403, 404), where
            checked += 1
    assert checked > 150


def test_twilio_webhooks_refuse_unsigned_requests(app):
    client = app.test_client()
    ivr_rules = [(r, m) for r, m in _routes(app) if r.endpoint.startswith("ivr.")]
    assert len(ivr_rules) >= 6
    for rule, method in ivr_rules:
        # The Media Stream route answers only a WebSocket upgrade (issue 22).
        upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"} if rule.websocket else {}
        assert client.open(rule.rule, method=method, data={"CallSid": "CA1"},
                           headers=upgrade).status_code == 403


def test_guessing_another_case_or_call_gives_404(app, world, demo):
    client = app.test_client()
    _as(client, world["users"]["other_leader"])
    case_id, call_id = world["case"].id, world["call"].id
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.get(f"/cases/{case_id + 999}").status_code == 404  # same answer as missing
    assert client.get(f"/calls/{call_id}/audio").status_code == 404
    assert client.get(f"/calls/{call_id}").status_code == 404
    assert b"\xe5\xbc\xa0\xe4\xbc\x9f" not in client.get("/cases").data  # 张伟 is not listed
    _as(client, world["users"]["leader"])
    assert client.get(f"/cases/{case_id}").status_code == 200
    assert client.get(f"/calls/{call_id}/audio").status_code == 200
    played = demo.query(AuditEvent).filter_by(action="call.audio_played", entity_id=call_id).one()
    assert played.actor == "user:wang"


def test_a_unit_sees_a_case_only_once_it_is_transferred_to_it(app, world, demo):
    client = app.test_client()
    _as(client, world["users"]["unit"])
    case_id = world["case"].id
    assert client.get(f"/cases/{case_id}").status_code == 404
    case = demo.get(Case, case_id)
    leader = demo.get(User, world["users"]["leader"])
    transfer_case(demo, leader, case, world["unit"].id, Clock(), BureauCalendar(),
                  SmsContext(lambda c: f"https://x/cases/{c.id}"))
    demo.commit()
    assert client.get(f"/cases/{case_id}").status_code == 200
    assert client.get(f"/calls/{world['call'].id}/audio").status_code == 200
    assert client.get("/inbox").status_code == 403


def test_a_disabled_account_loses_its_session(app, world, demo):
    client = app.test_client()
    _as(client, world["users"]["duty"])
    assert client.get("/inbox").status_code == 200
    demo.get(User, world["users"]["duty"]).active = False
    demo.commit()
    assert client.get("/inbox").status_code == 302


# ---------------------------------------------------------------- CSRF
@pytest.fixture
def csrf_app(settings):
    from dashboard.app import create_app

    return create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True, "WTF_CSRF_ENABLED": True})


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_posts_without_a_csrf_token_are_refused(csrf_app, world, demo):
    client = csrf_app.test_client()
    assert client.post("/login", data={"username": "duty", "password": "dutyline-demo"}
                       ).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "duty", "password": "dutyline-demo",
                                           "csrf_token": _token(page)})
    assert response.status_code == 302
    draft = make_call(demo)
    refused = client.post(f"/calls/{draft.id}/confirm", data={"caller_name": "张伟"})
    assert refused.status_code == 400
    assert "页面已过期" in refused.get_data(as_text=True)
    forged = client.post(f"/calls/{draft.id}/confirm",
                         data={"caller_name": "张伟", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert demo.query(Case).filter_by(call_id=draft.id).count() == 0
    token = _token(client.get(f"/calls/{draft.id}").get_data(as_text=True))
    accepted = client.post(f"/calls/{draft.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": draft.liaison_id, "csrf_token": token})
    assert accepted.status_code == 302
    assert demo.query(Case).filter_by(call_id=draft.id).count() == 1


def test_every_dashboard_form_carries_a_csrf_token(csrf_app, world):
    client = csrf_app.test_client()
    _as(client, world["users"]["admin"])
    for path in ["/inbox", f"/calls/{make_call_id(world)}", f"/cases/{world['case'].id}",
                 "/admin/users", "/admin/directory", "/outbox"]:
        html = client.get(path).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S)
        assert forms, path
        for form in forms:
            assert 'name="csrf_token"' in form, (path, form[:120])


def make_call_id(world) -> int:
    return world["call"].id


# ---------------------------------------------------------------- XSS
def test_script_in_a_transcript_or_a_name_is_shown_as_text(app, demo):
    wang = get_leader(demo, 1)
    add_liaison(demo, "<script>alert('name')</script>", "+8613600000000", wang, TEST)
    demo.commit()
    call = make_call(demo, from_number="+8613600000000",
                     words=[("<img src=x onerror=alert(1)>", 0.0, 0.5, 0.9)])
    correct_transcript(demo, call, "<script>alert('edit')</script>", TEST)
    demo.commit()
    client = app.test_client()
    sign_in(client, "duty")
    for path in ["/inbox", f"/calls/{call.id}"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(" not in html, path
        assert "<img src=x" not in html, path
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;edit&#39;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    response = client.get("/inbox")
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self'
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert client.get("/api/inbox").get_json()["calls"][0]["caller"].startswith("<script>")


def test_no_template_uses_safe_or_inline_script(app):
    from pathlib import Path

    for path in (Path(app.root_path) / "templates").glob("*.html"):
        text = path.read_text()
        assert "|safe" not in text and "Markup(" not in text, path.name
        assert re.search(r"<script>(?!</script>)", text) is None, path.name  # no inline code
        assert " style=" not in text and " onclick=" not in text, path.name


# ---------------------------------------------------------------- sign-in
def test_sign_in_is_throttled_per_account(app, demo):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "duty", "wrong-password").status_code == 401
    # The right password no longer helps for a while.
    blocked = sign_in(client, "duty")
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    # Another account from the same address is not locked by duty's failures.
    assert sign_in(client, "admin").status_code == 302
    actions = [e.action for e in demo.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions.count("user.sign_in_failed") == 5
    assert "user.sign_in_throttled" in actions


def test_sign_in_is_throttled_per_address_across_app_instances(settings, demo):
    from dashboard.app import create_app

    # Two apps stand for two gunicorn workers: the counters live in the shared Redis.
    first, second = (create_app({"DUTYLINE_SETTINGS": settings, "TESTING": True,
                                 "WTF_CSRF_ENABLED": False}).test_client() for _ in range(2))
    for i in range(20):
        client = first if i % 2 else second
        assert sign_in(client, f"nobody{i}", "guess").status_code == 401
    assert sign_in(first, "admin").status_code == 429
    assert sign_in(second, "admin").status_code == 429
    other_address = second.post("/login", data={"username": "admin",
                                                "password": "dutyline-demo"},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 302


def test_a_successful_sign_in_is_audited_and_the_cookie_is_locked_down(app, demo):
    client = app.test_client()
    response = sign_in(client, "duty")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https in the tests
    assert "Expires" not in cookie  # not remembered: ends with the browser
    remembered = sign_in(app.test_client(), "wang", remember="1")
    assert "Expires" in remembered.headers["Set-Cookie"]
    event = demo.query(AuditEvent).filter_by(action="user.signed_in").first()
    assert event.actor == "user:duty" and event.remote_addr == "127.0.0.1"


def test_sign_in_never_redirects_to_another_site(app, demo):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = app.test_client().post(f"/login?next={target}", data={
            "username": "duty", "password": "dutyline-demo"})
        assert response.headers["Location"] == "/", target


def test_an_on_duty_leader_may_open_the_call_an_urgent_alert_linked(app, demo):
    from intake.outbox.notifications import raise_urgent_alert

    call = make_call(demo, "+8613712345678")  # 陈明, linked to 李红; 王建国 is on duty
    client = app.test_client()
    _as(client, demo.query(User).filter_by(username="wang").one().id)
    assert client.get(f"/calls/{call.id}").status_code == 404
    raise_urgent_alert(demo, call, f"https://x/calls/{call.id}", "zh-CN", TEST)
    demo.commit()
    assert client.get(f"/calls/{call.id}").status_code == 200
