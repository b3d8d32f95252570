"""The directory, duties and cards screens: thin views over the domain, with clear refusals."""
from __future__ import annotations

import re

from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from pypdf import PdfReader

from intake.store.audit import list_events
from intake.store.models import Commendation, ContactLog, Leader, Liaison, Unit
from tests.dashboard_support import sign_in


def _get(session, model, name):
    session.expire_all()
    return session.query(model).filter_by(name=name).one()


def _page(client, path):
    return client.get(path).get_data(as_text=True)


def test_an_admin_edits_a_leader_and_a_bad_phone_is_refused_clearly(client, demo):
    sign_in(client, "admin")
    wang, li = _get(demo, Leader, "王建国"), _get(demo, Leader, "李红")
    assert "副局长" in _page(client, f"/admin/leaders/{wang.id}")
    client.post(f"/admin/leaders/{li.id}", data={
        "name": "李红", "title": "医政科主任", "phone": "13900000002", "email": "li@example.gov.cn",
        "reports_to_id": wang.id, "on_duty": ["0", "1"], "is_head": "0"})
    li = _get(demo, Leader, "李红")
    assert (li.title, li.reports_to_id, li.on_duty) == ("医政科主任", wang.id, True)
    response = client.post(f"/admin/leaders/{li.id}", data={"phone": "12345"})
    assert response.status_code == 302
    assert "电话号码无效" in _page(client, f"/admin/leaders/{li.id}")
    assert _get(demo, Leader, "李红").phone == "+8613900000002"
    client.post("/admin/leaders", data={"name": "赵敏", "phone": "12345"})
    assert "电话号码无效" in _page(client, "/admin/directory")
    assert demo.query(Leader).filter_by(name="赵敏").count() == 0


def test_an_admin_reassigns_deactivates_and_sees_load_warnings(client, demo):
    sign_in(client, "admin")
    page = _page(client, "/admin/directory")
    assert "李红 联系 1 名联络员，按规定至少 2 名" in page
    zhang, li = _get(demo, Liaison, "张伟"), _get(demo, Leader, "李红")
    client.post(f"/admin/liaisons/{zhang.id}", data={"name": "张伟", "phone": "13812345678",
                                                     "leader_id": li.id})
    assert _get(demo, Liaison, "张伟").leader_id == li.id
    assert "按规定至少" in _page(client, "/admin/directory")  # 王建国 now has one
    unit = _get(demo, Unit, "县人民医院")
    client.post(f"/admin/units/{unit.id}/active", data={"active": "0"})
    assert _get(demo, Unit, "县人民医院").active is False
    assert "重新启用" in _page(client, "/admin/directory")
    actions = [e.action for e in list_events(demo, "units", unit.id)]
    assert actions[-1] == "unit.deactivated"
    client.post(f"/admin/leaders/{li.id}/active", data={"active": "0"})
    page = _page(client, "/admin/directory")
    assert "张伟 没有在用的联线领导" in page and "陈明 没有在用的联线领导" in page


