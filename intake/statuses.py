"""Status enums and their allowed transitions.

Call (one voicemail)::

    RINGING ──► RECORDED ──► QUEUED ──► TRANSCRIBING ──► DRAFT ──► CONFIRMED
       │            ▲  │        ▲  ▲          │  │          │          ▲
       │            │  └────────┘  └──────────┘  └► FAILED ─┴──────────┤
       └──► NO_MESSAGE ────────────────────────────────────────────────┘

    RECORDED stays put when Redis is down; the reconciler moves it to QUEUED later.
    A TRANSCRIBING call whose worker died goes back to QUEUED (retry).
    The live transcript (issue 22) drafts a call at hang-up, usually before the recording
    callback (RINGING ─► DRAFT) and at the latest before the batch decode finishes
    (RECORDED, QUEUED or TRANSCRIBING ─► DRAFT); whichever path drafts first wins, once.

Live transcript of a call (Call.live_state; none while no worker decodes the call live)::

    (none) ─► STREAMING ─┬─► DRAFTED   the live decode drafted the call at hang-up
                         └─► BROKEN    the stream broke off (socket, worker, Redis, no speech)
                                       or the recording drafted it first: the batch path drafts

Case (one confirmed message, from routing to the liaison's rating)::

    ROUTED ─► ACKNOWLEDGED ─┬─► HANDLING ───────────────┐
       │                    ├─► TRANSFERRED ◄─┐          │
       └────────────────────┤        │        │ redo     ├─► ANSWERED ─► FED_BACK ─► CLOSED
                            │        ▼        │          │
                            │   RESULT_FILED ─┴──────────┤
                            ├─► BUREAU_MEETING ──────────┤
                            └─► COUNTY ──────────────────┤
                                   │                     │
       BUREAU_MEETING | COUNTY ─► DECISION_IMPLEMENTING ─┘

    A decision of the bureau meeting or the county with implementations moves the case to
    DECISION_IMPLEMENTING; each implementation has its own small machine (ImplementationStatus)
    and the case is ANSWERED when the last one is accepted. A decision with none answers directly.

    A leader may act without acknowledging first, so ROUTED also leads straight on.
    A dissatisfied rating (不满意) sends a FED_BACK case back to whoever answered it: the
    unit (TRANSFERRED), the leader (HANDLING), the bureau meeting or the county.
    A follow-up visit (回访) that finds the problem has come back sends a CLOSED case back
    the same way, under the same rules (intake.cases.feedback.send_back_for_redo).
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
    CallStatus.RINGING: frozenset(
        {CallStatus.RECORDED, CallStatus.NO_MESSAGE, CallStatus.DRAFT}
    ),
    CallStatus.RECORDED: frozenset({CallStatus.QUEUED, CallStatus.DRAFT}),
    CallStatus.QUEUED: frozenset({CallStatus.TRANSCRIBING, CallStatus.FAILED, CallStatus.DRAFT}),
    CallStatus.TRANSCRIBING: frozenset(
        {CallStatus.DRAFT, CallStatus.FAILED, CallStatus.QUEUED}
    ),
    CallStatus.DRAFT: frozenset({CallStatus.CONFIRMED, CallStatus.QUEUED}),
    CallStatus.FAILED: frozenset({CallStatus.CONFIRMED, CallStatus.QUEUED}),
    CallStatus.NO_MESSAGE: frozenset({CallStatus.CONFIRMED, CallStatus.RECORDED}),
    CallStatus.CONFIRMED: frozenset(),
}


class LiveState(str, Enum):
    """How far a call's live transcript got; see the diagram above."""

    STREAMING = "streaming"
    DRAFTED = "drafted"
    BROKEN = "broken"


LIVE_TRANSITIONS: dict[LiveState | None, frozenset[LiveState]] = {
    None: frozenset({LiveState.STREAMING}),
    LiveState.STREAMING: frozenset({LiveState.DRAFTED, LiveState.BROKEN}),
    LiveState.DRAFTED: frozenset(),
    LiveState.BROKEN: frozenset(),
}


