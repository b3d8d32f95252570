"""The periodic supervision bulletin (定期督察通报), as a printable Word document and a PDF.

It is made from the same query as the reports page (compute_rates per unit) plus what the
bureau's rules say a bulletin names: the criticisms (通报批评) the supervision office confirmed
in the period (intake.rules.censures; a proposal is never printed) and why, the cases overdue at the time of the bulletin, and the
commendations received in the period. build_bulletin_document lays it out once, as a neutral
document (intake.reports.documents); the DOCX and the PDF are that document rendered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.clock import BUREAU_TIMEZONE, WorkingCalendar
from intake.reports.commendations import list_commendations
from intake.reports.documents import (Document, Heading, Paragraph, Table, render_docx,
                                      render_pdf)
from intake.store.models import Case, CaseAssignment, Commendation, UnitResult
from intake.reports.rates import Figures, Grouping, Period, RatesReport, compute_rates
from intake.rules.censures import RETURNS_FOR_CRITICISM, STREAK_CATEGORIES, list_published
from intake.statuses import (WORKING_STATES, CensureGround, CensureKind, CommendationKind,
                             ReturnCategory, UnitKind)

BULLETIN_TITLE = "民情联线工作督察通报"
KIND_NAMES = {UnitKind.TOWNSHIP: "乡镇卫生院", UnitKind.COUNTY: "县直医疗卫生单位"}
RETURN_NAMES = {ReturnCategory.FORMAT: "格式不全", ReturnCategory.QUALITY: "答非所问",
                ReturnCategory.DISSATISFIED: "群众不满意"}
COMMENDATION_NAMES = {CommendationKind.LETTER: "表扬信", CommendationKind.BANNER: "锦旗",
                      CommendationKind.MEDIA: "媒体表扬"}
# The grounds of 四.5, as the bulletin prints them.
GROUND_NAMES = {CensureGround.RETURNED_THREE_TIMES: "办理结果连续三次被退回",
                CensureGround.NOT_CARRIED_OUT: "未按要求落实", CensureGround.LATE_UNEXPLAINED:
                "超期且未及时说明情况", CensureGround.FALSE_REPORT: "弄虚作假",
                CensureGround.DUTY_FAILURE: "值班室未履行职责",
                CensureGround.IMPROPER_CONDUCT: "作风不当"}
TABLE_HEADINGS = ("单位", "受理", "办结", "办结率", "反馈", "反馈率", "评价", "满意",
                  "满意率", "应交", "按时", "参与协同率")


@dataclass
class Criticism:
    """A unit flagged for a criticism notice, and why."""

    unit: str
    case_number: str
    returns: int
    flagged_at: datetime  # when the office confirmed it
    reasons: list[str] = field(default_factory=list)
    dissatisfied_redos: int = 0  # shown beside the streak, not part of it
    ground: CensureGround = CensureGround.RETURNED_THREE_TIMES
    facts: str = ""


@dataclass
class Bulletin:
    """Everything a bulletin prints, gathered once."""

    report: RatesReport
    criticisms: list[Criticism]
    overdue: list[Case]
    commendations: list[Commendation]
    made_at: datetime


def compose_bulletin(session: Session, period: Period, *, now: datetime,
                     calendar: WorkingCalendar, tz: str = BUREAU_TIMEZONE) -> Bulletin:
    """Gather a period's bulletin: rates per unit, criticisms, overdue cases, commendations."""
    report = compute_rates(session, period, now=now, calendar=calendar, tz=tz,
                           grouping=Grouping.UNIT)
    start, end = period.bounds(tz)
    # Only what the supervision office confirmed is published (intake.rules.censures).
    criticisms = []
    for censure in list_published(session, CensureKind.CRITICISM, start, end):
        target = censure.unit.name if censure.unit else ("值班室" if censure.duty_room else "")
        numbers = "、".join(case.number for case in censure.cases)
        item = Criticism(unit=target, case_number=numbers, returns=0,
                         flagged_at=censure.decided_at, ground=censure.ground,
                         facts=censure.facts)
        assignment = _assignment_of(session, censure)
        if censure.ground is CensureGround.RETURNED_THREE_TIMES and assignment is not None:
            returned = session.scalars(
                select(UnitResult).where(UnitResult.assignment_id == assignment.id,
                                         UnitResult.return_category.in_(STREAK_CATEGORIES))
                .order_by(UnitResult.id)).all()
            # An acceptance after the proposal ends the streak; it was three at least.
            item.returns = max(assignment.returns, RETURNS_FOR_CRITICISM)
            item.dissatisfied_redos = assignment.dissatisfied_redos
            item.reasons = [f"{RETURN_NAMES[r.return_category]}：{r.verdict_reason}"
                            for r in returned]
        criticisms.append(item)
    overdue = list(session.scalars(
        select(Case).where(Case.status.in_(WORKING_STATES), Case.deadline_at < now)
        .order_by(Case.deadline_at, Case.id)))
    return Bulletin(report=report, criticisms=criticisms, overdue=overdue,
                    commendations=list_commendations(session, period.start, period.end),
                    made_at=now)


