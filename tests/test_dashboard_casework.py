"""Every role acts on screen: each role's home, each case action's form and its bad input,
through the Flask client against a real database. The pages call the same domain
functions as the API; these tests check the doors: status codes, flashes by error code,
the SMS queued, and what each home page lists."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.store.audit import TWILIO
from intake.calls.voicemail import record_dial_outcome, register_call
from intake.cases.handling import CaseEntry, create_case
from intake.clock import Clock
from intake.store.models import Call, Case, Notification, Unit, User, utcnow
from intake.outbox.notifications import SmsContext
from intake.statuses import NotificationKind
from tests.dashboard_support import sign_in

SMS = SmsContext(lambda case: f"https://dutyline.example/cases/{case.id}")
RESULT = {"facts_true": "true", "causes": "配送延误", "measures": "已补货并通知村卫生室",
          "liaison_opinion": "满意", "signed_by": "李院长", "sealed": "1"}


def _scanned(**changes) -> dict:
    """The result form with its scan attached: a sealed result needs one (issue 19 item 10)."""
    from tests.case_support import PDF

    return {**RESULT, **changes, "attachment": (io.BytesIO(PDF), "盖章.pdf")}


def _case(demo, content="药店没有降压药") -> Case:
    """Open a case for 张伟 (routed to 王建国) as the duty room would."""
    duty = demo.scalar(select(User).where(User.username == "duty"))
    outcome = create_case(demo, duty, CaseEntry(caller_name="张伟", content=content,
                                                caller_phone="13812345678"), Clock(), SMS)
    demo.commit()
    return outcome.case


def _unit(demo, name="城关镇卫生院") -> Unit:
    return demo.scalar(select(Unit).where(Unit.name == name))


def _reload(demo, case) -> Case:
    demo.expire_all()
    return demo.get(Case, case.id)


def _history_line(html: str, action: str) -> str:
    """Return the text of the case page's history line for an audit action (it must be one)."""
    found = re.findall(rf'<li data-action="{re.escape(action)}">(.*?)</li>', html, re.S)
    assert len(found) == 1, (action, found)
    text = re.sub(r"<[^>]+>", "", found[0])
    assert action not in text  # a sentence, not the audit row's name
    return text


def _kinds(demo, case) -> list[str]:
    demo.expire_all()
    return [n.kind.value for n in demo.scalars(
        select(Notification).where(Notification.case_id == case.id).order_by(Notification.id))]


@pytest.mark.parametrize("username, home", [
    ("duty", "/inbox"), ("admin", "/inbox"), ("wang", "/cases"), ("duban", "/supervision"),
    ("chengguan", "/unit")])
def test_each_role_lands_on_its_own_home(client, demo, username, home):
    response = sign_in(client, username)
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == home
    assert client.get(home).status_code == 200


def test_role_homes_refuse_other_roles(client, demo):
    sign_in(client, "wang")
    assert client.get("/supervision").status_code == 403
    assert client.get("/unit").status_code == 403
    assert client.get("/cases/new").status_code == 200  # a report made to them (一.3)
    sign_in(client, "chengguan")
    assert client.get("/cases/new").status_code == 403


def test_duty_enters_a_case_by_hand_and_the_leader_gets_an_sms(client, demo):
    sign_in(client, "duty")
    page = client.get("/cases/new").get_data(as_text=True)
    assert "值班电话接通" in page and "来访" in page and "直接向联线领导反映" in page
    response = client.post("/cases/new", data={
        "channel": "in_person", "caller_name": "张伟", "caller_phone": "13812345678",
        "content": "村卫生室缺降压药", "received_at": "2026-11-20T09:30"})
    assert response.status_code == 303
    case = demo.scalar(select(Case))
    assert case.leader.name == "王建国" and case.channel.value == "in_person"
    assert case.liaison.name == "张伟"  # found by the phone number
    received = case.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert received.strftime("%m-%d %H:%M") == "11-20 09:30"
    assert _kinds(demo, case) == ["case_routed"]
    line = _history_line(client.get(response.headers["Location"]).get_data(as_text=True),
                         "case.routed")
    assert "值班员小周" in line and "王建国" in line


