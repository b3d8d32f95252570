"""The year's summary (年度工作总结, 四.7): what the bureau reads when it chooses whom to commend.

One builder, compose_year_summary, gathers a year from the same queries the other reports use:

    the four rates and the on-time shares     intake.reports.rates, per unit and per member
    each member's contact duty                intake.directory.contacts, month by month: the
                                              months in which they called every liaison
    commendations                             summarise_commendations (its home is here)
    confirmed criticisms and accountability   intake.rules.censures.list_published

The page, `dutyline report year` (JSON, DOCX, PDF) and the downloads all start from it;
build_year_document lays it out once for both renderers (intake.reports.documents).

A member's contact duty is read against the liaisons linked to them today (the directory keeps
no history of who was whose): a liaison moved to another member mid-year counts for the new one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from intake.clock import BUREAU_TIMEZONE, WorkingCalendar
from intake.directory.contacts import list_contact_duties
from intake.exceptions import ValidationError
from intake.reports.bulletin import GROUND_NAMES
from intake.reports.commendations import summarise_commendations
from intake.reports.documents import (Document, Heading, Paragraph, Table, render_docx,
                                      render_pdf)
from intake.reports.rates import (Figures, Grouping, ReportRow, compute_rates, compute_rows,
                                  year_period)
from intake.rules.censures import list_published
from intake.statuses import CensureGround, CensureKind
from intake.store.models import Censure

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
# The grounds of 四.6, as the summary prints them (those of 四.5 are the bulletin's).
ACCOUNTABILITY_NAMES = {
    CensureGround.IMPORTANT_MATTER_LATE: "重要事项（含领导批示件）未按期办结",
    CensureGround.BUCK_PASSING: "推诿扯皮",
    CensureGround.ABUSE_OF_OFFICE: "滥用职权",
    CensureGround.CHASED_WITHOUT_RESULT: "多次催办仍不办理、不反馈",
}
# The four rates, then the two on-time shares, as the summary's tables print them.
RATE_COLUMNS = (("completion_rate", "办结率"), ("feedback_rate", "反馈率"),
                ("satisfaction_rate", "满意率"), ("participation_rate", "参与协同率"),
                ("answered_on_time_rate", "按期办结率"), ("feedback_on_time_rate", "按期反馈率"))
COMMENDATION_COLUMNS = (("letter", "表扬信"), ("banner", "锦旗"), ("media", "媒体表扬"))


@dataclass
class ContactYear:
    """One member's contact duty over the months of the year gone by."""

    leader_id: int
    name: str
    liaisons: int  # linked to them today
    months_in_full: list[int] = field(default_factory=list)  # months they called everyone
    months_short: list[int] = field(default_factory=list)  # months someone was left uncalled

    @property
    def months_counted(self) -> int:
        return len(self.months_in_full) + len(self.months_short)

    def to_json(self) -> dict:
        return {"leader_id": self.leader_id, "leader": self.name, "liaisons": self.liaisons,
                "months_in_full": len(self.months_in_full),
                "months_counted": self.months_counted, "months_short": self.months_short}


@dataclass
class YearSummary:
    """Everything the year's summary prints, gathered once."""

    year: int
    made_at: datetime
    total: Figures
    units: list[ReportRow]
    members: list[ReportRow]
    contacts: list[ContactYear]
    commendations: list[dict]
    criticisms: list[Censure]
    accountability: list[Censure]

    def to_json(self, tz: str = BUREAU_TIMEZONE) -> dict:
        zone = ZoneInfo(tz)
        return {"year": self.year, "made_at": self.made_at.astimezone(zone).isoformat(),
                "total": self.total.to_json(), "units": [r.to_json() for r in self.units],
                "members": [r.to_json() for r in self.members],
                "contacts": [c.to_json() for c in self.contacts],
                "commendations": self.commendations,
                "criticisms": [_censure_json(c, zone) for c in self.criticisms],
                "accountability": [_censure_json(c, zone) for c in self.accountability]}


def _censure_json(censure: Censure, zone: ZoneInfo) -> dict:
    return {"id": censure.id, "ground": censure.ground.value, "target": _target(censure),
            "cases": [case.number for case in censure.cases], "facts": censure.facts,
            "decided_at": censure.decided_at.astimezone(zone).isoformat()}


def parse_year(value) -> int:
    """Read a year (2000–2100).

    Raises:
        ValidationError: not a year (code year_invalid).
    """
    try:
        year = int(str(value).strip())
    except ValueError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValidationError("give the year as four digits", field="year", code="year_invalid")
    return year


def compose_year_summary(session: Session, year: int, *, now: datetime,
                         calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE) -> YearSummary:
    """Gather a year: rates per unit and per member, contact duties, commendations, censures."""
    period = year_period(year)
    by_unit = compute_rates(session, period, now=now, calendar=calendar, tz=tz,
                            grouping=Grouping.UNIT)
    members = compute_rows(session, period, Grouping.LEADER, now=now, calendar=calendar, tz=tz)
    start, end = period.bounds(tz)
    return YearSummary(
        year=year, made_at=now, total=by_unit.total, units=by_unit.rows, members=members,
        contacts=_contact_year(session, year, now.astimezone(ZoneInfo(tz)).date()),
        commendations=summarise_commendations(session, year),
        criticisms=list_published(session, CensureKind.CRITICISM, start, end),
        accountability=list_published(session, CensureKind.ACCOUNTABILITY, start, end))


