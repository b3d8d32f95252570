"""The sweep: what the clock makes due, asked as a question, then applied once.

    due_work(session, now, calendar, rules)  ─► [OverdueCase | DueReminder ...]   reads only
    apply_work(session, work, now, context)  ─► SweepReport (SMS ids to dispatch)   writes, no commit

What is due at `now`, in the bureau's local time:

    any hour     a case past its deadline (still being worked on) opens a supervision entry
                 of cause "overdue", once per deadline (a unique key on the entry); a
                 transferred one also proposes criticism ground 3 (intake.rules.censures), as
                 nobody explained the delay before the deadline, and an important one
                 accountability ground 1;
                 an answered case not fed back by its feedback deadline likewise opens one
                 "overdue" entry for that deadline; so does a unit's implementation of a
                 decision past its own deadline (and proposes ground 3 against that unit);
                 an urgent call nobody acknowledged N minutes after its alert is sent to the
                 alerted leaders' superiors (reports_to), after 2N minutes to the bureau head
    07:00–22:00  reminders; outside these hours only urgent cases' (QUIET_FROM/QUIET_UNTIL)
      08:00–     a unit, one working day before its result is due and on the day itself
                 (a transfer, or its implementation of a decision: "implementation:ID")
      16:00–     a leader, for a same-day case not yet answered, and for an answered case
                 whose feedback to the liaison is due today
      09:00–     a liaison who has not rated 2 working days after the feedback: one reminder
                 (keyed to that day, so it goes once per feedback)
      08:00–     on a working day, the supervision office: a digest of the overdue cases
      08:00–     on a working day, each unit past its deadline: a chase (催办), counted; the
                 third proposes accountability ground 4
      09:00–     from the 25th, each member who still owes liaison calls that month
      09:00–     on Mondays, the supervision office: the previous week's analysis (民情周报)
      08:00–     on the first working day of a month, last month's bulletin (通报) is built and
                 kept, and of a quarter, last quarter's (intake.reports.archive); each
                 supervision-office account with a phone is told by SMS, with the archive's link
      08:00–     each visitor of a follow-up visit (回访) scheduled for today, once per visit

A reminder is kept as a Reminder row, unique on (kind, subject, day): the question leaves out
what is already on file, and the insert ignores a row another machine wrote meanwhile, so a
sweep run twice, or on two machines, sends each reminder once. A reminder due at a time the
sweep did not run (the worker was down) goes out at the next sweep of the same day.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.rules.censures import (PROPOSER, important_matter_facts, important_matter_key,
                                   late_unexplained_facts, late_unexplained_key)
from intake.clock import BUREAU_TIMEZONE, WorkingCalendar
from intake.directory.contacts import members_owing_contacts
from intake.outbox.links import base_url, page_link
from intake.store.models import (AuditEvent, Call, Case, CaseAssignment, Censure, CensureCase,
                                 FollowUpVisit, FollowUpVisitor, Leader, Liaison, Notification,
                                 Reminder, SupervisionEntry, Unit, User)
from intake.outbox.notifications import (MESSAGES, SmsContext, SmsDraft, compose_reminder,
                                         queue_sms_batch)
from intake.statuses import (WORKING_STATES, CaseImportance, CaseStatus, CensureGround,
                             CensureKind, CensureStatus, ImplementationStatus, NotificationKind,
                             ReminderKind, Role, SupervisionCause, VisitStatus)
from intake.cases.feedback import rating_reminder_day
from intake.cases.supervision import SUPERVISION_OFFICE, list_supervision_staff
from intake.reports.weekly import analyse_week, compose_weekly_digest, last_full_week
from intake.reports.archive import DueBulletin, due_bulletins, keep_bulletin, period_label
from intake.exceptions import Conflict
from intake.time.calendar import load_calendar

QUIET_FROM, QUIET_UNTIL = time(22, 0), time(7, 0)
UNIT_REMINDERS_FROM = time(8, 0)
LEADER_REMINDER_AT = time(16, 0)
DIGEST_FROM = time(8, 0)
CONTACT_REMINDER_DAY, CONTACT_REMINDER_FROM = 25, time(9, 0)
WEEKLY_DIGEST_DAY, WEEKLY_DIGEST_FROM = 0, time(9, 0)  # Monday (date.weekday())
RATING_REMINDER_FROM = time(9, 0)
VISIT_REMINDER_FROM = time(8, 0)
RATING_REMINDER_MIN_DAYS = 2  # calendar days no fewer than the working days counted
# The weekly digest lists fewer items rather than cost more than this many segments.
WEEKLY_DIGEST_SEGMENTS = 3
# Lists (the digest, the liaisons owed a call) are cut to fit this many SMS segments.
LIST_SEGMENTS = 2
# An urgent call older than this is no longer escalated: someone has long dealt with it.
URGENT_LOOKBACK = timedelta(days=2)
DEFAULT_ESCALATION_MINUTES = 10
SWEEPER = Actor("system:sweep", name="定时提醒")

_NOTIFICATION_KINDS = {
    ReminderKind.UNIT_DUE_TOMORROW: NotificationKind.UNIT_REMINDER,
    ReminderKind.UNIT_DUE_TODAY: NotificationKind.UNIT_REMINDER,
    ReminderKind.LEADER_SAME_DAY: NotificationKind.LEADER_REMINDER,
    ReminderKind.OVERDUE_DIGEST: NotificationKind.OVERDUE_DIGEST,
    ReminderKind.CONTACT_DUTY: NotificationKind.CONTACT_REMINDER,
    ReminderKind.URGENT_ESCALATION: NotificationKind.URGENT_ESCALATION,
    ReminderKind.WEEKLY_DIGEST: NotificationKind.WEEKLY_DIGEST,
    ReminderKind.UNIT_CHASE: NotificationKind.UNIT_CHASE,
    ReminderKind.FEEDBACK_DUE_TODAY: NotificationKind.FEEDBACK_REMINDER,
    ReminderKind.RATING_REMINDER: NotificationKind.RATING_REMINDER,
    ReminderKind.BULLETIN_READY: NotificationKind.BULLETIN_READY,
    ReminderKind.VISIT_DUE: NotificationKind.VISIT_REMINDER,
}
# The third chase past a deadline proposes accountability ground 4 (多次催办仍不办理、不反馈).
CHASES_FOR_ACCOUNTABILITY = 3
_LEADER_WAITING = (CaseStatus.ROUTED, CaseStatus.ACKNOWLEDGED, CaseStatus.HANDLING)


@dataclass(frozen=True)
class OverdueCase:
    """A case past its deadline with no overdue entry for that deadline yet."""

    case_id: int
    number: str
    deadline_at: datetime

    def to_json(self) -> dict:
        return {"work": "overdue", "case_id": self.case_id, "number": self.number,
                "deadline": self.deadline_at.isoformat()}


@dataclass(frozen=True)
class OverdueImplementation:
    """A unit's implementation of a decision past its deadline, its case with no entry for it."""

    case_id: int
    number: str
    deadline_at: datetime
    unit_id: int

    def to_json(self) -> dict:
        return {"work": "implementation_overdue", "case_id": self.case_id,
                "number": self.number, "deadline": self.deadline_at.isoformat(),
                "unit_id": self.unit_id}


