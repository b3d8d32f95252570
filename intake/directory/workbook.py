"""The directory as an XLSX workbook, one format both ways (export, then edit, then import).

Sheets and columns (the header row may use the Chinese label, the key, or both as "姓名 name"):

    leaders   姓名 name | 职务 title | 电话 phone | 邮箱 email | 紧急提醒 on_duty |
              组长 is_head | 上级电话 reports_to_phone | 在用 active
    liaisons  姓名 name | 电话 phone | 工作单位 work_unit | 地址 address |
              联线领导电话 leader_phone | 在用 active
    units     名称 name | 类别 kind | 电话 phone | 在用 active

An export reads in its requester's language: in Chinese the header row carries the labels, a
unit's kind reads 乡镇卫生院 or 县直医疗卫生单位 and a flag 是/否; in English the keys, township or
county, and yes/no. The sheet names stay the keys. An import takes either.

Rows are matched to the directory by their natural key: a leader and a liaison by phone
(E.164), a unit by name. A matched row updates the record (audited); a new key adds one;
records missing from the file are left as they are. An import with any problem changes
nothing and names every problem with its sheet, row and column.

An uploaded file is read within the caps of intake.store.spreadsheets (its size, what it unpacks
to, MAX_ROWS_READ rows a sheet), in streaming mode. The rows are checked with reads only and
then written in one short transaction of bulk statements, so that other writers (a case
entered at the same moment) wait for milliseconds, not for the whole import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Callable

from openpyxl import Workbook
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from intake.directory import roster as directory
from intake.store.audit import Actor, insert_events
# The import checks a name exactly as a one-at-a-time edit does.
from intake.directory.roster import _require_name as require_name
from intake.store.text import check_row_text
from intake.exceptions import NotFound, RejectedRow, RowsRejected, ValidationError
from intake.store.models import Leader, Liaison, Unit
from intake.directory.phones import to_valid_e164
from intake.store.spreadsheets import open_workbook, read_capped, sheet_rows, write_rows
from intake.statuses import UnitKind
from intake.store.change_tokens import lock_version, read_version
from intake.store.write_lock import write_transaction

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
# A unit's kind as the Chinese export writes it (the dashboard's labels.UNIT_KINDS says the same).
KIND_LABELS = {UnitKind.TOWNSHIP: "乡镇卫生院", UnitKind.COUNTY: "县直医疗卫生单位"}
_KIND_BY_TEXT = {**{k.value: k for k in UnitKind}, **{v: k for k, v in KIND_LABELS.items()}}
_YES = {"1", "true", "yes", "y", "是", "√"}
_NO = {"0", "false", "no", "n", "否", ""}
MAX_ROWS = 5000
# Rows read from a sheet, blank ones included, before the file is refused: room for blank
# lines between MAX_ROWS filled ones, and a bound on a sheet of millions of empty rows.
MAX_ROWS_READ = 2 * MAX_ROWS


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    # Of the updated, those the file turns inactive: the change an admin most needs to see.
    deactivated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEETS, 0))
    dry_run: bool = False

    def to_json(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "deactivated": self.deactivated, "dry_run": self.dry_run}


def export_directory(session: Session, language: str = "zh-CN") -> bytes:
    """Write every leader, liaison and unit (active or not) to an XLSX workbook.

    Args:
        language: "zh-CN" (labels, 是/否) or "en-US" (keys, yes/no); an import reads either.
    """
    chinese = language.startswith("zh")

    def _flag(value: bool) -> str:
        return ("是" if value else "否") if chinese else ("yes" if value else "no")

    book = Workbook()
    book.remove(book.active)
    leaders = directory.list_leaders(session, include_inactive=True)
    phone_of = {leader.id: leader.phone for leader in leaders}
    _write_sheet(book, "leaders", chinese, [
        [l.name, l.title, l.phone, l.email, _flag(l.on_duty), _flag(l.is_head),
         phone_of.get(l.reports_to_id, ""), _flag(l.active)] for l in leaders])
    _write_sheet(book, "liaisons", chinese, [
        [li.name, li.phone, li.work_unit, li.address, phone_of.get(li.leader_id, ""),
         _flag(li.active)] for li in directory.list_liaisons(session)])
    _write_sheet(book, "units", chinese, [
        [u.name, KIND_LABELS[u.kind] if chinese else u.kind.value, u.phone or "",
         _flag(u.active)]
        for u in directory.list_units(session)])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(book: Workbook, name: str, chinese: bool, rows: list[list]) -> None:
    sheet = book.create_sheet(name)
    # Names are typed by people: one that starts like a formula must stay text (and
    # come back unchanged on import).
    write_rows(sheet, [[label if chinese else key for key, label in SHEETS[name]], *rows])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 22


def import_directory(session: Session, source: IO[bytes] | bytes, actor: Actor,
                     dry_run: bool = False) -> ImportReport:
    """Apply a directory workbook: all rows or none.

    Two steps, so that an import never holds the database's write lock while it reads and
    checks: first the file is read and every row checked against the directory with reads
    only; then the changes and their audit rows are written by a few bulk statements in one
    short transaction, committed here. Should the directory change in between, the rows are
    checked again inside that transaction. On any problem, and on a dry run, nothing is
    written and the session is rolled back.

    Raises:
        RowsRejected: code import_rejected, with .rows naming every wrong sheet, missing column
            and bad row, or the file itself: too large (workbook_too_large), too long
            (too_many_rows) or not a workbook (file_unreadable).
    """
    rows_by_sheet = _read_workbook(source)
    phones = _PhoneBook()
    token = read_version(session)
    plan = _plan(session, rows_by_sheet, phones, dry_run)
    if plan.problems or dry_run:
        session.rollback()
        if plan.problems:
            raise _rejected(plan.problems)
        return plan.report
    with write_transaction(session):
        if lock_version(session) != token:
            # Someone changed the directory since the check: check again, under the lock.
            plan = _plan(session, rows_by_sheet, phones, dry_run)
            if plan.problems:
                raise _rejected(plan.problems)
        _write(session, plan, actor)
    # The bulk statements bypassed the session's objects; read them afresh.
    session.expire_all()
    return plan.report


def _rejected(problems: list[RejectedRow]) -> RowsRejected:
    return RowsRejected(problems, f"{len(problems)} problem(s) in the file; nothing was imported",
                        field="file", code="import_rejected")


def _read_workbook(source: IO[bytes] | bytes) -> dict[str, list[tuple[int, dict]]]:
    try:
        book = open_workbook(read_capped(source))
    except ValidationError as exc:
        raise _rejected([RejectedRow("(file)", None, None, exc.code, str(exc))]) from None
    try:
        return _read_sheets(book)
    finally:
        book.close()


def _read_sheets(book) -> dict[str, list[tuple[int, dict]]]:
    problems: list[RejectedRow] = []
    for name in book.sheetnames:
        if name not in SHEETS:
            problems.append(RejectedRow(name, None, None, "sheet_unknown",
                                    f"unknown sheet; expected {', '.join(SHEETS)}"))
    for name in SHEETS:
        if name not in book.sheetnames:
            problems.append(RejectedRow(name, None, None, "sheet_missing", "the sheet is missing"))
    if problems:
        raise _rejected(problems)
    result = {}
    for name, columns in SHEETS.items():
        rows = sheet_rows(book[name], MAX_ROWS_READ)
        parsed = []
        try:
            _, header = next(rows, (1, ()))
            positions = _match_header(name, header, columns, problems)
            for number, values in rows:
                if all(v is None or str(v).strip() == "" for v in values):
                    continue
                if len(parsed) >= MAX_ROWS:
                    problems.append(RejectedRow(name, number, None, "too_many_rows",
                                            f"more than {MAX_ROWS} rows"))
                    break
                row = {key: _text(values[i] if i < len(values) else None)
                       for key, i in positions.items()}
                try:
                    check_row_text(_COLUMNS[name][0], row)
                except ValidationError as exc:
                    problems.append(_row_problem(name, number, exc))
                    continue
                parsed.append((number, row))
        except ValidationError as exc:  # past the cap of rows read, blank ones included
            raise _rejected([RejectedRow(name, None, None, exc.code, str(exc))]) from None
        result[name] = parsed
    if problems:
        raise _rejected(problems)
    return result


def _match_header(sheet: str, header: tuple, columns: tuple, problems: list[RejectedRow]) -> dict:
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
            problems.append(RejectedRow(sheet, 1, text, "column_unknown", "unknown column"))
        elif key in positions:
            problems.append(RejectedRow(sheet, 1, text, "column_repeated",
                                        "the column appears twice"))
        else:
            positions[key] = index
    for key in REQUIRED[sheet]:
        if key not in positions:
            problems.append(RejectedRow(sheet, 1, key, "column_missing",
                                        "a required column is missing"))
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


def _row_problem(sheet: str, number: int, exc: ValidationError | NotFound) -> RejectedRow:
    return RejectedRow(sheet, number, getattr(exc, "field", None),
                       getattr(exc, "code", None) or "invalid", str(exc))


def _plan_each_row(plan: _Plan, sheet: str, rows, column: str, key_of: Callable[[dict], str],
                   plan_row: Callable[[int, dict, str], None]) -> None:
    """Plan every row of a sheet whose key (the value in `column`) no earlier row has.

    A repeated key, and whatever plan_row refuses, become that row's problem; the rows after it
    are still checked, so that one refusal names every problem in the file.
    """
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            key = key_of(row)
            if key and key in seen:
                plan.problems.append(RejectedRow(sheet, number, column, "row_repeated",
                                                 f"the same {column} as row {seen[key]}"))
                continue
            if key:
                seen[key] = number
            plan_row(number, row, key)
        except ValidationError as exc:
            plan.problems.append(_row_problem(sheet, number, exc))


class _PhoneBook:
    """Phones read from the file, checked once: parsing is most of the import's CPU time."""

    def __init__(self):
        self._seen: dict[str, str | None] = {}

    def e164(self, raw: str | None) -> str | None:
        raw = raw or ""
        if raw not in self._seen:
            self._seen[raw] = to_valid_e164(raw)
        return self._seen[raw]

    def require(self, row: dict, key: str) -> str:
        phone = self.e164(row.get(key))
        if phone is None:
            raise ValidationError(f"not a valid phone number: {row.get(key)!r}", field=key,
                                  code="phone_invalid")
        return phone

    def optional(self, raw: str | None, key: str = "phone") -> str | None:
        if not raw or not raw.strip():
            return None
        return self.require({key: raw}, key)


