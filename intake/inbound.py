"""What happens when Twilio hands us an SMS reply (after a recording: intake.dispatch)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.audit import Actor
from intake.calls import find_liaison_by_number
from intake.cases import acknowledge_case, rate_satisfaction
from intake.models import Case, Leader
from intake.phones import to_e164
from intake.statuses import CaseStatus

ACK_WORDS = {"1", "已收到", "收到", "ok", "yes"}
RATING_WORDS = {
    "1": "satisfied", "满意": "satisfied",
    "2": "basically_satisfied", "基本满意": "basically_satisfied",
    "3": "dissatisfied", "不满意": "dissatisfied",
}
REPLIES = {
    "zh-CN": {"ack": "已确认收到案件{number}。", "rated": "感谢您的评价（案件{number}）。",
              "unknown": "未能识别您的回复。"},
    "en-US": {"ack": "Case {number} acknowledged.", "rated": "Thank you for rating case {number}.",
              "unknown": "Sorry, we did not understand your reply."},
}


def handle_inbound_sms(session: Session, from_number: str, body: str, message_sid: str,
                       actor: Actor, language: str) -> str | None:
    """Apply a leader's acknowledgement or a liaison's rating; return the reply text."""
    text = body.strip().lower()
    e164 = to_e164(from_number)
    replies = REPLIES[language]
    leader = session.scalar(select(Leader).where(Leader.phone == e164)) if e164 else None
    if leader is not None and text in ACK_WORDS:
        case = session.scalar(select(Case).where(
            Case.leader_id == leader.id, Case.acknowledged_at.is_(None)
        ).order_by(Case.id.desc()))
        if case is None:
            return None
        acknowledge_case(session, case, Actor(f"sms:{leader.phone}"), via="sms")
        return replies["ack"].format(number=case.number)
    liaison = find_liaison_by_number(session, from_number)
    if liaison is not None and text in RATING_WORDS:
        case = session.scalar(select(Case).where(
            Case.liaison_id == liaison.id, Case.status == CaseStatus.FED_BACK
        ).order_by(Case.id.desc()))
        if case is None:
            return None
        rate_satisfaction(session, case, RATING_WORDS[text], Actor(f"sms:{liaison.phone}"))
        return replies["rated"].format(number=case.number)
    return replies["unknown"] if (leader or liaison) else None
