"""Status enums and their allowed transitions.

Call (one voicemail)::

    RINGING ──► RECORDED ──► QUEUED ──► TRANSCRIBING ──► DRAFT ──► CONFIRMED
       │            ▲  │        ▲  ▲          │  │          │          ▲
       │            │  └────────┘  └──────────┘  └► FAILED ─┴──────────┤
       └──► NO_MESSAGE ────────────────────────────────────────────────┘

    RECORDED stays put when Redis is down; the reconciler moves it to QUEUED later.
    A TRANSCRIBING call whose worker died goes back to QUEUED (retry).

Case (one confirmed message, from routing to the liaison's rating)::

    ROUTED ─► ACKNOWLEDGED ─┬─► HANDLING ───────────────┐
       │                    ├─► TRANSFERRED ◄─┐          │
       └────────────────────┤        │        │ redo     ├─► ANSWERED ─► FED_BACK ─► CLOSED
                            │        ▼        │          │
                            │   RESULT_FILED ─┴──────────┤
                            ├─► BUREAU_MEETING ──────────┤
                            └─► COUNTY ──────────────────┘

    A leader may act without acknowledging first, so ROUTED also leads straight on.
"""
from __future__ import annotations

from enum import Enum


class CallStatus(str, Enum):
    RINGING = "ringing"
    RECORDED = "recorded"
    QUEUED = "queued"
    TRANSCRIBING = "transcribing"
    DRAFT = "draft"
    FAILED = "failed"
    NO_MESSAGE = "no_message"
    CONFIRMED = "confirmed"


CALL_TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.RINGING: frozenset({CallStatus.RECORDED, CallStatus.NO_MESSAGE}),
    CallStatus.RECORDED: frozenset({CallStatus.QUEUED}),
    CallStatus.QUEUED: frozenset({CallStatus.TRANSCRIBING, CallStatus.FAILED}),
    CallStatus.TRANSCRIBING: frozenset(
        {CallStatus.DRAFT, CallStatus.FAILED, CallStatus.QUEUED}
    ),
    CallStatus.DRAFT: frozenset({CallStatus.CONFIRMED, CallStatus.QUEUED}),
    CallStatus.FAILED: frozenset({CallStatus.CONFIRMED, CallStatus.QUEUED}),
    CallStatus.NO_MESSAGE: frozenset({CallStatus.CONFIRMED, CallStatus.RECORDED}),
    CallStatus.CONFIRMED: frozenset(),
}


class FailureCode(str, Enum):
    """Why a call is not (yet) transcribed; the dashboard translates each code."""

    DOWNLOAD_REFUSED = "download_refused"  # host not allowed, 4xx, too large or too slow
    DOWNLOAD_FAILED = "download_failed"  # network trouble outlasted every retry
    UNREADABLE_AUDIO = "unreadable_audio"  # empty, truncated or corrupt file
    TOO_LONG = "too_long"  # over MAX_RECORDING_SECONDS
    JOB_FAILED = "job_failed"  # any other error, after every retry
    RETRYING = "retrying"  # a transient error; another attempt is scheduled
    WAITING_FOR_MODEL = "waiting_for_model"  # no worker with a speech model took it


class CaseStatus(str, Enum):
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    HANDLING = "handling"
    TRANSFERRED = "transferred"
    RESULT_FILED = "result_filed"
    BUREAU_MEETING = "bureau_meeting"
    COUNTY = "county"
    ANSWERED = "answered"
    FED_BACK = "fed_back"
    CLOSED = "closed"


_ACTIONS = {
    CaseStatus.HANDLING,
    CaseStatus.TRANSFERRED,
    CaseStatus.BUREAU_MEETING,
    CaseStatus.COUNTY,
}

CASE_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.ROUTED: frozenset({CaseStatus.ACKNOWLEDGED, *_ACTIONS}),
    CaseStatus.ACKNOWLEDGED: frozenset(_ACTIONS),
    CaseStatus.HANDLING: frozenset(
        {CaseStatus.ANSWERED, CaseStatus.TRANSFERRED, CaseStatus.BUREAU_MEETING}
    ),
    CaseStatus.TRANSFERRED: frozenset({CaseStatus.RESULT_FILED, CaseStatus.BUREAU_MEETING}),
    CaseStatus.RESULT_FILED: frozenset(
        {CaseStatus.ANSWERED, CaseStatus.TRANSFERRED, CaseStatus.BUREAU_MEETING}
    ),
    CaseStatus.BUREAU_MEETING: frozenset({CaseStatus.ANSWERED, CaseStatus.COUNTY}),
    CaseStatus.COUNTY: frozenset({CaseStatus.ANSWERED}),
    CaseStatus.ANSWERED: frozenset({CaseStatus.FED_BACK}),
    CaseStatus.FED_BACK: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


class NotificationStatus(str, Enum):
    """Twilio's message states, plus PENDING (not yet handed over) and OUTBOX (no account)."""

    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    OUTBOX = "outbox"


NOTIFICATION_FAILURES = frozenset({NotificationStatus.FAILED, NotificationStatus.UNDELIVERED})
# Twilio callbacks can arrive out of order; a state never moves back down this ladder.
NOTIFICATION_RANK = {
    NotificationStatus.PENDING: 0,
    NotificationStatus.OUTBOX: 1,
    NotificationStatus.QUEUED: 1,
    NotificationStatus.SENDING: 2,
    NotificationStatus.SENT: 3,
    NotificationStatus.DELIVERED: 4,
    NotificationStatus.UNDELIVERED: 4,
    NotificationStatus.FAILED: 4,
}


class Role(str, Enum):
    ADMIN = "admin"
    DUTY = "duty"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    UNIT = "unit"


class UnitKind(str, Enum):
    TOWNSHIP = "township"  # 乡镇卫生院
    COUNTY = "county"  # 县直医疗卫生单位