@pytest.mark.parametrize("change, message", [
    ({"content": ""}, "请填写联络员反映的内容"),
    ({"caller_name": " "}, "请填写来电人姓名"),
    ({"caller_phone": "12"}, "电话号码无效"),
    ({"channel": "voicemail"}, "请选择来源"),
])
def test_a_hand_entered_case_with_bad_input_is_refused_and_nothing_is_saved(
        client, demo, change, message):
    sign_in(client, "duty")
    form = {"channel": "phone", "caller_name": "张伟", "caller_phone": "13812345678",
            "content": "村卫生室缺降压药", **change}
    response = client.post("/cases/new", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert demo.scalar(select(Case.id)) is None


def test_the_leader_transfers_and_the_unit_is_told(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for form in ("ack-button", "handle-form", "transfer-form", "escalate-form"):
        assert form in page
    assert "城关镇卫生院" in page and "县人民医院" in page  # the directory's units
    response = client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    assert response.status_code == 303
    case = _reload(demo, case)
    assert case.status.value == "transferred" and case.unit.name == "城关镇卫生院"
    assert _kinds(demo, case) == ["case_routed", "unit_transfer"]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "王建国 转交 城关镇卫生院，限" in page
    assert "三个工作日（承办单位）" in page  # the deadline list


def test_transfer_without_a_unit_is_422_and_by_another_leader_404(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    response = client.post(f"/cases/{case.id}/transfer", data={"unit_id": ""})
    assert response.status_code == 422
    assert "请从通讯录中选择承办单位" in response.get_data(as_text=True)
    assert _reload(demo, case).status.value == "routed"
    client.post("/logout")
    sign_in(client, "li")
    assert client.post(f"/cases/{case.id}/transfer",
                       data={"unit_id": _unit(demo).id}).status_code == 404


def test_a_move_the_state_refuses_is_409(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/handle", data={"note": ""})
    client.post(f"/cases/{case.id}/answer", data={"note": "已协调补货"})
    response = client.post(f"/cases/{case.id}/handle", data={"note": ""})
    assert response.status_code == 409
    assert "该案件或来电当前状态不允许此操作" in response.get_data(as_text=True)


def test_a_leader_handles_answers_and_feeds_back_by_sms_after_a_preview(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    assert client.post(f"/cases/{case.id}/answer", data={"note": "x"}).status_code == 409
    client.post(f"/cases/{case.id}/handle", data={"note": "亲自协调"})
    response = client.post(f"/cases/{case.id}/answer", data={"note": "  "})
    assert response.status_code == 422 and "请填写办理情况" in response.get_data(as_text=True)
    client.post(f"/cases/{case.id}/answer", data={"note": "已协调药店补货"})
    assert _reload(demo, case).status.value == "answered"
    preview = client.get(f"/cases/{case.id}/feedback/preview",
                         query_string={"note": "降压药已补货，可到村卫生室领取。"})
    html = preview.get_data(as_text=True)
    assert "王建国" in html and "降压药已补货，可到村卫生室领取。" in html
    assert 'id="sms-preview-count"' in html and "条" in html
    assert _reload(demo, case).status.value == "answered"  # a preview sends nothing
    response = client.post(f"/cases/{case.id}/feedback",
                           data={"method": "sms", "note": "降压药已补货，可到村卫生室领取。"})
    assert response.status_code == 303
    case = _reload(demo, case)
    assert case.status.value == "fed_back" and case.feedback_method.value == "sms"
    assert _kinds(demo, case)[-2:] == ["feedback", "rating_request"]
    feedback = demo.scalar(select(Notification).where(
        Notification.kind == NotificationKind.FEEDBACK))
    assert "降压药已补货，可到村卫生室领取。" in feedback.body


def test_feedback_with_a_bad_method_is_422(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/handle")
    client.post(f"/cases/{case.id}/answer", data={"note": "已办理"})
    response = client.post(f"/cases/{case.id}/feedback", data={"method": "pigeon"})
    assert response.status_code == 422
    assert "请选择反馈方式" in response.get_data(as_text=True)
    response = client.post(f"/cases/{case.id}/feedback", data={"method": "sms", "note": ""})
    assert response.status_code == 422


def test_the_duty_room_records_a_rating_taken_by_phone(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/handle")
    client.post(f"/cases/{case.id}/answer", data={"note": "已办理"})
    client.post(f"/cases/{case.id}/feedback", data={"method": "phone"})
    client.post("/logout")
    sign_in(client, "duty")
    assert "rate-form" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/cases/{case.id}/rate", data={"rating": "great"}).status_code == 422
    assert client.post(f"/cases/{case.id}/rate", data={"rating": "satisfied"}).status_code == 303
    case = _reload(demo, case)
    assert case.status.value == "closed" and case.satisfaction.value == "satisfied"
    line = _history_line(client.get(f"/cases/{case.id}").get_data(as_text=True), "case.closed")
    assert "值班员小周" in line and "满意" in line and "案件办结" in line


def test_the_unit_sees_its_countdown_and_files_every_element(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    client.post("/logout")
    sign_in(client, "chengguan")
    home = client.get("/unit").get_data(as_text=True)
    assert case.number in home and "剩余" in home
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for name in ("facts_true", "causes", "measures", "liaison_opinion", "signed_by", "sealed"):
        assert f'name="{name}"' in page
    assert re.search(r'<input type="file" name="attachment"[^>]* required>', page)
    unsealed = {**RESULT}
    del unsealed["sealed"]
    response = client.post(f"/cases/{case.id}/result", data=unsealed)
    assert response.status_code == 422 and "公章" in response.get_data(as_text=True)
    response = client.post(f"/cases/{case.id}/result", data={**RESULT, "causes": ""})
    assert response.status_code == 422
    unscanned = client.post(f"/cases/{case.id}/result", data=RESULT)
    assert unscanned.status_code == 422
    assert "请上传签字盖章的办理结果扫描件" in unscanned.get_data(as_text=True)
    assert _reload(demo, case).status.value == "transferred"
    assert client.post(f"/cases/{case.id}/result", data=_scanned()).status_code == 303
    assert _reload(demo, case).status.value == "result_filed"
    client.post("/logout")
    sign_in(client, "renmin")  # the other unit never had the case
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert case.number not in client.get("/unit").get_data(as_text=True)


def test_supervision_returns_three_times_and_the_unit_is_flagged(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    for round_ in range(3):
        client.post("/logout")
        sign_in(client, "chengguan")
        assert client.post(f"/cases/{case.id}/result", data=_scanned()).status_code == 303
        client.post("/logout")
        sign_in(client, "duban")
        home = client.get("/supervision").get_data(as_text=True)
        assert case.number in home.split('id="awaiting-verdict"')[1].split("</section>")[0]
        if round_ == 0:
            bad = client.post(f"/cases/{case.id}/return", data={"category": "late", "reason": "x"})
            assert bad.status_code == 422 and "请选择退回原因" in bad.get_data(as_text=True)
            bad = client.post(f"/cases/{case.id}/return", data={"category": "format", "reason": ""})
            assert bad.status_code == 422 and "请填写理由" in bad.get_data(as_text=True)
        response = client.post(f"/cases/{case.id}/return",
                               data={"category": "quality", "reason": "未说明补货时间"})
        assert response.status_code == 303
    case = _reload(demo, case)
    assert case.status.value == "transferred" and case.redo_count == 3
    assert _kinds(demo, case).count("unit_return") == 3
    home = client.get("/supervision").get_data(as_text=True)
    # The register's proposal says it (the old panel of automatic flags is gone).
    assert 'id="flagged-units"' not in home
    registers = home.split('id="registers"')[1].split("</section>")[0]
    proposal = registers.split('data-ground="returned_three_times"')[1].split("</li>")[0]
    assert "城关镇卫生院" in proposal and case.number in proposal
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    line = _history_line(page, "unit.criticism_flagged")
    assert "城关镇卫生院" in line and "3 次" in line and "通报批评" in line


def test_the_escalation_register_shows_the_decision(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    response = client.post(f"/cases/{case.id}/escalate", data={"to": "bureau_meeting",
                                                              "reason": ""})
    assert response.status_code == 422
    response = client.post(f"/cases/{case.id}/escalate", data={"to": "town", "reason": "x"})
    assert response.status_code == 422 and "请选择提交局务会议或县委、县政府" in response.get_data(as_text=True)
    client.post(f"/cases/{case.id}/escalate", data={"to": "bureau_meeting",
                                                   "reason": "涉及全县药品配送"})
    client.post("/logout")
    sign_in(client, "duban")
    register = client.get("/supervision").get_data(as_text=True).split(
        'id="escalations"')[1].split("</section>")[0]
    assert case.number in register and "等待研究决定" in register and "涉及全县药品配送" in register
    client.post("/logout")
    sign_in(client, "wang")
    form = client.get(f"/cases/{case.id}").get_data(as_text=True).split(
        'id="answer-form"')[1].split("</form>")[0]
    # The section and its button say the same thing: a decision, not an answer (item 13).
    assert "<h2>记录研究决定</h2>" in form and ">记录研究决定</button>" in form
    assert "记录答复" not in form
    client.post(f"/cases/{case.id}/answer", data={"note": "局务会议决定统一调配"})
    client.post("/logout")
    sign_in(client, "duban")
    register = client.get("/supervision").get_data(as_text=True).split(
        'id="escalations"')[1].split("</section>")[0]
    assert "局务会议决定统一调配" in register and "等待研究决定" not in register


def test_an_extension_needs_a_later_deadline_and_a_reason(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/handle")
    later = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai"))
    field = later.strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/cases/{case.id}/extend",
                       data={"deadline": "soon", "reason": "x"}).status_code == 422
    assert client.post(f"/cases/{case.id}/extend",
                       data={"deadline": field, "reason": ""}).status_code == 422
    earlier = (utcnow() - timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai"))
    response = client.post(f"/cases/{case.id}/extend", data={
        "deadline": earlier.strftime("%Y-%m-%dT%H:%M"), "reason": "等待药品到货"})
    assert response.status_code == 422 and "晚于" in response.get_data(as_text=True)
    assert client.post(f"/cases/{case.id}/extend",
                       data={"deadline": field, "reason": "等待药品到货"}).status_code == 303
    case = _reload(demo, case)
    assert case.deadline_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%dT%H:%M") == field
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "延期" in page and "等待药品到货" in page


def test_the_cases_list_filters_by_state_and_overdue(client, demo):
    first = _case(demo, "一号")
    second = _case(demo, "二号")
    sign_in(client, "wang")
    client.post(f"/cases/{second.id}/transfer", data={"unit_id": _unit(demo).id})
    client.post("/logout")
    sign_in(client, "duty")
    every = client.get("/cases").get_data(as_text=True)
    assert first.number in every and second.number in every
    transferred = client.get("/cases", query_string={"status": "transferred"}).get_data(
        as_text=True)
    assert second.number in transferred and first.number not in transferred
    routed = client.get("/cases", query_string={"status": "routed"}).get_data(as_text=True)
    assert first.number in routed and second.number not in routed
    assert first.number not in client.get("/cases", query_string={"overdue": "1"}).get_data(
        as_text=True)  # due at the end of today


def test_a_call_the_duty_phone_answered_is_confirmed_as_a_phone_case(client, demo):
    registered = register_call(demo, "CAlive0001", "+8613812345678", "+8657112345", "zh-CN",
                               TWILIO)
    call = demo.get(Call, registered.id)
    record_dial_outcome(demo, call, "completed", TWILIO)
    demo.commit()
    assert call.status.value == "no_message"
    sign_in(client, "duty")
    response = client.post(f"/calls/{call.id}/confirm", data={
        "caller_name": "张伟", "liaison_id": call.liaison_id, "summary": "电话反映药店缺药"})
    assert response.status_code == 302
    case = demo.scalar(select(Case).where(Case.call_id == call.id))
    assert case.channel.value == "phone" and case.leader.name == "王建国"


def test_the_supervision_office_and_units_cannot_act_as_the_leader(client, demo):
    case = _case(demo)
    sign_in(client, "duban")
    assert client.post(f"/cases/{case.id}/transfer",
                       data={"unit_id": _unit(demo).id}).status_code == 403
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "transfer-form" not in page and "ack-button" not in page
    client.post("/logout")
    sign_in(client, "chengguan")
    assert client.get(f"/cases/{case.id}").status_code == 404  # not yet transferred to it
    assert client.post(f"/cases/{case.id}/accept").status_code == 403  # role check first


def test_the_same_day_deadline_reads_as_24_00_and_the_page_reads_in_english(client, demo):
    case = _case(demo)
    sign_in(client, "wang")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    local_day = case.routed_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert f"办理时限 {local_day} 24:00" in page and "剩余" in page
    client.post("/language", data={"locale": "en_US", "next": f"/cases/{case.id}"})
    client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    line = _history_line(page, "case.transferred")
    assert "王建国 transferred the case to 城关镇卫生院, result due" in line
    assert "Reassign / escalate" in page and "left)" in page  # folded (issue 19 item 12)


def test_the_unit_uploads_its_sealed_scan_and_a_bad_one_is_refused_with_nothing_stored(
        client, demo, settings):
    from io import BytesIO

    from intake.store.models import ResultAttachment

    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    client.post("/logout")
    sign_in(client, "chengguan")
    scans = settings.recordings_dir / "attachments"

    html_as_pdf = {**RESULT, "attachment": (BytesIO(b"<html>not a scan</html>"), "result.pdf")}
    response = client.post(f"/cases/{case.id}/result", data=html_as_pdf,
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "PDF" in response.get_data(as_text=True)
    assert _reload(demo, case).status.value == "transferred"
    assert demo.scalar(select(ResultAttachment.id)) is None
    assert not scans.exists() or list(scans.iterdir()) == []

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = client.post(f"/cases/{case.id}/result",
                           data={**RESULT, "attachment": (BytesIO(pdf), "结果.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    scan = demo.scalar(select(ResultAttachment))
    assert scan.content_type == "application/pdf" and len(list(scans.iterdir())) == 1
    client.post("/logout")
    sign_in(client, "duban")  # the supervision office sees the scan beside the result
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    link = f"/api/v1/cases/{case.number}/attachments/{scan.id}"
    assert link in page
    assert client.get(link).data == pdf
    client.post("/logout")
    sign_in(client, "renmin")  # a unit that never had the case
    assert client.get(link).status_code == 404


def test_a_polyglot_scan_uploaded_as_html_downloads_from_the_page_link_as_a_pdf(
        client, demo, settings):
    """Issue 16 item 8: the page's link serves the type read from the bytes, named for it."""
    from io import BytesIO

    from intake.store.models import ResultAttachment

    polyglot = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"
    case = _case(demo)
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/transfer", data={"unit_id": _unit(demo).id})
    client.post("/logout")
    sign_in(client, "chengguan")
    response = client.post(f"/cases/{case.id}/result",
                           data={**RESULT, "attachment": (BytesIO(polyglot), "poly.html")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    scan = demo.scalar(select(ResultAttachment))
    client.post("/logout")
    sign_in(client, "duban")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    [link] = set(re.findall(r'href="(/api/v1/cases/[^"]+/attachments/\d+)"', page))
    download = client.get(link)
    assert download.status_code == 200 and download.data == polyglot
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == f"attachment; filename=scan-{scan.id}.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_supervision_office_is_told_of_an_extension_and_overrules_it(client, demo):
    demo.scalar(select(User).where(User.username == "duban")).phone = "+8613912340009"
    case = _case(demo)
    same_day = case.deadline_at
    sign_in(client, "wang")
    client.post(f"/cases/{case.id}/handle")
    later = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert client.post(f"/cases/{case.id}/extend", data={
        "deadline": later.strftime("%Y-%m-%dT%H:%M"), "reason": "等待药品到货"}).status_code == 303
    assert "extension_notice" in _kinds(demo, case)  # the supervision office is texted
    assert "overrule-form" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/cases/{case.id}/overrule", data={"reason": "x"}).status_code == 403
    client.post("/logout")
    sign_in(client, "duban")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "overrule-form" in page and "等待药品到货" in page
    assert client.post(f"/cases/{case.id}/overrule", data={"reason": ""}).status_code == 422
    assert _reload(demo, case).deadline_at != same_day
    assert client.post(f"/cases/{case.id}/overrule",
                       data={"reason": "药品已到，无需延期"}).status_code == 303
    case = _reload(demo, case)
    assert case.deadline_at == same_day
    assert [change.kind.value for change in case.deadline_changes][-2:] == ["extension",
                                                                           "overruled"]
    history = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "药品已到，无需延期" in _history_line(history, "case.extension_overruled")
    # Nothing left to overrule: the API says so with the error envelope.
    answer = client.post(f"/api/v1/cases/{case.number}/overrule", json={"reason": "再次撤销"})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "no_extension"
