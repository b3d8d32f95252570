"""The registers of criticism (通报批评) and accountability (问责), issue 17 items 1 and 2:
what the system proposes (grounds 1 and 3), what the office records, confirms, dismisses and
withdraws (each with a reason, each move by the transition map, each with an audit row),
the API and the supervision home."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from intake.store.audit import Actor
from intake.rules.censures import (CensureEntry, confirm_censure, dismiss_censure, list_censures,
                                   record_censure, withdraw_censure)
from intake.clock import FixedClock
from intake.exceptions import Forbidden, InvalidTransition, ValidationError
from intake.store.models import AuditEvent, Case, Censure
from intake.statuses import CensureKind, CensureStatus
from intake.cases.supervision import extend_deadline
from intake.sweep import SweepContext, run_sweep
from intake.directory.tokens import issue_token
from intake.cases.transfers import file_result, return_result, transfer_case
from tests.case_support import (CALENDAR, SMS, TUESDAY, TZ, add_people, result_form,
                                route_case)

# A transfer on TUESDAY is due Friday 9 October 2026, 17:30 in Shanghai.
TRANSFER_DUE = datetime(2026, 10, 9, 9, 30, tzinfo=timezone.utc)
CONTEXT = SweepContext("https://dutyline.example", "zh-CN", TZ, 10)


@pytest.fixture
def people(demo):
    return add_people(demo)


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


def _transferred(demo, people, clock, unit="城关镇卫生院"):
    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"][unit].id, clock, CALENDAR, SMS)
    demo.flush()
    return case


def _events(demo, censure):
    demo.flush()
    return list(demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "censures", AuditEvent.entity_id == censure.id)
        .order_by(AuditEvent.id)))


def test_a_third_format_or_quality_return_proposes_criticism_ground_1(demo, people, clock):
    case = _transferred(demo, people, clock)
    for category in ("quality", "format", "quality"):
        assert demo.scalars(select(Censure)).all() == []
        file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
        demo.flush()
        return_result(demo, people["sup"], case, category, "重办", clock, CALENDAR, SMS)
    [proposal] = demo.scalars(select(Censure)).all()
    assert (proposal.kind, proposal.ground.value, proposal.status.value) == (
        CensureKind.CRITICISM, "returned_three_times", "proposed")
    assert proposal.unit.name == "城关镇卫生院" and proposal.cases == [case]
    # Nothing is published before the office decides.
    assert list_censures(demo, people["sup"], CensureKind.CRITICISM, status="confirmed") == []
    with pytest.raises(ValidationError) as no_reason:
        confirm_censure(demo, people["sup"], proposal, " ", clock)
    assert no_reason.value.code == "reason_required"
    confirm_censure(demo, people["sup"], proposal, "三次退回属实", clock)
    assert proposal.status is CensureStatus.CONFIRMED and proposal.decided_by == "user:sup"
    assert _events(demo, proposal) == ["criticism.proposed", "criticism.confirmed"]


def test_a_deadline_passing_with_no_extension_before_it_proposes_criticism_ground_3(
        demo, people, clock):
    late = _transferred(demo, people, clock)
    explained = _transferred(demo, people, clock, "县人民医院")
    # One unit explains before its deadline; the other lets it pass.
    extend_deadline(demo, people["xr"], explained, TRANSFER_DUE + timedelta(days=4),
                    "需要现场核实", FixedClock(TRANSFER_DUE - timedelta(hours=1), TZ))
    demo.commit()
    after = TRANSFER_DUE + timedelta(minutes=5)
    report = run_sweep(demo, after, CALENDAR, CONTEXT)
    demo.commit()
    assert report.proposed == [late.number]
    [proposal] = demo.scalars(select(Censure)).all()
    assert (proposal.ground.value, proposal.status.value, proposal.unit.name) == (
        "late_unexplained", "proposed", "城关镇卫生院")
    assert [c.number for c in proposal.cases] == [late.number]
    # The same sweep again proposes nothing new.
    assert run_sweep(demo, after + timedelta(minutes=1), CALENDAR, CONTEXT).proposed == []
    demo.commit()
    # The explained case misses its new deadline too: that one is proposed, once.
    assert run_sweep(demo, TRANSFER_DUE + timedelta(days=5), CALENDAR,
                     CONTEXT).proposed == [explained.number]
    demo.commit()
    assert demo.query(Censure).count() == 2
    events = demo.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "censures")).all()
    assert events == ["criticism.proposed"] * 2


def test_the_office_records_dismisses_and_withdraws_by_the_transition_map(demo, people, clock):
    case = _transferred(demo, people, clock)
    unit_id = people["units"]["县人民医院"].id
    entry = CensureEntry(ground="false_report", facts="反馈情况与事实不符",
                         case_numbers=[case.number], unit_id=unit_id)
    with pytest.raises(Forbidden):
        record_censure(demo, people["wang"], CensureKind.CRITICISM, entry, clock)
    for changes, code in ((dict(ground="buck_passing"), "ground_invalid"),
                          (dict(ground="nonsense"), "ground_invalid"),
                          (dict(facts=" "), "facts_required"),
                          (dict(unit_id=None), "censure_target_required"),
                          (dict(duty_room=True), "ground_invalid"),
                          (dict(case_numbers=["2026-999999"]), "case_unknown")):
        bad = CensureEntry(**{**entry.__dict__, **changes})
        with pytest.raises(ValidationError) as refused:
            record_censure(demo, people["sup"], CensureKind.CRITICISM, bad, clock)
        assert refused.value.code == code, changes
    recorded = record_censure(demo, people["sup"], CensureKind.CRITICISM, entry, clock)
    assert recorded.status is CensureStatus.CONFIRMED  # the office's own decision
    duty = record_censure(demo, people["sup"], CensureKind.CRITICISM, CensureEntry(
        ground="duty_failure", facts="漏登来电", duty_room=True), clock)
    assert duty.duty_room and duty.unit is None
    # A confirmed one cannot be dismissed, only withdrawn, with a reason.
    with pytest.raises(InvalidTransition):
        dismiss_censure(demo, people["sup"], recorded, "不成立", clock)
    withdraw_censure(demo, people["sup"], recorded, "复核后撤销", clock)
    assert (recorded.status.value, recorded.withdraw_reason) == ("withdrawn", "复核后撤销")
    with pytest.raises(InvalidTransition):
        withdraw_censure(demo, people["sup"], recorded, "再撤", clock)
    assert _events(demo, recorded) == ["criticism.recorded", "criticism.withdrawn"]
    # Accountability names a person; the grounds are the other register's.
    held = record_censure(demo, people["sup"], CensureKind.ACCOUNTABILITY, CensureEntry(
        ground="buck_passing", facts="推诿扯皮", person="某科长"), clock)
    assert held.kind is CensureKind.ACCOUNTABILITY and held.person == "某科长"
    assert [c.id for c in list_censures(demo, people["admin"], CensureKind.CRITICISM)] == [
        duty.id, recorded.id]
    assert [c.id for c in list_censures(demo, people["sup"], CensureKind.CRITICISM,
                                        unit_id=unit_id)] == [recorded.id]
    with pytest.raises(Forbidden):
        list_censures(demo, people["duty"], CensureKind.CRITICISM)


# ---------------------------------------------------------------- the API and the page
@pytest.fixture
def api(client, demo, people):
    tokens = {}
    for name in ("sup", "admin", "wang"):
        _row, tokens[name] = issue_token(demo, people[name], Actor("test"))
    demo.commit()

    def call(who, method, path, **kwargs):
        return client.open(f"/api/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {tokens[who]}"}, **kwargs)

    return call


def test_the_registers_over_the_api(api, demo, people, clock):
    case = _transferred(demo, people, clock)
    demo.commit()
    unit_id = people["units"]["城关镇卫生院"].id
    body = {"ground": "not_carried_out", "facts": "未按要求整改", "cases": [case.number],
            "unit_id": unit_id}
    assert api("wang", "POST", "/criticisms", json=body).status_code == 403
    refused = api("sup", "POST", "/criticisms", json={**body, "ground": "buck_passing"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "ground"
    made = api("sup", "POST", "/criticisms", json=body)
    assert made.status_code == 201, made.get_json()
    record = made.get_json()
    assert (record["status"], record["unit"], record["cases"]) == (
        "confirmed", "城关镇卫生院", [case.number])
    assert record["decided_at"].endswith("+08:00")
    listed = api("admin", "GET", f"/criticisms?status=confirmed&unit={unit_id}").get_json()
    assert [c["id"] for c in listed["criticisms"]] == [record["id"]]
    assert api("admin", "GET", "/criticisms?status=maybe").status_code == 422
    assert api("sup", "GET", "/accountability").get_json() == {"accountability": [], "count": 0}
    # Decisions: a reason, the map (409), the other register (404), not the admin (403).
    path = f"/criticisms/{record['id']}"
    assert api("sup", "POST", f"{path}/withdraw", json={}).status_code == 422
    assert api("sup", "POST", f"{path}/confirm", json={"reason": "x"}).status_code == 409
    assert api("sup", "POST", f"/accountability/{record['id']}/withdraw",
               json={"reason": "x"}).status_code == 404
    assert api("admin", "POST", f"{path}/withdraw", json={"reason": "x"}).status_code == 403
    done = api("sup", "POST", f"{path}/withdraw", json={"reason": "复核后撤销"})
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    held = api("sup", "POST", "/accountability", json={
        "ground": "abuse_of_office", "facts": "以权谋私", "person": "某某"})
    assert held.status_code == 201 and held.get_json()["kind"] == "accountability"


def test_the_supervision_home_shows_and_decides_proposals(client, demo, people, clock):
    from tests.dashboard_support import sign_in

    case = _transferred(demo, people, clock)
    for _ in range(3):
        file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
        demo.flush()
        return_result(demo, people["sup"], case, "format", "缺少盖章", clock, CALENDAR, SMS)
    demo.commit()
    proposal = demo.scalars(select(Censure)).one()
    sign_in(client, "sup")
    page = client.get("/supervision").get_data(as_text=True)
    assert f'class="proposal" data-censure="{proposal.id}"' in page
    assert "办理结果连续三次被退回" in page
    client.post(f"/registers/{proposal.id}/confirm", data={"reason": "属实"})
    page = client.get("/supervision").get_data(as_text=True)
    assert f'class="confirmed" data-censure="{proposal.id}"' in page
    client.post("/registers/criticisms", data={
        "ground": "improper_conduct", "facts": "态度生硬", "cases": case.number,
        "unit_id": str(people["units"]["县人民医院"].id)})
    demo.expire_all()
    assert demo.query(Censure).filter_by(ground="improper_conduct").one().status.value == (
        "confirmed")


# ---------------------------------------------------------------- item 2: importance
def test_an_important_case_missing_its_deadline_proposes_accountability_ground_1(
        demo, people, clock):
    from intake.cases.handling import CaseEntry, create_case, handle_case

    def enter(importance):
        outcome = create_case(demo, people["duty"], CaseEntry(
            caller_name="张伟", content="县领导批示：村卫生室缺药", caller_phone="+8613812345678",
            channel="in_person", importance=importance), clock, SMS)
        return outcome.case

    with pytest.raises(ValidationError) as bad:
        enter("urgentish")
    assert (bad.value.code, bad.value.field) == ("importance_invalid", "importance")
    instruction, ordinary = enter("instruction"), enter("normal")
    transfer_case(demo, people["wang"], instruction, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    handle_case(demo, people["wang"], ordinary, "", clock, CALENDAR)
    demo.commit()
    report = run_sweep(demo, TRANSFER_DUE + timedelta(minutes=5), CALENDAR, CONTEXT)
    demo.commit()
    held = demo.scalars(select(Censure).where(Censure.kind == CensureKind.ACCOUNTABILITY)).all()
    assert [(c.ground.value, c.status.value, c.unit.name, c.cases) for c in held] == [
        ("important_matter_late", "proposed", "城关镇卫生院", [instruction])]
    assert "领导批示件" in held[0].facts
    # The transferred instruction is also late unexplained (a criticism), the ordinary case
    # handled by its leader proposes nothing.
    assert sorted(report.proposed) == [instruction.number, instruction.number]
    assert run_sweep(demo, TRANSFER_DUE + timedelta(hours=1), CALENDAR, CONTEXT).proposed == []


def test_the_importance_is_entered_through_the_api_and_shown_on_the_case(api, client, demo,
                                                                         people):
    from tests.dashboard_support import sign_in

    _row, duty = issue_token(demo, people["duty"], Actor("test"))
    demo.commit()
    made = client.post("/api/v1/cases", headers={"Authorization": f"Bearer {duty}"}, json={
        "caller_name": "张伟", "caller_phone": "+8613812345678", "content": "局领导批示件",
        "channel": "in_person", "importance": "important"})
    assert made.status_code == 201 and made.get_json()["importance"] == "important"
    bad = client.post("/api/v1/cases", headers={"Authorization": f"Bearer {duty}"}, json={
        "caller_name": "张伟", "caller_phone": "+8613812345678", "content": "x",
        "channel": "in_person", "importance": "vip"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "importance"
    case_id = demo.scalars(select(Case.id).where(Case.number == made.get_json()["number"])).one()
    sign_in(client, "wang")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="badge importance-important"' in page and "重要事项" in page


# ---------------------------------------------------------------- item 4: the leader hears
def test_the_leader_is_texted_when_a_unit_files_a_result_and_when_it_is_accepted(demo, people,
                                                                                clock):
    from intake.store.models import Notification
    from intake.cases.transfers import accept_result

    case = _transferred(demo, people, clock)
    filed = file_result(demo, people["cg"], case, result_form(), clock, sms=SMS, scan_required=False)
    accepted = accept_result(demo, people["sup"], case, clock, sms=SMS)
    demo.flush()
    sent = [demo.get(Notification, nid) for nid in filed.sms + accepted.sms]
    assert [(n.kind.value, n.leader_id) for n in sent] == [
        ("leader_result_filed", case.leader_id), ("leader_result_accepted", case.leader_id)]
    assert f"城关镇卫生院已就案件{case.number}提交书面办理结果" in sent[0].body
    assert "已获督办室采纳，请及时向联络员反馈" in sent[1].body
    assert sent[0].body.endswith(f"https://dutyline.example/cases/{case.id}")


# ---------------------------------------------------------------- item 5: chasing (催办)
def test_a_third_chase_proposes_accountability_ground_4(demo, people, clock):
    from intake.rules.censures import count_chases
    from intake.store.models import Notification, Reminder
    from intake.sweep import due_work

    case = _transferred(demo, people, clock)
    demo.commit()
    # Mon 12, Tue 13, Wed 14 October 2026, 09:00 in Shanghai: working days after the deadline.
    mornings = [datetime(2026, 10, d, 1, 0, tzinfo=timezone.utc) for d in (12, 13, 14)]
    # Before 08:00 on the first of them nothing is chased yet.
    early = datetime(2026, 10, 11, 23, 0, tzinfo=timezone.utc)
    assert [w for w in due_work(demo, early, CALENDAR, CONTEXT)
            if getattr(w, "kind", None) and w.kind.value == "unit_chase"] == []
    for nth, morning in enumerate(mornings, start=1):
        report = run_sweep(demo, morning, CALENDAR, CONTEXT)
        demo.commit()
        assert report.reminders.get("unit_chase") == 1
        # Running again the same day chases nobody twice.
        assert run_sweep(demo, morning + timedelta(hours=2), CALENDAR, CONTEXT).reminders.get(
            "unit_chase") is None
        demo.commit()
        assert count_chases(demo, case.id) == nth
        held = demo.scalars(select(Censure).where(
            Censure.ground == "chased_without_result")).all()
        assert len(held) == (1 if nth == 3 else 0)
    [proposal] = held
    assert (proposal.kind.value, proposal.status.value, proposal.unit.name, proposal.cases) == (
        "accountability", "proposed", "城关镇卫生院", [case])
    chases = demo.scalars(select(Notification).where(Notification.kind == "unit_chase")
                          .order_by(Notification.id)).all()
    assert [n.body.split("：")[0] for n in chases] == [
        f"【民情联线】催办（第{n}次）" for n in (1, 2, 3)]
    assert demo.query(Reminder).filter_by(kind="unit_chase").count() == 3
    # A Saturday is no working day: no chase. A filed result ends the chasing.
    assert run_sweep(demo, datetime(2026, 10, 17, 1, 0, tzinfo=timezone.utc), CALENDAR,
                     CONTEXT).reminders.get("unit_chase") is None
    demo.commit()
    file_result(demo, people["cg"], case, result_form(), FixedClock(mornings[-1], TZ), scan_required=False)
    demo.commit()
    assert run_sweep(demo, datetime(2026, 10, 19, 1, 0, tzinfo=timezone.utc), CALENDAR,
                     CONTEXT).reminders.get("unit_chase") is None


def test_the_case_page_and_api_show_the_chases(api, client, demo, people, clock):
    from tests.dashboard_support import sign_in

    case = _transferred(demo, people, clock)
    demo.commit()
    for day in (12, 13):
        run_sweep(demo, datetime(2026, 10, day, 1, 0, tzinfo=timezone.utc), CALENDAR, CONTEXT)
        demo.commit()
    assert api("sup", "GET", f"/cases/{case.number}").get_json()["chases"] == 2
    sign_in(client, "sup")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert '<span class="badge" id="chases">已催办 2 次</span>' in page


def test_the_chase_count_stands_on_the_units_line_in_reports_and_their_files(
        api, client, demo, people, clock):
    import csv
    from io import BytesIO, StringIO

    from openpyxl import load_workbook

    from tests.dashboard_support import sign_in

    _transferred(demo, people, clock)
    _transferred(demo, people, clock, "县人民医院")
    demo.commit()
    for day in (12, 13, 14):  # three working-day mornings past both deadlines
        run_sweep(demo, datetime(2026, 10, day, 1, 0, tzinfo=timezone.utc), CALENDAR, CONTEXT)
        demo.commit()
    september = "from=2026-09-01&to=2026-09-30&group=unit"
    rows = {row["unit"]: row for row in api("sup", "GET", f"/reports/rates?{september}")
            .get_json()["rows"]}
    assert rows["城关镇卫生院"]["chases"] == 3 and rows["县人民医院"]["chases"] == 3
    text = api("sup", "GET", f"/reports/rates?{september}&format=csv").get_data(as_text=True)
    lines = {line["unit"]: line for line in csv.DictReader(StringIO(text.lstrip("\ufeff")))}
    assert lines["城关镇卫生院"]["chases"] == "3" and lines["total"]["chases"] == ""
    book = load_workbook(BytesIO(api("sup", "GET", f"/reports/rates?{september}&format=xlsx")
                                 .get_data()))["rates"]
    values = list(book.iter_rows(min_row=2, values_only=True))
    sheet_rows = {row[0]: dict(zip(values[0], row)) for row in values[1:]}
    assert sheet_rows["县人民医院"]["chases"] == 3
    # A later period holds none of these cases, so none of their chases.
    october = api("sup", "GET", "/reports/rates?from=2026-10-01&to=2026-10-31&group=unit")
    assert {row["chases"] for row in october.get_json()["rows"]} == {0}
    sign_in(client, "sup")
    page = client.get("/reports?preset=custom&from=2026-09-01&to=2026-09-30").get_data(
        as_text=True)
    line = page.split('data-unit="城关镇卫生院"')[1].split("</tr>")[0]
    assert '<small class="chases" data-chases="3">已催办 3 次</small>' in line


def test_sweep_dry_run_lists_the_proposals_a_sweep_would_make(demo, settings, people, clock):
    import json

    from click.testing import CliRunner

    from cli.main import main
    from intake.statuses import CaseImportance

    def proposals(moment: str) -> list[tuple]:
        result = CliRunner().invoke(main, ["sweep", "--now", moment, "--dry-run", "--json"])
        assert result.exit_code == 0, result.output
        return [(item["kind"], item["ground"], item["number"], item["key"])
                for item in json.loads(result.output) if item["work"] == "proposal"]

    case = _transferred(demo, people, clock)
    case.importance = CaseImportance.IMPORTANT
    demo.commit()
    first = proposals("2026-10-12T09:00:00+08:00")
    assert [(kind, ground, number) for kind, ground, number, _key in first] == [
        ("criticism", "late_unexplained", case.number),
        ("accountability", "important_matter_late", case.number)]
    assert demo.scalar(select(func.count(Censure.id))) == 0  # a dry run changes nothing
    for day in (12, 13):
        run_sweep(demo, datetime(2026, 10, day, 1, 0, tzinfo=timezone.utc), CALENDAR, CONTEXT)
        demo.commit()
    made = set(demo.scalars(select(Censure.proposal_key)))
    assert made == {key for *_rest, key in first}
    # The third chase is due on the 14th: its accountability proposal, and nothing on file again.
    third = proposals("2026-10-14T09:00:00+08:00")
    assert [(kind, ground, number) for kind, ground, number, _key in third] == [
        ("accountability", "chased_without_result", case.number)]
    run_sweep(demo, datetime(2026, 10, 14, 1, 0, tzinfo=timezone.utc), CALENDAR, CONTEXT)
    demo.commit()
    assert set(demo.scalars(select(Censure.proposal_key))) - made == {third[0][3]}


def test_the_office_attaches_a_scan_to_a_criticism_shown_and_downloadable(client, demo, people):
    import io

    from tests.case_support import PDF
    from tests.dashboard_support import sign_in

    unit = people["units"]["城关镇卫生院"]
    sign_in(client, "sup")
    response = client.post("/registers/criticisms", data={
        "ground": "not_carried_out", "unit_id": str(unit.id), "facts": "未按要求落实整改",
        "scan": (io.BytesIO(PDF), "通报.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    censure = demo.scalar(select(Censure))
    [scan] = censure.scans
    assert (scan.filename, scan.content_type, scan.case_id) == ("通报.pdf", "application/pdf", None)
    assert "criticism.scan_added" in _events(demo, censure)
    home = client.get("/supervision").get_data(as_text=True)
    link = f"/registers/{censure.id}/scans/{scan.id}"
    assert f'href="{link}"' in home and "通报.pdf" in home
    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert f"scan-{scan.id}.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/registers/{censure.id}/scans/{scan.id + 1}").status_code == 404
    sign_in(client, "wang")
    assert client.get(link).status_code == 403


def test_the_api_records_a_criticism_with_its_scan_and_refuses_a_file_that_is_no_scan(
        api, demo, people):
    import io

    from tests.case_support import PDF

    unit = people["units"]["县人民医院"]
    form = {"ground": "false_report", "unit_id": str(unit.id), "facts": "虚报办理结果"}
    refused = api("sup", "POST", "/criticisms", data={
        **form, "attachment": (io.BytesIO(b"<html><script>x</script>"), "notice.pdf")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "attachment_type_invalid"
    assert demo.scalar(select(func.count(Censure.id))) == 0
    made = api("sup", "POST", "/criticisms", data={
        **form, "attachment": (io.BytesIO(PDF), "notice.pdf")}, content_type="multipart/form-data")
    assert made.status_code == 201, made.get_json()
    [scan] = made.get_json()["scans"]
    assert scan["filename"] == "notice.pdf" and scan["content_type"] == "application/pdf"
