"""A case's history as sentences a person reads, from its audit rows (issue 9 item 7).

Every case action writes one audit row (intake/rules/lifecycle.py) whose `after` carries what a
sentence needs: `by` (the actor's name), and where it applies `unit`, `due`, `reason`,
`method`, `satisfaction`… This module turns those rows into, for example,
"王建国 转交 城关镇卫生院，限 12月1日 17:30 前反馈" or, in English,
"Wang Jianguo transferred the case to Chengguan Health Centre, result due 1 Dec 17:30".

The pages show `HistoryEntry.text`; the JSON API returns it as each history entry's `text`.
The wording is kept here, not in the Babel catalogue, because intake/ imports no Flask
(SMS texts in intake/outbox/notifications.py are kept the same way).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from intake.store.audit import list_events
from intake.clock import BUREAU_TIMEZONE
from intake.store.models import AuditEvent, Case

ZH = "zh-CN"
EN = "en-US"

# One template per case action and language. Optional parts ({note_part}, {due_part}…) are
# filled in by _parts so that a sentence never shows an empty "：" or "due ".
SENTENCES: dict[str, dict[str, str]] = {
    ZH: {
        "case.routed": "{by} 登记{channel}，交 {leader} 办理{reason_part}",
        "case.acknowledged": "{by} {via_part}确认已收到",
        "case.handling": "{by} 直接办理，当日办结{note_part}",
        "case.transferred": "{by} 转交 {unit}{due_part}",
        "case.result_filed": "{by} 代表 {unit} 报送书面办理结果",
        "case.attachment_added": "{by} 上传盖章扫描件 {filename}",
        "case.result_accepted": "{by} 审核通过 {unit} 的办理结果",
        "case.returned_for_redo": "{by} 退回 {unit} 重办（{category}{reason_part}）{due_part}",
        "case.bureau_meeting": "{by} 提交局务会议研究{reason_part}，列入督办",
        "case.county": "{by} 上报县委、县政府{reason_part}，列入督办",
        "case.deadline_extended": "{by} 延期至 {due}{reason_part}",
        "case.overdue_supervised": "逾期未办结（期限 {due}），转督办室督办",
        "case.feedback_overdue_supervised": "逾期未向联络员反馈（期限 {due}），转督办室督办",
        "case.deadline_recomputed": "工作日历调整，期限改为 {due}{reason_part}",
        "case.extension_overruled": "{by} 撤销延期，期限恢复为 {due}{reason_part}",
        "case.reminded": "{by} 发送到期提醒短信",
        "case.answered": "{by} 答复{note_part}",
        "case.importance_changed": "{by} 将案件由「{previous}」改标为「{importance}」{reason_part}",
        "case.fed_back": "{by} 已向联络员反馈（{method}）",
        "case.closed": "{by} {via_part}评价「{satisfaction}」，案件办结",
        "case.rated_dissatisfied": "{by} {via_part}评价「不满意」，退回{target}重办{due_part}",
        "unit.criticism_flagged": "{unit} 同一案件连续 {returns} 次被退回，列入通报批评",
        "case.decision_recorded": "{by} 记录{decided_by}研究决定（{decided_on}）{text_part}，交 {units} 落实",
        "case.decision_answered": "{by} 记录{decided_by}研究决定（{decided_on}）{text_part}，据此答复",
        "case.implementation_assigned": "{by} 交 {unit} 落实研究决定{due_part}",
        "case.implementation_result_filed": "{by} 代表 {unit} 报送书面落实情况",
        "case.implementation_accepted": "{by} 审核通过 {unit} 的落实情况",
        "case.implementation_returned": "{by} 退回 {unit} 重新落实（{category}{reason_part}）{due_part}",
        "case.decision_carried_out": "{decided_by}研究决定已全部落实（{units}），案件答复",
        "case.visit_scheduled": "{by} 安排 {day} {method}回访（{visitors}）",
        "case.visit_done": "{by} 回访：{outcome}{note_part}",
        "case.visit_came_back": "{by} 回访发现问题反弹，退回{target}重办{due_part}",
        "case.visit_cancelled": "{by} 取消回访{reason_part}",
        "case.public_concern": "{by} 列为群众普遍关心问题，撰写公告「{subject}」",
        "case.notice_published": "{by} 登记公告于 {day} 在{outlet}发布",
        "": "{by} {action}",
    },
    EN: {
        "case.routed": "{by} took the case down ({channel}) and routed it to {leader}{reason_part}",
        "case.acknowledged": "{by} acknowledged the case{via_part}",
        "case.handling": "{by} is handling the case directly, due the same day{note_part}",
        "case.transferred": "{by} transferred the case to {unit}{due_part}",
        "case.result_filed": "{by} filed the written result for {unit}",
        "case.attachment_added": "{by} uploaded the signed and sealed scan {filename}",
        "case.result_accepted": "{by} accepted the result of {unit}",
        "case.returned_for_redo": "{by} returned the result to {unit} for redo "
                                  "({category}{reason_part}){due_part}",
        "case.bureau_meeting": "{by} referred the case to the bureau meeting{reason_part}; "
                               "it is supervised",
        "case.county": "{by} referred the case to the county committee and government"
                       "{reason_part}; it is supervised",
        "case.deadline_extended": "{by} extended the deadline to {due}{reason_part}",
        "case.overdue_supervised": "Overdue (deadline {due}): handed to the supervision office",
        "case.feedback_overdue_supervised": "Not fed back to the liaison by {due}: handed to the supervision office",
        "case.deadline_recomputed": "The working calendar changed: the deadline is now {due}"
                                    "{reason_part}",
        "case.extension_overruled": "{by} overruled the extension; the deadline is {due} again"
                                    "{reason_part}",
        "case.reminded": "{by} sent a deadline reminder by SMS",
        "case.answered": "{by} recorded the answer{note_part}",
        "case.importance_changed": "{by} marked the case \"{importance}\" instead of "
                                   "\"{previous}\"{reason_part}",
        "case.fed_back": "{by} fed the answer back to the liaison ({method})",
        "case.closed": "{by} rated the answer \"{satisfaction}\"{via_part}; the case is closed",
        "case.rated_dissatisfied": "{by} rated the answer \"dissatisfied\"{via_part}; "
                                   "back to {target} for redo{due_part}",
        "unit.criticism_flagged": "{unit} had the same case returned {returns} times in a row: "
                                  "flagged for a criticism notice",
        "case.decision_recorded": "{by} recorded the decision of {decided_by} ({decided_on})"
                                  "{text_part}; carried out by {units}",
        "case.decision_answered": "{by} recorded the decision of {decided_by} ({decided_on})"
                                  "{text_part} as the answer",
        "case.implementation_assigned": "{by} asked {unit} to carry out the decision{due_part}",
        "case.implementation_result_filed": "{by} filed {unit}'s written result on carrying "
                                            "out the decision",
        "case.implementation_accepted": "{by} accepted how {unit} carried out the decision",
        "case.implementation_returned": "{by} returned {unit}'s result to carry out the decision "
                                        "again ({category}{reason_part}){due_part}",
        "case.decision_carried_out": "The decision of {decided_by} is carried out ({units}); "
                                     "the case is answered",
        "case.visit_scheduled": "{by} scheduled a follow-up visit ({method}) on {day}: {visitors}",
        "case.visit_done": "{by} made the follow-up visit: {outcome}{note_part}",
        "case.visit_came_back": "{by} found on the follow-up visit that the problem has come "
                                "back; back to {target} for redo{due_part}",
        "case.visit_cancelled": "{by} cancelled the follow-up visit{reason_part}",
        "case.public_concern": "{by} marked the case of wide public concern, in the notice "
                               "\"{subject}\"",
        "case.notice_published": "{by} recorded the notice as published by {outlet} on {day}",
        "": "{by}: {action}",
    },
}

WORDS: dict[str, dict[str, str]] = {
    ZH: {
        # channels
        "voicemail": "留言", "phone": "值班电话来电", "in_person": "来访", "leader": "领导转来的反映",
        # feedback methods
        "method.phone": "电话", "method.written": "书面", "method.sms": "短信",
        "method.in_person": "当面",
        # satisfaction
        "satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意",
        # return categories
        "format": "格式不全", "quality": "答非所问", "category.dissatisfied": "联络员不满意",
        "via.sms": "短信", "system": "系统", "the_leader": "联线领导",
        "bureau_meeting": "局务会议", "county": "县委、县政府", "unit_separator": "、",
        "importance.normal": "一般", "importance.important": "重要事项",
        "importance.instruction": "领导批示件",
        "item_separator": "、",
        # follow-up visits
        "outcome.solved": "问题已解决", "outcome.partly_solved": "问题部分解决",
        "outcome.came_back": "问题反弹",
    },
    EN: {
        "voicemail": "voicemail", "phone": "a call to the duty phone", "in_person": "in person",
        "leader": "through the leader",
        "method.phone": "phone", "method.written": "written", "method.sms": "SMS",
        "method.in_person": "in person",
        "satisfied": "satisfied", "basically_satisfied": "basically satisfied",
        "dissatisfied": "dissatisfied",
        "format": "incomplete format", "quality": "evasive answer",
        "category.dissatisfied": "liaison dissatisfied",
        "via.sms": "by SMS", "system": "The system", "the_leader": "the leader",
        "bureau_meeting": "the bureau meeting", "county": "the county", "unit_separator": ", ",
        "importance.normal": "normal", "importance.important": "important",
        "importance.instruction": "leader's instruction",
        "item_separator": ", ",
        "outcome.solved": "solved", "outcome.partly_solved": "partly solved",
        "outcome.came_back": "come back",
    },
}

# Stripped from the end of a reason or note, which the sentence continues after.
TRAILING_PUNCTUATION = "。．.，,；;：:、！!？? "

# Audit labels of system parts, which sign rows without a person's name.
SYSTEM_LABELS = ("twilio", "worker", "system", "cli")


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case's history: when, who, the audit action, its details and the sentence."""

    at: datetime
    actor: str
    action: str
    text: str
    details: dict = field(default_factory=dict)