def test_the_directory_downloads_and_uploads_as_xlsx(client, demo):
    sign_in(client, "admin")
    response = client.get("/admin/directory.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    book = load_workbook(BytesIO(response.data))
    book["units"].append(["南山乡卫生院", "township", "", "是"])
    book["liaisons"].append(["坏号码", "12345", "", "", "", "是"])
    out = BytesIO()
    book.save(out)
    client.post("/admin/directory/import",
                data={"file": (BytesIO(out.getvalue()), "d.xlsx")},
                content_type="multipart/form-data")
    page = _page(client, "/admin/directory")
    assert "未导入任何内容：文件中有 1 处问题" in page
    # In the page's language, by the problem's code (issue 19 item 3), not the domain's English.
    assert "联络员表（liaisons） 第 5 行 “电话”列：电话号码无效。" in page
    assert "row 5" not in page and "not a valid" not in page
    book["liaisons"].delete_rows(5)
    (liu,) = [row for row in book["liaisons"].iter_rows() if row[0].value == "刘芳"]
    liu[5].value = "否"  # 刘芳 leaves
    out = BytesIO()
    book.save(out)
    # Issue 19 item 5: an upload is checked and summed up per sheet; nothing is saved yet.
    client.post("/admin/directory/import", data={"file": (BytesIO(out.getvalue()), "d.xlsx")},
                content_type="multipart/form-data")
    page = _page(client, "/admin/directory")
    assert "d.xlsx 检查通过" in page
    summary = re.search(r'<table class="inbox" id="import-summary">.*?</table>', page, re.S).group(0)
    cells = {sheet: re.findall(r'c-num">(\d+)<', row) for sheet, row in re.findall(
        r'data-sheet="(\w+)">(.*?)</tr>', summary, re.S)}
    assert cells == {"leaders": ["0", "0", "0", "2"], "liaisons": ["0", "0", "1", "2"],
                     "units": ["1", "0", "0", "2"]}
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 0
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', page).group(1)
    # Only the file this admin checked, by its hash, is imported.
    client.post("/admin/directory/import/confirm", data={"sha256": "0" * 64})
    assert "这不是您检查过的文件" in _page(client, "/admin/directory")
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 0
    client.post("/admin/directory/import/confirm", data={"sha256": digest})
    page = _page(client, "/admin/directory")
    assert "已导入：新增 1 条" in page and 'id="import-check"' not in page
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 1
    assert demo.query(Liaison).filter_by(name="刘芳").one().active is False
    # Pressed twice (a second tab), it imports nothing again.
    client.post("/admin/directory/import/confirm", data={"sha256": digest})
    assert "这不是您检查过的文件" in _page(client, "/admin/directory")


def test_a_crafted_or_oversized_workbook_is_refused_at_once_with_a_translated_reason(
        client, demo):
    """Issue 16 item 4: the page reads the upload within the caps and says why, in Chinese."""
    import time

    from intake.store.spreadsheets import MAX_WORKBOOK_BYTES
    from tests.workbook_support import crafted_directory

    sign_in(client, "admin")
    started = time.perf_counter()
    response = client.post("/admin/directory/import",
                           data={"file": (BytesIO(crafted_directory()), "d.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and time.perf_counter() - started < 2.0
    page = _page(client, "/admin/directory")
    assert "领导表（leaders）：文件的行数超过导入上限（空行也计入）" in page
    client.post("/admin/directory/import",
                data={"file": (BytesIO(b"\0" * (MAX_WORKBOOK_BYTES + 1)), "d.xlsx")},
                content_type="multipart/form-data")
    assert "文件过大：不得超过 5 MB" in _page(client, "/admin/directory")
    demo.expire_all()
    assert demo.query(Leader).filter_by(name="赵敏").count() == 0


def test_a_leader_logs_a_call_in_two_taps_and_the_month_view_updates(client, app, demo):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    sign_in(client, "wang")
    page = _page(client, "/cases")
    assert "我已联系 张伟" in page and "我已联系 刘芳" in page
    zhang, chen = _get(demo, Liaison, "张伟"), _get(demo, Liaison, "陈明")
    client.post("/duties/contacts", data={"liaison_id": zhang.id})
    page = _page(client, "/cases")
    assert "已记录：您今天联系了 张伟" in page and "我已联系 张伟" not in page
    client.post("/duties/contacts", data={"liaison_id": chen.id})  # 李红's liaison
    assert "该联络员不是这位成员所联系的联络员" in _page(client, "/cases")
    demo.expire_all()
    assert [(c.liaison_id, c.contacted_on) for c in demo.query(ContactLog)] == [(zhang.id, today)]
    staff = app.test_client()
    sign_in(staff, "duty")
    month = _page(staff, f"/duties/contacts?month={today:%Y-%m}")
    assert month.count("还欠 1 次联系") == 2  # 王建国 owes 刘芳, 李红 owes 陈明
    assert '<td class="owing-names">刘芳</td>' in month
    assert "请按 YYYY-MM 格式选择月份" in _page(staff, "/duties/contacts?month=2026-13")


def test_commendations_are_recorded_on_screen(client, demo):
    sign_in(client, "admin")
    unit = _get(demo, Unit, "城关镇卫生院")
    client.post("/duties/commendations", data={
        "kind": "banner", "target": f"unit:{unit.id}", "received_on": "2026-03-08",
        "giver": "东门村村民", "evidence": "锦旗照片 IMG_0308.jpg"})
    page = _page(client, "/duties/commendations")
    assert "锦旗照片 IMG_0308.jpg" in page and "城关镇卫生院" in page
    client.post("/duties/commendations", data={"kind": "letter", "target": "",
                                               "received_on": "2026-03-08", "evidence": "x"})
    assert "请选择一位成员或一个单位" in _page(client, "/duties/commendations")
    client.post("/duties/commendations", data={"kind": "letter", "target": f"unit:{unit.id}",
                                               "received_on": "3月8日", "evidence": "x"})
    assert "请按 YYYY-MM-DD 格式填写日期" in _page(client, "/duties/commendations")
    demo.expire_all()
    assert demo.query(Commendation).count() == 1


def test_cards_download_for_staff_and_for_a_leader_their_own(client, app, demo):
    sign_in(client, "li")
    response = client.get("/duties/cards.pdf?leader_id=1")
    assert response.mimetype == "application/pdf"
    text = PdfReader(BytesIO(response.data)).pages[0].extract_text()
    assert "李红" in text and "王建国" not in text  # a leader gets only their own card
    staff = app.test_client()
    sign_in(staff, "admin")
    text = PdfReader(BytesIO(staff.get("/duties/cards.pdf").data)).pages[0].extract_text()
    assert "李红" in text and "王建国" in text


def test_a_checked_file_that_changed_since_its_check_is_refused(client, demo):
    """Issue 19 item 5: the import applies exactly the bytes that passed the check."""
    from dashboard.admin import CHECKED_FILES_KEY

    sign_in(client, "admin")
    book = load_workbook(BytesIO(client.get("/admin/directory.xlsx").data))
    book["units"].append(["南山乡卫生院", "township", "", "是"])
    out = BytesIO()
    book.save(out)
    client.post("/admin/directory/import", data={"file": (BytesIO(out.getvalue()), "d.xlsx")},
                content_type="multipart/form-data")
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"',
                       _page(client, "/admin/directory")).group(1)
    kept = client.application.extensions[CHECKED_FILES_KEY]
    kept.connection.set(kept._key(digest), out.getvalue() + b"\0")  # not the file checked
    client.post("/admin/directory/import/confirm", data={"sha256": digest})
    page = _page(client, "/admin/directory")
    assert "检查过的文件已失效" in page and 'id="import-check"' not in page
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 0
