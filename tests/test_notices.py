"""Issue 18 item 2: notices to the public (公告) on cases of wide public concern.

The cases are seeded with distinctive personal fields (a liaison, a caller, a leader, a unit's
signatory, staff accounts); the notice's DOCX and PDF are read back (python-docx and every
XML part of the file; pypdf) and none of those fields appears, while the office's texts, the
case numbers and the unit that handled them do. The office records the publication, and the
case then shows it (API and page).
"""
from __future__ import annotations

import re
import zipfile
from datetime import timedelta
from io import BytesIO

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from intake.cases.feedback import rate_case, record_feedback
from intake.cases.notices import (NoticeDraft, build_notice_document, personal_fields,
                                  record_publication, revise_notice, write_notice)
from intake.cases.transfers import accept_result, file_result, transfer_case
from intake.clock import Clock
from intake.exceptions import Conflict, Forbidden, InvalidTransition, ValidationError
from intake.reports.documents import render_docx, render_pdf
from intake.statuses import NoticeStatus
from intake.store.models import AuditEvent, Leader, Liaison
from tests.case_support import CALENDAR, SMS, TZ, result_form, route_case

CLOCK = Clock(TZ)
# Every personal field the seeded cases hold; none may leave the building.
PERSONAL = {
    "liaison name": "欧阳铁柱", "liaison phone": "13812345678", "liaison work unit": "东风村委会",
    "liaison address": "幸福路88号", "caller as taken": "欧阳先生", "caller unit": "红旗小区7栋",
    "leader name": "司马青云", "leader phone": "13900000001", "unit signatory": "慕容院长",
    "duty account": "值班员小周", "unit clerk": "城关镇卫生院办事员", "office account": "督办员",
}
TEXTS = dict(subject="关于城关镇部分药店降压药断供问题的公告",
             reported="多名群众通过民情联线反映，城关镇部分药店降压药长期断货。",
             done="县卫生健康局责成城关镇卫生院会同药品配送企业核查库存，调整配送计划。",
             result="目前相关药店降压药已恢复正常供应，并建立缺药预警机制。")


def _seed_case(demo, people):
    """A case from a liaison with distinctive personal fields, handled by 城关镇卫生院, closed."""
    liaison = demo.scalar(select(Liaison).where(Liaison.phone == "+8613812345678"))
    liaison.name, liaison.work_unit, liaison.address = "欧阳铁柱", "东风村委会", "幸福路88号"
    leader = demo.scalar(select(Leader).where(Leader.phone == "+8613900000001"))
    leader.name = "司马青云"
    demo.commit()
    case = route_case(demo, CLOCK)
    case.caller_name, case.caller_unit = "欧阳先生", "红旗小区7栋"
    case.summary = "欧阳先生（13812345678）反映幸福路88号旁药店没有降压药"
    wang, sup = people["wang"], people["sup"]
    transfer_case(demo, wang, case, people["units"]["城关镇卫生院"].id, CLOCK, CALENDAR, SMS)
    file_result(demo, people["cg"], case, result_form(signed_by="慕容院长"), CLOCK,
                scan_required=False)
    accept_result(demo, sup, case, CLOCK, SMS, CALENDAR)
    record_feedback(demo, wang, case, "phone", "", CLOCK, SMS)
    rate_case(demo, people["duty"], case, "satisfied", CLOCK, CALENDAR, SMS)
    demo.commit()
    return case


def _squeezed(text: str) -> str:
    # The PDF breaks CJK lines anywhere: a name split over two lines must still be found.
    return re.sub(r"\s+", "", text)


def _docx_text(data: bytes) -> str:
    """Every word of the file: the body and tables by python-docx, and every XML part raw."""
    word = docx.Document(BytesIO(data))
    parts = [p.text for p in word.paragraphs]
    parts += [cell.text for table in word.tables for row in table.rows for cell in row.cells]
    with zipfile.ZipFile(BytesIO(data)) as package:
        raw = [re.sub(r"<[^>]+>", "", package.read(name).decode("utf-8", "replace"))
               for name in package.namelist() if name.endswith((".xml", ".rels"))]
    return "\n".join(parts + raw)


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(BytesIO(data))
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    return "\n".join(page.extract_text() for page in reader.pages) + metadata


