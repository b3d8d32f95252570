"""The directory as an XLSX workbook, one format both ways (export, then edit, then import).

Sheets and columns (the header row may use the Chinese label or the key):

    leaders   姓名 name | 职务 title | 电话 phone | 邮箱 email | 紧急提醒 on_duty |
              组长 is_head | 上级电话 reports_to_phone | 在用 active
    liaisons  姓名 name | 电话 phone | 工作单位 work_unit | 地址 address |
              联线领导电话 leader_phone | 在用 active
    units     名称 name | 类别 kind | 电话 phone | 在用 active

Rows are matched to the directory by their natural key: a leader and a liaison by phone
(E.164), a unit by name. A matched row updates the record (audited); a new key adds one;
records missing from the file are left as they are. An import with any problem changes
nothing and names every problem with its sheet, row and column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from typing import IO
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import directory
from intake.audit import Actor
from intake.exceptions import ImportRejected, NotFound, ValidationError
from intake.models import AuditEvent, Leader
from intake.phones import to_valid_e164
from intake.statuses import UnitKind

LEADER_COLUMNS = (("name", "姓名"), ("title", "职务"), ("phone", "电话"), ("email", "邮箱"),
                  ("on_duty", "紧急提醒"), ("is_head", "组长"),
                  ("reports_to_phone", "上级电话"), ("active", "在用"))
LIAISON_COLUMNS = (("name", "姓名"), ("phone", "电话"), ("work_unit", "工作单位"),
                   ("address", "地址"), ("leader_phone", "联线领导电话"), ("active", "在用"))
UNIT_COLUMNS = (("name", "名称"), ("kind", "类别"), ("phone", "电话"), ("active", "在用"))
SHEETS = {"leaders": LEADER_COLUMNS, "liaisons": LIAISON_COLUMNS, "units": UNIT_COLUMNS}
# Columns a row cannot do without; the others may be left out of the file entirely.
REQUIRED = {"leaders": ("name", "phone"), "liaisons": ("name", "phone"),
            "units": ("name", "kind")}
_YES = {"1", "true", "yes", "y", "是", "√"}
_NO = {"0", "false", "no", "n", "否", ""}
MAX_ROWS = 5000


@dataclass(frozen=True)
class Problem:
    """One reason an import was refused."""

    sheet: str
    row: int | None  # the spreadsheet's row number (header = 1); None for the sheet itself
    column: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = self.sheet + (f" row {self.row}" if self.row else "") + (
            f" column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    dry_run: bool = False

    def to_json(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "dry_run": self.dry_run}


def export_directory(session: Session) -> bytes:
    """Write every leader, liaison and unit (active or not) to an XLSX workbook."""
    book = Workbook()
    book.remove(book.active)
    leaders = directory.list_leaders(session, include_inactive=True)
    phone_of = {leader.id: leader.phone for leader in leaders}
    _write_sheet(book, "leaders", [
        [l.name, l.title, l.phone, l.email, _flag(l.on_duty), _flag(l.is_head),
         phone_of.get(l.reports_to_id, ""), _flag(l.active)] for l in leaders])
    _write_sheet(book, "liaisons", [
        [li.name, li.phone, li.work_unit, li.address, phone_of.get(li.leader_id, ""),
         _flag(li.active)] for li in directory.list_liaisons(session)])
    _write_sheet(book, "units", [
        [u.name, u.kind.value, u.phone or "", _flag(u.active)]
        for u in directory.list_units(session)])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(book: Workbook, name: str, rows: list[list]) -> None:
    sheet = book.create_sheet(name)
    sheet.append([f"{label} {key}" for key, label in SHEETS[name]])
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 22


def _flag(value: bool) -> str:
    return "是" if value else "否"


def import_directory(session: Session, source: IO[bytes] | bytes, actor: Actor,
                     dry_run: bool = False) -> ImportReport:
    """Apply a directory workbook: all rows or none.

    On any problem, and always on a dry run, the session is rolled back, so nothing the
    import did stays; on success the caller commits.

    Raises:
        ImportRejected: with .problems naming every wrong sheet, missing column and bad row.
    """
    rows_by_sheet = _read_workbook(source)
    report = ImportReport(dry_run=dry_run)
    problems: list[Problem] = []
    # Leaders first: liaisons and superiors refer to them by phone.
    status: dict[int, str] = {}  # leader row -> created | updated | unchanged
    leaders = _import_leaders(session, rows_by_sheet["leaders"], actor, report, status, problems)
    _import_superiors(session, rows_by_sheet["leaders"], leaders, status, actor, report,
                      problems)
    _import_liaisons(session, rows_by_sheet["liaisons"], actor, report, problems)
    _import_units(session, rows_by_sheet["units"], actor, report, problems)
    if problems:
        session.rollback()
        raise ImportRejected(problems)
    if dry_run:
        session.rollback()
    return report


def _read_workbook(source: IO[bytes] | bytes) -> dict[str, list[tuple[int, dict]]]:
    data = source if isinstance(source, bytes) else source.read()
    try:
        book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportRejected([Problem("(file)", None, None, "file_unreadable",
                                      f"not an XLSX workbook ({type(exc).__name__})")]) from None
    problems: list[Problem] = []
    for name in book.sheetnames:
        if name not in SHEETS:
            problems.append(Problem(name, None, None, "sheet_unknown",
                                    f"unknown sheet; expected {', '.join(SHEETS)}"))
    for name in SHEETS:
        if name not in book.sheetnames:
            problems.append(Problem(name, None, None, "sheet_missing", "the sheet is missing"))
    if problems:
        raise ImportRejected(problems)
    result = {}
    for name, columns in SHEETS.items():
        rows = book[name].iter_rows(values_only=True)
        header = next(rows, None) or ()
        positions = _match_header(name, header, columns, problems)
        parsed = []
        for number, values in enumerate(rows, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            if len(parsed) >= MAX_ROWS:
                problems.append(Problem(name, number, None, "too_many_rows",
                                        f"more than {MAX_ROWS} rows"))
                break
            parsed.append((number, {key: _text(values[i] if i < len(values) else None)
                                    for key, i in positions.items()}))
        result[name] = parsed
    if problems:
        raise ImportRejected(problems)
    return result


def _match_header(sheet: str, header: tuple, columns: tuple, problems: list[Problem]) -> dict:
    names = {}
    for key, label in columns:
        for accepted in (key, label, f"{label} {key}"):
            names[accepted.lower()] = key
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = _text(cell).lower()
        if not text:
            continue
        key = names.get(text)
        if key is None:
            problems.append(Problem(sheet, 1, text, "column_unknown", "unknown column"))
        elif key in positions:
            problems.append(Problem(sheet, 1, text, "column_repeated", "the column appears twice"))
        else:
            positions[key] = index
    for key in REQUIRED[sheet]:
        if key not in positions:
            problems.append(Problem(sheet, 1, key, "column_missing", "a required column is missing"))
    return positions


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed into a number cell
    return str(value).strip()


def _flag_value(row: dict, key: str, default: bool | None) -> bool | None:
    if key not in row or row[key] == "":
        return default
    text = row[key].lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValidationError(f"not yes or no: {row[key]!r}", field=key, code="flag_invalid")


def _row_problem(sheet: str, number: int, exc: ValidationError | NotFound) -> Problem:
    return Problem(sheet, number, getattr(exc, "field", None),
                   getattr(exc, "code", None) or "invalid", str(exc))


def _check_duplicate(sheet: str, number: int, key: str, seen: dict, column: str,
                     problems: list[Problem]) -> bool:
    if key in seen:
        problems.append(Problem(sheet, number, column, "row_repeated",
                                f"the same {column} as row {seen[key]}"))
        return True
    seen[key] = number
    return False


def _row_phone(row: dict, key: str) -> str:
    phone = to_valid_e164(row.get(key))
    if phone is None:
        raise ValidationError(f"not a valid phone number: {row.get(key)!r}", field=key,
                              code="phone_invalid")
    return phone


def _leader_by_phone(session: Session, row: dict, key: str) -> Leader:
    # Leaders added earlier in this import are in the session already (autoflush).
    leader = session.scalar(select(Leader).where(Leader.phone == to_valid_e164(row[key])))
    if leader is None:
        raise ValidationError(f"no leader with phone {row[key]!r}", field=key,
                              code="unknown_leader")
    return leader


def _import_leaders(session, rows, actor, report, status, problems) -> dict[str, Leader]:
    by_phone = {l.phone: l for l in directory.list_leaders(session, include_inactive=True)}
    seen: dict[str, int] = {}
    imported: dict[str, Leader] = {}
    for number, row in rows:
        try:
            phone = _row_phone(row, "phone")
            if _check_duplicate("leaders", number, phone, seen, "phone", problems):
                continue
            changes = {"name": row.get("name", ""), "phone": phone}
            for key in ("title", "email"):
                if key in row:
                    changes[key] = row[key]
            for key in ("on_duty", "is_head"):
                value = _flag_value(row, key, None)
                if value is not None:
                    changes[key] = value
            active = _flag_value(row, "active", True)
            leader = by_phone.get(phone)
            if leader is None:
                leader = directory.add_leader(
                    session, changes["name"], phone, actor, title=changes.get("title", ""),
                    email=changes.get("email", ""), on_duty=changes.get("on_duty", False))
                if changes.get("is_head"):
                    directory.update_leader(session, leader, {"is_head": True}, actor)
                report.created["leaders"] += 1
                directory.set_active(session, leader, active, actor)
                status[number] = "created"
            else:
                changed = _count(report, "leaders", session, lambda: (
                    directory.update_leader(session, leader, changes, actor),
                    directory.set_active(session, leader, active, actor)))
                status[number] = "updated" if changed else "unchanged"
            imported[phone] = leader
        except (ValidationError, NotFound) as exc:
            problems.append(_row_problem("leaders", number, exc))
    return imported


def _import_superiors(session, rows, imported: dict[str, Leader], status: dict[int, str], actor,
                      report, problems) -> None:
    for number, row in rows:
        if "reports_to_phone" not in row:
            continue
        leader = imported.get(to_valid_e164(row.get("phone")) or "")
        if leader is None:
            continue  # the row's own problem is already named
        try:
            superior_id = None
            if row["reports_to_phone"]:
                superior_id = _leader_by_phone(session, row, "reports_to_phone").id
            changed = _changes_anything(session, lambda: directory.update_leader(
                session, leader, {"reports_to_id": superior_id}, actor))
            if changed and status.get(number) == "unchanged":
                report.unchanged["leaders"] -= 1
                report.updated["leaders"] += 1
                status[number] = "updated"
        except (ValidationError, NotFound) as exc:
            problems.append(_row_problem("leaders", number, exc))


def _import_liaisons(session, rows, actor, report, problems) -> None:
    by_phone = {li.phone: li for li in directory.list_liaisons(session)}
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            phone = _row_phone(row, "phone")
            if _check_duplicate("liaisons", number, phone, seen, "phone", problems):
                continue
            leader = _leader_by_phone(session, row, "leader_phone") \
                if row.get("leader_phone") else None
            active = _flag_value(row, "active", True)
            changes = {"name": row.get("name", ""), "phone": phone}
            for key in ("work_unit", "address"):
                if key in row:
                    changes[key] = row[key]
            liaison = by_phone.get(phone)
            if liaison is None:
                liaison = directory.add_liaison(
                    session, changes["name"], phone, leader, actor,
                    work_unit=changes.get("work_unit", ""), address=changes.get("address", ""))
                directory.set_active(session, liaison, active, actor)
                report.created["liaisons"] += 1
            else:
                def edit(liaison=liaison, changes=changes, leader=leader, row=row, active=active):
                    directory.update_liaison(session, liaison, changes, actor)
                    if "leader_phone" in row:
                        directory.reassign_liaison(session, liaison, leader, actor)
                    directory.set_active(session, liaison, active, actor)
                _count(report, "liaisons", session, edit)
        except (ValidationError, NotFound) as exc:
            problems.append(_row_problem("liaisons", number, exc))


def _import_units(session, rows, actor, report, problems) -> None:
    by_name = {u.name: u for u in directory.list_units(session)}
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            name = row.get("name", "")
            if name and _check_duplicate("units", number, name, seen, "name", problems):
                continue
            try:
                kind = UnitKind(row.get("kind", ""))
            except ValueError:
                raise ValidationError(
                    f"kind must be {' or '.join(k.value for k in UnitKind)}: "
                    f"{row.get('kind')!r}", field="kind", code="kind_unknown") from None
            active = _flag_value(row, "active", True)
            unit = by_name.get(name)
            if unit is None:
                unit = directory.add_unit(session, name, kind, actor, phone=row.get("phone", ""))
                directory.set_active(session, unit, active, actor)
                report.created["units"] += 1
            else:
                changes = {"kind": kind}
                if "phone" in row:
                    changes["phone"] = row["phone"]
                _count(report, "units", session, lambda: (
                    directory.update_unit(session, unit, changes, actor),
                    directory.set_active(session, unit, active, actor)))
        except (ValidationError, NotFound) as exc:
            problems.append(_row_problem("units", number, exc))


def _count(report: ImportReport, sheet: str, session: Session, edit) -> bool:
    changed = _changes_anything(session, edit)
    (report.updated if changed else report.unchanged)[sheet] += 1
    return changed


def _changes_anything(session: Session, edit) -> bool:
    # An edit that changed anything wrote (and flushed) an audit row.
    before = session.scalar(select(func.max(AuditEvent.id)))
    edit()
    return session.scalar(select(func.max(AuditEvent.id))) != before