def _assignment_of(session: Session, censure) -> CaseAssignment | None:
    """Return the latest assignment of the censure's case to its unit, if there is one."""
    if censure.unit_id is None or len(censure.cases) != 1:
        return None
    return session.scalars(select(CaseAssignment).where(
        CaseAssignment.case_id == censure.cases[0].id,
        CaseAssignment.unit_id == censure.unit_id).order_by(CaseAssignment.id.desc())).first()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def figure_cells(name: str, figures: Figures) -> list[str]:
    """Return one table line: the unit, then counts and rates in TABLE_HEADINGS' order."""
    return [name, str(figures.received), str(figures.completed),
            _percent(figures.rate("completion_rate")), str(figures.fed_back),
            _percent(figures.rate("feedback_rate")), str(figures.rated), str(figures.satisfied),
            _percent(figures.rate("satisfaction_rate")), str(figures.transferred_due),
            str(figures.on_time), _percent(figures.rate("participation_rate"))]


def build_bulletin_document(bulletin: Bulletin, tz: str = BUREAU_TIMEZONE) -> Document:
    """Lay the bulletin out as a neutral document: the words both renderers print."""
    zone = ZoneInfo(tz)
    period = bulletin.report.period
    made = bulletin.made_at.astimezone(zone)
    blocks: list = []
    total = bulletin.report.total
    blocks.append(Heading("一、总体情况"))
    blocks.append(Paragraph(
        f"本期共受理群众诉求 {total.received} 件，办结 {total.completed} 件，"
        f"办结率 {_percent(total.rate('completion_rate'))}；反馈率 "
        f"{_percent(total.rate('feedback_rate'))}；满意率 "
        f"{_percent(total.rate('satisfaction_rate'))}；参与协同率 "
        f"{_percent(total.rate('participation_rate'))}；按期办结率 "
        f"{_percent(total.rate('answered_on_time_rate'))}。"))

    blocks.append(Heading("二、各承办单位情况"))
    for kind in UnitKind:
        rows = [r for r in bulletin.report.rows if r.kind == kind]
        if not rows:
            continue
        blocks.append(Heading(KIND_NAMES[kind], level=2))
        blocks.append(Table(TABLE_HEADINGS, [figure_cells(r.unit, r.figures) for r in rows]))
        redos = [f"{r.unit} 连续退回 {r.returns_in_row} 次、群众不满意重办 {r.dissatisfied_redos} 次"
                 + (f"、通报批评 {r.criticisms} 次" if r.criticisms else "")
                 for r in rows if r.returns_in_row or r.dissatisfied_redos or r.criticisms]
        if redos:
            # The streak (criticism ground 1) and the dissatisfied redos, side by side.
            blocks.append(Paragraph("退回重办：" + "；".join(redos) + "。"))

    blocks.append(Heading("三、通报批评"))
    if not bulletin.criticisms:
        blocks.append(Paragraph("本期无。"))
    for item in bulletin.criticisms:
        if item.ground is CensureGround.RETURNED_THREE_TIMES and item.returns:
            text = (f"{item.unit}：案件 {item.case_number} 办理结果连续 {item.returns} 次被退回重办"
                    f"（{'；'.join(item.reasons) or '—'}），予以通报批评。"
                    + (f"另因群众不满意重办 {item.dissatisfied_redos} 次（不计入连续退回）。"
                       if item.dissatisfied_redos else ""))
        else:
            cases = f"（案件 {item.case_number}）" if item.case_number else ""
            text = (f"{item.unit}：{GROUND_NAMES[item.ground]}{cases}，{item.facts}，"
                    "予以通报批评。")
        blocks.append(Paragraph(text, bullet=True))

    blocks.append(Heading("四、超期未办结案件"))
    if not bulletin.overdue:
        blocks.append(Paragraph("无。"))
    else:
        blocks.append(Table(("案件编号", "反映人", "承办", "期限", "事由"), [
            [case.number, case.caller_name, case.unit.name if case.unit else "—",
             f"{case.deadline_at.astimezone(zone):%m月%d日 %H:%M}", case.summary[:40]]
            for case in bulletin.overdue]))

    blocks.append(Heading("五、表扬情况"))
    if not bulletin.commendations:
        blocks.append(Paragraph("本期无。"))
    for item in bulletin.commendations:
        target = item.leader.name if item.leader else item.unit.name
        blocks.append(Paragraph(
            f"{item.received_on:%m月%d日}　{target}　收到{item.giver or ''}"
            f"{COMMENDATION_NAMES[item.kind]}：{item.evidence[:80]}", bullet=True))
    return Document(
        title=BULLETIN_TITLE,
        subtitle=(f"通报期间：{period.start:%Y年%m月%d日}至{period.end:%Y年%m月%d日}"
                  f"　　统计截至：{made:%Y年%m月%d日 %H:%M}"),
        blocks=blocks, landscape=True)


def render_bulletin_docx(bulletin: Bulletin, tz: str = BUREAU_TIMEZONE) -> bytes:
    """Lay the bulletin out on landscape A4 for printing; return the .docx file."""
    return render_docx(build_bulletin_document(bulletin, tz))


def render_bulletin_pdf(bulletin: Bulletin, tz: str = BUREAU_TIMEZONE) -> bytes:
    """Lay the bulletin out on landscape A4 with its CJK font embedded; return the PDF."""
    return render_pdf(build_bulletin_document(bulletin, tz))