@dataclass(frozen=True)
class FeedbackOverdue:
    """An answered case not fed back by its feedback deadline, with no overdue entry for it yet."""

    case_id: int
    number: str
    feedback_due_at: datetime

    def to_json(self) -> dict:
        return {"work": "feedback_overdue", "case_id": self.case_id, "number": self.number,
                "deadline": self.feedback_due_at.isoformat()}


@dataclass(frozen=True)
class DueReminder:
    """One SMS the clock makes due: its idempotency key, its recipient and what it says."""

    kind: ReminderKind
    subject: str
    day: date
    recipient: tuple[str, int]  # ("unit" | "leader" | "liaison" | "user", id)
    case_id: int | None = None
    call_id: int | None = None
    urgent: bool = False
    facts: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        facts = {key: (value.isoformat() if isinstance(value, datetime) else value)
                 for key, value in self.facts.items()}
        return {"work": "reminder", "kind": self.kind.value, "subject": self.subject,
                "day": self.day.isoformat(), "to": f"{self.recipient[0]}:{self.recipient[1]}",
                "case_id": self.case_id, "call_id": self.call_id, "urgent": self.urgent,
                "facts": facts}


@dataclass(frozen=True)
class DueProposal:
    """A censure the sweep would propose (criticism ground 3, accountability grounds 1 and 4).

    Only the dry run asks for these (`list_due_proposals`); the sweep itself proposes them as
    it opens the overdue entries and sends the chases, from the same rows.
    """

    kind: CensureKind
    ground: CensureGround
    number: str
    key: str
    unit_id: int | None = None
    person: str = ""

    def to_json(self) -> dict:
        return {"work": "proposal", "kind": self.kind.value, "ground": self.ground.value,
                "number": self.number, "unit_id": self.unit_id, "person": self.person or None,
                "key": self.key}


@dataclass(frozen=True)
class SweepContext:
    """What writing the reminders needs from the settings: links, language, time zone."""

    public_base_url: str | None = None
    language: str = "zh-CN"
    tz: str = BUREAU_TIMEZONE
    escalation_minutes: int = DEFAULT_ESCALATION_MINUTES

    @property
    def sms(self) -> SmsContext:
        return SmsContext.for_site(self.public_base_url, self.language, self.tz)


@dataclass
class SweepReport:
    """What one sweep did: entries opened, reminders sent, and the SMS to dispatch."""

    now: datetime
    overdue_opened: list[str] = field(default_factory=list)  # case numbers
    reminders: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sms: list[int] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)  # case numbers of censure proposals
    bulletins: list[int] = field(default_factory=list)  # ids of the bulletins kept

    @property
    def changed(self) -> bool:
        return bool(self.overdue_opened or self.reminders or self.proposed or self.bulletins)

    def to_json(self) -> dict:
        return {"now": self.now.isoformat(), "overdue_opened": len(self.overdue_opened),
                "overdue_cases": self.overdue_opened, "reminders": dict(self.reminders),
                "sms": len(self.sms), "censures_proposed": self.proposed,
                "bulletins_kept": self.bulletins}


# ---------------------------------------------------------------- the question
def due_work(session: Session, now: datetime, calendar: WorkingCalendar,
             context: SweepContext = SweepContext()
             ) -> list[OverdueCase | OverdueImplementation | FeedbackOverdue | DueReminder
                       | DueBulletin]:
    """Return what is due at `now` and not yet done: overdue entries, reminders, bulletins."""
    tz = ZoneInfo(context.tz)
    local = now.astimezone(tz)
    today, at = local.date(), local.time()
    quiet = at >= QUIET_FROM or at < QUIET_UNTIL
    overdue = [*list_new_overdue(session, now), *list_new_implementation_overdue(session, now),
               *list_new_feedback_overdue(session, now)]
    reminders = _urgent_escalations(session, now, tz, context.escalation_minutes)
    if at >= UNIT_REMINDERS_FROM:
        reminders += _unit_reminders(session, now, today, calendar, tz, quiet)
    if at >= LEADER_REMINDER_AT:
        reminders += _leader_reminders(session, now, today, tz, quiet)
        reminders += _feedback_reminders(session, now, today, tz, quiet)
    if not quiet and at >= RATING_REMINDER_FROM:
        reminders += _rating_reminders(session, now, today, calendar, tz)
    if not quiet and at >= DIGEST_FROM and calendar.is_working_day(today):
        reminders += _overdue_digest(session, now, today)
    if not quiet and at >= UNIT_REMINDERS_FROM and calendar.is_working_day(today):
        reminders += _unit_chases(session, now, today)
    if not quiet and today.day >= CONTACT_REMINDER_DAY and at >= CONTACT_REMINDER_FROM:
        reminders += _contact_reminders(session, today)
    if not quiet and today.weekday() == WEEKLY_DIGEST_DAY and at >= WEEKLY_DIGEST_FROM:
        reminders += _weekly_digest(session, now, today, context)
    if not quiet and at >= VISIT_REMINDER_FROM:
        reminders += _visit_reminders(session, today)
    sent = _sent_keys(session, {r.day for r in reminders})
    return [*overdue, *(r for r in reminders if (r.kind, r.subject, r.day) not in sent),
            *due_bulletins(session, now, calendar, context.tz)]


