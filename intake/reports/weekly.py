"""The weekly analysis (民情分析): what liaisons reported in a week, and the Monday digest SMS.

- counts by category (a GROUP BY) and by township (read from the caller's unit or address,
  then the liaison's: "城关镇东门社区" is 城关镇);
- the week's recurring topics: words that jieba segments out of the summaries and the
  transcripts, kept when at least two cases use them;
- cases open longer than a week: received more than seven days before `now` and not yet
  answered back to the liaison (not fed back or closed).

`analyse_week` asks the database; `compose_weekly_digest` is a pure function of its answer,
so the scheduler that sends it on Mondays decides only who receives it.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from intake.clock import BUREAU_TIMEZONE
from intake.store.models import Case, join_tokens
from intake.outbox.notifications import count_segments
from intake.reports.rates import Period
from intake.statuses import CaseStatus

OPEN_DAYS = 7
TOP_TOPICS = 8
MIN_TOPIC_CASES = 2  # a topic is recurring when at least this many cases mention it
DIGEST_ITEMS = 3  # per list in the SMS, which must stay a few segments long
UNKNOWN_TOWNSHIP = "其他"
UNCATEGORISED = "未分类"
CLOSED_FOR_LIAISON = (CaseStatus.FED_BACK, CaseStatus.CLOSED)
# The names a category key (what the case form stores) and the two catch-alls read as, per
# language, so the digest SMS never shows "public_health 6". A category typed as free text is
# the user's own word and shown as typed. The dashboard's labels.CATEGORIES says the same.
CATEGORY_NAMES = {
    "zh": {"medical_service": "医疗服务", "public_health": "公共卫生", "pharmacy": "药品与药店",
           "insurance": "医疗保障", "staff_conduct": "工作作风", "other": "其他"},
    "en": {"medical_service": "Medical service", "public_health": "Public health",
           "pharmacy": "Medicines and pharmacies", "insurance": "Medical insurance",
           "staff_conduct": "Staff conduct", "other": "Other",
           UNCATEGORISED: "Uncategorised", UNKNOWN_TOWNSHIP: "Other places"},
}
TOWNSHIP = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:镇|乡|街道)")
# Words every message has; they say nothing about the week.
STOPWORDS = frozenset("""
我们 你们 他们 她们 这个 那个 这些 那些 什么 怎么 为什么 没有 不是 就是 还是 已经 现在 今天 昨天 明天
一下 一个 一些 可以 希望 领导 关心 请问 谢谢 问题 事情 情况 反映 联络员 这里 那里 我是 你好 您好 但是
因为 所以 如果 而且 然后 时候 知道 觉得 需要 处理 尽快 老百姓 群众 村里 社区 卫生院 医院 一直 非常
办理 加快 增加 及时 解决
""".split())


@dataclass
class WeeklyAnalysis:
    """One week's counts, topics and long-open cases."""

    week: Period
    received: int
    by_category: list[tuple[str, int]]
    by_township: list[tuple[str, int]]
    topics: list[tuple[str, int]]
    open_cases: list[Case] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"from": self.week.start.isoformat(), "to": self.week.end.isoformat(),
                "received": self.received,
                "by_category": [{"category": k, "cases": n} for k, n in self.by_category],
                "by_township": [{"township": k, "cases": n} for k, n in self.by_township],
                "topics": [{"word": k, "cases": n} for k, n in self.topics],
                "open_longer_than_a_week": [
                    {"number": c.number, "status": c.status.value,
                     "received_at": c.created_at.isoformat()} for c in self.open_cases]}


def week_of(day: date) -> date:
    """Return the Monday of the week a day falls in."""
    return day - timedelta(days=day.weekday())


def last_full_week(today: date) -> date:
    """Return the Monday of the last week that has ended by `today`."""
    return week_of(today) - timedelta(days=7)


def analyse_week(session: Session, monday: date | None, *, now: datetime,
                 tz: str = BUREAU_TIMEZONE) -> WeeklyAnalysis:
    """Count a week's cases by category and township, find its topics and the long-open cases.

    Args:
        monday: the week's first day; None for the last full week before `now`.
    """
    if monday is None:
        monday = last_full_week(now.astimezone(ZoneInfo(tz)).date())
    week = Period(monday, monday + timedelta(days=6))
    start, end = week.bounds(tz)
    in_week = (Case.created_at >= start, Case.created_at < end)
    by_category = _ranked(Counter({name or UNCATEGORISED: n for name, n in session.execute(
        select(Case.category, func.count(Case.id)).where(*in_week).group_by(Case.category))}))
    cases = list(session.scalars(select(Case).where(*in_week)
                                 .options(selectinload(Case.liaison), selectinload(Case.call))))
    townships = Counter(township_of(case) for case in cases)
    open_cases = list(session.scalars(
        select(Case).where(Case.status.not_in(CLOSED_FOR_LIAISON),
                           Case.created_at < now - timedelta(days=OPEN_DAYS))
        .order_by(Case.created_at, Case.id)))
    return WeeklyAnalysis(week=week, received=len(cases), by_category=by_category,
                          by_township=_ranked(townships), topics=recurring_topics(cases),
                          open_cases=open_cases)


