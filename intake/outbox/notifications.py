"""SMS notifications: composed here, sent through a Notifier that the app wires to Twilio.

Rows are written first (status PENDING) and handed to the Notifier by a job, so a send that
fails or a Redis outage loses nothing: the reconciler finds PENDING rows and sends them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.directory.roster import list_on_duty_leaders
from intake.exceptions import NotFound
from intake.store.text import first_sentence
from intake.outbox.links import page_link
from intake.store.models import (AuditEvent, Call, Case, Leader, Liaison, Notification, Unit, User,
                                 join_tokens, utcnow)
from intake.statuses import (NOTIFICATION_FAILURES, NOTIFICATION_RANK, NotificationKind,
                             NotificationStatus)

GSM7_SEGMENT, GSM7_MULTIPART = 160, 153
UCS2_SEGMENT, UCS2_MULTIPART = 70, 67
# SMS are handed to Twilio within seconds of their commit; one still waiting after this long
# means nothing sends them (no worker, no sender, Twilio unreachable).
SMS_PENDING_LIMIT = timedelta(minutes=5)
# A failure this recent means SMS are failing now, not that one failed last week.
SMS_FAILURE_WINDOW = timedelta(minutes=15)
SUMMARY_EXCERPT_CHARS = 20
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

MESSAGES = {
    "zh-CN": {
        "case_routed": "【民情联线】案件{number}：{caller}来电，{excerpt}。请查看并回复1确认收到：{link}",
        "urgent_alert": "【民情联线·急】{caller}来电留言（急事），编号{reference}。请立即处理，回复1确认接手：{link}",
        "urgent_alert_said": "【民情联线·急】{caller}来电留言（急事），编号{reference}：“{said}”。请立即处理，回复1确认接手：{link}",
        "unit_transfer": "【民情联线】案件{number}已转交贵单位办理，请于{due}前提交书面结果：{link}",
        "unit_implementation": "【民情联线】案件{number}：{decided_by}研究决定由贵单位落实，请于{due}前提交书面落实情况：{link}",
        "unit_return": "【民情联线】案件{number}的办理结果被退回重办（{reason}），请于{due}前重新提交：{link}",
        "feedback": "【民情联线】{leader}就您反映的问题（案件{number}）答复：{note}",
        "rating_request": "【民情联线】请评价案件{number}的办理情况，回复1满意、2基本满意、3不满意（可加案件号，如“1 {number}”）。",
        "unit_due_tomorrow": "【民情联线】提醒：案件{number}明天{due}到期，请按时提交书面结果：{link}",
        "unit_due_today": "【民情联线】提醒：案件{number}今天{due}到期，请尽快提交书面结果：{link}",
        "leader_same_day": "【民情联线】提醒：案件{number}（{caller}）须今日办结，尚未答复：{link}",
        "overdue_digest": "【民情联线】督办：超期未办结案件{count}件：{items}。详见{link}",
        "overdue_digest_feedback": "【民情联线】督办：超期未办结案件{overdue}件、逾期未向联络员反馈{late}件：{items}。详见{link}",
        "feedback_late_digest": "【民情联线】督办：逾期未向联络员反馈案件{late}件：{items}。详见{link}",
        "late_feedback_item": "{number}（未反馈）",
        "contact_duty": "【民情联线】{leader}，本月尚未联系的联络员：{items}，请于月底前联系。",
        "urgent_escalation": "【民情联线·急】{caller}的急事留言（编号{reference}）{minutes}分钟无人确认，请立即处理，回复1确认：{link}",
        "extension_notice": "【民情联线】案件{number}期限由{old}延至{new}，理由：{reason}。如不同意可驳回：{link}",
        "extension_overruled": "【民情联线】督办室驳回了案件{number}的延期，期限恢复为{due}，理由：{reason}。请按期办理：{link}",
        "unit_chase": "【民情联线】催办（第{nth}次）：案件{number}已超过办理期限{due}，请立即办理并提交书面结果：{link}",
        "leader_result_filed": "【民情联线】{unit}已就案件{number}提交书面办理结果，待督办室审核：{link}",
        "leader_result_accepted": "【民情联线】案件{number}的办理结果（{unit}）已获督办室采纳，请及时向联络员反馈：{link}",
        "feedback_due_today": "【民情联线】提醒：案件{number}须于{due}前向联络员{caller}反馈办理结果，尚未反馈：{link}",
        "rating_reminder": "【民情联线】您反映的问题（案件{number}）已答复，尚未收到您的评价。请回复1满意、2基本满意、3不满意（可加案件号，如“1 {number}”）。",
        "bulletin_ready": "【民情联线】{period}督察通报（第{version}版）已生成存档，可下载DOCX和PDF：{link}",
        "visit_due": "【民情联线】回访提醒：今天请对案件{number}进行{method}回访（{items}），回访后请登记结果：{link}",
        "visit_phone": "电话",
        "visit_in_person": "上门",
        "more_items": "等{count}项",
        "item_separator": "、",
    },
    "en-US": {
        "case_routed": "[Dutyline] Case {number}: {caller} called: {excerpt}. Reply 1 to acknowledge: {link}",
        "urgent_alert": "[Dutyline URGENT] {caller} left an urgent message, ref {reference}. Reply 1 to take it on: {link}",
        "urgent_alert_said": "[Dutyline URGENT] {caller} left an urgent message, ref {reference}: \"{said}\". Reply 1 to take it on: {link}",
        "unit_transfer": "[Dutyline] Case {number} was transferred to your unit; file the written result by {due}: {link}",
        "unit_implementation": "[Dutyline] Case {number}: your unit is to carry out the decision of {decided_by}; file the written result by {due}: {link}",
        "unit_return": "[Dutyline] The result for case {number} was returned for redo ({reason}); file again by {due}: {link}",
        "feedback": "[Dutyline] {leader} answers your message (case {number}): {note}",
        "rating_request": "[Dutyline] Please rate case {number}: reply 1 satisfied, 2 basically satisfied, 3 dissatisfied (you may add the case number, e.g. \"1 {number}\").",
        "unit_due_tomorrow": "[Dutyline] Reminder: case {number} is due tomorrow, {due}; file the written result in time: {link}",
        "unit_due_today": "[Dutyline] Reminder: case {number} is due today, {due}; file the written result: {link}",
        "leader_same_day": "[Dutyline] Reminder: case {number} ({caller}) is due today and not yet answered: {link}",
        "overdue_digest": "[Dutyline] Supervision: {count} overdue case(s): {items}. See {link}",
        "overdue_digest_feedback": "[Dutyline] Supervision: {overdue} overdue case(s), {late} not fed back to the liaison in time: {items}. See {link}",
        "feedback_late_digest": "[Dutyline] Supervision: {late} case(s) not fed back to the liaison in time: {items}. See {link}",
        "late_feedback_item": "{number} (feedback late)",
        "contact_duty": "[Dutyline] {leader}, liaisons you have not called this month: {items}. Please call them before the month ends.",
        "urgent_escalation": "[Dutyline URGENT] {caller}'s urgent message (ref {reference}) has not been acknowledged for {minutes} min. Reply 1 to take it on: {link}",
        "extension_notice": "[Dutyline] Case {number} was extended from {old} to {new}: {reason}. Overrule if you disagree: {link}",
        "extension_overruled": "[Dutyline] The supervision office overruled the extension of case {number}; the deadline is {due} again: {reason}. Please finish in time: {link}",
        "unit_chase": "[Dutyline] Chase no. {nth}: case {number} is past its deadline, {due}; act and file the written result now: {link}",
        "leader_result_filed": "[Dutyline] {unit} filed its written result for case {number}; the supervision office will review it: {link}",
        "leader_result_accepted": "[Dutyline] The result for case {number} ({unit}) was accepted by the supervision office; please feed back to the liaison: {link}",
        "feedback_due_today": "[Dutyline] Reminder: feed the answer to case {number} back to {caller} by {due}; not yet done: {link}",
        "rating_reminder": "[Dutyline] Your message (case {number}) was answered and we have no rating yet. Reply 1 satisfied, 2 basically satisfied, 3 dissatisfied (you may add the case number, e.g. \"1 {number}\").",
        "bulletin_ready": "[Dutyline] The supervision bulletin for {period} (version {version}) is built and kept; DOCX and PDF: {link}",
        "visit_due": "[Dutyline] Follow-up visit today: case {number}, {method} ({items}). Record what you find afterwards: {link}",
        "visit_phone": "by phone",
        "visit_in_person": "in person",
        "more_items": "and {count} more",
        "item_separator": ", ",
    },
}


@dataclass(frozen=True)
class SendReceipt:
    sid: str | None
    status: NotificationStatus


@dataclass(frozen=True)
class SmsContext:
    """What composing a case SMS needs from the app: links to case pages and the language."""

    case_link: Callable[[Case], str]
    language: str = "zh-CN"
    tz: str = "Asia/Shanghai"

    @classmethod
    def for_site(cls, public_base_url: str | None, language: str = "zh-CN",
                 tz: str = "Asia/Shanghai") -> "SmsContext":
        """Return the context whose links open the case page under PUBLIC_BASE_URL (or its fallback)."""
        return cls(lambda case: page_link(public_base_url, "case", case.id), language, tz)

    def due_text(self, due: datetime | None) -> str:
        """Write a deadline as the recipient reads it, in the bureau's time zone."""
        if due is None:
            return ""
        local = due.astimezone(ZoneInfo(self.tz))
        if self.language == "zh-CN":
            return f"{local.month}月{local.day}日 {local:%H:%M}"
        return f"{local:%d %b %H:%M}"


