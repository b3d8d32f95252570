"""The directory workbook: export, edit, import back; all-or-nothing with every bad row named."""
from __future__ import annotations

from io import BytesIO

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from intake.audit import Actor, list_events
from intake.directory_workbook import export_directory, import_directory
from intake.exceptions import ImportRejected
from intake.models import AuditEvent, Leader, Liaison, Unit

ADMIN = Actor("user:admin")


def _book(data: bytes):
    return load_workbook(BytesIO(data))


def _save(book) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _snapshot(session):
    session.expire_all()
    return ([(l.name, l.phone, l.title, l.active, l.reports_to_id) for l in
             session.query(Leader).order_by(Leader.id)],
            [(li.name, li.phone, li.leader_id, li.active) for li in
             session.query(Liaison).order_by(Liaison.id)],
            [(u.name, u.kind, u.phone, u.active) for u in session.query(Unit).order_by(Unit.id)],
            session.query(AuditEvent).count())


def test_export_writes_three_sheets_that_read_back(demo):
    book = _book(export_directory(demo))
    assert book.sheetnames == ["leaders", "liaisons", "units"]
    leaders = list(book["leaders"].iter_rows(values_only=True))
    assert leaders[0][:3] == ("姓名 name", "职务 title", "电话 phone")
    assert ("王建国", "副局长", "+8613900000001") == leaders[1][:3]
    liaisons = list(book["liaisons"].iter_rows(values_only=True))
    assert {(r[0], r[4]) for r in liaisons[1:]} == {
        ("张伟", "+8613900000001"), ("刘芳", "+8613900000001"), ("陈明", "+8613900000002")}
    assert {r[:2] for r in book["units"].iter_rows(min_row=2, values_only=True)} == {
        ("城关镇卫生院", "township"), ("县人民医院", "county")}


def test_an_unedited_export_imports_as_no_change(demo):
    before = _snapshot(demo)
    report = import_directory(demo, export_directory(demo), ADMIN)
    demo.commit()
    assert report.created == {"leaders": 0, "liaisons": 0, "units": 0}
    assert report.updated == {"leaders": 0, "liaisons": 0, "units": 0}
    assert report.unchanged == {"leaders": 2, "liaisons": 3, "units": 2}
    assert _snapshot(demo) == before


def test_an_edited_workbook_updates_adds_reassigns_and_deactivates(demo):
    book = _book(export_directory(demo))
    leaders, liaisons, units = book["leaders"], book["liaisons"], book["units"]
    leaders["B3"] = "医政科主任"                    # 李红's title
    leaders["G3"] = "+8613900000001"               # 李红 reports to 王建国
    leaders.append(["赵敏", "科员", "13900000077", "", "否", "否", "", "是"])
    liaisons["E2"] = "13900000002"                 # 张伟 moves to 李红
    liaisons.append(["孙丽", "13600000088", "西街社区", "", "13900000077", "是"])
    county_row = next(c.row for c in units["A"] if c.value == "县人民医院")
    units[f"D{county_row}"] = "否"                 # 县人民医院 deactivated
    report = import_directory(demo, _save(book), ADMIN)
    demo.commit()
    assert report.created == {"leaders": 1, "liaisons": 1, "units": 0}
    assert report.updated == {"leaders": 1, "liaisons": 1, "units": 1}
    demo.expire_all()
    li = demo.query(Leader).filter_by(name="李红").one()
    assert li.title == "医政科主任" and li.reports_to.name == "王建国"
    zhang = demo.query(Liaison).filter_by(name="张伟").one()
    assert zhang.leader_id == li.id
    assert demo.query(Liaison).filter_by(name="孙丽").one().leader.name == "赵敏"
    assert demo.query(Unit).filter_by(name="县人民医院").one().active is False
    actions = [e.action for e in list_events(demo, "liaisons", zhang.id)]
    assert actions[-1] == "liaison.reassigned"