@pytest.fixture
def notice_cases(demo, people):
    return [_seed_case(demo, people), _seed_case(demo, people)]


def test_the_seeded_personal_fields_are_what_the_guard_knows(demo, people, notice_cases):
    known = personal_fields(demo, notice_cases)
    for what, value in PERSONAL.items():
        if not value.isdigit():
            assert value in known, what
    assert "城关镇卫生院" not in known  # the unit's name is what is published


def test_neither_file_carries_a_personal_field_but_both_carry_the_notice(
        demo, people, notice_cases):
    notice = write_notice(demo, people["sup"], NoticeDraft(
        **TEXTS, case_numbers=[c.number for c in notice_cases]), CLOCK)
    demo.commit()
    document = build_notice_document(notice, TZ, "zh-CN")
    files = {"docx": _docx_text(render_docx(document)), "pdf": _pdf_text(render_pdf(document))}
    for fmt, text in files.items():
        flat = _squeezed(text)
        for what, value in PERSONAL.items():
            assert value not in flat, f"{fmt} leaks the {what}"
        for what in ("subject", "reported", "done", "result"):
            assert _squeezed(TEXTS[what]) in flat, f"{fmt} lacks the {what}"
        for case in notice_cases:
            assert case.number in flat
        assert "城关镇卫生院" in flat and "公告" in flat and "已办结" in flat


def test_a_text_that_names_a_person_or_a_phone_is_refused(demo, people, notice_cases):
    numbers = [notice_cases[0].number]
    for field, leak in (("reported", "联络员欧阳铁柱反映药店缺药"),
                        ("done", "司马青云同志督促办理"),
                        ("result", "如有疑问请致电 138 1234 5678"),
                        ("subject", "慕容院长答复的药品问题")):
        texts = dict(TEXTS, **{field: leak})
        with pytest.raises(ValidationError) as refused:
            write_notice(demo, people["sup"], NoticeDraft(**texts, case_numbers=numbers), CLOCK)
        assert (refused.value.code, refused.value.field) == ("notice_personal_data", field)


def test_dates_and_sums_are_not_taken_for_phone_numbers(demo, people, notice_cases):
    texts = dict(TEXTS, done="2026-12-07 起投入资金1500000元，调整 0571 片区配送计划。")
    notice = write_notice(demo, people["sup"], NoticeDraft(
        **texts, case_numbers=[notice_cases[0].number]), CLOCK)
    assert notice.done == texts["done"]


def test_only_the_office_writes_and_only_answered_cases(demo, people, notice_cases):
    draft = NoticeDraft(**TEXTS, case_numbers=[notice_cases[0].number])
    for name in ("wang", "duty", "cg", "admin"):
        with pytest.raises(Forbidden):
            write_notice(demo, people[name], draft, CLOCK)
    open_case = route_case(demo, CLOCK)
    with pytest.raises(ValidationError) as still_open:
        write_notice(demo, people["sup"], NoticeDraft(**TEXTS, case_numbers=[open_case.number]),
                     CLOCK)
    assert still_open.value.code == "notice_case_open"
    with pytest.raises(ValidationError) as none:
        write_notice(demo, people["sup"], NoticeDraft(**TEXTS, case_numbers=[]), CLOCK)
    assert none.value.code == "notice_cases_required"


