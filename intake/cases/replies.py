"""What happens when Twilio hands us an SMS reply (after a recording: intake.calls.dispatch)."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.rules.access import sms_leader, sms_liaison
from intake.store.audit import Actor
from intake.cases.handling import acknowledge_case
from intake.calls.urgency import acknowledge_urgent_call, find_urgent_call_awaiting
from intake.clock import Clock, WorkingCalendar
from intake.exceptions import Conflict
from intake.cases.feedback import rate_case
from intake.time.calendar import load_calendar
from intake.store.models import Case, InboundMessage, Leader, Liaison
from intake.outbox.notifications import SmsContext
from intake.directory.phones import to_e164
from intake.statuses import CaseStatus

ACK_WORDS = {"1", "已收到", "收到", "ok", "yes"}
RATING_WORDS = {
    "1": "satisfied", "满意": "satisfied",
    "2": "basically_satisfied", "基本满意": "basically_satisfied",
    "3": "dissatisfied", "不满意": "dissatisfied",
}
CASE_NUMBER = re.compile(r"\d{4}-\d{6}")
REPLIES = {
    "zh-CN": {"ack": "已确认收到案件{number}。",
              "urgent_ack": "已确认您接手急事留言{reference}，不再向上级报告。", "rated": "感谢您的评价（案件{number}）。",
              "redo": "已收到您的评价，案件{number}将退回重新办理。",
              "which": "您有多个案件待评价（{numbers}），请回复评分加案件号，如“1 {numbers}”。",
              "no_case": "未找到待处理的案件{number}。", "nothing": "目前没有待处理的案件。",
              "already_rated": "案件{number}已有评价，本次回复未重复记录。",
              "already_acknowledged": "案件{number}已确认收到，无需再回复。",
              "unknown": "未能识别您的回复。"},
    "en-US": {"ack": "Case {number} acknowledged.",
              "urgent_ack": "You have taken on urgent message {reference}; it goes no further up.", "rated": "Thank you for rating case {number}.",
              "redo": "Thank you; case {number} goes back to be handled again.",
              "which": "Several cases await your rating ({numbers}); reply with the rating and the case number.",
              "no_case": "No open case {number} was found.", "nothing": "No case is waiting.",
              "already_rated": "Case {number} has already been rated; this reply was not counted.",
              "already_acknowledged": "Case {number} was already acknowledged.",
              "unknown": "Sorry, we did not understand your reply."},
}


@dataclass
class InboundReply:
    """What an inbound SMS did: the reply text (or None) and the SMS to enqueue after commit."""

    reply: str | None
    sms: list[int] = field(default_factory=list)


def handle_inbound_sms(session: Session, from_number: str, body: str, message_sid: str,
                       actor: Actor, language: str, clock: Clock | None = None,
                       calendar: WorkingCalendar | None = None,
                       sms: SmsContext | None = None) -> InboundReply:
    """Apply a leader's acknowledgement or a liaison's rating, once per MessageSid.

    A redelivered SMS (same MessageSid) changes nothing and gets the reply given the first
    time. A leader's reply may name its case number; a bare "1" acknowledges the oldest
    unacknowledged case and the reply says which. A liaison's "1"/"2"/"3" (optionally with
    the case number) rates the one case awaiting a rating; with several, the reply asks for
    the number. Nothing here commits.
    """
    clock = clock or Clock()
    calendar = calendar or load_calendar(session)
    sms = sms or SmsContext.for_site(None, language)
    if message_sid:
        seen = session.scalar(select(InboundMessage).where(InboundMessage.message_sid == message_sid))
        if seen is not None:
            return InboundReply(seen.reply)
    record = InboundMessage(message_sid=message_sid or f"local-{secrets.token_hex(8)}",
                            from_number=from_number[:40], body=body[:1000],
                            received_at=clock.now())
    try:
        # A savepoint, so that a concurrent delivery of the same MessageSid loses on the
        # unique constraint here instead of acting twice.
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        seen = session.scalar(select(InboundMessage).where(InboundMessage.message_sid == message_sid))
        return InboundReply(seen.reply if seen is not None else None)
    outcome, case, result = _apply_reply(session, from_number, body, language, clock, calendar, sms)
    record.outcome = outcome
    record.case_id = case.id if case is not None else None
    record.reply = result.reply
    return result


def _apply_reply(session, from_number, body, language, clock, calendar, sms):
    replies = REPLIES[language]
    words = body.strip().lower().split()
    word = words[0] if words else ""
    number = words[1].upper() if len(words) > 1 else None
    if number is None and len(words) == 1 and CASE_NUMBER.fullmatch(word.upper()):
        word, number = "1", word.upper()  # a bare case number reads as "received"
    e164 = to_e164(from_number)
    leader = session.scalar(select(Leader).where(Leader.phone == e164)) if e164 else None
    if leader is not None and word in ACK_WORDS:
        if not leader.active:
            return "leader_inactive", None, InboundReply(None)
        return _acknowledge_by_sms(session, leader, number, replies, clock)
    liaison = session.scalar(select(Liaison).where(Liaison.phone == e164)) if e164 else None
    if liaison is not None and word in RATING_WORDS:
        if not liaison.active:
            return "liaison_inactive", None, InboundReply(None)
        return _rate_by_sms(session, liaison, RATING_WORDS[word], number, replies, clock,
                            calendar, sms)
    if leader is not None or liaison is not None:
        return "not_understood", None, InboundReply(replies["unknown"])
    return "unknown_sender", None, InboundReply(None)


def _acknowledge_by_sms(session, leader: Leader, number, replies, clock):
    # A bare "1" answers an urgent alert first: it stops the alerts going up the chain.
    urgent = None if number is not None else find_urgent_call_awaiting(session, leader,
                                                                        clock.now())
    if urgent is not None:
        acknowledge_urgent_call(session, urgent, sms_leader(leader).actor, clock)
        return "urgent_acknowledged", None, InboundReply(
            replies["urgent_ack"].format(reference=urgent.reference))
    waiting = select(Case).where(Case.leader_id == leader.id, Case.acknowledged_at.is_(None))
    if number is not None:
        case = session.scalar(waiting.where(Case.number == number))
        if case is None:
            done = session.scalar(select(Case).where(Case.leader_id == leader.id,
                                                     Case.number == number))
            if done is not None:
                return "already_acknowledged", done, InboundReply(
                    replies["already_acknowledged"].format(number=number))
            return "no_such_case", None, InboundReply(replies["no_case"].format(number=number))
    else:
        case = session.scalar(waiting.order_by(Case.routed_at, Case.id).limit(1))
        if case is None:
            return "nothing_waiting", None, InboundReply(replies["nothing"])
    try:
        # A savepoint: when the page or the API acknowledged first, only this action is
        # undone; the message is still recorded, with its reply.
        with session.begin_nested():
            acknowledge_case(session, sms_leader(leader), case, clock, via="sms")
    except Conflict:
        return "conflict", case, InboundReply(
            replies["already_acknowledged"].format(number=case.number))
    return "acknowledged", case, InboundReply(replies["ack"].format(number=case.number))


def _rate_by_sms(session, liaison: Liaison, rating: str, number, replies, clock, calendar, sms):
    awaiting = select(Case).where(Case.liaison_id == liaison.id,
                                  Case.status == CaseStatus.FED_BACK)
    if number is not None:
        awaiting = awaiting.where(Case.number == number)
    cases = list(session.scalars(awaiting.order_by(Case.fed_back_at, Case.id)))
    if not cases:
        rated = _latest_rated_case(session, liaison, number)
        if rated is not None:
            # A second reply to the same request (another "1" or a change of mind, or two
            # replies racing): the first rating stands, and the liaison is told so.
            return "already_rated", rated, InboundReply(
                replies["already_rated"].format(number=rated.number))
        key = "no_case" if number else "nothing"
        return "nothing_to_rate", None, InboundReply(replies[key].format(number=number))
    if len(cases) > 1:
        numbers = "、".join(case.number for case in cases)
        return "ambiguous", None, InboundReply(replies["which"].format(numbers=numbers))
    case = cases[0]
    try:
        with session.begin_nested():
            outcome = rate_case(session, sms_liaison(liaison), case, rating, clock, calendar,
                                sms, via="sms")
    except Conflict:
        return "conflict", case, InboundReply(replies["already_rated"].format(number=case.number))
    key = "redo" if rating == "dissatisfied" else "rated"
    return "rated", case, InboundReply(replies[key].format(number=case.number), outcome.sms)


def _latest_rated_case(session, liaison: Liaison, number: str | None) -> Case | None:
    """Return the liaison's most recently rated case (the one named, when a number is given)."""
    rated = select(Case).where(Case.liaison_id == liaison.id, Case.satisfaction.is_not(None))
    if number is not None:
        rated = rated.where(Case.number == number)
    return session.scalar(rated.order_by(Case.fed_back_at.desc(), Case.id.desc()).limit(1))