def township_of(case: Case) -> str:
    """Return the township a case comes from, read from the caller's or the liaison's place."""
    places = [case.caller_unit]
    if case.liaison is not None:
        places += [case.liaison.address, case.liaison.work_unit]
    for place in places:
        found = TOWNSHIP.search(place or "")
        if found:
            return found.group(0)
    return UNKNOWN_TOWNSHIP


def case_text(case: Case) -> str:
    """Return what a case says: its summary and its call's transcript (a correction first)."""
    parts = [case.summary or ""]
    if case.call is not None:
        parts.append(join_tokens(case.call.transcript_corrected or case.call.transcript_text
                                 or ""))
    return "。".join(p for p in parts if p)


@lru_cache(maxsize=1)
def _segmenter():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on every first load
    jieba.initialize()
    return jieba


def preload_segmenter() -> None:
    """Load jieba's dictionary now (about 1 s from its cache, 2-4 s the first time ever).

    The web process calls this at start, before it takes requests, so the first visitor of
    the weekly analysis waits no longer than the second.
    """
    _segmenter()


def topic_words(text: str) -> set[str]:
    """Return the words of a text worth counting: two characters or more, Han, not stopwords."""
    return {word for word in _segmenter().lcut(text)
            if len(word) >= 2 and word not in STOPWORDS and re.fullmatch(r"[\u4e00-\u9fff]+", word)}


def recurring_topics(cases: list[Case], top: int = TOP_TOPICS) -> list[tuple[str, int]]:
    """Return the words used by at least two cases, by how many cases use them."""
    counts = Counter()
    for case in cases:
        counts.update(topic_words(case_text(case)))
    return [(word, n) for word, n in _ranked(counts) if n >= MIN_TOPIC_CASES][:top]


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    # Most first; "unknown" and "uncategorised" after the named ones with as many.
    return sorted(counts.items(), key=lambda item: (
        -item[1], item[0] in (UNKNOWN_TOWNSHIP, UNCATEGORISED), item[0]))


def compose_weekly_digest(analysis: WeeklyAnalysis, language: str = "zh-CN",
                          max_segments: int | None = None) -> str:
    """Write the Monday digest SMS for a week's analysis (zh-CN or en-US).

    With `max_segments`, each list names fewer items (down to none, the counts stay) until
    the SMS fits that many segments.
    """
    for shown in range(DIGEST_ITEMS, 0, -1):
        text = _write_digest(analysis, language, shown)
        if max_segments is None or count_segments(text) <= max_segments:
            return text
    return _write_digest(analysis, language, 0)


# The Monday digest's wording, one table per language. A list part is left out when its list
# is empty or no items may be shown; "more" marks a list of case numbers cut short.
DIGEST_WORDING = {
    "zh": {"head": "民情周报 {start.month}月{start.day}日至{end.month}月{end.day}日：受理{received}件",
           "by_category": "，类别：{items}", "by_township": "；乡镇：{items}", "topics": "；热点：{items}",
           "open": "。超一周未办结{count}件", "numbers": "：{items}{more}", "more": "等",
           "item": "{name}{count}", "separator": "、", "end": "。"},
    "en": {"head": "Weekly digest {start:%d %b}–{end:%d %b}: {received} cases",
           "by_category": "; categories: {items}", "by_township": "; townships: {items}",
           "topics": "; topics: {items}", "open": ". Open over a week: {count}",
           "numbers": " ({items}{more})", "more": " …",
           "item": "{name} {count}", "separator": ", ", "end": "."},
}


def name_in_language(name: str, language: str) -> str:
    """Return how a category key or catch-all reads in a language; other text as it is."""
    return CATEGORY_NAMES["zh" if language.startswith("zh") else "en"].get(name, name)


def _write_digest(analysis: WeeklyAnalysis, language: str, shown: int) -> str:
    words = DIGEST_WORDING["zh" if language.startswith("zh") else "en"]
    week = analysis.week

    def listed(part: str, items: list[str]) -> str:
        return words[part].format(items=words["separator"].join(items[:shown])) if items else ""

    text = words["head"].format(start=week.start, end=week.end, received=analysis.received)
    if shown:
        for part in ("by_category", "by_township"):
            text += listed(part, [words["item"].format(name=name_in_language(name, language),
                                                       count=n)
                                  for name, n in getattr(analysis, part)])
        text += listed("topics", [word for word, _n in analysis.topics])
    text += words["open"].format(count=len(analysis.open_cases))
    numbers = [c.number for c in analysis.open_cases[:shown]]
    if numbers:
        more = words["more"] if len(analysis.open_cases) > len(numbers) else ""
        text += words["numbers"].format(items=words["separator"].join(numbers), more=more)
    return text + words["end"]