class DraftPath(str, Enum):
    """Which path wrote a call's draft: the live stream or the recording (batch)."""

    LIVE = "live"
    BATCH = "batch"


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
    # A decision of the meeting or the county is being carried out by units (督促落实).
    # Its value is short: statuses are stored in 20-character columns.
    DECISION_IMPLEMENTING = "implementing"
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
    # TRANSFERRED -> TRANSFERRED: the leader reassigns the case to another unit.
    CaseStatus.TRANSFERRED: frozenset(
        {CaseStatus.RESULT_FILED, CaseStatus.BUREAU_MEETING, CaseStatus.TRANSFERRED}),
    CaseStatus.RESULT_FILED: frozenset(
        {CaseStatus.ANSWERED, CaseStatus.TRANSFERRED, CaseStatus.BUREAU_MEETING}
    ),
    CaseStatus.BUREAU_MEETING: frozenset(
        {CaseStatus.ANSWERED, CaseStatus.COUNTY, CaseStatus.DECISION_IMPLEMENTING}),
    CaseStatus.COUNTY: frozenset({CaseStatus.ANSWERED, CaseStatus.DECISION_IMPLEMENTING}),
    CaseStatus.DECISION_IMPLEMENTING: frozenset({CaseStatus.ANSWERED}),
    CaseStatus.ANSWERED: frozenset({CaseStatus.FED_BACK}),
    CaseStatus.FED_BACK: frozenset({CaseStatus.CLOSED, CaseStatus.HANDLING, CaseStatus.TRANSFERRED,
                                    CaseStatus.BUREAU_MEETING, CaseStatus.COUNTY}),
    # Only a follow-up visit (回访) that found the problem back reopens a closed case.
    CaseStatus.CLOSED: frozenset({CaseStatus.HANDLING, CaseStatus.TRANSFERRED,
                                  CaseStatus.BUREAU_MEETING, CaseStatus.COUNTY}),
}


# A case in these states is still being worked on: past its deadline it is overdue.
WORKING_STATES = frozenset({CaseStatus.ROUTED, CaseStatus.ACKNOWLEDGED, CaseStatus.HANDLING,
                            CaseStatus.TRANSFERRED})


class ImplementationStatus(str, Enum):
    """One unit's implementation of a decision, supervised like a transfer::

        ASSIGNED ─► RESULT_FILED ─┬─► ACCEPTED
            ▲                     │
            └──── returned ───────┘
    """

    ASSIGNED = "assigned"
    RESULT_FILED = "result_filed"
    ACCEPTED = "accepted"