def list_due_proposals(session: Session, work: list, now: datetime) -> list[DueProposal]:
    """Return the censures a sweep applying `work` would propose and that are not on file.

    Criticism ground 1 (three returns in a row) is proposed at the third return itself, not
    by the sweep, so it is never here.
    """
    rows, cases_of = _late_proposal_rows(
        session, [w for w in work if isinstance(w, OverdueCase)], now)
    numbers = {key: case.number for key, (case, _kind, _ground) in cases_of.items()}
    chase_rows, chased = _chase_proposal_rows(
        [w for w in work if isinstance(w, DueReminder) and w.kind is ReminderKind.UNIT_CHASE],
        now)
    rows += chase_rows
    numbers.update({key: item.facts["number"] for key, item in chased.items()})
    keys = [row["proposal_key"] for row in rows]
    on_file = set(session.scalars(select(Censure.proposal_key).where(
        Censure.proposal_key.in_(keys)))) if keys else set()
    return [DueProposal(CensureKind(row["kind"]), CensureGround(row["ground"]),
                        numbers[row["proposal_key"]], row["proposal_key"], row.get("unit_id"),
                        row.get("person") or "")
            for row in rows if row["proposal_key"] not in on_file]


def list_new_overdue(session: Session, now: datetime) -> list[OverdueCase]:
    """Return the cases past the deadline in force that have no overdue entry for it."""
    entered = select(SupervisionEntry.id).where(
        SupervisionEntry.case_id == Case.id, SupervisionEntry.cause == SupervisionCause.OVERDUE,
        SupervisionEntry.deadline_at == Case.deadline_at)
    rows = session.execute(
        select(Case.id, Case.number, Case.deadline_at)
        .where(Case.status.in_(WORKING_STATES), Case.deadline_at < now, ~entered.exists())
        .order_by(Case.deadline_at, Case.id))
    return [OverdueCase(*row) for row in rows]


def _open_implementations():
    """Select the implementations still owing a result on cases whose decision is being carried out."""
    return (select(CaseAssignment.id, CaseAssignment.unit_id, CaseAssignment.due_at,
                   Case.id.label("case_id"), Case.number, Case.urgent)
            .join(Case, Case.id == CaseAssignment.case_id)
            .where(Case.status == CaseStatus.DECISION_IMPLEMENTING,
                   CaseAssignment.decision_id.is_not(None),
                   CaseAssignment.implementation_status == ImplementationStatus.ASSIGNED))


def list_new_implementation_overdue(session: Session, now: datetime) -> list[OverdueImplementation]:
    """Return the implementations past their deadline whose case has no overdue entry for it."""
    entered = select(SupervisionEntry.id).where(
        SupervisionEntry.case_id == Case.id, SupervisionEntry.cause == SupervisionCause.OVERDUE,
        SupervisionEntry.deadline_at == CaseAssignment.due_at)
    rows = session.execute(_open_implementations().where(
        CaseAssignment.due_at < now, ~entered.exists())
        .order_by(CaseAssignment.due_at, CaseAssignment.id))
    return [OverdueImplementation(row.case_id, row.number, row.due_at, row.unit_id)
            for row in rows]


def list_new_feedback_overdue(session: Session, now: datetime) -> list[FeedbackOverdue]:
    """Return the answered cases past their feedback deadline with no overdue entry for it."""
    entered = select(SupervisionEntry.id).where(
        SupervisionEntry.case_id == Case.id, SupervisionEntry.cause == SupervisionCause.OVERDUE,
        SupervisionEntry.deadline_at == Case.feedback_due_at)
    rows = session.execute(
        select(Case.id, Case.number, Case.feedback_due_at)
        .where(Case.status == CaseStatus.ANSWERED, Case.feedback_due_at < now, ~entered.exists())
        .order_by(Case.feedback_due_at, Case.id))
    return [FeedbackOverdue(*row) for row in rows]


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    # A deadline belongs to the day it falls in; midnight (a same-day deadline) ends the day
    # before, so the window is (start, end].
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def _unit_reminders(session, now, today, calendar, tz, quiet) -> list[DueReminder]:
    days = [(today, ReminderKind.UNIT_DUE_TODAY)]
    if calendar.is_working_day(today):
        days.append((calendar.add_working_days(today, 1), ReminderKind.UNIT_DUE_TOMORROW))
    out = []
    for due_day, kind in days:
        start, end = _day_bounds(due_day, tz)
        rows = session.execute(
            select(Case.id, Case.number, Case.deadline_at, Case.urgent)
            .where(Case.status == CaseStatus.TRANSFERRED, Case.deadline_at > start,
                   Case.deadline_at <= end, Case.deadline_at > now)).all()
        units = _current_units(session, [row.id for row in rows])
        for row in rows:
            if (quiet and not row.urgent) or row.id not in units:
                continue
            out.append(DueReminder(kind, f"case:{row.id}", today, ("unit", units[row.id]),
                                   case_id=row.id, urgent=row.urgent,
                                   facts={"number": row.number, "due": row.deadline_at}))
        for row in session.execute(_open_implementations().where(
                CaseAssignment.due_at > start, CaseAssignment.due_at <= end,
                CaseAssignment.due_at > now).order_by(CaseAssignment.id)):
            if quiet and not row.urgent:
                continue
            out.append(DueReminder(kind, f"implementation:{row.id}", today, ("unit", row.unit_id),
                                   case_id=row.case_id, urgent=row.urgent,
                                   facts={"number": row.number, "due": row.due_at}))
    return out


def _unit_chases(session, now, today) -> list[DueReminder]:
    """Return one chase (催办) per transferred case past its deadline, for this working day."""
    chases = _implementation_chases(session, now, today)
    rows = session.execute(
        select(Case.id, Case.number, Case.deadline_at, Case.urgent)
        .where(Case.status == CaseStatus.TRANSFERRED, Case.deadline_at < now)).all()
    if not rows:
        return chases
    units = _current_units(session, [row.id for row in rows])
    earlier = dict(session.execute(
        select(Reminder.case_id, func.count(Reminder.id))
        .join(Case, Case.id == Reminder.case_id)
        .where(Reminder.kind == ReminderKind.UNIT_CHASE, Reminder.day < today,
               Case.status == CaseStatus.TRANSFERRED, Case.deadline_at < now)
        .group_by(Reminder.case_id)).all())
    return [DueReminder(ReminderKind.UNIT_CHASE, f"case:{row.id}", today, ("unit", units[row.id]),
                        case_id=row.id, urgent=row.urgent,
                        facts={"number": row.number, "due": row.deadline_at,
                               "nth": earlier.get(row.id, 0) + 1, "unit_id": units[row.id]})
            for row in rows if row.id in units] + chases


