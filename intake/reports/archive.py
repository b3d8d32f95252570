"""The bulletin archive (通报存档): every bulletin kept as it was built, and when one falls due.

    due_bulletins(session, now, calendar)  ─► [DueBulletin]      reads only: what the sweep owes
    keep_bulletin(session, kind, period, seen_version=…)  ─► KeptBulletin   builds, renders, keeps

On the first working day of a month, from 08:00 in the bureau's zone, last month's bulletin is
due; on the first working day of a quarter, last quarter's too. It is due once: a period with
a kept bulletin is not due again, so a sweep run twice, or on two machines, keeps one (the
unique key on (kind, start, version) settles a race). A bulletin is never changed once kept;
a rebuild is the next version, and only of the latest one (compare-and-set on the version the
person saw), so two people pressing "rebuild" together make one new version, not two.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.clock import BUREAU_TIMEZONE, WorkingCalendar
from intake.exceptions import NotFound, ValidationError, VersionSuperseded
from intake.reports.bulletin import build_bulletin_document, compose_bulletin
from intake.reports.documents import render_docx, render_pdf
from intake.reports.rates import Period, month_period, quarter_period
from intake.rules.access import check
from intake.statuses import BulletinPeriod
from intake.store.audit import Actor, record_event
from intake.store.models import KeptBulletin

# The bulletin counts cases up to the moment it is built: the morning of the first working day.
BULLETIN_BUILD_FROM = time(8, 0)
PERIOD_NAMES = {BulletinPeriod.MONTH: "月度通报", BulletinPeriod.QUARTER: "季度通报"}
ARCHIVE_LIMIT = 500


@dataclass(frozen=True)
class DueBulletin:
    """A period whose scheduled bulletin is due and not yet kept."""

    kind: BulletinPeriod
    period: Period

    def to_json(self) -> dict:
        return {"work": "bulletin", "kind": self.kind.value,
                "from": self.period.start.isoformat(), "to": self.period.end.isoformat()}


# ---------------------------------------------------------------- periods
def period_containing(kind: BulletinPeriod, day: date) -> Period:
    """Return the month or quarter a day falls in."""
    if kind is BulletinPeriod.MONTH:
        return month_period(day.year, day.month)
    return quarter_period(day.year, (day.month - 1) // 3 + 1)


def period_before(kind: BulletinPeriod, day: date) -> Period:
    """Return the month or quarter before the one a day falls in."""
    return period_containing(kind, period_containing(kind, day).start - timedelta(days=1))


def parse_bulletin_period(kind: str, value: str) -> tuple[BulletinPeriod, Period]:
    """Read a period as the archive's form gives it: month YYYY-MM, or quarter YYYY-Qn.

    Raises:
        ValidationError: an unknown kind (kind_unknown) or a badly written period
            (period_invalid).
    """
    try:
        period_kind = BulletinPeriod((kind or "").strip())
    except ValueError:
        raise ValidationError("a bulletin is monthly or quarterly", field="kind",
                              code="kind_unknown") from None
    text = (value or "").strip().upper()
    try:
        year, part = text.split("-")
        if period_kind is BulletinPeriod.MONTH:
            return period_kind, month_period(int(year), int(part))
        if not part.startswith("Q") or part[1:] not in ("1", "2", "3", "4"):
            raise ValueError(part)
        return period_kind, quarter_period(int(year), int(part[1:]))
    except ValueError:
        raise ValidationError("give the month as YYYY-MM or the quarter as YYYY-Q1…Q4",
                              field="period", code="period_invalid") from None


def period_label(kind: BulletinPeriod | str, start: date, language: str = "zh-CN") -> str:
    """Name a bulletin's period as people say it: 2026年9月, 2026年第3季度; September 2026, 2026 Q3."""
    quarter = (start.month - 1) // 3 + 1
    if BulletinPeriod(kind) is BulletinPeriod.MONTH:
        return f"{start.year}年{start.month}月" if language.startswith("zh") else f"{start:%B %Y}"
    return f"{start.year}年第{quarter}季度" if language.startswith("zh") else f"{start.year} Q{quarter}"


def first_working_day(day: date, calendar: WorkingCalendar) -> date:
    """Return the first working day on or after a day."""
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


# ---------------------------------------------------------------- the question
def due_bulletins(session: Session, now: datetime, calendar: WorkingCalendar,
                  tz: str = BUREAU_TIMEZONE) -> list[DueBulletin]:
    """Return the scheduled bulletins due at `now` and not yet kept (monthly, then quarterly)."""
    local = now.astimezone(ZoneInfo(tz))
    today = local.date()
    if local.time() < BULLETIN_BUILD_FROM:
        return []
    due = []
    for kind in BulletinPeriod:
        if today != first_working_day(period_containing(kind, today).start, calendar):
            continue
        period = period_before(kind, today)
        if latest_version(session, kind, period) == 0:
            due.append(DueBulletin(kind, period))
    return due


def latest_version(session: Session, kind: BulletinPeriod, period: Period) -> int:
    """Return the highest kept version of a period's bulletin, 0 when none is kept."""
    return session.scalar(select(func.coalesce(func.max(KeptBulletin.version), 0)).where(
        KeptBulletin.period_kind == kind, KeptBulletin.period_start == period.start)) or 0