# ---------------------------------------------------------------- the plan: checks with reads only
@dataclass(eq=False)
class _Record:
    """A leader, liaison or unit as the import will leave it; references are other _Records."""

    table: str
    values: dict
    id: int | None = None  # None for a record the import adds, until it is inserted
    changed: dict = field(default_factory=dict)  # columns an existing record changes


@dataclass
class _Event:
    action: str
    record: _Record
    before: dict | None = None
    after: dict | None = None


@dataclass
class _Plan:
    """What an import will write, found with reads only; problems mean it writes nothing."""

    report: ImportReport
    records: dict[str, list[_Record]]
    added: dict[str, list[_Record]] = field(default_factory=lambda: {t: [] for t in SHEETS})
    events: list[_Event] = field(default_factory=list)
    problems: list[RejectedRow] = field(default_factory=list)

    def add(self, table: str, values: dict) -> _Record:
        record = _Record(table, values)
        self.added[table].append(record)
        return record

    def apply(self, record: _Record, clean: dict, action: str) -> bool:
        """Change a record's fields as intake.directory.roster's edits do: one audit row of what differs."""
        before = {k: record.values[k] for k, v in clean.items() if record.values[k] != v}
        if not before:
            return False
        after = {k: clean[k] for k in before}
        self.events.append(_Event(action, record, before, after))
        record.values.update(after)
        if record.id is not None:
            record.changed.update(after)
        return True

    def set_active(self, record: _Record, active: bool) -> bool:
        """Deactivate or reactivate a record as intake.directory.roster.set_active does."""
        if record.values["active"] == active:
            return False
        kind = _KINDS[record.table]
        self.events.append(_Event(f"{kind}.{'activated' if active else 'deactivated'}", record,
                                  {"active": record.values["active"]}, {"active": active}))
        record.values["active"] = active
        if record.id is not None:
            record.changed["active"] = active
            if not active:
                self.report.deactivated[record.table] += 1
        return True

    def count(self, sheet: str, changed: bool) -> None:
        (self.report.updated if changed else self.report.unchanged)[sheet] += 1