def normalize_language(language: str | None) -> str:
    """Return zh-CN or en-US for a language tag or Babel locale (zh_CN, en-US, en…)."""
    return ZH if (language or ZH).lower().replace("_", "-").startswith("zh") else EN


def describe_event(action: str, actor: str, details: dict | None, language: str = ZH,
                   tz: str = BUREAU_TIMEZONE) -> str:
    """Write one case audit row as a sentence in the given language."""
    language = normalize_language(language)
    details = dict(details or {})
    template = SENTENCES[language].get(action, SENTENCES[language][""])
    values = _parts(action, actor, details, language, ZoneInfo(tz))
    return template.format(**values)


def list_case_history(session: Session, case: Case, language: str = ZH,
                      tz: str = BUREAU_TIMEZONE) -> list[HistoryEntry]:
    """Return a case's history, oldest first, each entry with its sentence."""
    entries = []
    for event in list_events(session, "cases", case.id):
        actor = actor_name(event, language)
        details = {key: value for key, value in (event.after or {}).items() if key != "by"}
        entries.append(HistoryEntry(event.at, actor, event.action,
                                    describe_event(event.action, actor, details, language, tz),
                                    details))
    return entries


def actor_name(event: AuditEvent, language: str = ZH) -> str:
    """Return who signed an audit row: the person's name, or "系统"/"The system"."""
    name = (event.after or {}).get("by")
    if name:
        return name
    label = event.actor or ""
    if label.split(":", 1)[0] in SYSTEM_LABELS:
        return WORDS[normalize_language(language)]["system"]
    # "user:alice" or "sms:+86…" without a name: the label is still attributable.
    return label.split(":", 1)[-1]