# ---------------------------------------------------------------- keeping
def keep_bulletin(session: Session, kind: BulletinPeriod, period: Period, *, seen_version: int,
                  now: datetime, calendar: WorkingCalendar, actor: Actor,
                  tz: str = BUREAU_TIMEZONE) -> KeptBulletin:
    """Build a period's bulletin as of `now`, render DOCX and PDF, and keep it as a new version.

    Args:
        seen_version: the latest version the caller knows of (0: none kept). The new one is
            seen_version + 1, kept only if that is still the next.

    Raises:
        VersionSuperseded: another version was kept since (someone else built it first).
    """
    if latest_version(session, kind, period) != seen_version:
        raise VersionSuperseded("bulletin", None, seen_version)
    document = build_bulletin_document(
        compose_bulletin(session, period, now=now, calendar=calendar, tz=tz), tz)
    docx, pdf = render_docx(document), render_pdf(document)
    kept = KeptBulletin(period_kind=kind, period_start=period.start, period_end=period.end,
                        version=seen_version + 1, built_at=now, built_by=actor.label,
                        docx=docx, pdf=pdf, docx_sha256=hashlib.sha256(docx).hexdigest(),
                        pdf_sha256=hashlib.sha256(pdf).hexdigest())
    try:
        # The unique key settles a race the check above cannot see.
        with session.begin_nested():
            session.add(kept)
            session.flush()
    except IntegrityError:
        raise VersionSuperseded("bulletin", None, seen_version) from None
    record_event(session, actor, "bulletin.kept", kept, after={
        "kind": kind.value, "from": period.start.isoformat(), "to": period.end.isoformat(),
        "version": kept.version, "docx_sha256": kept.docx_sha256,
        "pdf_sha256": kept.pdf_sha256})
    return kept


def rebuild_bulletin(session: Session, who, bulletin_id: int, *, now: datetime,
                     calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE) -> KeptBulletin:
    """Keep a new version of a kept bulletin's period, built now, beside the old one.

    Raises:
        NotFound: no such bulletin, or one the caller may not read.
        Forbidden: the caller may read the archive but not build.
        VersionSuperseded: the bulletin is not the latest version of its period any more.
    """
    principal = check(who, "keep_bulletins", None)
    old = get_kept_bulletin(session, who, bulletin_id)
    return keep_bulletin(session, old.period_kind, Period(old.period_start, old.period_end),
                         seen_version=old.version, now=now, calendar=calendar,
                         actor=principal.actor, tz=tz)


def build_missing_bulletin(session: Session, who, kind: str, value: str, *, now: datetime,
                           calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE) -> KeptBulletin:
    """Keep the first bulletin of a period the schedule missed (the worker was down that day).

    Raises:
        ValidationError: a bad kind or period.
        Forbidden: the caller may not build.
        VersionSuperseded: the period already has a kept bulletin (rebuild that one instead).
    """
    principal = check(who, "keep_bulletins", None)
    period_kind, period = parse_bulletin_period(kind, value)
    return keep_bulletin(session, period_kind, period, seen_version=0, now=now,
                         calendar=calendar, actor=principal.actor, tz=tz)


# ---------------------------------------------------------------- reading
def list_kept_bulletins(session: Session, who, limit: int = ARCHIVE_LIMIT) -> list[KeptBulletin]:
    """Return the kept bulletins, newest period first, each period's versions newest first.

    Raises:
        Forbidden: the caller may not read the archive.
    """
    check(who, "read_bulletins", None)
    return list(session.scalars(select(KeptBulletin).order_by(
        KeptBulletin.period_start.desc(), KeptBulletin.period_kind,
        KeptBulletin.version.desc()).limit(limit)))


def get_kept_bulletin(session: Session, who, bulletin_id: int) -> KeptBulletin:
    """Return one kept bulletin.

    Raises:
        Forbidden: the caller may not read the archive.
        NotFound: no such bulletin.
    """
    check(who, "read_bulletins", None)
    kept = session.get(KeptBulletin, bulletin_id) if 0 < bulletin_id < 2**31 else None
    if kept is None:
        raise NotFound(f"bulletin {bulletin_id}")
    return kept


def latest_ids(bulletins: list[KeptBulletin]) -> set[int]:
    """Return the ids of the latest version of each period among the bulletins."""
    latest: dict[tuple, KeptBulletin] = {}
    for item in bulletins:
        key = (item.period_kind, item.period_start)
        if key not in latest or item.version > latest[key].version:
            latest[key] = item
    return {item.id for item in latest.values()}


def bulletin_file_name(kept: KeptBulletin, extension: str) -> str:
    """Return the download name: bulletin-month-2026-11-v1.pdf."""
    return (f"bulletin-{kept.period_kind.value}-{kept.period_start:%Y-%m}-v{kept.version}"
            f".{extension}")


def describe_bulletin(kept: KeptBulletin, tz: str = BUREAU_TIMEZONE) -> dict:
    """Return a kept bulletin as JSON, without its files."""
    return {"id": kept.id, "kind": kept.period_kind.value,
            "from": kept.period_start.isoformat(), "to": kept.period_end.isoformat(),
            "version": kept.version,
            "built_at": kept.built_at.astimezone(ZoneInfo(tz)).isoformat(),
            "built_by": kept.built_by, "docx_sha256": kept.docx_sha256,
            "pdf_sha256": kept.pdf_sha256}