def test_publication_is_recorded_and_the_notice_moves_on(demo, people, notice_cases):
    notice = write_notice(demo, people["sup"], NoticeDraft(
        **TEXTS, case_numbers=[c.number for c in notice_cases]), CLOCK)
    revise_notice(demo, people["sup"], notice, NoticeDraft(**dict(TEXTS, result="已恢复供应。")),
                  CLOCK)
    today = CLOCK.today()
    with pytest.raises(ValidationError) as future:
        record_publication(demo, people["sup"], notice, "县融媒体中心", today + timedelta(days=1),
                           "", CLOCK)
    assert future.value.code == "date_in_future"
    with pytest.raises(ValidationError) as link:
        record_publication(demo, people["sup"], notice, "县融媒体中心", today,
                           "javascript:alert(1)", CLOCK)
    assert link.value.code == "link_invalid"
    record_publication(demo, people["sup"], notice, "县融媒体中心", today,
                       "https://news.example/notice/1", CLOCK)
    record_publication(demo, people["sup"], notice, "县政府网站", today, "", CLOCK)
    demo.commit()
    assert notice.status is NoticeStatus.PUBLISHED
    assert [p.outlet for p in notice.publications] == ["县融媒体中心", "县政府网站"]
    with pytest.raises(InvalidTransition):  # a published notice's text is what appeared
        revise_notice(demo, people["sup"], notice, NoticeDraft(**TEXTS), CLOCK)
    actions = demo.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "cases", AuditEvent.entity_id == notice_cases[0].id)).all()
    assert actions.count("case.notice_published") == 2 and "case.public_concern" in actions


def test_a_stale_notice_is_a_conflict(demo, people, notice_cases, session_factory):
    notice = write_notice(demo, people["sup"], NoticeDraft(
        **TEXTS, case_numbers=[notice_cases[0].number]), CLOCK)
    demo.commit()
    other = session_factory()
    try:
        from intake.store.models import PublicNotice

        theirs = other.get(PublicNotice, notice.id)
        record_publication(demo, people["sup"], notice, "县融媒体中心", CLOCK.today(), "", CLOCK)
        demo.commit()
        with pytest.raises(Conflict):
            record_publication(other, people["sup"], theirs, "县电视台", CLOCK.today(), "", CLOCK)
        other.rollback()
    finally:
        other.close()


def test_api_writes_downloads_publishes_and_the_case_shows_it(api, demo, people, notice_cases):
    number = notice_cases[0].number
    made = api("sup", "POST", "/notices", json={**TEXTS, "cases": [number]})
    assert made.status_code == 201, made.text
    notice_id = made.json["id"]
    assert api("wang", "POST", "/notices", json={**TEXTS, "cases": [number]}).status_code == 403
    pdf = api("sup", "GET", f"/notices/{notice_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    flat = _squeezed(_pdf_text(pdf.data))
    assert _squeezed(TEXTS["result"]) in flat and "欧阳铁柱" not in flat
    word = api("sup", "GET", f"/notices/{notice_id}.docx")
    assert word.status_code == 200 and "司马青云" not in _docx_text(word.data)
    before = api("wang", "GET", f"/cases/{number}").json
    assert before["published"] is False and before["public_notices"][0]["status"] == "draft"
    published = api("sup", "POST", f"/notices/{notice_id}/publications",
                    json={"outlet": "县融媒体中心", "published_on": CLOCK.today().isoformat(),
                          "link": "https://news.example/n/1"})
    assert published.status_code == 201, published.text
    after = api("wang", "GET", f"/cases/{number}").json
    assert after["published"] is True
    assert after["public_notices"][0]["publications"][0]["outlet"] == "县融媒体中心"
    assert api("sup", "GET", "/notices").json["count"] == 1


def test_pages_write_preview_and_record(client, demo, people, notice_cases):
    from tests.dashboard_support import sign_in

    sign_in(client, "sup")
    assert client.get("/notices").status_code == 200
    written = client.post("/notices", data={**TEXTS, "cases": notice_cases[0].number})
    assert written.status_code == 303
    preview = client.get(written.headers["Location"]).get_data(as_text=True)
    assert TEXTS["done"] in preview and "欧阳铁柱" not in preview and 'id="download-pdf"' in preview
    refused = client.post("/notices", data={**TEXTS, "reported": "欧阳铁柱反映",
                                            "cases": notice_cases[0].number})
    assert refused.status_code == 422
    notice_path = written.headers["Location"]
    recorded = client.post(f"{notice_path}/publication", data={
        "outlet": "县融媒体中心", "published_on": CLOCK.today().isoformat(), "link": ""})
    assert recorded.status_code == 303
    page = client.get(f"/cases/{notice_cases[0].id}").get_data(as_text=True)
    assert 'id="public-notices"' in page and "县融媒体中心" in page
    sign_in(client, "wang")
    assert client.get("/notices").status_code == 403