_KINDS = {"leaders": "leader", "liaisons": "liaison", "units": "unit"}
_COLUMNS = {
    "leaders": (Leader, ("name", "title", "phone", "email", "on_duty", "is_head",
                         "reports_to_id", "active")),
    "liaisons": (Liaison, ("name", "phone", "work_unit", "address", "leader_id", "active")),
    "units": (Unit, ("name", "kind", "phone", "active")),
}
_REFERENCES = {"leaders": "reports_to_id", "liaisons": "leader_id"}  # -> a leader
_NATURAL_KEYS = {"leaders": "phone", "liaisons": "phone", "units": "name"}


def _load_directory(session: Session) -> dict[str, list[_Record]]:
    """Read every leader, liaison and unit as plain values (no ORM objects to flush)."""
    records: dict[str, list[_Record]] = {}
    for table, (model, columns) in _COLUMNS.items():
        query = select(model.id, *(getattr(model, c) for c in columns)).order_by(model.id)
        records[table] = [_Record(table, dict(zip(columns, row[1:])), id=row[0])
                          for row in session.execute(query)]
    by_id = {r.id: r for r in records["leaders"]}
    for table, column in _REFERENCES.items():
        for record in records[table]:
            record.values[column] = by_id.get(record.values[column])
    return records


def _plan(session: Session, rows_by_sheet: dict, phones: _PhoneBook, dry_run: bool) -> _Plan:
    plan = _Plan(ImportReport(dry_run=dry_run), _load_directory(session))
    # Leaders first: liaisons and superiors refer to them by phone.
    status: dict[int, str] = {}  # leader row -> created | updated | unchanged
    imported = _plan_leaders(plan, rows_by_sheet["leaders"], phones, status)
    leaders = _LeaderIndex(plan)
    _plan_superiors(plan, rows_by_sheet["leaders"], phones, imported, leaders, status)
    _plan_liaisons(plan, rows_by_sheet["liaisons"], phones, leaders)
    _plan_units(plan, rows_by_sheet["units"], phones)
    return plan


