"""Notices to the public (公告, 三.4 通过新闻媒体向群众公布): cases of wide public concern.

The supervision office marks a case, or a group of cases on one subject, as 群众普遍关心 by
writing a notice on them: what was reported, what was done, and the result. The notice is
built as one neutral document (`build_notice_document`) and rendered as DOCX and PDF by the
report renderers; the office records where and when it appeared (outlet, day, link), and
each case then shows that it was published.

What leaves the building is inert: the document carries the office's three texts, the
cases' numbers, the days they came in and were answered, and the units that handled them;
never a liaison's name, phone, work unit or address, the duty room's summary (written with
names in it), or any staff member's name. The office's own texts are checked against the
personal fields of the cases they speak of, and refused if they carry one
("notice_personal_data"), so a name typed into the text does not slip out either.

    DRAFT ─► PUBLISHED (─► PUBLISHED: one more outlet)       NOTICE_TRANSITIONS
      └────► WITHDRAWN

Every change is a compare-and-set on the notice's `version` and writes an audit row on the
notice, and one on each case it speaks of (the case's history says it was published).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from intake.clock import Clock
from intake.reports.documents import Document, Heading, Paragraph, Table
from intake.exceptions import InvalidTransition, NotFound, ValidationError
from intake.rules.access import check
from intake.rules.lifecycle import note_event
from intake.statuses import NOTICE_TRANSITIONS, CaseStatus, NoticeStatus
from intake.store.versions import claim_version
from intake.store.audit import record_event
from intake.store.models import (Case, NoticePublication, PublicNotice, PublicNoticeCase, User)

SUBJECT_MAX_CHARS = 200
TEXT_MAX_CHARS = 4000
OUTLET_MAX_CHARS = 120
LINK_MAX_CHARS = 500
MAX_CASES = 200
LIST_LIMIT = 500
# Only a case with an answer has "what was done and the result" to publish.
PUBLISHABLE = frozenset({CaseStatus.ANSWERED, CaseStatus.FED_BACK, CaseStatus.CLOSED})
# A mainland mobile number (11 digits from 13…19) or a landline with its area code (0xxx-),
# spaces or dashes allowed between digits; a date (2026-12-07) or a sum (1500000元) is not one.
_PHONE_LIKE = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?(?:1[3-9](?:[\s\-]?\d){9}"
                         r"|0\d{2,3}[\s\-]?\d(?:[\s\-]?\d){6,7})(?!\d)")
# The shortest name checked: a one-character "name" would match ordinary words.
_MIN_NAME_CHARS = 2
BUREAU_NAME = {"zh-CN": "县卫生健康局民情联线工作领导小组办公室",
               "en-US": "County Health Bureau, Liaison Line Work Group Office"}


@dataclass
class NoticeDraft:
    """What the office writes: a subject, the three texts, and the cases' numbers."""

    subject: str
    reported: str
    done: str
    result: str
    case_numbers: list[str] = field(default_factory=list)


def write_notice(session: Session, who, draft: NoticeDraft, clock: Clock) -> PublicNotice:
    """Write a public notice on one case or a group of cases on one subject (a draft).

    Raises:
        Forbidden: anyone but the supervision office.
        ValidationError: no subject, a text missing, no case or an unknown one, a case not yet
            answered ("notice_case_open"), a text carrying a personal field of its cases
            ("notice_personal_data").
    """
    principal = check(who, "notice", None)
    cases = _cases(session, draft.case_numbers)
    texts = _texts(draft, cases, session)
    now = clock.now()
    notice = PublicNotice(status=NoticeStatus.DRAFT, created_at=now, updated_at=now,
                          created_by=principal.label, version=1, **texts)
    session.add(notice)
    notice.links = [PublicNoticeCase(case=case, case_id=case.id) for case in cases]
    session.flush()
    numbers = [case.number for case in cases]
    record_event(session, principal.actor, "notice.written", notice,
                 after={"by": principal.name, "status": notice.status.value,
                        "subject": notice.subject, "cases": numbers})
    for case in cases:
        note_event(session, case, principal, "case.public_concern", notice_id=notice.id,
                   subject=notice.subject)
    return notice


def revise_notice(session: Session, who, notice: PublicNotice, draft: NoticeDraft,
                  clock: Clock) -> PublicNotice:
    """Rewrite a draft notice's texts (the cases stay those it was written on)."""
    principal = check(who, "notice", None)
    if notice.status is not NoticeStatus.DRAFT:
        raise InvalidTransition("PublicNotice", notice.status.value, "revised")
    texts = _texts(draft, notice.cases, session)
    claim_notice(session, notice)
    for name, value in texts.items():
        setattr(notice, name, value)
    notice.updated_at = clock.now()
    record_event(session, principal.actor, "notice.revised", notice,
                 after={"by": principal.name, "subject": notice.subject})
    return notice