def _implementation_chases(session, now, today) -> list[DueReminder]:
    """Return one chase per implementation of a decision past its deadline, for this working day."""
    rows = session.execute(_open_implementations().where(CaseAssignment.due_at < now)
                           .order_by(CaseAssignment.id)).all()
    if not rows:
        return []
    subjects = [f"implementation:{row.id}" for row in rows]
    earlier = dict(session.execute(
        select(Reminder.subject, func.count(Reminder.id))
        .where(Reminder.kind == ReminderKind.UNIT_CHASE, Reminder.day < today,
               Reminder.subject.in_(subjects))
        .group_by(Reminder.subject)).all())
    return [DueReminder(ReminderKind.UNIT_CHASE, subject, today, ("unit", row.unit_id),
                        case_id=row.case_id, urgent=row.urgent,
                        facts={"number": row.number, "due": row.due_at,
                               "nth": earlier.get(subject, 0) + 1, "unit_id": row.unit_id})
            for row, subject in zip(rows, subjects)]


def _current_units(session: Session, case_ids: list[int]) -> dict[int, int]:
    units: dict[int, int] = {}
    for start in range(0, len(case_ids), 1000):
        chunk = case_ids[start:start + 1000]
        for case_id, unit_id in session.execute(
                select(CaseAssignment.case_id, CaseAssignment.unit_id)
                .where(CaseAssignment.case_id.in_(chunk), CaseAssignment.decision_id.is_(None))
                .order_by(CaseAssignment.id)):
            units[case_id] = unit_id  # the latest transfer wins (implementations run beside)
    return units


def _leader_reminders(session, now, today, tz, quiet) -> list[DueReminder]:
    start, end = _day_bounds(today, tz)
    rows = session.execute(
        select(Case.id, Case.number, Case.caller_name, Case.leader_id, Case.urgent)
        .where(Case.status.in_(_LEADER_WAITING), Case.leader_id.is_not(None),
               Case.deadline_at > start, Case.deadline_at <= end, Case.deadline_at > now))
    return [DueReminder(ReminderKind.LEADER_SAME_DAY, f"case:{row.id}", today,
                        ("leader", row.leader_id), case_id=row.id, urgent=row.urgent,
                        facts={"number": row.number, "caller": row.caller_name})
            for row in rows if row.urgent or not quiet]


def _feedback_reminders(session, now, today, tz, quiet) -> list[DueReminder]:
    """Return one 16:00 reminder per answered case whose feedback falls due today."""
    start, end = _day_bounds(today, tz)
    rows = session.execute(
        select(Case.id, Case.number, Case.caller_name, Case.leader_id, Case.urgent,
               Case.feedback_due_at)
        .where(Case.status == CaseStatus.ANSWERED, Case.leader_id.is_not(None),
               Case.feedback_due_at > start, Case.feedback_due_at <= end,
               Case.feedback_due_at > now))
    return [DueReminder(ReminderKind.FEEDBACK_DUE_TODAY, f"case:{row.id}", today,
                        ("leader", row.leader_id), case_id=row.id, urgent=row.urgent,
                        facts={"number": row.number, "caller": row.caller_name,
                               "due": row.feedback_due_at})
            for row in rows if row.urgent or not quiet]


def _rating_reminders(session, now, today, calendar, tz) -> list[DueReminder]:
    """Return the one reminder owed to each liaison silent 2 working days after feedback.

    The reminder is keyed to the day it fell due, not to today, so a later sweep (a day on,
    or after the worker was down) finds it on file and sends nothing more.
    """
    # Two working days are at least two calendar days: only feedback given on or before the
    # day before yesterday is worth counting on the calendar.
    before = datetime.combine(today - timedelta(days=RATING_REMINDER_MIN_DAYS - 1), time(0),
                              tzinfo=tz)
    rows = session.execute(
        select(Case.id, Case.number, Case.liaison_id, Case.fed_back_at)
        .where(Case.status == CaseStatus.FED_BACK, Case.liaison_id.is_not(None),
               Case.fed_back_at < before))
    out = []
    for row in rows:
        due_day = rating_reminder_day(row.fed_back_at.astimezone(tz).date(), calendar)
        if due_day <= today:
            out.append(DueReminder(ReminderKind.RATING_REMINDER, f"case:{row.id}", due_day,
                                   ("liaison", row.liaison_id), case_id=row.id,
                                   facts={"number": row.number}))
    return out


def _overdue_digest(session, now, today) -> list[DueReminder]:
    """Return the office's morning digest: cases past their deadline, then answered cases the
    leader has not fed back by the feedback deadline (both go to the office, 三.3)."""
    late_implementation = select(CaseAssignment.id).where(
        CaseAssignment.case_id == Case.id, CaseAssignment.decision_id.is_not(None),
        CaseAssignment.implementation_status == ImplementationStatus.ASSIGNED,
        CaseAssignment.due_at < now)
    rows = session.execute(
        select(Case.id, Case.number).where(or_(
            and_(Case.status.in_(WORKING_STATES), Case.deadline_at < now),
            and_(Case.status == CaseStatus.DECISION_IMPLEMENTING, late_implementation.exists())))
        .order_by(Case.deadline_at, Case.id)).all()
    late_feedback = session.execute(
        select(Case.id, Case.number).where(Case.status == CaseStatus.ANSWERED,
                                           Case.feedback_due_at < now)
        .order_by(Case.feedback_due_at, Case.id)).all()
    if not rows and not late_feedback:
        return []
    staff = session.execute(
        select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True),
                              User.phone != "").order_by(User.id)).scalars()
    facts = {"numbers": [row.number for row in rows], "case_ids": [row.id for row in rows],
             "feedback_numbers": [row.number for row in late_feedback],
             "feedback_case_ids": [row.id for row in late_feedback]}
    return [DueReminder(ReminderKind.OVERDUE_DIGEST, f"user:{user_id}", today,
                        ("user", user_id), facts=facts) for user_id in staff]