class _LeaderIndex:
    """Find a leader by phone among those in the directory and those the import adds."""

    def __init__(self, plan: _Plan):
        self._by_phone: dict[str, _Record] = {}
        for record in [*plan.records["leaders"], *plan.added["leaders"]]:
            self._by_phone.setdefault(record.values["phone"], record)  # the oldest, like a query

    def find(self, row: dict, key: str, phones: _PhoneBook) -> _Record:
        leader = self._by_phone.get(phones.e164(row[key]) or "")
        if leader is None:
            raise ValidationError(f"no leader with phone {row[key]!r}", field=key,
                                  code="unknown_leader")
        return leader


def _plan_leaders(plan: _Plan, rows, phones: _PhoneBook, status: dict) -> dict[str, _Record]:
    by_phone = {r.values["phone"]: r for r in plan.records["leaders"]}
    imported: dict[str, _Record] = {}

    def plan_row(number: int, row: dict, phone: str) -> None:
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
            leader = plan.add("leaders", {
                "name": require_name(changes["name"]), "phone": phone,
                "title": changes.get("title", "").strip(),
                "email": changes.get("email", "").strip(),
                "on_duty": changes.get("on_duty", False), "is_head": False,
                "reports_to_id": None, "active": True})
            plan.events.append(_Event("leader.created", leader,
                                      after={"name": leader.values["name"]}))
            if changes.get("is_head"):
                plan.apply(leader, {"is_head": True}, "leader.updated")
            plan.report.created["leaders"] += 1
            plan.set_active(leader, active)
            status[number] = "created"
        else:
            clean = {}
            for key, value in changes.items():
                if key == "name":
                    clean[key] = require_name(value)
                elif key in ("title", "email"):
                    clean[key] = (value or "").strip()
                else:
                    clean[key] = value
            changed = plan.apply(leader, clean, "leader.updated")
            changed = plan.set_active(leader, active) or changed
            plan.count("leaders", changed)
            status[number] = "updated" if changed else "unchanged"
        imported[phone] = leader

    _plan_each_row(plan, "leaders", rows, "phone", lambda row: phones.require(row, "phone"),
                   plan_row)
    return imported