def record_publication(session: Session, who, notice: PublicNotice, outlet: str,
                       published_on: date | None, link: str, clock: Clock) -> NoticePublication:
    """Record where and when the notice appeared; its cases then show it as published.

    Raises:
        InvalidTransition: a withdrawn notice.
        Conflict: someone else changed the notice since this request read it.
        ValidationError: no outlet ("outlet_required"), no or a future day ("date_invalid",
            "date_in_future"), a link that is not http(s) ("link_invalid").
    """
    principal = check(who, "notice", None)
    outlet = _text(outlet, "outlet", OUTLET_MAX_CHARS)
    if not outlet:
        raise ValidationError("name the outlet", field="outlet", code="outlet_required")
    if published_on is None:
        raise ValidationError("give the day it appeared", field="published_on",
                              code="date_invalid")
    if published_on > clock.today():
        raise ValidationError("the day is in the future", field="published_on",
                              code="date_in_future")
    link = _text(link, "link", LINK_MAX_CHARS)
    if link and not re.match(r"^https?://[^\s]+$", link):
        raise ValidationError("give an http(s) address", field="link", code="link_invalid")
    current = notice.status
    if NoticeStatus.PUBLISHED not in NOTICE_TRANSITIONS[current]:
        raise InvalidTransition("PublicNotice", current.value, NoticeStatus.PUBLISHED.value)
    claim_notice(session, notice)
    notice.status = NoticeStatus.PUBLISHED
    notice.updated_at = clock.now()
    publication = NoticePublication(notice=notice, outlet=outlet, published_on=published_on,
                                    link=link, recorded_at=clock.now(),
                                    recorded_by=principal.label)
    session.add(publication)
    session.flush()
    record_event(session, principal.actor, "notice.published", notice,
                 before={"status": current.value},
                 after={"by": principal.name, "status": notice.status.value, "outlet": outlet,
                        "published_on": published_on.isoformat(), "link": link})
    for case in notice.cases:
        note_event(session, case, principal, "case.notice_published", notice_id=notice.id,
                   outlet=outlet, published_on=published_on.isoformat())
    return publication


# The document's words, zh-CN first (the bureau's own wording: 公告), en-US second.
WORDING = {
    "zh-CN": {"title": "公  告", "reported": "一、群众反映的问题", "done": "二、办理情况",
              "result": "三、办理结果", "cases": "四、涉及的民情联线案件",
              "header": ("案件编号", "受理日期", "办理单位", "答复日期", "状态"),
              "bureau_itself": "县卫生健康局（联线领导直接办理）",
              "states": {"answered": "已答复", "fed_back": "已反馈", "closed": "已办结"},
              "draft": "（草稿，未发布）"},
    "en-US": {"title": "Public notice", "reported": "1. What the public reported",
              "done": "2. What was done", "result": "3. The result",
              "cases": "4. The liaison-line cases concerned",
              "header": ("Case", "Received", "Handled by", "Answered", "State"),
              "bureau_itself": "County Health Bureau (handled by the liaison leader)",
              "states": {"answered": "answered", "fed_back": "fed back", "closed": "closed"},
              "draft": "(draft, not published)"},
}


def build_notice_document(notice: PublicNotice, tz: str, language: str = "zh-CN",
                          issued_on: date | None = None) -> Document:
    """Build the public notice as a Document (rendered to DOCX and PDF by intake.reports).

    It carries the office's three texts, and for each case only what is public: its number,
    the days it came in and was answered, the units that handled it and its state. No
    caller, liaison, leader or staff name, no phone, no address, no summary.
    """
    words = WORDING.get(language, WORDING["en-US"])
    zone = ZoneInfo(tz)
    if issued_on is None:
        issued_on = (notice.publications[0].published_on if notice.publications
                     else notice.created_at.astimezone(zone).date())
    rows = []
    for case in notice.cases:
        units = []
        for assignment in case.assignments:
            if assignment.unit is not None and assignment.unit.name not in units:
                units.append(assignment.unit.name)
        answered = case.answered_at.astimezone(zone).date().isoformat() if case.answered_at else ""
        rows.append((case.number, case.created_at.astimezone(zone).date().isoformat(),
                     "、".join(units) if language == "zh-CN" and units
                     else ", ".join(units) or words["bureau_itself"],
                     answered, words["states"].get(case.status.value, case.status.value)))
    subtitle = notice.subject
    if notice.status is NoticeStatus.DRAFT:
        subtitle = f"{subtitle} {words['draft']}"
    blocks = [Heading(words["reported"]), Paragraph(notice.reported),
              Heading(words["done"]), Paragraph(notice.done),
              Heading(words["result"]), Paragraph(notice.result),
              Heading(words["cases"]), Table(words["header"], tuple(rows)),
              Paragraph(BUREAU_NAME.get(language, BUREAU_NAME["en-US"]), centred=True),
              Paragraph(issued_on.isoformat(), centred=True)]
    return Document(title=words["title"], subtitle=subtitle, blocks=blocks)


def get_notice(session: Session, who, notice_id: int) -> PublicNotice:
    """Return one notice for the supervision office."""
    check(who, "notice", None)
    notice = session.get(PublicNotice, notice_id)
    if notice is None:
        raise NotFound(f"notice {notice_id}")
    return notice