def _parts(action: str, actor: str, details: dict, language: str, tz: ZoneInfo) -> dict:
    words = WORDS[language]
    zh = language == ZH
    sep = "：" if zh else ": "
    due = _when(details.get("due"), language, tz)
    # A typed reason often ends with its own full stop; the sentence goes on after it
    # ("…研究：需集体研究，列入督办", not "需集体研究。，列入督办").
    reason = (details.get("reason") or "").strip().rstrip(TRAILING_PUNCTUATION).strip()
    note = (details.get("note") or "").strip().rstrip(TRAILING_PUNCTUATION).strip()
    due_part = ""
    if due:
        due_part = f"，限 {due} 前反馈" if zh else f", result due {due}"
    category = details.get("category") or ""
    category_key = "category.dissatisfied" if category == "dissatisfied" else category
    via_part = ""
    if details.get("via") == "sms":
        via_part = words["via.sms"] if zh else f" {words['via.sms']}"
    target = ""
    if action in ("case.rated_dissatisfied", "case.visit_came_back"):
        # Back to whoever answered: the unit (its name), the meeting or county, or the leader.
        if details.get("unit"):
            target = f" {details['unit']} " if zh else details["unit"]
        elif details.get("status") in ("bureau_meeting", "county"):
            target = words[details["status"]]
        else:
            target = words["the_leader"]
    text = (details.get("text") or "").strip().rstrip(TRAILING_PUNCTUATION).strip()
    units = (words["unit_separator"]).join(details.get("units") or [])
    if action == "case.routed":
        reason_part = (f"（{reason}）" if zh else f" ({reason})") if reason else ""
    else:
        reason_part = f"{sep}{reason}" if reason else ""
    return {
        "by": actor,
        "action": action,
        "channel": words.get(details.get("channel") or "", details.get("channel") or ""),
        "leader": details.get("leader") or "",
        "unit": details.get("unit") or "",
        "due": due,
        "due_part": due_part,
        "note_part": f"{sep}{note}" if note else "",
        "reason_part": reason_part,
        "category": words.get(category_key, category),
        "method": words.get(f"method.{details.get('method')}", details.get("method") or ""),
        "satisfaction": words.get(details.get("satisfaction") or "",
                                  details.get("satisfaction") or ""),
        "via_part": via_part,
        "target": target,
        "returns": details.get("returns", ""),
        "filename": details.get("filename") or "",
        "decided_by": details.get("decided_by") or "",
        "decided_on": _day(details.get("decided_on"), language),
        "text_part": f"{sep}{text}" if text else "",
        "units": units,
        "importance": words.get(f"importance.{details.get('importance')}", ""),
        "previous": words.get(f"importance.{details.get('previous')}", ""),
        "day": details.get("due_on") or details.get("published_on") or "",
        "visitors": words["item_separator"].join(details.get("visitors") or []),
        "outcome": words.get(f"outcome.{details.get('outcome')}", details.get("outcome") or ""),
        "subject": details.get("subject") or "",
        "outlet": details.get("outlet") or "",
    }


def _day(value, language: str) -> str:
    if not value:
        return ""
    day = datetime.fromisoformat(str(value))
    return f"{day.year}年{day.month}月{day.day}日" if language == ZH else f"{day.day} {day:%b} {day.year}"


def _when(value, language: str, tz: ZoneInfo) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return str(value)
    local = moment.astimezone(tz)
    clock = f"{local:%H:%M}"
    if clock == "00:00":
        # "Due the same day" is stored as the next midnight; people read it as that day, 24:00.
        local, clock = local - timedelta(days=1), "24:00"
    if language == ZH:
        return f"{local.month}月{local.day}日 {clock}"
    return f"{local.day} {local:%b} {clock}"


__all__ = ["HistoryEntry", "describe_event", "list_case_history", "actor_name",
           "normalize_language", "SENTENCES"]