def _contact_reminders(session, today) -> list[DueReminder]:
    day = today.replace(day=CONTACT_REMINDER_DAY)
    return [DueReminder(ReminderKind.CONTACT_DUTY, f"leader:{duty.leader_id}", day,
                        ("leader", duty.leader_id),
                        facts={"leader": duty.leader_name,
                               "names": [liaison["name"] for liaison in duty.owing]})
            for duty in members_owing_contacts(session, today) if duty.leader_phone]


def _weekly_digest(session, now, today, context: SweepContext) -> list[DueReminder]:
    """Return the previous week's digest for each supervision-office account not sent it today."""
    # Admins are left out: they keep the accounts and the directory, not the cases, and can
    # read the same analysis on the weekly page.
    staff = [user.id for user in list_supervision_staff(session)]
    sent = {subject for (subject,) in session.execute(
        select(Reminder.subject).where(Reminder.kind == ReminderKind.WEEKLY_DIGEST,
                                       Reminder.day == today))}
    staff = [user_id for user_id in staff if f"user:{user_id}" not in sent]
    if not staff:
        return []  # the analysis segments a week of transcripts: not on every sweep
    monday = last_full_week(today)
    analysis = analyse_week(session, monday, now=now, tz=context.tz)
    body = compose_weekly_digest(analysis, context.language, max_segments=WEEKLY_DIGEST_SEGMENTS)
    return [DueReminder(ReminderKind.WEEKLY_DIGEST, f"user:{user_id}", today, ("user", user_id),
                        facts={"week": monday.isoformat(), "body": body})
            for user_id in staff]


def _keep_bulletins(session, due: list[DueBulletin], now, context: SweepContext, actor: Actor,
                    calendar: WorkingCalendar, report: SweepReport) -> list[DueReminder]:
    """Keep each due bulletin as version 1; return the SMS owed to the office for those kept."""
    staff = [user.id for user in list_supervision_staff(session)]
    today = now.astimezone(ZoneInfo(context.tz)).date()
    owed = []
    for item in due:
        try:
            kept = keep_bulletin(session, item.kind, item.period, seen_version=0, now=now,
                                 calendar=calendar, actor=actor, tz=context.tz)
        except Conflict:
            continue  # another sweep kept it first: its SMS are that sweep's to send
        report.bulletins.append(kept.id)
        owed += [DueReminder(ReminderKind.BULLETIN_READY, f"bulletin:{kept.id}/user:{user_id}",
                             today, ("user", user_id),
                             facts={"kind": item.kind.value, "from": item.period.start,
                                    "to": item.period.end, "version": kept.version})
                 for user_id in staff]
    return owed


def _visit_reminders(session, today) -> list[DueReminder]:
    """Return one reminder per visitor of each follow-up visit scheduled for today."""
    rows = session.execute(
        select(FollowUpVisit.id, FollowUpVisit.case_id, FollowUpVisit.method, Case.number,
               User.id.label("user_id"), User.name, User.phone, User.leader_id)
        .join(Case, Case.id == FollowUpVisit.case_id)
        .join(FollowUpVisitor, FollowUpVisitor.visit_id == FollowUpVisit.id)
        .join(User, User.id == FollowUpVisitor.user_id)
        .where(FollowUpVisit.status == VisitStatus.SCHEDULED, FollowUpVisit.due_on == today,
               User.active.is_(True))
        .order_by(FollowUpVisit.id, User.id)).all()
    names = defaultdict(list)
    for row in rows:
        names[row.id].append(row.name)
    out = []
    for row in rows:
        # A leader's account often keeps its phone on the leader's directory entry.
        recipient = (("user", row.user_id) if row.phone or row.leader_id is None
                     else ("leader", row.leader_id))
        out.append(DueReminder(ReminderKind.VISIT_DUE, f"visit:{row.id}/user:{row.user_id}",
                               today, recipient, case_id=row.case_id,
                               facts={"number": row.number, "method": row.method.value,
                                      "visitors": names[row.id]}))
    return out