def list_notices(session: Session, who, limit: int = LIST_LIMIT) -> list[PublicNotice]:
    """Return the notices, newest first."""
    check(who, "notice", None)
    return list(session.scalars(
        select(PublicNotice).options(selectinload(PublicNotice.links)
                                     .selectinload(PublicNoticeCase.case),
                                     selectinload(PublicNotice.publications))
        .order_by(PublicNotice.created_at.desc(), PublicNotice.id.desc()).limit(limit)))


def notices_of_case(session: Session, case: Case) -> list[PublicNotice]:
    """Return the notices that speak of a case, oldest first (the case page and its JSON)."""
    return list(session.scalars(
        select(PublicNotice).join(PublicNoticeCase, PublicNoticeCase.notice_id == PublicNotice.id)
        .where(PublicNoticeCase.case_id == case.id, PublicNotice.status != NoticeStatus.WITHDRAWN)
        .order_by(PublicNotice.id)))


def describe_notice(notice: PublicNotice, tz: str, *, with_texts: bool = True) -> dict:
    """Return a notice as JSON: subject, status, cases, publications (and its texts)."""
    zone = ZoneInfo(tz)
    record = {"id": notice.id, "subject": notice.subject, "status": notice.status.value,
              "published": notice.status is NoticeStatus.PUBLISHED,
              "cases": [case.number for case in notice.cases],
              "created_at": notice.created_at.astimezone(zone).isoformat(),
              "version": notice.version,
              "publications": [{"outlet": p.outlet, "published_on": p.published_on.isoformat(),
                                "link": p.link} for p in notice.publications]}
    if with_texts:
        record.update(reported=notice.reported, done=notice.done, result=notice.result)
    return record


def claim_notice(session: Session, notice: PublicNotice) -> None:
    """Bump the notice's version if it is still the one this request read; else raise Conflict."""
    claim_version(session, notice)


def personal_fields(session: Session, cases: list[Case]) -> set[str]:
    """Return every personal value the cases hold: callers, liaisons, leaders, staff.

    The liaison's name, phone, work unit and address; the caller's as the duty room took
    them; the leader's name and phone; the names of everyone who signed a unit's result and
    of every account (staff names other than units never go out).
    """
    values: set[str] = set()
    for case in cases:
        values |= {case.caller_name, case.caller_phone, case.caller_unit}
        if case.liaison is not None:
            values |= {case.liaison.name, case.liaison.phone, case.liaison.work_unit,
                       case.liaison.address}
        if case.leader is not None:
            values |= {case.leader.name, case.leader.phone, case.leader.email}
        values |= {result.signed_by for result in case.results}
    values |= set(session.scalars(select(User.name)))
    # A unit's name is what may be published (it is how the bureau reports who handled it).
    units = {a.unit.name for case in cases for a in case.assignments if a.unit is not None}
    return {v.strip() for v in values if v and len(v.strip()) >= _MIN_NAME_CHARS} - units


def _texts(draft: NoticeDraft, cases: list[Case], session: Session) -> dict:
    subject = _text(draft.subject, "subject", SUBJECT_MAX_CHARS)
    if not subject:
        raise ValidationError("give the notice a subject", field="subject",
                              code="notice_subject_required")
    texts = {"subject": subject}
    for name in ("reported", "done", "result"):
        texts[name] = _text(getattr(draft, name), name, TEXT_MAX_CHARS)
        if not texts[name]:
            raise ValidationError("write what was reported, what was done and the result",
                                  field=name, code="notice_text_required")
    personal = personal_fields(session, cases)
    for name, value in texts.items():
        if _PHONE_LIKE.search(value) or any(item in value for item in personal):
            raise ValidationError("the notice carries personal data", field=name,
                                  code="notice_personal_data")
    return texts


def _cases(session: Session, numbers) -> list[Case]:
    if isinstance(numbers, str):
        numbers = [n for n in numbers.replace(",", "\n").splitlines()]
    if not isinstance(numbers, (list, tuple)):
        raise ValidationError("list the case numbers", field="cases", code="cases_invalid")
    wanted = []
    for number in numbers:
        if not isinstance(number, str):
            raise ValidationError("list the case numbers", field="cases", code="cases_invalid")
        if number.strip() and number.strip() not in wanted:
            wanted.append(number.strip())
    if not wanted or len(wanted) > MAX_CASES:
        raise ValidationError("list the cases", field="cases", code="notice_cases_required")
    found = {case.number: case for case in session.scalars(
        select(Case).where(Case.number.in_(wanted)))}
    missing = [number for number in wanted if number not in found]
    if missing:
        raise ValidationError(f"no such case: {', '.join(missing)}", field="cases",
                              code="case_unknown")
    if any(found[number].status not in PUBLISHABLE for number in wanted):
        raise ValidationError("only answered cases can be published", field="cases",
                              code="notice_case_open")
    return [found[number] for number in wanted]


def _text(value, name: str, limit: int) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name} must be text", field=name, code="text_required")
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError(f"{name} is too long", field=name, code="too_long")
    return value


__all__ = ["NoticeDraft", "build_notice_document", "write_notice", "revise_notice", "record_publication", "get_notice",
           "list_notices", "notices_of_case", "describe_notice", "claim_notice",
           "personal_fields", "PUBLISHABLE", "BUREAU_NAME"]