def test_bad_rows_are_all_named_and_nothing_changes(demo):
    before = _snapshot(demo)
    book = _book(export_directory(demo))
    book["leaders"]["B2"] = "改了但不应保存"            # a good edit, which must not stay
    book["leaders"].append(["坏号码", "", "12345", "", "", "", "", ""])          # row 4
    book["liaisons"].append(["孙丽", "13600000088", "", "", "13999999999", "是"])  # row 5
    book["liaisons"].append(["", "13600000099", "", "", "", "也许"])              # row 6
    book["units"].append(["南山乡卫生院", "hospital", "", "是"])                  # row 4
    book["units"].append(["县人民医院", "county", "", "是"])                     # row 5: repeated
    with pytest.raises(ImportRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    found = {(p.sheet, p.row, p.code) for p in caught.value.problems}
    assert found == {("leaders", 4, "phone_invalid"), ("liaisons", 5, "unknown_leader"),
                     ("liaisons", 6, "flag_invalid"), ("units", 4, "kind_unknown"),
                     ("units", 5, "row_repeated")}
    assert "leaders row 4 column phone" in str(caught.value.problems[0])
    assert _snapshot(demo) == before


def test_a_wrong_sheet_or_missing_column_is_refused_before_any_row(demo):
    book = _book(export_directory(demo))
    book["units"].title = "单位"
    with pytest.raises(ImportRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert {(p.sheet, p.code) for p in caught.value.problems} == {
        ("单位", "sheet_unknown"), ("units", "sheet_missing")}
    book = _book(export_directory(demo))
    book["liaisons"].delete_cols(2)  # the phone column
    with pytest.raises(ImportRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert [(p.sheet, p.row, p.column, p.code) for p in caught.value.problems] == [
        ("liaisons", 1, "phone", "column_missing")]
    with pytest.raises(ImportRejected) as caught:
        import_directory(demo, b"not a workbook", ADMIN)
    assert caught.value.problems[0].code == "file_unreadable"


def test_a_minimal_hand_made_workbook_with_english_headers_imports(db_session):
    book = Workbook()
    book.active.title = "leaders"
    book["leaders"].append(["name", "phone"])
    book["leaders"].append(["赵敏", 13900000077])  # typed as a number
    book.create_sheet("liaisons").append(["name", "phone", "leader_phone"])
    book["liaisons"].append(["孙丽", "13600000088", "13900000077"])
    book.create_sheet("units").append(["name", "kind"])
    report = import_directory(db_session, _save(book), ADMIN)
    assert report.created == {"leaders": 1, "liaisons": 1, "units": 0}
    assert db_session.query(Liaison).one().leader.phone == "+8613900000077"


def test_dry_run_reports_and_saves_nothing(demo):
    before = _snapshot(demo)
    book = _book(export_directory(demo))
    book["units"].append(["南山乡卫生院", "township", "", "是"])
    report = import_directory(demo, _save(book), ADMIN, dry_run=True)
    assert report.created["units"] == 1 and report.dry_run
    assert _snapshot(demo) == before


def test_the_commands_export_and_import(env, demo, tmp_path):
    from cli.main import main

    path = tmp_path / "directory.xlsx"
    runner = CliRunner()
    result = runner.invoke(main, ["directory", "export", str(path)])
    assert result.exit_code == 0, result.output
    book = load_workbook(path)
    book["units"].append(["南山乡卫生院", "township", "", "是"])
    book.save(path)
    dry = runner.invoke(main, ["directory", "import", str(path), "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert '"units": 1' in dry.output
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 0
    done = runner.invoke(main, ["directory", "import", str(path)])
    assert done.exit_code == 0 and "units: created 1" in done.output
    book["leaders"].append(["坏号码", "", "12345"])
    book.save(path)
    refused = runner.invoke(main, ["directory", "import", str(path)])
    assert refused.exit_code == 1
    assert "leaders row 4 column phone: not a valid phone number" in refused.output


def test_a_new_superior_alone_counts_as_an_update(demo):
    book = _book(export_directory(demo))
    book["leaders"]["G3"] = "+8613900000001"  # 李红 reports to 王建国; nothing else changes
    report = import_directory(demo, _save(book), ADMIN)
    assert report.updated["leaders"] == 1 and report.unchanged["leaders"] == 1
    book["leaders"]["G2"] = "+8613900000002"  # and 王建国 to 李红: a loop, refused
    with pytest.raises(ImportRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert [(p.row, p.code) for p in caught.value.problems] == [(2, "reporting_cycle")]
