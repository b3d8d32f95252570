"""The case API over HTTP (design.md "The case API"; issue 9 item 6 and its bad-input rules):
every call, the one error envelope with 401/403/404/409/422, scans checked and stored only
when accepted, and times in the bureau's offset."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from intake.store.audit import Actor
from intake.store.models import AuditEvent, Notification, ResultAttachment, UnitResult
from intake.store.settings import load_settings
from tests.case_support import JPEG, PDF, PNG

OFFSET = "+08:00"


# people, tokens and api are tests/conftest.py's, shared with tests/test_api_contract.py.


def _new_case(api, phone="+8613812345678", **extra):
    response = api("duty", "POST", "/cases", json={
        "caller_name": "张伟", "caller_phone": phone, "content": "村卫生室没有降压药",
        "channel": "in_person", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _error(response):
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "field", "message"} <= set(body["error"])
    return body["error"]


def _form(**changes):
    fields = {"facts_true": "true", "causes": "配送延误", "measures": "已补货",
              "liaison_opinion": "满意", "signed_by": "李院长", "sealed": True}
    fields.update(changes)
    return fields


def _sealed(**changes):
    """The result as multipart with its scan: a sealed result must carry one (issue 19 item 10)."""
    return {"data": {**_form(sealed="true", **changes),
                     "attachment": (io.BytesIO(PDF), "盖章结果.pdf")},
            "content_type": "multipart/form-data"}


def _scans(settings):
    folder = settings.recordings_dir / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_case_goes_through_a_unit_with_a_return_to_closed(api, people, demo, settings, redis):
    case = _new_case(api)
    number = case["number"]
    assert (case["status"], case["leader"], case["unit"], case["redo_count"]) == (
        "routed", "王建国", None, 0)
    assert case["deadline"].endswith(OFFSET) and case["created_at"].endswith(OFFSET)
    assert case["history"][0]["text"] == "值班员小周 登记来访，交 王建国 办理"

    acknowledged = api("wang", "POST", f"/cases/{number}/acknowledge").get_json()
    assert acknowledged["status"] == "acknowledged"
    unit_id = people["units"]["城关镇卫生院"].id
    moved = api("wang", "POST", f"/cases/{number}/transfer", json={"unit_id": unit_id}).get_json()
    assert (moved["status"], moved["unit"], moved["unit_id"]) == ("transferred", "城关镇卫生院", unit_id)
    assert moved["history"][-1]["text"].startswith("王建国 转交 城关镇卫生院，限 ")

    filed = api("cg", "POST", f"/cases/{number}/result",
                data={**_form(sealed="true"), "attachment": (io.BytesIO(PDF), "盖章结果.pdf")},
                content_type="multipart/form-data")
    assert filed.status_code == 200, filed.get_json()
    filed = filed.get_json()
    assert filed["status"] == "result_filed"
    [scan] = filed["attachments"]
    assert (scan["filename"], scan["content_type"], scan["size"]) == (
        "盖章结果.pdf", "application/pdf", len(PDF))
    assert len(_scans(settings)) == 1

    # The leader and the unit may fetch the scan; someone who may not see the case gets 404.
    for who in ("wang", "cg", "sup"):
        download = api(who, "GET", scan["url"].removeprefix("/api/v1"))
        assert download.status_code == 200 and download.data == PDF
        assert download.mimetype == "application/pdf"
    for who in ("li", "xr"):
        assert api(who, "GET", scan["url"].removeprefix("/api/v1")).status_code == 404
    assert api("wang", "GET", f"/cases/{number}/attachments/{scan['id'] + 1}").status_code == 404

    returned = api("sup", "POST", f"/cases/{number}/return",
                   json={"category": "format", "reason": "缺少签名页"}).get_json()
    assert (returned["status"], returned["redo_count"]) == ("transferred", 1)
    assert "退回 城关镇卫生院 重办（格式不全：缺少签名页）" in returned["history"][-1]["text"]
    assert api("cg", "POST", f"/cases/{number}/result", **_sealed()).status_code == 200
    accepted = api("sup", "POST", f"/cases/{number}/accept").get_json()
    assert (accepted["status"], accepted["redo_count"]) == ("answered", 0)
    fed_back = api("wang", "POST", f"/cases/{number}/feedback",
                   json={"method": "sms", "note": "药已补齐"}).get_json()
    assert fed_back["status"] == "fed_back" and fed_back["feedback_method"] == "sms"
    closed = api("duty", "POST", f"/cases/{number}/rate", json={"rating": "satisfied"}).get_json()
    assert (closed["status"], closed["satisfaction"]) == ("closed", "satisfied")
    assert closed["closed_at"].endswith(OFFSET)
    assert [h["action"] for h in closed["history"]] == [
        "case.routed", "case.acknowledged", "case.transferred", "case.result_filed",
        "case.attachment_added", "case.returned_for_redo", "case.result_filed",
        "case.attachment_added", "case.result_accepted", "case.fed_back", "case.closed"]
    assert all(h["at"].endswith(OFFSET) and "case." not in h["text"] for h in closed["history"])

    # Each SMS the actions queued went to Redis after the commit: routed, transfer, the
    # leader told of each result and of its acceptance (issue 17 item 4), return, the
    # feedback text and the rating request.
    demo.expire_all()
    kinds = [n.kind.value for n in demo.query(Notification).order_by(Notification.id)]
    assert kinds == ["case_routed", "unit_transfer", "leader_result_filed", "unit_return",
                     "leader_result_filed", "leader_result_accepted", "feedback",
                     "rating_request"]
    assert redis.llen("rq:queue:sms") == len(kinds)
    # The audit rows are signed with the account the token belongs to.
    signed = {e.actor for e in demo.query(AuditEvent).filter_by(entity_type="cases")}
    assert signed == {"user:duty", "user:wang", "user:cg", "user:sup"}


def test_direct_handling_meeting_and_county_routes_and_a_dissatisfied_redo(api, people):
    direct = _new_case(api)["number"]
    handled = api("wang", "POST", f"/cases/{direct}/handle", json={"note": "已联系药店"}).get_json()
    assert handled["status"] == "handling" and handled["deadline"].endswith("T00:00:00+08:00")
    later = (datetime.now(timezone.utc) + timedelta(days=5)).astimezone().isoformat()
    extended = api("sup", "POST", f"/cases/{direct}/extend",
                   json={"deadline": later, "reason": "等待配送"}).get_json()
    assert extended["deadline_reason"] == "等待配送"
    assert datetime.fromisoformat(extended["deadline"]) == datetime.fromisoformat(later)
    assert api("wang", "POST", f"/cases/{direct}/answer", json={"note": "已补货"}).status_code == 200
    api("wang", "POST", f"/cases/{direct}/feedback", json={"method": "phone"})
    redo = api("wang", "POST", f"/cases/{direct}/rate", json={"rating": "dissatisfied"}).get_json()
    assert (redo["status"], redo["satisfaction"]) == ("handling", "dissatisfied")

    meeting = _new_case(api, "+8613812340000")["number"]
    escalated = api("wang", "POST", f"/cases/{meeting}/escalate",
                    json={"to": "bureau_meeting", "reason": "涉及多个乡镇"}).get_json()
    assert (escalated["status"], escalated["supervised"]) == ("bureau_meeting", True)
    county = api("wang", "POST", f"/cases/{meeting}/escalate",
                 json={"to": "county", "reason": "需县政府协调"}).get_json()
    assert county["status"] == "county"
    answered = api("wang", "POST", f"/cases/{meeting}/answer",
                   json={"note": "县政府已协调解决"}).get_json()
    assert (answered["status"], answered["supervised"]) == ("answered", False)


def test_the_list_filters_by_status_unit_and_overdue_as_the_inbox(api, people, demo):
    first = _new_case(api)["number"]
    second = _new_case(api, "+8613812340000")["number"]
    other = _new_case(api, "+8613712345678")["number"]  # 陈明's leader is 李红
    unit_id = people["units"]["城关镇卫生院"].id
    api("wang", "POST", f"/cases/{first}/transfer", json={"unit_id": unit_id})

    def numbers(who, query=""):
        response = api(who, "GET", f"/cases{query}")
        assert response.status_code == 200
        return [c["number"] for c in response.get_json()["cases"]]

    assert numbers("duty") == [other, second, first]
    assert numbers("wang") == [second, first] and numbers("li") == [other]
    assert numbers("cg") == [first] and numbers("xr") == []
    assert numbers("sup", "?status=transferred") == [first]
    assert numbers("sup", f"?unit={unit_id}") == [first]
    assert numbers("sup", "?overdue=1") == []
    # Back-date the same-day deadlines of the two routed cases: now they are overdue.
    from intake.store.models import Case

    for case in demo.query(Case).filter(Case.number.in_([second, other])):
        case.deadline_at = datetime.now(timezone.utc) - timedelta(hours=1)
    demo.commit()
    assert numbers("duty", "?overdue=1") == [other, second]
    assert numbers("wang", "?overdue=1&status=routed") == [second]
    summary = api("duty", "GET", "/cases?overdue=1").get_json()["cases"][0]
    assert summary["overdue"] is True and summary["deadline"].endswith(OFFSET)
    assert _error(api("duty", "GET", "/cases?status=lost")) == {
        "code": "status_invalid", "field": "status", "message": "这不是案件状态。"}
    assert _error(api("duty", "GET", "/cases?unit=abc"))["field"] == "unit"


def test_the_directory_is_for_those_who_route_and_follow_cases(api):
    body = api("duty", "GET", "/directory").get_json()
    assert [l["name"] for l in body["leaders"]] == ["王建国", "李红"]
    assert {l["name"] for l in body["liaisons"]} == {"张伟", "刘芳", "陈明"}
    assert {u["name"] for u in body["units"]} == {"城关镇卫生院", "县人民医院"}
    assert all({"id", "name"} <= set(entry) for group in body.values() for entry in group)
    for who in ("admin", "wang", "sup"):
        assert api(who, "GET", "/directory").status_code == 200
    refused = api("cg", "GET", "/directory")
    assert refused.status_code == 403 and _error(refused)["code"] == "forbidden"


def test_calls_without_valid_auth_get_401_and_change_nothing(client, api, demo, people, tokens):
    number = _new_case(api)["number"]
    path = f"/api/v1/cases/{number}/acknowledge"
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": f"Basic {tokens['wang']}"},
                    {"Authorization": "Bearer dl_not-a-token"},
                    {"Authorization": f"Bearer {tokens['wang']}x"}):
        response = client.post(path, headers=headers)
        assert response.status_code == 401, headers
        assert _error(response)["code"] in ("auth_required", "auth_invalid")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/directory").status_code == 401
    # A disabled account's token stops working at once.
    from intake.directory.roster import set_user_active

    set_user_active(demo, people["wang"].id, False, Actor("test"))
    demo.commit()
    refused = client.post(path, headers={"Authorization": f"Bearer {tokens['wang']}"})
    assert refused.status_code == 401 and _error(refused)["code"] == "auth_invalid"
    assert api("duty", "GET", f"/cases/{number}").get_json()["status"] == "routed"


def test_404_for_a_case_not_visible_403_for_one_visible_but_not_actionable(api, people):
    number = _new_case(api)["number"]  # 王建国's liaison
    for who in ("li", "cg", "xr"):
        hidden = api(who, "GET", f"/cases/{number}")
        assert hidden.status_code == 404 and _error(hidden)["code"] == "not_found"
        assert api(who, "POST", f"/cases/{number}/acknowledge").status_code == 404
    assert api("duty", "GET", "/cases/2099-999999").status_code == 404
    refused = api("duty", "POST", f"/cases/{number}/acknowledge")
    assert refused.status_code == 403
    assert _error(refused) == {"code": "forbidden", "field": None,
                               "message": "您可以查看此案件，但无权进行此操作。"}
    assert api("sup", "POST", f"/cases/{number}/handle").status_code == 403
    assert api("wang", "GET", f"/cases/{number}").get_json()["status"] == "routed"


def test_409_for_a_move_the_state_machine_refuses(api):
    number = _new_case(api)["number"]
    refused = api("wang", "POST", f"/cases/{number}/answer", json={"note": "已处理"})
    assert refused.status_code == 409 and _error(refused)["code"] == "invalid_transition"
    assert api("wang", "POST", f"/cases/{number}/feedback",
               json={"method": "phone"}).status_code == 409
    assert api("duty", "POST", f"/cases/{number}/rate",
               json={"rating": "satisfied"}).status_code == 409
    assert api("sup", "POST", f"/cases/{number}/extend", json={
        "deadline": "2099-01-01T17:30:00+08:00", "reason": "x"}).status_code == 409
    assert api("wang", "GET", f"/cases/{number}").get_json()["status"] == "routed"


@pytest.mark.parametrize("path, who, body, field, code", [
    ("/cases", "duty", {"caller_name": "张伟", "content": ""}, "content", "content_required"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "channel": "fax"}, "channel",
     "channel_invalid"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "caller_phone": "12"},
     "caller_phone", "phone_invalid"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "caller_phone": "12345"},
     "caller_phone", "phone_invalid"),  # possible by length, refused as the directory does
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "received_at": "yesterday"},
     "received_at", "time_invalid"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "received_at": "2026-11-26T09:00"},
     "received_at", "time_without_offset"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "liaison_id": "one"},
     "liaison_id", "liaison_unknown"),
    ("/cases", "duty", {"caller_name": "张伟", "content": "x", "urgent": "maybe"},
     "urgent", "boolean_required"),
    ("/cases", "duty", {"caller_name": 12, "content": "x"}, "caller_name", "text_required"),
    ("/cases/{n}/transfer", "wang", {}, "unit_id", "unit_unknown"),
    ("/cases/{n}/transfer", "wang", {"unit_id": 9999}, "unit_id", "unit_unknown"),
    ("/cases/{n}/escalate", "wang", {"to": "province", "reason": "x"}, "to",
     "escalation_target_invalid"),
    ("/cases/{n}/escalate", "wang", {"to": "county", "reason": " "}, "reason", "reason_required"),
    ("/cases/{n}/feedback", "wang", {"method": "fax"}, "method", "feedback_method_invalid"),
])
def test_422_names_the_field_and_its_code(api, path, who, body, field, code):
    number = _new_case(api)["number"]
    response = api(who, "POST", path.format(n=number), json=body)
    assert response.status_code == 422, response.get_json()
    error = _error(response)
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"] and error["message"] != "请检查表单：有内容无法接受。"
    assert api("wang", "GET", f"/cases/{number}").get_json()["status"] == "routed"


def test_422_for_a_body_that_is_not_a_json_object(api):
    number = _new_case(api)["number"]
    for data in ("[1, 2]", "{not json"):
        response = api("wang", "POST", f"/cases/{number}/handle", data=data,
                       content_type="application/json")
        assert response.status_code == 422 and _error(response)["code"] == "body_invalid"


def test_422_for_extend_return_rate_and_result_inputs(api, people):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    bad_deadline = api("wang", "POST", f"/cases/{number}/extend",
                       json={"deadline": "soon", "reason": "x"})
    assert (_error(bad_deadline)["field"], _error(bad_deadline)["code"]) == (
        "deadline", "deadline_invalid")
    earlier = api("cg", "POST", f"/cases/{number}/extend",
                  json={"deadline": "2020-01-01T17:30:00+08:00", "reason": "x"})
    assert _error(earlier)["code"] == "deadline_not_later"
    unsealed = api("cg", "POST", f"/cases/{number}/result", json=_form(sealed=False))
    assert (_error(unsealed)["field"], _error(unsealed)["code"]) == ("sealed", "seal_required")
    missing = api("cg", "POST", f"/cases/{number}/result", json=_form(measures=""))
    assert (_error(missing)["field"], _error(missing)["code"]) == ("measures", "result_incomplete")
    unscanned = api("cg", "POST", f"/cases/{number}/result", json=_form())
    assert (_error(unscanned)["field"], _error(unscanned)["code"]) == (
        "attachment", "attachment_required")
    api("cg", "POST", f"/cases/{number}/result", **_sealed())
    wrong = api("sup", "POST", f"/cases/{number}/return", json={"category": "mood", "reason": "x"})
    assert (_error(wrong)["field"], _error(wrong)["code"]) == (
        "category", "return_category_invalid")
    api("sup", "POST", f"/cases/{number}/accept")
    api("wang", "POST", f"/cases/{number}/feedback", json={"method": "phone"})
    rating = api("duty", "POST", f"/cases/{number}/rate", json={"rating": "5 stars"})
    assert (_error(rating)["field"], _error(rating)["code"]) == ("rating", "rating_invalid")


@pytest.mark.parametrize("content, filename", [
    (b"MZ\x90\x00 an executable", "结果.pdf"),  # a PDF name does not make a PDF
    (b"<html><script>alert(1)</script></html>", "scan.png"),
    (b"PK\x03\x04 a zip or a docx", "result.docx"),
])
def test_a_scan_of_the_wrong_type_is_refused_and_nothing_is_stored(api, people, demo, settings,
                                                                    content, filename):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    response = api("cg", "POST", f"/cases/{number}/result",
                   data={**_form(sealed="1"), "attachment": (io.BytesIO(content), filename)},
                   content_type="multipart/form-data")
    assert response.status_code == 422
    error = _error(response)
    assert (error["field"], error["code"]) == ("attachment", "attachment_type_invalid")
    assert "PDF" in error["message"]
    assert _scans(settings) == []
    demo.expire_all()
    assert demo.query(UnitResult).count() == 0 and demo.query(ResultAttachment).count() == 0
    assert api("cg", "GET", f"/cases/{number}").get_json()["status"] == "transferred"


POLYGLOT = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"


@pytest.mark.parametrize("uploaded_as, content, served_type, extension", [
    ("poly.html", POLYGLOT, "application/pdf", "pdf"),
    ("photo.svg", PNG, "image/png", "png"),
    ("IMG_0001", JPEG, "image/jpeg", "jpg"),
])
def test_a_scan_downloads_under_a_name_of_the_type_its_bytes_declare(
        api, people, uploaded_as, content, served_type, extension):
    """Issue 16 item 8: never the uploaded extension; nosniff, as an attachment."""
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    filed = api("cg", "POST", f"/cases/{number}/result",
                data={**_form(sealed="true"), "attachment": (io.BytesIO(content), uploaded_as)},
                content_type="multipart/form-data")
    assert filed.status_code == 200, filed.get_json()
    [scan] = filed.get_json()["attachments"]
    for who in ("wang", "cg"):
        download = api(who, "GET", scan["url"].removeprefix("/api/v1"))
        assert download.status_code == 200 and download.data == content
        assert download.headers["Content-Type"] == served_type
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        disposition = download.headers["Content-Disposition"]
        assert disposition == f"attachment; filename=scan-{scan['id']}.{extension}"
        assert uploaded_as not in disposition


def test_a_scan_over_the_limit_is_refused_with_the_limit_stated(api, people, demo, settings):
    from intake.cases.attachments import MAX_ATTACHMENT_BYTES

    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    too_big = PDF + b"\x00" * (MAX_ATTACHMENT_BYTES + 1 - len(PDF))
    # Just over the scan limit, and far over the request limit (refused before it is read).
    for size in (len(too_big), 21 * 1024 * 1024):
        body = too_big[:size].ljust(size, b"\0")
        response = api("cg", "POST", f"/cases/{number}/result",
                       data={**_form(sealed="true"), "attachment": (io.BytesIO(body), "s.pdf")},
                       content_type="multipart/form-data")
        assert response.status_code == 422, size
        error = _error(response)
        assert (error["field"], error["code"], error["limit_mb"]) == (
            "attachment", "attachment_too_large", 10)
        assert "10 MB" in error["message"]
    assert _scans(settings) == []
    demo.expire_all()
    assert demo.query(UnitResult).count() == 0


def test_a_refused_result_with_a_good_scan_stores_no_file(api, people, demo, settings):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    unsealed = api("cg", "POST", f"/cases/{number}/result",
                   data={**_form(sealed="false"), "attachment": (io.BytesIO(PNG), "s.png")},
                   content_type="multipart/form-data")
    assert _error(unsealed)["code"] == "seal_required"
    other_unit = api("xr", "POST", f"/cases/{number}/result",
                     data={**_form(sealed="true"), "attachment": (io.BytesIO(JPEG), "s.jpg")},
                     content_type="multipart/form-data")
    assert other_unit.status_code == 404
    assert _scans(settings) == []
    accepted = api("cg", "POST", f"/cases/{number}/result",
                   data={**_form(sealed="true"),
                         "attachment": (io.BytesIO(JPEG), "../../etc/s.jpg")},
                   content_type="multipart/form-data").get_json()
    [scan] = accepted["attachments"]
    assert (scan["filename"], scan["content_type"]) == ("s.jpg", "image/jpeg")
    [stored] = _scans(settings)
    assert stored.endswith(".jpg") and "s" != stored.split(".")[0]


def test_json_times_carry_the_bureau_offset(api):
    number = _new_case(api, received_at="2026-11-26T01:00:00+00:00")["number"]
    record = api("wang", "GET", f"/cases/{number}").get_json()
    assert record["created_at"] == "2026-11-26T09:00:00+08:00"
    assert json.dumps(record, ensure_ascii=False).count("+00:00") == 0


def test_a_sealed_result_without_its_scan_is_refused(api, people, demo, settings):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    # A form whose file input was left empty sends the part with no file name: no scan.
    response = api("cg", "POST", f"/cases/{number}/result",
                   data={**_form(sealed="on"), "attachment": (io.BytesIO(b""), "")},
                   content_type="multipart/form-data")
    assert response.status_code == 422
    error = _error(response)
    assert (error["field"], error["code"]) == ("attachment", "attachment_required")
    assert "扫描件" in error["message"]  # translated, as every error message
    assert _scans(settings) == []
    demo.expire_all()
    assert demo.query(UnitResult).count() == 0
    # An empty file that does have a name is a refused scan, not a missing one.
    empty = api("cg", "POST", f"/cases/{number}/result",
                data={**_form(sealed="on"), "attachment": (io.BytesIO(b""), "scan.pdf")},
                content_type="multipart/form-data")
    assert _error(empty)["code"] == "attachment_empty"
    assert api("cg", "GET", f"/cases/{number}").get_json()["status"] == "transferred"


def test_a_bureau_that_turned_the_requirement_off_files_without_a_scan(
        people, tokens, settings, monkeypatch):
    from dashboard.app import create_app

    monkeypatch.setenv("DUTYLINE_RESULT_SCAN_REQUIRED", "0")
    relaxed = load_settings()
    assert relaxed.result_scan_required is False and settings.result_scan_required is True
    client = create_app({"DUTYLINE_SETTINGS": relaxed, "TESTING": True}).test_client()

    def call(who, method, path, **kwargs):
        return client.open(f"/api/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {tokens[who]}"}, **kwargs)

    number = _new_case(call)["number"]
    call("wang", "POST", f"/cases/{number}/transfer",
         json={"unit_id": people["units"]["城关镇卫生院"].id})
    response = call("cg", "POST", f"/cases/{number}/result", json=_form())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["attachments"] == [] and _scans(relaxed) == []