class Notifier(Protocol):
    """Sends one SMS. Raise an exception on a transient failure so the job retries."""

    def send_sms(self, to: str, body: str, status_callback: str | None) -> SendReceipt: ...


def count_segments(body: str) -> int:
    """Count SMS segments: 70 UCS-2 characters (67 when split) for Chinese, 160/153 for GSM-7."""
    if all(ch in _GSM7 for ch in body):
        single, multi = GSM7_SEGMENT, GSM7_MULTIPART
    else:
        single, multi = UCS2_SEGMENT, UCS2_MULTIPART
    length = len(body)
    if length <= single:
        return 1
    return -(-length // multi)


def compose_case_sms(case: Case, link: str, language: str) -> str:
    """Write the short SMS that tells a leader about a routed case."""
    return compose_routed_text(case.number, case.caller_name, case.caller_unit, case.summary,
                               link, language)


def compose_routed_text(number: str, caller_name: str, caller_unit: str, summary: str,
                        link: str, language: str) -> str:
    """Write the routed-case SMS from its parts (the confirm form previews it before a case exists)."""
    excerpt = summary.strip()[:SUMMARY_EXCERPT_CHARS]
    if len(summary.strip()) > SUMMARY_EXCERPT_CHARS:
        excerpt += "…"
    caller = caller_name.strip() + (f"（{caller_unit.strip()}）" if caller_unit.strip() else "")
    return MESSAGES[language]["case_routed"].format(
        number=number, caller=caller, excerpt=excerpt, link=link
    )


def preview_case_sms(caller_name: str, caller_unit: str, summary: str, link_base: str,
                     language: str, number: str) -> dict:
    """Return the SMS a confirmation would send, with its segment count, before confirming.

    `number` is the next free case number; the case's link gets its id only on confirm, so
    the preview shows a placeholder id of the same width.
    """
    body = compose_routed_text(number, caller_name, caller_unit, summary,
                               f"{link_base}/cases/000000", language)
    return {"body": body, "segments": count_segments(body), "chars": len(body),
            "number": number}


def compose_urgent_sms(call: Call, link: str, language: str) -> str:
    """Write the alert that an urgent message has just been recorded.

    Once there is text (the live transcript while the caller speaks, or the draft), the
    alert quotes its first sentence or so, so the leader knows what it is about at once.
    """
    caller = call.liaison.name if call.liaison else (call.from_number or "未知号码")
    said = first_sentence(join_tokens(call.transcript_text or call.live_text or ""))
    return MESSAGES[language]["urgent_alert_said" if said else "urgent_alert"].format(
        caller=caller, reference=call.reference, link=link, said=said
    )


def compose_urgent_sms_without_text(call: Call, link: str, language: str) -> str:
    """Write the urgent alert as it reads before anything was transcribed."""
    caller = call.liaison.name if call.liaison else (call.from_number or "未知号码")
    return MESSAGES[language]["urgent_alert"].format(caller=caller, reference=call.reference,
                                                     link=link)


def compose_unit_sms(kind: NotificationKind, case: Case, sms: SmsContext, reason: str = "",
                     due: datetime | None = None) -> str:
    """Write the SMS telling a unit about a case transferred to it or returned to it.

    `due` is the unit's own deadline when it is not the case's (a decision's implementation).
    """
    return MESSAGES[sms.language][kind.value].format(
        number=case.number, due=sms.due_text(due or case.deadline_at), reason=reason,
        link=sms.case_link(case))


def compose_implementation_sms(case: Case, decision, due: datetime, sms: SmsContext) -> str:
    """Write the SMS telling a unit it is to carry out a decision, and by when."""
    return MESSAGES[sms.language][NotificationKind.UNIT_IMPLEMENTATION.value].format(
        number=case.number, decided_by=decision.decided_by, due=sms.due_text(due),
        link=sms.case_link(case))


def compose_leader_result_sms(kind: NotificationKind, case: Case, sms: SmsContext,
                              unit=None) -> str:
    """Write the SMS telling the leader that a unit filed its result, or that it was accepted."""
    unit = unit or case.unit
    return MESSAGES[sms.language][kind.value].format(
        number=case.number, unit=unit.name if unit else "", link=sms.case_link(case))


def compose_feedback_sms(case: Case, note: str, language: str) -> str:
    """Write the leader's answer to the liaison, as it will be sent (and previewed)."""
    leader = case.leader.name if case.leader else ""
    return MESSAGES[language]["feedback"].format(leader=leader, number=case.number,
                                                 note=note.strip())


def compose_rating_request(case: Case, language: str) -> str:
    """Write the SMS asking the liaison to rate the answer with 1, 2 or 3."""
    return MESSAGES[language]["rating_request"].format(number=case.number)


def compose_reminder(key: str, language: str, items: list[str] | None = None,
                     max_segments: int = 1, **fields) -> str:
    """Write a reminder from its template, listing as many `items` as fit in `max_segments`.

    Items that do not fit are summed up ("等3项"), so a digest of forty overdue cases
    still costs the bureau at most `max_segments` SMS segments.
    """
    texts = MESSAGES[language]
    if items is None:
        return texts[key].format(**fields)
    shown = len(items)
    while True:
        listed = texts["item_separator"].join(items[:shown])
        if shown < len(items):
            listed += texts["more_items"].format(count=len(items) - shown)
        body = texts[key].format(items=listed, count=len(items), **fields)
        if shown <= 1 or count_segments(body) <= max_segments:
            return body
        shown -= 1


def fit_text(key: str, language: str, field: str, text: str, max_segments: int,
             **fields) -> str:
    """Write a template, shortening one free-text field ("…") until the SMS fits the segments."""
    text = text.strip()
    while True:
        body = MESSAGES[language][key].format(**{field: text}, **fields)
        if count_segments(body) <= max_segments or len(text) <= 1:
            return body
        text = text[:-2] + "…"


def queue_sms(session: Session, *, kind: NotificationKind | str, body: str, actor: Actor,
              leader: Leader | None = None, unit: Unit | None = None,
              liaison: Liaison | None = None, case: Case | None = None,
              call: Call | None = None, user: User | None = None) -> Notification | None:
    """Write an SMS to a leader, a unit, a liaison or a user as PENDING; a job sends it after commit.

    Returns None (and writes nothing) when the recipient has no phone number on file.
    """
    recipient = leader or unit or liaison or user
    if recipient is None or not recipient.phone:
        return None
    kind = NotificationKind(kind)
    notification = Notification(
        kind=kind, case=case, call_id=call.id if call else None,
        leader_id=leader.id if leader else None, unit_id=unit.id if unit else None,
        liaison_id=liaison.id if liaison else None, user_id=user.id if user else None,
        to_number=recipient.phone, body=body, segments=count_segments(body),
        status=NotificationStatus.PENDING,
    )
    session.add(notification)
    session.flush()
    record_event(session, actor, "sms.queued", notification,
                 after={"kind": kind.value, "to": recipient.phone,
                        "segments": notification.segments})
    return notification


@dataclass(frozen=True)
class SmsDraft:
    """One SMS to write in a batch: kind, body, the recipient's role and id, the case or call."""

    kind: NotificationKind
    body: str
    party: str  # "leader" | "unit" | "liaison" | "user"
    recipient_id: int
    to_number: str
    case_id: int | None = None
    call_id: int | None = None


def queue_sms_batch(session: Session, drafts: list[SmsDraft], actor: Actor,
                    now: datetime | None = None) -> list[int]:
    """Write many SMS as PENDING in one insert (the sweep's reminders); return their ids in order.

    The same rows and audit rows as queue_sms, for a caller that has already looked up
    each recipient's phone (and left out those without one).
    """
    if not drafts:
        return []
    now = now or utcnow()
    table = Notification.__table__
    rows = [{"kind": d.kind.value, "case_id": d.case_id, "call_id": d.call_id,
             "leader_id": None, "unit_id": None, "liaison_id": None, "user_id": None,
             f"{d.party}_id": d.recipient_id, "to_number": d.to_number, "body": d.body,
             "segments": count_segments(d.body), "status": NotificationStatus.PENDING.value,
             "attempts": 0, "created_at": now, "updated_at": now} for d in drafts]
    ids = list(session.scalars(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
    session.execute(insert(AuditEvent.__table__), [
        {"at": now, "actor": actor.label, "actor_user_id": actor.user_id, "action": "sms.queued",
         "entity_type": Notification.__tablename__, "entity_id": nid, "before": None,
         "after": {"kind": row["kind"], "to": row["to_number"], "segments": row["segments"]}}
        for nid, row in zip(ids, rows)])
    return ids


def deliver_notification(session: Session, notification_id: int, notifier: Notifier,
                         status_callback: str | None, actor: Actor) -> Notification:
    """Hand a PENDING SMS to the notifier once; a repeat call for a sent SMS does nothing."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound(f"notification {notification_id} does not exist")
    if notification.status != NotificationStatus.PENDING:
        return notification
    notification.attempts += 1
    receipt = notifier.send_sms(notification.to_number, notification.body, status_callback)
    before = notification.status
    notification.twilio_sid = receipt.sid
    notification.status = receipt.status
    notification.sent_at = utcnow()
    record_event(session, actor, "sms.handed_over", notification,
                 before={"status": before.value},
                 after={"status": receipt.status.value, "sid": receipt.sid})
    return notification


def record_delivery_status(session: Session, message_sid: str, status: str,
                           error_code: str | None, actor: Actor) -> Notification | None:
    """Apply a Twilio status callback; out-of-order or repeated callbacks never move back."""
    notification = session.scalar(
        select(Notification).where(Notification.twilio_sid == message_sid)
    )
    if notification is None:
        return None
    try:
        new_status = NotificationStatus(status)
    except ValueError:
        return notification
    if NOTIFICATION_RANK[new_status] <= NOTIFICATION_RANK[notification.status] and not (
        new_status in NOTIFICATION_FAILURES and notification.status == NotificationStatus.SENT
    ):
        return notification
    before = notification.status
    notification.status = new_status
    notification.error_code = error_code or None
    record_event(session, actor, "sms.status", notification,
                 before={"status": before.value},
                 after={"status": new_status.value, "error_code": error_code})
    return notification


def resend_notification(session: Session, notification: Notification, actor: Actor) -> Notification:
    """Queue a fresh copy of a failed SMS, to the recipient's current phone; the alert clears."""
    leader = session.get(Leader, notification.leader_id) if notification.leader_id else None
    unit = session.get(Unit, notification.unit_id) if notification.unit_id else None
    liaison = session.get(Liaison, notification.liaison_id) if notification.liaison_id else None
    call = session.get(Call, notification.call_id) if notification.call_id else None
    user = session.get(User, notification.user_id) if notification.user_id else None
    copy = queue_sms(session, kind=notification.kind, leader=leader, unit=unit, liaison=liaison,
                     body=notification.body, actor=actor, case=notification.case, call=call,
                     user=user)
    if copy is None:
        raise NotFound("the SMS has no recipient with a phone to resend to",
                       code="sms_no_recipient")
    notification.resent_as_id = copy.id
    record_event(session, actor, "sms.resent", notification, after={"copy_id": copy.id})
    return copy


def list_pending_notifications(session: Session) -> list[Notification]:
    return list(session.scalars(
        select(Notification).where(Notification.status == NotificationStatus.PENDING)
        .order_by(Notification.id)))


def list_failed_notifications(session: Session, limit: int = 20) -> list[Notification]:
    """Return SMS that did not arrive and have not been resent, newest first."""
    return list(session.scalars(
        select(Notification).where(Notification.status.in_(NOTIFICATION_FAILURES),
                                   Notification.resent_as_id.is_(None))
        .order_by(Notification.id.desc()).limit(limit)))


def judge_sms(session: Session, now: datetime) -> dict:
    """Tell whether SMS go out: none failed lately and none waits longer than a few minutes."""
    waiting = session.execute(
        select(func.count(Notification.id), func.min(Notification.created_at))
        .where(Notification.status == NotificationStatus.PENDING,
               Notification.created_at < now - SMS_PENDING_LIMIT)).one()
    failed = session.execute(
        select(func.count(Notification.id), func.max(Notification.updated_at))
        .where(Notification.status.in_(NOTIFICATION_FAILURES),
               Notification.resent_as_id.is_(None),
               Notification.updated_at >= now - SMS_FAILURE_WINDOW)).one()
    problems = ([f"{failed[0]} SMS failed in the last "
                 f"{int(SMS_FAILURE_WINDOW.total_seconds()) // 60} min"] if failed[0] else []) + (
        [f"{waiting[0]} SMS waiting longer than "
         f"{int(SMS_PENDING_LIMIT.total_seconds()) // 60} min"] if waiting[0] else [])
    return {"ok": not problems, "hint": "; ".join(problems) or None,
            "pending_too_long": waiting[0],
            "oldest_pending_at": waiting[1].isoformat() if waiting[1] else None,
            "failed_recently": failed[0],
            "last_failed_at": failed[1].isoformat() if failed[1] else None,
            "pending_limit_seconds": int(SMS_PENDING_LIMIT.total_seconds()),
            "failure_window_seconds": int(SMS_FAILURE_WINDOW.total_seconds())}


def list_case_notifications(session: Session, case_id: int) -> list[Notification]:
    """Return a case's SMS, oldest first, for its delivery history."""
    return list(session.scalars(
        select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)))


def get_notification(session: Session, notification_id: int) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound(f"notification {notification_id} does not exist")
    return notification


def raise_urgent_alert(session: Session, call: Call, link: str, language: str,
                       actor: Actor) -> list[Notification]:
    """Queue an immediate SMS to every on-duty leader (and the caller's own leader)."""
    leaders = {leader.id: leader for leader in list_on_duty_leaders(session)}
    if call.leader is not None and call.leader.active:
        leaders.setdefault(call.leader.id, call.leader)
    already = set(session.scalars(select(Notification.leader_id).where(
        Notification.call_id == call.id, Notification.kind == NotificationKind.URGENT_ALERT)))
    body = compose_urgent_sms(call, link, language)
    queued = [queue_sms(session, kind=NotificationKind.URGENT_ALERT, leader=leader, body=body,
                        actor=actor, call=call)
              for leader in leaders.values() if leader.id not in already]
    return [notification for notification in queued if notification is not None]


def quote_urgent_alert(session: Session, call: Call, link: str, language: str,
                       actor: Actor) -> list[Notification]:
    """Send the words to leaders whose urgent alert went out before there was any text.

    Each alerted leader gets at most one more alert, the one that quotes the first sentence;
    a leader whose alert already quoted it gets nothing.
    """
    body = compose_urgent_sms(call, link, language)
    if body == compose_urgent_sms_without_text(call, link, language):
        return []
    alerts = session.execute(select(Notification.leader_id, Notification.body).where(
        Notification.call_id == call.id, Notification.kind == NotificationKind.URGENT_ALERT,
        Notification.leader_id.is_not(None))).all()
    bodies: dict[int, list[str]] = {}
    for leader_id, sent in alerts:
        bodies.setdefault(leader_id, []).append(sent)
    blind = [leader_id for leader_id, sent in bodies.items()
             if all(text == compose_urgent_sms_without_text(call, link, language)
                    for text in sent)]
    queued = [queue_sms(session, kind=NotificationKind.URGENT_ALERT,
                        leader=session.get(Leader, leader_id), body=body, actor=actor, call=call)
              for leader_id in blind]
    return [notification for notification in queued if notification is not None]


def mark_notification_refused(session: Session, notification_id: int, error_code: str,
                              message: str, actor: Actor) -> Notification:
    """Mark an SMS that Twilio refused for good (bad number, opted out): no retry helps."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound(f"notification {notification_id} does not exist")
    before = notification.status
    notification.status = NotificationStatus.FAILED
    notification.error_code = error_code
    notification.error_message = message
    record_event(session, actor, "sms.refused", notification, before={"status": before.value},
                 after={"error_code": error_code, "message": message})
    return notification


def list_recent_notifications(session: Session, limit: int = 200) -> list[Notification]:
    """Return the latest SMS, newest first."""
    return list(session.scalars(select(Notification).order_by(Notification.id.desc()).limit(limit)))