def _contact_year(session: Session, year: int, today: date) -> list[ContactYear]:
    """Count, per active member, the months of the year (up to today's) they called everyone."""
    # The month in progress is not judged yet: a member has until its last day.
    last = 12 if today.year > year else (today.month - 1 if today.year == year else 0)
    found: dict[int, ContactYear] = {}
    for month in range(1, last + 1):
        for duty in list_contact_duties(session, date(year, month, 1)):
            liaisons = len(duty.contacted) + len(duty.owing)
            line = found.setdefault(duty.leader_id, ContactYear(duty.leader_id, duty.leader_name,
                                                                liaisons))
            if not liaisons:
                continue  # nobody to call: the month is not the member's to miss
            (line.months_short if duty.owing else line.months_in_full).append(month)
    return sorted(found.values(), key=lambda c: (-len(c.months_in_full), c.leader_id))


# ---------------------------------------------------------------- the document
def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def rate_cells(figures: Figures) -> list[str]:
    """Return a line's received count, then its six rates in RATE_COLUMNS' order."""
    return [str(figures.received)] + [_percent(figures.rate(name)) for name, _ in RATE_COLUMNS]


def _target(censure: Censure) -> str:
    if censure.unit is not None:
        return censure.unit.name + (f"（{censure.person}）" if censure.person else "")
    return censure.person or ("值班室" if censure.duty_room else "—")


def build_year_document(summary: YearSummary, tz: str = BUREAU_TIMEZONE) -> Document:
    """Lay the year's summary out as a neutral document: the words both renderers print."""
    zone = ZoneInfo(tz)
    made = summary.made_at.astimezone(zone)
    total = summary.total
    header = ("受理", *(title for _, title in RATE_COLUMNS))
    blocks: list = [
        Heading("一、全年总体情况"),
        Paragraph(f"全年共受理群众诉求 {total.received} 件，办结 {total.completed} 件，办结率 "
                  f"{_percent(total.rate('completion_rate'))}；反馈率 "
                  f"{_percent(total.rate('feedback_rate'))}；满意率 "
                  f"{_percent(total.rate('satisfaction_rate'))}；参与协同率 "
                  f"{_percent(total.rate('participation_rate'))}；按期办结率 "
                  f"{_percent(total.rate('answered_on_time_rate'))}；按期反馈率 "
                  f"{_percent(total.rate('feedback_on_time_rate'))}。"),
        Heading("二、各承办单位"),
        Table(("单位", *header), [[r.unit, *rate_cells(r.figures)] for r in summary.units]),
        Heading("三、各联线领导（工作组成员）"),
        Table(("成员", *header), [[r.leader, *rate_cells(r.figures)] for r in summary.members]),
        Heading("四、联系联络员情况"),
    ]
    if summary.contacts:
        blocks.append(Table(("成员", "联络员", "全月联系", "未联系到位的月份"), [
            [c.name, str(c.liaisons), f"{len(c.months_in_full)}/{c.months_counted} 个月",
             "、".join(f"{m}月" for m in c.months_short) or "—"] for c in summary.contacts]))
    else:
        blocks.append(Paragraph("本年尚无已结束的月份。"))
    blocks.append(Heading("五、表扬情况"))
    if summary.commendations:
        blocks.append(Table(("对象", "类别", *(t for _, t in COMMENDATION_COLUMNS), "合计"), [
            [row["name"], "成员" if row["target"] == "leader" else "单位",
             *(str(row[key]) for key, _ in COMMENDATION_COLUMNS), str(row["total"])]
            for row in summary.commendations]))
    else:
        blocks.append(Paragraph("本年无。"))
    for heading, items, names in (("六、通报批评", summary.criticisms, GROUND_NAMES),
                                  ("七、问责", summary.accountability, ACCOUNTABILITY_NAMES)):
        blocks.append(Heading(heading))
        if not items:
            blocks.append(Paragraph("本年无。"))
        for censure in items:
            cases = "、".join(case.number for case in censure.cases)
            blocks.append(Paragraph(
                f"{censure.decided_at.astimezone(zone):%m月%d日}　{_target(censure)}："
                f"{names[censure.ground]}" + (f"（案件 {cases}）" if cases else "")
                + (f"，{censure.facts}" if censure.facts else "") + "。", bullet=True))
    return Document(title=f"民情联线年度工作总结（{summary.year}年）",
                    subtitle=f"统计截至：{made:%Y年%m月%d日 %H:%M}", blocks=blocks,
                    landscape=True)


def render_year_docx(summary: YearSummary, tz: str = BUREAU_TIMEZONE) -> bytes:
    """Return the year's summary as a .docx file."""
    return render_docx(build_year_document(summary, tz))


def render_year_pdf(summary: YearSummary, tz: str = BUREAU_TIMEZONE) -> bytes:
    """Return the year's summary as a PDF with its CJK font embedded."""
    return render_pdf(build_year_document(summary, tz))


__all__ = ["YearSummary", "ContactYear", "compose_year_summary", "build_year_document",
           "render_year_docx", "render_year_pdf", "parse_year", "rate_cells", "RATE_COLUMNS",
           "COMMENDATION_COLUMNS"]