IMPLEMENTATION_TRANSITIONS: dict[ImplementationStatus, frozenset[ImplementationStatus]] = {
    ImplementationStatus.ASSIGNED: frozenset({ImplementationStatus.RESULT_FILED}),
    ImplementationStatus.RESULT_FILED: frozenset(
        {ImplementationStatus.ACCEPTED, ImplementationStatus.ASSIGNED}),
    ImplementationStatus.ACCEPTED: frozenset(),
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


class CaseChannel(str, Enum):
    """How a case reached the duty room."""

    VOICEMAIL = "voicemail"
    PHONE = "phone"  # a live call the duty phone answered
    IN_PERSON = "in_person"
    LEADER = "leader"  # the liaison told their leader directly


class Satisfaction(str, Enum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class FeedbackMethod(str, Enum):
    PHONE = "phone"
    WRITTEN = "written"
    SMS = "sms"
    IN_PERSON = "in_person"


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    RETURNED = "returned"


class ReturnCategory(str, Enum):
    FORMAT = "format"  # the written result lacks a prescribed element
    QUALITY = "quality"  # the answer evades the question
    DISSATISFIED = "dissatisfied"  # the liaison is not satisfied


class SupervisionCause(str, Enum):
    ESCALATION_BUREAU = "escalation_bureau"
    ESCALATION_COUNTY = "escalation_county"
    OVERDUE = "overdue"


class DeadlineKind(str, Enum):
    SAME_DAY = "same_day"  # direct handling
    TRANSFER = "transfer"  # three working days for a unit
    REDO = "redo"  # a returned result, three working days again
    EXTENSION = "extension"  # an explained new deadline
    OVERRULED = "overruled"  # the supervision office set aside an extension
    RECOMPUTED = "recomputed"  # a calendar entry changed the working days counted
    FEEDBACK = "feedback"  # the leader feeds back to the liaison, by the next working day's end


class NotificationKind(str, Enum):
    CASE_ROUTED = "case_routed"  # to the leader
    URGENT_ALERT = "urgent_alert"  # to on-duty leaders
    UNIT_TRANSFER = "unit_transfer"  # to the unit a case was transferred to
    UNIT_IMPLEMENTATION = "unit_implementation"  # to a unit handed a decision to carry out
    UNIT_RETURN = "unit_return"  # to the unit whose result was returned
    FEEDBACK = "feedback"  # the leader's answer to the liaison, by SMS
    RATING_REQUEST = "rating_request"  # asks the liaison to reply 1, 2 or 3
    UNIT_REMINDER = "unit_reminder"  # a unit's result is due tomorrow or today
    LEADER_REMINDER = "leader_reminder"  # a same-day case not yet answered, at 16:00
    OVERDUE_DIGEST = "overdue_digest"  # the supervision office's morning list
    CONTACT_REMINDER = "contact_reminder"  # a member still owes liaison calls this month
    URGENT_ESCALATION = "urgent_escalation"  # an urgent alert nobody acknowledged, one level up
    EXTENSION_NOTICE = "extension_notice"  # tells the supervision office of an extension
    EXTENSION_OVERRULED = "extension_overruled"  # tells who asked that the office overruled it
    WEEKLY_DIGEST = "weekly_digest"  # the previous week's analysis, Monday mornings
    UNIT_CHASE = "unit_chase"  # 催办: past the deadline, one a working day
    LEADER_RESULT_FILED = "leader_result_filed"  # the unit filed its result (三.3)
    LEADER_RESULT_ACCEPTED = "leader_result_accepted"  # the office accepted it: feed back now
    FEEDBACK_REMINDER = "feedback_reminder"  # to the leader, 16:00 on the day feedback is due
    RATING_REMINDER = "rating_reminder"  # to a liaison silent 2 working days after feedback
    BULLETIN_READY = "bulletin_ready"  # to the supervision office: a scheduled 通报 is kept
    VISIT_REMINDER = "visit_reminder"  # to each visitor, on the day of a follow-up visit (回访)


class ReminderKind(str, Enum):
    """What the sweep sent; with (subject, day) the key that makes it send each thing once."""

    UNIT_DUE_TOMORROW = "unit_due_tomorrow"
    UNIT_DUE_TODAY = "unit_due_today"
    LEADER_SAME_DAY = "leader_same_day"
    OVERDUE_DIGEST = "overdue_digest"
    CONTACT_DUTY = "contact_duty"
    URGENT_ESCALATION = "urgent_escalation"
    WEEKLY_DIGEST = "weekly_digest"
    UNIT_CHASE = "unit_chase"  # 催办: a unit past its deadline, each working day until it answers
    FEEDBACK_DUE_TODAY = "feedback_due_today"  # a leader whose feedback is due today, at 16:00
    RATING_REMINDER = "rating_reminder"  # a liaison who has not rated, once per feedback
    BULLETIN_READY = "bulletin_ready"  # a supervision account, once per kept scheduled bulletin
    VISIT_DUE = "visit_due"  # a visitor whose follow-up visit (回访) is today, once per visit


class CommendationKind(str, Enum):
    LETTER = "letter"  # 表扬信
    BANNER = "banner"  # 锦旗
    MEDIA = "media"  # 媒体表扬


class BulletinPeriod(str, Enum):
    """The periods a scheduled bulletin (定期督察通报) covers; a kept one never changes state."""

    MONTH = "month"  # 月度通报, on the first working day of the next month
    QUARTER = "quarter"  # 季度通报, on the first working day of the next quarter


class CaseImportance(str, Enum):
    """How much weight a case carries; anything but NORMAL missing a deadline is 问责 ground 1."""

    NORMAL = "normal"
    IMPORTANT = "important"  # 重要事项
    INSTRUCTION = "instruction"  # 领导批示件 (县、局领导批示)


class CensureKind(str, Enum):
    """The two registers the rules keep on units and people (四.5 and 四.6)."""

    CRITICISM = "criticism"  # 通报批评
    ACCOUNTABILITY = "accountability"  # 问责


class CensureGround(str, Enum):
    """The grounds of the rules, in their order: six for criticism, four for accountability."""

    RETURNED_THREE_TIMES = "returned_three_times"  # 四.5(1) returned three times in a row
    NOT_CARRIED_OUT = "not_carried_out"  # 四.5(2)
    LATE_UNEXPLAINED = "late_unexplained"  # 四.5(3) late, without explaining in time
    FALSE_REPORT = "false_report"  # 四.5(4)
    DUTY_FAILURE = "duty_failure"  # 四.5(5) the duty room
    IMPROPER_CONDUCT = "improper_conduct"  # 四.5(6)
    IMPORTANT_MATTER_LATE = "important_matter_late"  # 四.6(1) incl. 县、局领导批示件
    BUCK_PASSING = "buck_passing"  # 四.6(2)
    ABUSE_OF_OFFICE = "abuse_of_office"  # 四.6(3)
    CHASED_WITHOUT_RESULT = "chased_without_result"  # 四.6(4) 多次催办仍不办理、不反馈


G = CensureGround
GROUNDS_BY_KIND: dict[CensureKind, tuple[CensureGround, ...]] = {
    CensureKind.CRITICISM: (G.RETURNED_THREE_TIMES, G.NOT_CARRIED_OUT, G.LATE_UNEXPLAINED,
                            G.FALSE_REPORT, G.DUTY_FAILURE, G.IMPROPER_CONDUCT),
    CensureKind.ACCOUNTABILITY: (G.IMPORTANT_MATTER_LATE, G.BUCK_PASSING, G.ABUSE_OF_OFFICE,
                                 G.CHASED_WITHOUT_RESULT),
}


class CensureStatus(str, Enum):
    """A censure on a register::

        (system proposes) PROPOSED ─┬─► CONFIRMED ─► WITHDRAWN
                                    └─► DISMISSED
        (office records)            CONFIRMED

    Only CONFIRMED is published (reports, bulletin, supervision home, API).
    """

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    WITHDRAWN = "withdrawn"


CENSURE_TRANSITIONS: dict[CensureStatus, frozenset[CensureStatus]] = {
    CensureStatus.PROPOSED: frozenset({CensureStatus.CONFIRMED, CensureStatus.DISMISSED}),
    CensureStatus.CONFIRMED: frozenset({CensureStatus.WITHDRAWN}),
    CensureStatus.DISMISSED: frozenset(),
    CensureStatus.WITHDRAWN: frozenset(),
}


class VisitStatus(str, Enum):
    """A follow-up visit (回访) on a closed case::

        SCHEDULED ─┬─► DONE        (the visitor recorded the outcome)
                   └─► CANCELLED
    """

    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


VISIT_TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    VisitStatus.SCHEDULED: frozenset({VisitStatus.DONE, VisitStatus.CANCELLED}),
    VisitStatus.DONE: frozenset(),
    VisitStatus.CANCELLED: frozenset(),
}


class VisitMethod(str, Enum):
    PHONE = "phone"  # 电话回访
    IN_PERSON = "in_person"  # 上门回访


class VisitOutcome(str, Enum):
    """What the visitor found (三.4)."""

    SOLVED = "solved"  # 问题已解决
    PARTLY_SOLVED = "partly_solved"  # 部分解决
    CAME_BACK = "came_back"  # 问题反弹: the case is reopened for redo, as after 不满意


class NoticeStatus(str, Enum):
    """A public notice (公告) on cases of wide public concern (群众普遍关心)::

        DRAFT ─► PUBLISHED    (the office recorded where and when it appeared)
          └────► WITHDRAWN
    """

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


NOTICE_TRANSITIONS: dict[NoticeStatus, frozenset[NoticeStatus]] = {
    NoticeStatus.DRAFT: frozenset({NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN}),
    # PUBLISHED -> PUBLISHED: the same notice carried by one more outlet.
    NoticeStatus.PUBLISHED: frozenset({NoticeStatus.PUBLISHED}),
    NoticeStatus.WITHDRAWN: frozenset(),
}