def _plan_superiors(plan: _Plan, rows, phones: _PhoneBook, imported: dict[str, _Record],
                    leaders: _LeaderIndex, status: dict) -> None:
    for number, row in rows:
        if "reports_to_phone" not in row:
            continue
        leader = imported.get(phones.e164(row.get("phone")) or "")
        if leader is None:
            continue  # the row's own problem is already named
        try:
            superior = None
            if row["reports_to_phone"]:
                superior = leaders.find(row, "reports_to_phone", phones)
                _check_no_cycle(leader, superior)
            changed = plan.apply(leader, {"reports_to_id": superior}, "leader.updated")
            if changed and status.get(number) == "unchanged":
                plan.report.unchanged["leaders"] -= 1
                plan.report.updated["leaders"] += 1
                status[number] = "updated"
        except ValidationError as exc:
            plan.problems.append(_row_problem("leaders", number, exc))


def _check_no_cycle(leader: _Record, superior: _Record) -> None:
    # The chain as this import leaves it so far, as intake.directory.roster checks one edit.
    seen = {id(leader)}
    while superior is not None:
        if id(superior) in seen:
            raise ValidationError("a member cannot report to themselves, directly or not",
                                  field="reports_to_id", code="reporting_cycle")
        seen.add(id(superior))
        superior = superior.values["reports_to_id"]


def _plan_liaisons(plan: _Plan, rows, phones: _PhoneBook, leaders: _LeaderIndex) -> None:
    by_phone = {r.values["phone"]: r for r in plan.records["liaisons"]}

    def plan_row(number: int, row: dict, phone: str) -> None:
        leader = leaders.find(row, "leader_phone", phones) if row.get("leader_phone") \
            else None
        active = _flag_value(row, "active", True)
        changes = {"name": row.get("name", ""), "phone": phone}
        for key in ("work_unit", "address"):
            if key in row:
                changes[key] = row[key]
        liaison = by_phone.get(phone)
        if liaison is None:
            liaison = plan.add("liaisons", {
                "name": require_name(changes["name"]), "phone": phone,
                "work_unit": changes.get("work_unit", ""),
                "address": changes.get("address", ""), "leader_id": leader,
                "active": True})
            plan.events.append(_Event("liaison.created", liaison, after={
                "name": liaison.values["name"], "leader_id": leader}))
            plan.set_active(liaison, active)
            plan.report.created["liaisons"] += 1
        else:
            clean = {key: require_name(value) if key == "name" else
                     value if key == "phone" else (value or "").strip()
                     for key, value in changes.items()}
            changed = plan.apply(liaison, clean, "liaison.updated")
            if "leader_phone" in row:
                changed = _plan_reassign(plan, liaison, leader) or changed
            changed = plan.set_active(liaison, active) or changed
            plan.count("liaisons", changed)

    _plan_each_row(plan, "liaisons", rows, "phone", lambda row: phones.require(row, "phone"),
                   plan_row)


