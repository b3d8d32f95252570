"""The API as a contract (issue 16 items 12-15): no input breaks it (4xx in the envelope, never
a 500), one set of caps and character checks for the pages and the API, every /api/v1 answer
is JSON, and the OpenAPI 3.1 document it serves is checked against a live server by
Schemathesis, a tester nobody here wrote."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dashboard.contract import OPERATIONS, CaseEntryBody, ExtendBody
from intake.cases.fields import TEXT_LIMITS, check_fields
from intake.store.models import Case, UnitResult
from tests.dashboard_support import sign_in

LEADER_PHONE = "+8613812345678"  # 张伟, a liaison of 王建国 (wang)


# people, tokens and api are tests/conftest.py's, shared with tests/test_api.py.


def _envelope(response) -> dict:
    assert response.mimetype == "application/json", (response.status_code, response.data[:200])
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "field", "message"} <= set(body["error"])
    assert body["error"]["message"]
    return body["error"]


def _new_case(api, **extra) -> dict:
    response = api("duty", "POST", "/cases", json={
        "caller_name": "张伟", "caller_phone": LEADER_PHONE, "content": "村卫生室没有降压药",
        "channel": "in_person", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _case_count(demo) -> int:
    demo.expire_all()
    return demo.query(Case).count()


# ---------------------------------------------------------------- item 12: no 500 from bad input
def test_an_id_beyond_any_integer_column_is_unknown_not_an_overflow(api, demo):
    response = api("duty", "POST", "/cases", json={"content": "x", "liaison_id": 10**30})
    assert response.status_code == 422
    assert (_envelope(response)["field"], _envelope(response)["code"]) == (
        "liaison_id", "liaison_unknown")
    number = _new_case(api)["number"]
    transfer = api("wang", "POST", f"/cases/{number}/transfer", json={"unit_id": -(10**30)})
    assert (transfer.status_code, _envelope(transfer)["code"]) == (422, "unit_unknown")
    listed = api("duty", "GET", "/cases?unit=" + "9" * 5000)
    assert (listed.status_code, _envelope(listed)["field"]) == (422, "unit")
    rates = api("sup", "GET", "/reports/rates?from=2026-11-01&to=2026-11-30&unit=" + "9" * 40)
    assert (rates.status_code, _envelope(rates)["code"]) == (422, "unit_unknown")
    assert _case_count(demo) == 1


@pytest.mark.parametrize("data", ["[" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000,
                                  '{"note": "\\ud800"}'])
def test_a_body_nested_too_deep_or_unreadable_is_refused_in_the_envelope(api, data):
    number = _new_case(api)["number"]
    response = api("wang", "POST", f"/cases/{number}/handle", data=data,
                   content_type="application/json")
    assert (response.status_code, _envelope(response)["code"]) == (422, "body_invalid")
    assert api("wang", "GET", f"/cases/{number}").get_json()["status"] == "routed"


def test_an_extension_to_the_end_of_time_is_out_of_range(api, people):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    for deadline in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        response = api("sup", "POST", f"/cases/{number}/extend",
                       json={"deadline": deadline, "reason": "等待检测报告"})
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        assert (_envelope(response)["field"], _envelope(response)["code"]) == (
            "deadline", "date_out_of_range")
    record = api("wang", "GET", f"/cases/{number}").get_json()
    assert record["deadline_changes"] == [] or all(
        "9999" not in (c["new"] or "") for c in record["deadline_changes"])


def test_the_extend_page_refuses_the_end_of_time_too(client, api, people):
    number = _new_case(api)["number"]
    api("wang", "POST", f"/cases/{number}/transfer",
        json={"unit_id": people["units"]["城关镇卫生院"].id})
    before = api("wang", "GET", f"/cases/{number}").get_json()["deadline"]
    sign_in(client, "sup")
    response = client.post(f"/cases/{_case_id(client.application, number)}/extend",
                           data={"deadline": "9999-12-31T23:59", "reason": "等待检测报告"})
    assert response.status_code == 422
    assert "日期须在2000年至2099年之间" in response.get_data(as_text=True)
    assert api("wang", "GET", f"/cases/{number}").get_json()["deadline"] == before


def _case_id(app, number: str) -> int:
    from web.services import get_db

    with app.test_request_context():
        return get_db().query(Case).filter_by(number=number).one().id


# ---------------------------------------------------------------- item 13: one set of caps
def test_the_caps_come_from_the_columns():
    assert TEXT_LIMITS["caller_name"] == Case.__table__.c.caller_name.type.length == 60
    assert TEXT_LIMITS["caller_unit"] == Case.__table__.c.caller_unit.type.length
    assert TEXT_LIMITS["category"] == Case.__table__.c.category.type.length
    assert TEXT_LIMITS["signed_by"] == UnitResult.__table__.c.signed_by.type.length
    # The API's declarations carry the same caps, so the document states them.
    schema = CaseEntryBody.model_json_schema()
    caller = next(s for s in schema["properties"]["caller_name"]["anyOf"] if s["type"] == "string")
    assert caller["maxLength"] == 60


@pytest.mark.parametrize("field, value, code", [
    ("caller_name", "张" * 5000, "too_long"),
    ("caller_name", "张" * 61, "too_long"),
    ("route_reason", "理" * 100_000, "too_long"),
    ("content", "药" * 10_001, "too_long"),
    ("caller_name", "张\x00伟", "invalid_characters"),
    ("caller_unit", "城关镇\u202eexe.pdf", "invalid_characters"),
    ("content", "降压药\u2066", "invalid_characters"),
    ("received_at", "0001-01-01T09:00:00+08:00", "date_out_of_range"),
    ("received_at", "9999-12-31T09:00:00+08:00", "date_out_of_range"),
])
def test_the_api_refuses_what_the_columns_cannot_hold(api, demo, field, value, code):
    body = {"caller_name": "张伟", "caller_phone": LEADER_PHONE, "content": "村卫生室没有降压药",
            "channel": "in_person", "route_reason": "", field: value}
    response = api("duty", "POST", "/cases", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert (_envelope(response)["field"], _envelope(response)["code"]) == (field, code)
    assert _case_count(demo) == 0


@pytest.mark.parametrize("field, value, code", [
    ("caller_name", "张" * 5000, "too_long"),
    ("route_reason", "理" * 100_000, "too_long"),
    ("caller_name", "张\x00伟", "invalid_characters"),
    ("caller_unit", "城关镇\u202eexe.pdf", "invalid_characters"),
    ("received_at", "9999-12-31T09:00", "date_out_of_range"),
    ("received_at", "0001-01-01T09:00", "date_out_of_range"),
    ("liaison_id", str(10**30), "liaison_unknown"),
])
def test_the_new_case_page_refuses_the_same_input_with_the_same_code(client, demo, people,
                                                                      field, value, code):
    sign_in(client, "duty")
    form = {"caller_name": "张伟", "caller_phone": LEADER_PHONE, "content": "村卫生室没有降压药",
            "channel": "in_person", field: value}
    response = client.post("/cases/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    from dashboard.errors import ERROR_MESSAGES

    with client.application.test_request_context():
        from flask_babel import force_locale

        with force_locale("zh_CN"):
            assert str(ERROR_MESSAGES[code]) in page
    assert _case_count(demo) == 0


def test_a_case_action_page_refuses_an_over_long_reason_instead_of_cutting_it(client, api, demo):
    number = _new_case(api)["number"]
    sign_in(client, "wang")
    case_id = _case_id(client.application, number)
    response = client.post(f"/cases/{case_id}/escalate",
                           data={"to": "county", "reason": "理" * 501})
    assert response.status_code == 422
    assert api("wang", "GET", f"/cases/{number}").get_json()["status"] == "routed"


def test_check_fields_reads_forms_and_bodies_alike():
    check_fields({"caller_name": "张伟", "note": "好\n了\t", "unit_id": "3"})
    for values, code in (({"note": "x" * 2001}, "too_long"), ({"reason": "a\x07"}, "invalid_characters"),
                         ({"unit_id": "99999999999999999999"}, "unit_unknown"),
                         ({"leader_id": 0}, "leader_required")):
        with pytest.raises(Exception) as caught:
            check_fields(values)
        assert caught.value.code == code


# ---------------------------------------------------------------- item 14: every answer is JSON
def test_a_method_the_path_does_not_take_is_a_json_405(api):
    response = api("duty", "DELETE", "/cases")
    assert (response.status_code, _envelope(response)["code"]) == (405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_path_that_matches_no_route_is_a_json_404_and_pages_keep_theirs(api, client):
    number = _new_case(api)["number"]
    for path in (f"/cases/{number}/attachments/-1", f"/cases/{number}/attachments/99999999999",
                 "/nothing-here", "/cases/%00", "/cases/2026-00001%00"):
        response = api("duty", "GET", path)
        assert (response.status_code, _envelope(response)["code"]) == (404, "not_found"), path
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html"
    wrong_method = client.delete("/login")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "text/html"


def test_a_refusal_by_role_says_so_not_that_the_case_may_be_seen(api):
    for who, path in (("wang", "/reports/rates?from=2026-11-01&to=2026-11-30"),
                      ("cg", "/directory")):
        response = api(who, "GET", path)
        error = _envelope(response)
        assert (response.status_code, error["code"]) == (403, "forbidden")
        assert "案件" not in error["message"] and error["message"] == "您的角色无权执行此操作。"


def test_the_rates_csv_says_its_charset_once(api):
    response = api("sup", "GET", "/reports/rates?from=2026-11-01&to=2026-11-30&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_body_over_the_limit_is_a_json_413(api, app):
    number = _new_case(api)["number"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api("wang", "POST", f"/cases/{number}/handle", json={"note": "x" * 4096})
    assert (response.status_code, _envelope(response)["code"]) == (413, "body_too_large")


def test_an_unforeseen_fault_is_a_json_500_and_nothing_is_kept(api, app, monkeypatch):
    import dashboard.api

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fault nobody foresaw")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, where TESTING is off
    monkeypatch.setattr(dashboard.api, "describe_directory", broken)
    response = api("duty", "GET", "/directory")
    assert (response.status_code, _envelope(response)["code"]) == (500, "server_error")


# ---------------------------------------------------------------- item 15: the document
def test_the_document_is_openapi_3_1_built_from_the_declarations(client, app):
    response = client.get("/api/v1/openapi.json")  # published: no token needed
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    # Every route of the API is in it, and every declaration is a route (a census).
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert routes == set(OPERATIONS)
    assert len(operations) == len(OPERATIONS), sorted(operations)
    assert ("delete", "/api/v1/cases") not in operations and ("post", "/api/v1/cases") in operations
    # The body schema served is the declaration's own, not a copy written beside it.
    served = document["components"]["schemas"]["ExtendBody"]
    assert served == ExtendBody.model_json_schema(ref_template="#/components/schemas/{model}")
    # Every case action may answer 409 (a refused move, or `conflict`: someone acted first).
    for path, item in document["paths"].items():
        if re.fullmatch(r"/api/v1/cases/\{number\}/\w+", path) and "post" in item:
            assert "409" in item["post"]["responses"], path
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_link_the_document():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    assert "/api/v1/openapi.json" in docs


# ---------------------------------------------------------------- Schemathesis, live
SCHEMATHESIS_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                       "response_schema_conformance,negative_data_rejection")


@pytest.fixture
def live_api(app, demo, people, tokens):
    """The app on a real loopback server, with two cases routed to wang."""
    client = app.test_client()
    numbers = []
    for content in ("村卫生室没有降压药", "乡镇卫生院夜间无人值班"):
        response = client.post("/api/v1/cases", headers={"Authorization": f"Bearer {tokens['duty']}"},
                               json={"caller_phone": LEADER_PHONE, "content": content,
                                     "channel": "in_person"})
        assert response.status_code == 201
        numbers.append(response.get_json()["number"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    from intake.store.models import Leader, Liaison, Unit

    now = datetime.now(timezone(timedelta(hours=8)))

    # Real values for Schemathesis to draw from now and then, so that its valid requests
    # reach the domain's happy paths and not only its refusals.
    known = {"cases": numbers,
             "phones": sorted(liaison.phone for liaison in demo.query(Liaison)),
             "liaisons": sorted(liaison.id for liaison in demo.query(Liaison)),
             "leaders": sorted(leader.id for leader in demo.query(Leader)),
             "units": sorted(unit.id for unit in demo.query(Unit)),
             # Times in the accepted window (random RFC 3339 times are mostly centuries off).
             "times": [(now + timedelta(days=days)).isoformat(timespec="seconds")
                       for days in (-1, 2, 9)]}
    yield f"http://127.0.0.1:{server.server_port}", known
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL"))
                    and not os.environ.get("DUTYLINE_SCHEMATHESIS_POSTGRES"),
                    reason="about two minutes: runs once, in the SQLite pass "
                           "(DUTYLINE_SCHEMATHESIS_POSTGRES=1 runs it on PostgreSQL too)")
def test_schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_document(
        live_api, tokens, tmp_path):
    base, known = live_api
    uses = {"path.number": "cases", "body.caller_phone": "phones", "body.liaison_id": "liaisons",
            "body.leader_id": "leaders", "body.unit_id": "units", "body.received_at": "times",
            "body.deadline": "times"}
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "".join(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"
                for name, values in known.items())
        + "[parameters]\n"
        + "".join(f'"{key}" = {{ dictionary = "{name}", probability = 0.7 }}\n'
                  for key, name in uses.items())
        + "[auth.openapi.bearerAuth]\n"
          'bearer = "${DUTYLINE_TEST_TOKEN}"\n')
    summaries = []
    # Two callers: the leader acts on the cases, the admin enters cases and reads the reports.
    for who in ("wang", "admin"):
        report = tmp_path / f"{who}.json"
        result = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
             "run", f"{base}/api/v1/openapi.json", "--checks", SCHEMATHESIS_CHECKS,
             "--max-examples", "6", "--phases", "examples,coverage,fuzzing", "--seed", "16",
             "--workers", "1", "--request-timeout", "20", "--no-color",
             "--suppress-health-check", "all", "--generation-database", "none",
             "--report", "json,har", "--report-json-path", str(report),
             "--report-har-path", str(tmp_path / f"{who}.har")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,  # its cache stays out of the repo
            env={**os.environ, "DUTYLINE_TEST_TOKEN": tokens[who]})
        summary = result.stdout[result.stdout.rfind("SUMMARY"):] if "SUMMARY" in result.stdout \
            else result.stdout[-3000:]
        summaries.append(f"--- as {who}\n{summary}")
        print(summaries[-1])
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        run = json.loads(report.read_text())
        assert run["failures"] == [] and run["errors"] == []
        assert run["operations"]["tested"] == run["operations"]["selected"] >= len(OPERATIONS) - 1
        assert run["test_cases"]["generated"] >= 200
        accepted = {operation: sum(phase["accepted"] for phase in rates.values())
                    for operation, rates in run["valid_rates"].items()}
        # It got past the checks into the domain, not only bounced off them.
        key = {"wang": "POST /api/v1/cases/{number}/acknowledge",
               "admin": "GET /api/v1/cases/{number}"}
        assert accepted.get(key[who], 0) >= 1, accepted
