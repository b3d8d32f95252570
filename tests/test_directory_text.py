"""Issue 16 item 13 for the directory: no door (screen, workbook, domain call) hands the
database a NUL, a bidi override or a name longer than its column; each is refused by code
and nothing is stored (on PostgreSQL either would otherwise be a 500)."""
from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from intake.directory.roster import add_leader, update_leader
from intake.directory.workbook import export_directory, import_directory
from intake.exceptions import RowsRejected, ValidationError
from intake.store.audit import Actor
from intake.store.models import Leader, Liaison
from tests.dashboard_support import sign_in

ADMIN = Actor("user:admin")
BIDI = "李\u202e红"


@pytest.mark.parametrize("name, code", [("王\x00五", "invalid_characters"),
                                        (BIDI, "invalid_characters"),
                                        ("王" * 61, "too_long")])
def test_the_directory_refuses_what_its_columns_cannot_hold(demo, name, code):
    with pytest.raises(ValidationError) as added:
        add_leader(demo, name, "13900000055", ADMIN)
    assert (added.value.code, added.value.field) == (code, "name")
    leader = demo.query(Leader).filter_by(name="李红").one()
    with pytest.raises(ValidationError) as updated:
        update_leader(demo, leader, {"name": name}, ADMIN)
    assert (updated.value.code, updated.value.field) == (code, "name")
    demo.rollback()
    assert demo.query(Leader).filter_by(name="李红").count() == 1


@pytest.mark.parametrize("name", ["王\x00五", BIDI, "王" * 61])
def test_the_admin_screen_refuses_them_with_a_reason_not_a_500(client, demo, name):
    sign_in(client, "admin")
    leader = demo.query(Leader).filter_by(name="李红").one()
    answer = client.post(f"/admin/leaders/{leader.id}", data={"name": name,
                                                              "phone": leader.phone})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "控制字符" in page or "过长" in page or "超过" in page, page[:2000]
    answer = client.post("/admin/leaders", data={"name": name, "phone": "13900000056"})
    assert answer.status_code == 302
    demo.expire_all()
    assert demo.query(Leader).filter_by(name="李红").count() == 1
    assert demo.query(Leader).filter_by(phone="+8613900000056").count() == 0


def test_a_workbook_row_with_a_bidi_override_or_an_over_long_name_is_named(demo):
    book = load_workbook(BytesIO(export_directory(demo)))
    liaisons = book["liaisons"]
    liaisons.cell(row=2, column=1).value = BIDI
    liaisons.cell(row=3, column=4).value = "路" * 201  # address, VARCHAR(200)
    out = BytesIO()
    book.save(out)
    before = sorted((l.name, l.address) for l in demo.query(Liaison))
    with pytest.raises(RowsRejected) as rejected:
        import_directory(demo, out.getvalue(), ADMIN)
    found = {(p.sheet, p.row, p.column, p.code) for p in rejected.value.rows}
    assert ("liaisons", 2, "name", "invalid_characters") in found
    assert ("liaisons", 3, "address", "too_long") in found
    demo.rollback()
    assert sorted((l.name, l.address) for l in demo.query(Liaison)) == before