def _urgent_escalations(session, now, tz, minutes) -> list[DueReminder]:
    """Return the alerts owed one and two levels up for urgent calls nobody acknowledged."""
    case_acknowledged = select(Case.id).where(Case.call_id == Call.id,
                                              Case.acknowledged_at.is_not(None))
    calls = session.execute(
        select(Call.id, Call.reference, Call.started_at, Call.recorded_at, Call.from_number,
               Liaison.name.label("liaison"))
        .outerjoin(Liaison, Liaison.id == Call.liaison_id)
        .where(Call.urgent.is_(True), Call.urgent_acknowledged_at.is_(None),
               Call.started_at >= now - URGENT_LOOKBACK, ~case_acknowledged.exists())).all()
    if not calls:
        return []
    alerted: dict[int, set[int]] = defaultdict(set)
    first_alert: dict[int, datetime] = {}
    for call_id, leader_id, created_at in session.execute(
            select(Notification.call_id, Notification.leader_id, Notification.created_at)
            .where(Notification.call_id.in_([c.id for c in calls]),
                   Notification.kind == NotificationKind.URGENT_ALERT)):
        alerted[call_id].add(leader_id)
        first_alert[call_id] = min(created_at, first_alert.get(call_id, created_at))
    leaders = {row.id: row for row in session.execute(
        select(Leader.id, Leader.reports_to_id, Leader.is_head, Leader.phone)
        .where(Leader.active.is_(True)))}
    heads = {lid for lid, row in leaders.items() if row.is_head and row.phone}
    step = timedelta(minutes=minutes)
    out = []
    for call in calls:
        alerted_at = first_alert.get(call.id) or call.recorded_at or call.started_at
        waited = now - alerted_at
        if waited < step:
            continue
        already = alerted[call.id]
        superiors = {leaders[lid].reports_to_id for lid in already if lid in leaders} - {None}
        first = {lid for lid in superiors if lid in leaders and leaders[lid].phone} - already
        targets = first or (heads - already)  # no chain on file: straight to the head
        if waited >= 2 * step:
            targets |= heads - already
        caller = call.liaison or call.from_number or "未知号码"
        for leader_id in sorted(targets):
            out.append(DueReminder(
                ReminderKind.URGENT_ESCALATION, f"call:{call.id}/leader:{leader_id}",
                call.started_at.astimezone(tz).date(), ("leader", leader_id),
                call_id=call.id, urgent=True,
                facts={"caller": caller, "reference": call.reference,
                       "minutes": int(waited.total_seconds() // 60)}))
    return out


def _sent_keys(session: Session, days: set[date]) -> set[tuple]:
    if not days:
        return set()
    return {tuple(row) for row in session.execute(
        select(Reminder.kind, Reminder.subject, Reminder.day).where(Reminder.day.in_(days)))}


# ---------------------------------------------------------------- the side effect
def apply_work(session: Session, work: list, now: datetime, context: SweepContext,
               actor: Actor = SWEEPER, calendar: WorkingCalendar | None = None) -> SweepReport:
    """Open the overdue entries, queue the reminders and keep the bulletins due; the caller
    commits and dispatches."""
    report = SweepReport(now)
    bulletins = [w for w in work if isinstance(w, DueBulletin)]
    if bulletins:
        work = [*work, *_keep_bulletins(session, bulletins, now, context, actor,
                                        calendar or load_calendar(session), report)]
    _open_overdue_entries(session, [w for w in work if isinstance(w, OverdueCase)], now, report)
    _open_implementation_overdue_entries(
        session, [w for w in work if isinstance(w, OverdueImplementation)], now, report)
    _open_feedback_overdue_entries(
        session, [w for w in work if isinstance(w, FeedbackOverdue)], now, report)
    sent = _send_reminders(session, [w for w in work if isinstance(w, DueReminder)], now,
                           context, actor, report)
    _propose_after_chases(session, [i for i in sent if i.kind is ReminderKind.UNIT_CHASE],
                          now, report)
    if report.changed:
        session.flush()
        # The bulk inserts bypass the identity map; reload what a caller may hold.
        session.expire_all()
    return report


def run_sweep(session: Session, now: datetime, calendar: WorkingCalendar,
              context: SweepContext = SweepContext(), actor: Actor = SWEEPER) -> SweepReport:
    """Ask what is due at `now` and apply it (no commit)."""
    return apply_work(session, due_work(session, now, calendar, context), now, context, actor,
                      calendar)


def _dialect_insert(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model.__table__)


def _insert_new(session: Session, model, rows: list[dict], *returning):
    """Insert rows, skipping any that a unique key already holds; return the new rows' columns."""
    if not rows:
        return []
    statement = _dialect_insert(session, model).on_conflict_do_nothing().returning(*returning)
    return session.execute(statement, rows).all()


def _open_overdue_entries(session, overdue: list[OverdueCase], now, report) -> None:
    if not overdue:
        return
    principal = SUPERVISION_OFFICE
    by_id = {o.case_id: o for o in overdue}
    opened = set()
    # The database copies each case's deadline itself (INSERT … SELECT): after a long
    # holiday thousands of cases fall overdue together, and a statement per row would not
    # keep the sweep within its two seconds.
    ids = list(by_id)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        columns = ["case_id", "cause", "reason", "deadline_at", "opened_at", "opened_by",
                   "decision"]
        source = select(Case.id, literal(SupervisionCause.OVERDUE.value), literal(""),
                        Case.deadline_at, literal(now, SupervisionEntry.opened_at.type),
                        literal(principal.label), literal("")).where(
            Case.id.in_(chunk), Case.status.in_(WORKING_STATES), Case.deadline_at < now)
        statement = (_dialect_insert(session, SupervisionEntry).from_select(columns, source)
                     .on_conflict_do_nothing().returning(SupervisionEntry.case_id))
        opened.update(session.scalars(statement))
    _audit_cases(session, principal.actor, "case.overdue_supervised", now, [
        (o.case_id, {"by": principal.name, "due": o.deadline_at.isoformat()})
        for o in overdue if o.case_id in opened])
    report.overdue_opened.extend(o.number for o in overdue if o.case_id in opened)
    _propose_late_unexplained(session, [o for o in overdue if o.case_id in opened], now, report)


def _open_feedback_overdue_entries(session, overdue: list[FeedbackOverdue], now,
                                   report) -> None:
    """Open one "overdue" entry per missed feedback deadline (the unique key keeps it once)."""
    if not overdue:
        return
    principal = SUPERVISION_OFFICE
    made = _insert_new(session, SupervisionEntry, [
        {"case_id": o.case_id, "cause": SupervisionCause.OVERDUE.value, "reason": "",
         "deadline_at": o.feedback_due_at, "opened_at": now, "opened_by": principal.label,
         "decision": ""} for o in overdue], SupervisionEntry.case_id)
    opened = {row.case_id for row in made}
    _audit_cases(session, principal.actor, "case.feedback_overdue_supervised", now, [
        (o.case_id, {"by": principal.name, "due": o.feedback_due_at.isoformat()})
        for o in overdue if o.case_id in opened])
    report.overdue_opened.extend(o.number for o in overdue if o.case_id in opened)


def _open_implementation_overdue_entries(session, overdue: list[OverdueImplementation], now,
                                         report) -> None:
    """Open one "overdue" entry per case and missed implementation deadline; propose ground 3
    (and, on an important case, accountability ground 1) against each unit that missed it."""
    if not overdue:
        return
    principal = SUPERVISION_OFFICE
    made = _insert_new(session, SupervisionEntry, [
        {"case_id": o.case_id, "cause": SupervisionCause.OVERDUE.value, "reason": "",
         "deadline_at": o.deadline_at, "opened_at": now, "opened_by": principal.label,
         "decision": ""} for o in {(o.case_id, o.deadline_at): o for o in overdue}.values()],
        SupervisionEntry.case_id, SupervisionEntry.deadline_at)
    opened = {(row.case_id, row.deadline_at) for row in made}
    fresh = [o for o in overdue if (o.case_id, o.deadline_at) in opened]
    _audit_cases(session, principal.actor, "case.overdue_supervised", now, [
        (o.case_id, {"by": principal.name, "due": o.deadline_at.isoformat(),
                     "unit_id": o.unit_id}) for o in fresh])
    report.overdue_opened.extend(dict.fromkeys(o.number for o in fresh))
    _propose_late_unexplained(session, fresh, now, report)


def _propose_late_unexplained(session, overdue: list[OverdueCase | OverdueImplementation], now,
                              report) -> None:
    """Propose what a missed deadline makes automatic, for the cases that just missed one.

    Criticism ground 3 for a transferred case: a deadline in force that passes was not
    extended before it (an extension asked in time would have replaced it). Accountability
    ground 1 for a case marked important or a leader's instruction, against its unit or, not
    transferred, its leader. In bulk, like the entries: one proposal per (ground, case,
    deadline), kept once by the unique proposal key.
    """
    rows, cases_of = _late_proposal_rows(session, overdue, now)
    made = _insert_new(session, Censure, rows, Censure.id, Censure.proposal_key)
    if not made:
        return
    session.execute(insert(CensureCase.__table__), [
        {"censure_id": row.id, "case_id": cases_of[row.proposal_key][0].case_id} for row in made])
    session.execute(insert(AuditEvent.__table__), [
        {"at": now, "actor": PROPOSER.label, "actor_user_id": None,
         "action": f"{cases_of[row.proposal_key][1].value}.proposed",
         "entity_type": Censure.__tablename__, "entity_id": row.id, "before": None,
         "after": {"by": PROPOSER.name, "status": "proposed",
                   "ground": cases_of[row.proposal_key][2].value,
                   "cases": [cases_of[row.proposal_key][0].number]}} for row in made])
    report.proposed.extend(cases_of[row.proposal_key][0].number for row in made)


def _late_proposal_rows(session, overdue: list[OverdueCase], now) -> tuple[list[dict], dict]:
    """Return the censure rows a missed deadline proposes, and each key's (case, kind, ground)."""
    if not overdue:
        return [], {}
    facts = {row.id: row for row in session.execute(
        select(Case.id, Case.status, Case.importance, Leader.name.label("leader"))
        .outerjoin(Leader, Leader.id == Case.leader_id)
        .where(Case.id.in_([o.case_id for o in overdue])))}
    units = _current_units(session, [o.case_id for o in overdue])
    rows, cases_of = [], {}
    # An implementation names its unit; the keys name it too, as several units may miss the
    # same deadline of one case.
    blank = {"duty_room": False, "created_at": now, "created_by": PROPOSER.label,
             "decided_by": "", "decision_reason": "", "withdrawn_by": "", "withdraw_reason": "",
             "status": CensureStatus.PROPOSED.value}
    for o in overdue:
        case = facts.get(o.case_id)
        if case is None:
            continue
        unit_id = getattr(o, "unit_id", None) or units.get(o.case_id)
        suffix = f":unit:{o.unit_id}" if isinstance(o, OverdueImplementation) else ""
        transferred = unit_id is not None and (isinstance(o, OverdueImplementation)
                                               or case.status == CaseStatus.TRANSFERRED)
        if transferred:
            key = late_unexplained_key(o.case_id, o.deadline_at) + suffix
            cases_of[key] = (o, CensureKind.CRITICISM, CensureGround.LATE_UNEXPLAINED)
            rows.append({**blank, "kind": CensureKind.CRITICISM.value,
                         "ground": CensureGround.LATE_UNEXPLAINED.value,
                         "unit_id": unit_id, "person": "",
                         "facts": late_unexplained_facts(o.number), "proposal_key": key})
        importance = CaseImportance(case.importance or CaseImportance.NORMAL)
        if importance is not CaseImportance.NORMAL:
            key = important_matter_key(o.case_id, o.deadline_at) + suffix
            cases_of[key] = (o, CensureKind.ACCOUNTABILITY, CensureGround.IMPORTANT_MATTER_LATE)
            rows.append({**blank, "kind": CensureKind.ACCOUNTABILITY.value,
                         "ground": CensureGround.IMPORTANT_MATTER_LATE.value,
                         "unit_id": unit_id if transferred else None,
                         "person": "" if transferred else (case.leader or ""),
                         "facts": important_matter_facts(o.number, importance),
                         "proposal_key": key})
    return rows, cases_of


def _audit_cases(session, actor: Actor, action: str, now: datetime,
                 rows: list[tuple[int, dict]]) -> None:
    # Thousands of cases can fall overdue at once (after a holiday): one insert for all rows.
    if rows:
        # The table, not the entity: a plain executemany, which psycopg pipelines.
        session.execute(insert(AuditEvent.__table__), [
            {"at": now, "actor": actor.label, "actor_user_id": actor.user_id,
             "action": action, "entity_type": Case.__tablename__, "entity_id": case_id,
             "before": None, "after": after} for case_id, after in rows])


_RECIPIENTS = {"unit": Unit, "leader": Leader, "liaison": Liaison, "user": User}


def _send_reminders(session, items: list[DueReminder], now, context: SweepContext,
                    actor: Actor, report: SweepReport) -> list[DueReminder]:
    """Claim each reminder's key, then write its SMS, all in a few statements; return those sent."""
    phones = {}
    for party, model in _RECIPIENTS.items():
        wanted = {i.recipient[1] for i in items if i.recipient[0] == party}
        if wanted:
            phones.update({(party, rid): phone for rid, phone in session.execute(
                select(model.id, model.phone).where(model.id.in_(wanted))) if phone})
    items = [i for i in items if i.recipient in phones]
    claimed = {(row.kind, row.subject, row.day): row.id for row in _insert_new(
        session, Reminder, [{"kind": i.kind.value, "subject": i.subject, "day": i.day,
                             "case_id": i.case_id, "created_at": now} for i in items],
        Reminder.id, Reminder.kind, Reminder.subject, Reminder.day)}
    # Another sweep may have claimed some meanwhile: those are its to send.
    items = [i for i in items if (i.kind, i.subject, i.day) in claimed]
    drafts = [SmsDraft(_NOTIFICATION_KINDS[i.kind], _compose(i, context), i.recipient[0],
                       i.recipient[1], phones[i.recipient], i.case_id, i.call_id)
              for i in items]
    ids = queue_sms_batch(session, drafts, actor, now)
    if not ids:
        return []
    table = Reminder.__table__
    session.execute(update(table).where(table.c.id == bindparam("reminder_id"))
                    .values(notification_id=bindparam("notification_id")),
                    [{"reminder_id": claimed[(i.kind, i.subject, i.day)], "notification_id": nid}
                     for i, nid in zip(items, ids)])
    audit = []
    for item, draft, notification_id in zip(items, drafts, ids):
        report.reminders[item.kind.value] += 1
        if item.case_id:
            audit.append((item.case_id, {"by": actor.name, "kind": item.kind.value,
                                         "to": draft.to_number}))
        elif item.kind is ReminderKind.OVERDUE_DIGEST:
            # The digest names its cases in its own row; each of them already has its
            # "overdue" entry and event, and thousands of rows a morning would say no more.
            record_event(session, actor, "sms.digest", session.get(Notification, notification_id),
                         after={"kind": item.kind.value, "cases": item.facts["numbers"],
                                "feedback_late": item.facts.get("feedback_numbers", [])})
    _audit_cases(session, actor, "case.reminded", now, audit)
    report.sms.extend(ids)
    return items


def _propose_after_chases(session, chased: list[DueReminder], now, report) -> None:
    """Propose accountability ground 4 for each unit just chased for the third time on a case."""
    rows, sent = _chase_proposal_rows(chased, now)
    made = _insert_new(session, Censure, rows, Censure.id, Censure.proposal_key)
    if not made:
        return
    session.execute(insert(CensureCase.__table__), [
        {"censure_id": row.id, "case_id": sent[row.proposal_key].case_id} for row in made])
    session.execute(insert(AuditEvent.__table__), [
        {"at": now, "actor": PROPOSER.label, "actor_user_id": None,
         "action": "accountability.proposed", "entity_type": Censure.__tablename__,
         "entity_id": row.id, "before": None,
         "after": {"by": PROPOSER.name, "status": "proposed",
                   "ground": CensureGround.CHASED_WITHOUT_RESULT.value,
                   "cases": [sent[row.proposal_key].facts["number"]]}} for row in made])
    report.proposed.extend(sent[row.proposal_key].facts["number"] for row in made)


def _chase_proposal_rows(chased: list[DueReminder], now) -> tuple[list[dict], dict]:
    """Return the ground-4 rows the chases propose (the third and later), and each key's chase."""
    rows, sent = [], {}
    for item in chased:
        if item.facts["nth"] < CHASES_FOR_ACCOUNTABILITY:
            continue
        key = f"chased_without_result:case:{item.case_id}:unit:{item.facts['unit_id']}"
        sent[key] = item
        rows.append({"kind": CensureKind.ACCOUNTABILITY.value,
                     "ground": CensureGround.CHASED_WITHOUT_RESULT.value,
                     "status": CensureStatus.PROPOSED.value, "unit_id": item.facts["unit_id"],
                     "duty_room": False, "person": "",
                     "facts": f"案件 {item.facts['number']} 超期后已催办 {item.facts['nth']} 次仍未办理反馈",
                     "proposal_key": key, "created_at": now, "created_by": PROPOSER.label,
                     "decided_by": "", "decision_reason": "", "withdrawn_by": "",
                     "withdraw_reason": ""})
    return rows, sent


def _compose(item: DueReminder, context: SweepContext) -> str:
    language, facts = context.language, item.facts
    key = item.kind.value
    if item.kind is ReminderKind.UNIT_CHASE:
        return compose_reminder(key, language, number=facts["number"], nth=facts["nth"],
                                due=context.sms.due_text(facts["due"]),
                                link=page_link(context.public_base_url, "case", item.case_id))
    if item.kind in (ReminderKind.UNIT_DUE_TOMORROW, ReminderKind.UNIT_DUE_TODAY):
        return compose_reminder(key, language, number=facts["number"],
                                due=context.sms.due_text(facts["due"]),
                                link=page_link(context.public_base_url, "case", item.case_id))
    if item.kind is ReminderKind.FEEDBACK_DUE_TODAY:
        return compose_reminder(key, language, number=facts["number"], caller=facts["caller"],
                                due=context.sms.due_text(facts["due"]),
                                link=page_link(context.public_base_url, "case", item.case_id))
    if item.kind is ReminderKind.RATING_REMINDER:
        return compose_reminder(key, language, number=facts["number"])
    if item.kind is ReminderKind.VISIT_DUE:
        return compose_reminder(key, language, items=facts["visitors"],
                                max_segments=LIST_SEGMENTS, number=facts["number"],
                                method=MESSAGES[language][f"visit_{facts['method']}"],
                                link=page_link(context.public_base_url, "case", item.case_id))
    if item.kind is ReminderKind.LEADER_SAME_DAY:
        return compose_reminder(key, language, number=facts["number"], caller=facts["caller"],
                                link=page_link(context.public_base_url, "case", item.case_id))
    if item.kind is ReminderKind.OVERDUE_DIGEST:
        late = facts.get("feedback_numbers") or []
        if not late:
            return compose_reminder(key, language, items=facts["numbers"],
                                    max_segments=LIST_SEGMENTS,
                                    link=base_url(context.public_base_url) + "/")
        return compose_reminder(
            "overdue_digest_feedback" if facts["numbers"] else "feedback_late_digest", language,
            max_segments=LIST_SEGMENTS,
            items=[*facts["numbers"], *(compose_reminder("late_feedback_item", language, number=n)
                                        for n in late)],
            overdue=len(facts["numbers"]), late=len(late),
            link=base_url(context.public_base_url) + "/")
    if item.kind is ReminderKind.WEEKLY_DIGEST:
        return facts["body"]  # written when asked, from the week's analysis
    if item.kind is ReminderKind.BULLETIN_READY:
        return compose_reminder(key, language, version=facts["version"],
                                period=period_label(facts["kind"], facts["from"], language),
                                link=base_url(context.public_base_url) + "/bulletins")
    if item.kind is ReminderKind.CONTACT_DUTY:
        return compose_reminder(key, language, items=facts["names"],
                                max_segments=LIST_SEGMENTS, leader=facts["leader"])
    return compose_reminder(key, language, caller=facts["caller"],
                            reference=facts["reference"], minutes=facts["minutes"],
                            link=page_link(context.public_base_url, "call", item.call_id))


__all__ = ["due_work", "apply_work", "run_sweep", "list_new_overdue", "OverdueCase",
           "list_new_implementation_overdue", "OverdueImplementation",
           "list_new_feedback_overdue", "FeedbackOverdue",
           "DueReminder", "SweepContext", "SweepReport", "SWEEPER", "QUIET_FROM", "QUIET_UNTIL",
           "LEADER_REMINDER_AT", "CONTACT_REMINDER_DAY", "WEEKLY_DIGEST_FROM"]