def _plan_reassign(plan: _Plan, liaison: _Record, leader: _Record | None) -> bool:
    # As intake.directory.roster.reassign_liaison: only to an active leader.
    if leader is not None and not leader.values["active"]:
        raise ValidationError(f"leader {leader.values['name']} is not active", field="leader_id",
                              code="leader_inactive")
    if liaison.values["leader_id"] is leader:
        return False
    plan.events.append(_Event("liaison.reassigned", liaison,
                              {"leader_id": liaison.values["leader_id"]}, {"leader_id": leader}))
    liaison.values["leader_id"] = leader
    if liaison.id is not None:
        liaison.changed["leader_id"] = leader
    return True


def _plan_units(plan: _Plan, rows, phones: _PhoneBook) -> None:
    by_name = {u.values["name"]: u for u in plan.records["units"]}

    def plan_row(number: int, row: dict, name: str) -> None:
        kind = _KIND_BY_TEXT.get(row.get("kind", ""))
        if kind is None:
            raise ValidationError(
                f"kind must be {' or '.join(_KIND_BY_TEXT)}: "
                f"{row.get('kind')!r}", field="kind", code="kind_unknown")
        active = _flag_value(row, "active", True)
        unit = by_name.get(name)
        if unit is None:
            unit = plan.add("units", {"name": require_name(name), "kind": kind,
                                      "phone": phones.optional(row.get("phone", "")),
                                      "active": True})
            plan.events.append(_Event("unit.created", unit,
                                      after={"name": unit.values["name"]}))
            plan.set_active(unit, active)
            plan.report.created["units"] += 1
        else:
            clean = {"kind": kind}
            if "phone" in row:
                clean["phone"] = phones.optional(row["phone"])
            changed = plan.apply(unit, clean, "unit.updated")
            changed = plan.set_active(unit, active) or changed
            plan.count("units", changed)

    _plan_each_row(plan, "units", rows, "name", lambda row: row.get("name", ""), plan_row)


# ---------------------------------------------------------------- the write: one short transaction
def _write(session: Session, plan: _Plan, actor: Actor) -> None:
    """Write the plan with bulk statements: inserts, updates by id, then the audit rows."""
    # New leaders first (liaisons and superiors point at them), their superiors after.
    for table in ("leaders", "units", "liaisons"):
        added = plan.added[table]
        if not added:
            continue
        model = _COLUMNS[table][0]
        values = [_resolve(r.values) for r in added]
        if table == "leaders":
            for row in values:
                row["reports_to_id"] = None
        # Each new record is known by its natural key (a phone, a unit's name), unique among
        # those added; returning it with the id needs no row order, so the rows go in batches.
        key = _NATURAL_KEYS[table]
        ids = dict((k, i) for i, k in session.execute(
            insert(model).returning(model.id, getattr(model, key)), values))
        for record in added:
            record.id = ids[record.values[key]]
    superiors = [{"id": r.id, "reports_to_id": r.values["reports_to_id"].id}
                 for r in plan.added["leaders"] if r.values["reports_to_id"] is not None]
    for table in ("leaders", "units", "liaisons"):
        model = _COLUMNS[table][0]
        changes = [{"id": r.id, **_resolve(r.changed)} for r in plan.records[table] if r.changed]
        if table == "leaders":
            changes += superiors
        if changes:
            session.execute(update(model), changes)
    insert_events(session, actor, [(e.action, e.record.table, e.record.id,
                                    _resolve(e.before), _resolve(e.after))
                                   for e in plan.events])


def _resolve(values: dict | None) -> dict | None:
    # A reference to a leader becomes its id, known once the leader is inserted.
    if values is None:
        return None
    return {k: v.id if isinstance(v, _Record) else v for k, v in values.items()}
