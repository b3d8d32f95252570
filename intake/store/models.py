"""Database models (SQLAlchemy 2.0 declarative, typed with Mapped[...]).

Idempotency is enforced by the database, not only by code: one Call per CallSid, one
recording per RecordingSid, one Case per Call, one Notification per Twilio MessageSid.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timezone
from enum import Enum as PyEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from intake.statuses import (BulletinPeriod, CallStatus, CaseChannel, CaseImportance, CaseStatus, CensureGround,
                             CensureKind,
                             CensureStatus, CommendationKind, DeadlineKind,
                             FeedbackMethod, ImplementationStatus, NotificationKind, NotificationStatus,
                             NoticeStatus, ReminderKind, ReturnCategory,
                             Role, Satisfaction, SupervisionCause, UnitKind, Verdict,
                             VisitMethod, VisitOutcome, VisitStatus, WORKING_STATES)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def _enum(enum_cls: type[PyEnum], length: int = 20) -> Enum:
    # Stored as plain strings (no native PostgreSQL enum) so adding a state is a code change.
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class Unit(Base):
    """A township health centre or county unit that handles transferred cases."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind), default=UnitKind.TOWNSHIP)
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Leader(Base):
    """A work-group member (联线领导) linked to a few liaisons; publishes a contact card."""

    __tablename__ = "leaders"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(32), index=True)  # E.164
    email: Mapped[str] = mapped_column(String(200), default="")
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)  # gets urgent alerts
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The member's superior, so an urgent matter can be reported up a chain; the head has none.
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)  # heads the work group
    liaisons: Mapped[list["Liaison"]] = relationship(back_populates="leader")
    reports_to: Mapped["Leader | None"] = relationship(remote_side="Leader.id")


class Liaison(Base):
    """A community liaison (民情联络员) who phones the hotline."""

    __tablename__ = "liaisons"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(32), unique=True)  # E.164
    work_unit: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    leader: Mapped[Leader | None] = relationship(back_populates="liaisons")


class User(Base):
    """A person who signs in to the dashboard."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped to end every session of the account: deactivation, a new password, or a
    # sign-out that could not be recorded per session.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    leader: Mapped[Leader | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is kept, like a password hash."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Call(Base):
    """One incoming call and its voicemail, from ringing to a confirmed case."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # spoken to the caller
    from_number: Mapped[str] = mapped_column(String(40), default="")
    from_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    to_number: Mapped[str] = mapped_column(String(40), default="")
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("liaisons.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_source: Mapped[str | None] = mapped_column(String(20))  # keypad | keyword | staff
    # An alerted leader took the urgent matter on; until then the sweep alerts up the chain.
    urgent_acknowledged_at: Mapped[datetime | None]
    urgent_acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[CallStatus] = mapped_column(_enum(CallStatus), default=CallStatus.RINGING)
    dial_status: Mapped[str | None] = mapped_column(String(20))
    recording_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_duration: Mapped[int | None] = mapped_column(Integer)
    recording_path: Mapped[str | None] = mapped_column(String(500))
    recording_bytes: Mapped[int | None] = mapped_column(Integer)
    transcript_text: Mapped[str | None] = mapped_column(Text)  # as the model emitted it
    transcript_corrected: Mapped[str | None] = mapped_column(Text)  # a person's correction
    words: Mapped[list | None] = mapped_column(JSON)
    extracted: Mapped[dict | None] = mapped_column(JSON)
    no_speech: Mapped[bool] = mapped_column(Boolean, default=False)
    model_name: Mapped[str | None] = mapped_column(String(120))
    model_version: Mapped[str | None] = mapped_column(String(120))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    failure_reason: Mapped[str | None] = mapped_column(Text)  # the detail, in English, for logs
    failure_code: Mapped[str | None] = mapped_column(String(40))  # a FailureCode, shown translated
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    recorded_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    transcription_started_at: Mapped[datetime | None]
    drafted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    twilio_deleted_at: Mapped[datetime | None]
    audio_purged_at: Mapped[datetime | None]
    # The live transcript (issue 22): a LiveState value, the text so far while the caller
    # speaks, and which path (a DraftPath value) wrote the draft.
    live_state: Mapped[str | None] = mapped_column(String(20))
    live_text: Mapped[str | None] = mapped_column(Text)
    live_started_at: Mapped[datetime | None]
    drafted_by: Mapped[str | None] = mapped_column(String(10))
    liaison: Mapped[Liaison | None] = relationship()
    leader: Mapped[Leader | None] = relationship()
    case: Mapped["Case | None"] = relationship(back_populates="call")

    __table_args__ = (
        Index("ix_calls_status_started", "status", "started_at"),
        # The inbox's order (urgent first, newest first): "all calls" pages walk this index
        # backwards instead of sorting the whole table.
        Index("ix_calls_urgent_started", "urgent", "started_at", "id"),
        # A search for a liaison's name reaches their calls through this (intake.calls.inbox).
        Index("ix_calls_liaison_started", "liaison_id", "started_at"),
    )

    @property
    def transcript_for_display(self) -> str:
        text = self.transcript_corrected or self.transcript_text or ""
        return join_tokens(text)


def join_tokens(tokens: str | Iterable[str]) -> str:
    """Join recogniser tokens as a person writes them: no space between two Han/kana characters.

    Vosk emits Mandarin space-separated ("我 是 城关镇 卫生院"); Chinese and Japanese are
    written without spaces, while Korean (Hangul) and Latin text keep theirs. Accepts the
    transcript as stored (one string) or a list of tokens. The one implementation, used by
    the dashboard, `dutyline calls show` and transcription.
    """
    if isinstance(tokens, str):
        tokens = tokens.split()
    out = ""
    for token in tokens:
        if not token:
            continue
        if out and not (is_unspaced(out[-1]) and is_unspaced(token[0])):
            out += " "
        out += token
    return out


def is_unspaced(char: str) -> bool:
    """Tell whether a character is written without spaces around it (Han, kana, CJK punctuation).

    The one "is this CJK" check: join_tokens, the dashboard's word spacing and the
    extractor's squashing all ask it.
    """
    # Han ideographs (any CJK block, including those beyond the BMP), CJK punctuation,
    # kana and full-width forms are written without spaces. Hangul is not: Korean
    # separates words with spaces, so HANGUL names are deliberately left out.
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH"))


class CaseCounter(Base):
    """The last case number handed out per local year, bumped in one atomic statement."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """A confirmed message, routed to a leader and tracked until the liaison has rated it.

    Its history is kept as rows: unit assignments, deadline changes, supervision entries and
    unit results. `deadline_at` is the deadline in force, written only together with a
    DeadlineChange row, so that overdue cases can be found with one indexed query.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # 2026-000123
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    channel: Mapped[CaseChannel] = mapped_column(_enum(CaseChannel), default=CaseChannel.VOICEMAIL)
    caller_name: Mapped[str] = mapped_column(String(60))
    caller_unit: Mapped[str] = mapped_column(String(200), default="")
    caller_phone: Mapped[str] = mapped_column(String(32), default="")
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("liaisons.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"), index=True)
    category: Mapped[str] = mapped_column(String(40), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # 重要事项 or 领导批示件: shown wherever the case is; missing a deadline proposes 问责.
    importance: Mapped[CaseImportance] = mapped_column(_enum(CaseImportance),
                                                       default=CaseImportance.NORMAL)
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.ROUTED)
    # Who produced the answer (HANDLING, RESULT_FILED, BUREAU_MEETING or COUNTY): a
    # dissatisfied rating sends the case back there for redo.
    answered_from: Mapped[CaseStatus | None] = mapped_column(_enum(CaseStatus))
    route_reason: Mapped[str] = mapped_column(Text, default="")
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    handling_note: Mapped[str] = mapped_column(Text, default="")
    feedback_method: Mapped[FeedbackMethod | None] = mapped_column(_enum(FeedbackMethod))
    feedback_note: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction))  # latest
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    routed_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    fed_back_at: Mapped[datetime | None]
    # When the leader must have fed back (a deadline-change row of kind FEEDBACK keeps each one);
    # apart from `deadline_at`, which stays the answer's deadline for the on-time figures.
    feedback_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Bumped by every action's compare-and-set (intake.rules.transitions.claim_case): one winner.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Intake fields left empty on purpose (一.4): field name -> why it is unknown
    # (intake.cases.intake_fields); a field not listed here was given.
    unknown_fields: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    call: Mapped[Call | None] = relationship(back_populates="case")
    leader: Mapped[Leader | None] = relationship()
    liaison: Mapped[Liaison | None] = relationship()
    assignments: Mapped[list["CaseAssignment"]] = relationship(
        back_populates="case", order_by="CaseAssignment.id")
    deadline_changes: Mapped[list["DeadlineChange"]] = relationship(
        back_populates="case", order_by="DeadlineChange.id")
    supervision_entries: Mapped[list["SupervisionEntry"]] = relationship(
        back_populates="case", order_by="SupervisionEntry.id")
    results: Mapped[list["UnitResult"]] = relationship(back_populates="case",
                                                       order_by="UnitResult.id")
    attachments: Mapped[list["ResultAttachment"]] = relationship(
        back_populates="case", order_by="ResultAttachment.id")

    decisions: Mapped[list["CaseDecision"]] = relationship(
        back_populates="case", order_by="CaseDecision.id")

    @property
    def assignment(self) -> "CaseAssignment | None":
        """The latest transfer to a unit, or None for a case no unit has had.

        A decision's implementations are assignments too, but run side by side; they are
        `implementations`, never "the" assignment.
        """
        transfers = [a for a in self.assignments if a.decision_id is None]
        return transfers[-1] if transfers else None

    @property
    def decision(self) -> "CaseDecision | None":
        """The latest decision recorded on the case (a redo after a rating may add another)."""
        return self.decisions[-1] if self.decisions else None

    @property
    def implementations(self) -> list["CaseAssignment"]:
        """The units carrying out the latest decision, in the order it named them."""
        decision = self.decision
        if decision is None:
            return []
        return [a for a in self.assignments if a.decision_id == decision.id]

    @property
    def unit(self) -> Unit | None:
        return self.assignment.unit if self.assignment else None

    @property
    def unit_id(self) -> int | None:
        return self.assignment.unit_id if self.assignment else None

    @property
    def redo_count(self) -> int:
        """Redos on the current assignment (the streak and the dissatisfied); a new unit starts at 0."""
        return (self.assignment.returns + (self.assignment.dissatisfied_redos or 0)
                if self.assignment else 0)

    @property
    def supervised(self) -> bool:
        """True while a supervision entry (escalation or overdue) is open."""
        return any(entry.closed_at is None for entry in self.supervision_entries)

    @property
    def deadline_reason(self) -> str:
        # The reason of the deadline in force: a feedback deadline sits beside it, not over it.
        changes = [c for c in self.deadline_changes if c.kind != DeadlineKind.FEEDBACK]
        return changes[-1].reason if changes else ""

    def is_overdue(self, now: datetime) -> bool:
        """Tell whether the deadline in force has passed on a case still being worked on,
        the feedback deadline on an answered case not yet fed back, or a unit's deadline on
        an implementation of a decision it has not filed."""
        if self.status == CaseStatus.ANSWERED:
            return self.feedback_due_at is not None and self.feedback_due_at < now
        if self.status == CaseStatus.DECISION_IMPLEMENTING:
            return any(a.is_overdue(now) for a in self.implementations)
        return (self.deadline_at is not None and self.deadline_at < now
                and self.status in WORKING_STATES)


class CaseAssignment(Base):
    """One transfer of a case to a unit: when, due when, its result, and its returns in a row."""

    __tablename__ = "case_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(80), default="")
    due_at: Mapped[datetime | None]
    result_at: Mapped[datetime | None]  # the latest result filed on this assignment
    # Format and quality returns in a row (criticism ground 1); acceptance resets.
    returns: Mapped[int] = mapped_column(Integer, default=0)
    # Redos because the liaison was dissatisfied: their own ground for redo, shown beside the
    # streak and never counted in it.
    dissatisfied_redos: Mapped[int] = mapped_column(Integer, default=0)
    criticism_flagged_at: Mapped[datetime | None]
    # Set on a decision's implementation (None: a transfer), with its own small state machine.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("case_decisions.id"), index=True)
    implementation_status: Mapped[ImplementationStatus | None] = mapped_column(
        _enum(ImplementationStatus))
    accepted_at: Mapped[datetime | None]  # an implementation's result accepted
    case: Mapped[Case] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship()
    decision: Mapped["CaseDecision | None"] = relationship(back_populates="implementations")

    def is_overdue(self, now: datetime) -> bool:
        """Tell whether an implementation still owes its result past its deadline."""
        return (self.implementation_status == ImplementationStatus.ASSIGNED
                and self.due_at is not None and self.due_at < now)


class CaseDecision(Base):
    """A decision of the bureau meeting or the county on an escalated case (督促落实).

    Its implementations are CaseAssignment rows (decision_id set), each supervised like a
    transfer; with none, the decision itself is the answer.
    """

    __tablename__ = "case_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(80))  # 局务会议, 县政府, or a person's name
    # The state the case was in: a dissatisfied rating sends it back there.
    decided_in: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")
    case: Mapped[Case] = relationship(back_populates="decisions")
    implementations: Mapped[list[CaseAssignment]] = relationship(
        back_populates="decision", order_by="CaseAssignment.id")


class FactFlags:
    """What the rates count of a case (0/1 integers: both databases sum them as they are), or
    of a day's cases summed. Kept by intake.store.case_facts."""

    completed: Mapped[int] = mapped_column(Integer, default=0)
    fed_back: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    answered_on_time: Mapped[int] = mapped_column(Integer, default=0)
    fed_back_on_time: Mapped[int] = mapped_column(Integer, default=0)


class CaseFacts(FactFlags, Base):
    """What the rates count about one case, kept beside it (intake.store.case_facts).

    Rewritten in the same flush as any change to the case, its assignments or its deadline
    changes, so a report sums these rows by the receipt index instead of recounting history.
    Flags are 0/1 integers: both databases sum them as they are.
    """

    __tablename__ = "case_facts"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    # The current transfer (none: never transferred, or a decision's implementations came
    # after it): participation overall. The implementations count beside it from their own
    # rows (intake.store.case_facts).
    transferred: Mapped[int] = mapped_column(Integer, default=0)
    current_due_at: Mapped[datetime | None]
    current_result_in: Mapped[int] = mapped_column(Integer, default=0)
    current_on_time: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The current transfer still waiting for its result (see CaseUnitFacts).
        # Covering (the deadline is in it), so the count reads the index alone.
        Index("ix_case_facts_awaiting", "received_at", "current_due_at",
              sqlite_where=text("transferred = 1 AND current_result_in = 0"),
              postgresql_where=text("transferred = 1 AND current_result_in = 0")),
    )


class CaseUnitFacts(FactFlags, Base):
    """The facts of one case for one unit it was transferred to: its latest assignment there."""

    __tablename__ = "case_unit_facts"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind))  # the unit's kind, kept with it
    latest_of_kind: Mapped[int] = mapped_column(Integer, default=0)  # counts for the kind row
    received_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    current: Mapped[int] = mapped_column(Integer, default=0)  # no later assignment ended it
    due_at: Mapped[datetime | None]
    result_in: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    missed_before_ended: Mapped[int] = mapped_column(Integer, default=0)
    returns_in_row: Mapped[int] = mapped_column(Integer, default=0)  # longest, any assignment
    dissatisfied_redos: Mapped[int] = mapped_column(Integer, default=0)  # over all of them

    __table_args__ = (
        # A unit's transfer still waiting for its result: the one figure a report compares
        # with its own moment (is the deadline past?), read beside the day sums.
        Index("ix_case_unit_facts_awaiting", "received_at", "due_at", "unit_id", "kind",
              "latest_of_kind",
              sqlite_where=text("current = 1 AND result_in = 0"),
              postgresql_where=text("current = 1 AND result_in = 0")),
        # The few rows with returns or redos: a unit's line shows their longest and sum.
        Index("ix_case_unit_facts_returned", "received_at",
              sqlite_where=text("returns_in_row > 0 OR dissatisfied_redos > 0"),
              postgresql_where=text("returns_in_row > 0 OR dissatisfied_redos > 0")),
    )


class CaseFactDay(FactFlags, Base):
    """The facts of the cases received on one local day, summed: for the bureau, a unit or a kind.

    Kept by the same session hook as the facts (intake.store.case_facts), by adding each
    rewritten fact's change to its day, so a report for a year reads a few thousand rows
    instead of every case. `scope` is "all" (scope_key ""), "unit" (the unit's id) or "kind"
    (the kind's value); the day is the bureau's (intake.clock.BUREAU_TIMEZONE).
    `due_settled` counts transfers whose participation no longer depends on the moment of the
    report (a result is in, or a later transfer ended it after its deadline); the rest are read
    from the facts through their "awaiting" indexes.
    """

    __tablename__ = "case_fact_days"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(24), primary_key=True)
    received_day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    due_settled: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)


class CaseAnswerDay(Base):
    """How many of one day's answered cases were answered on each later day (same scopes).

    The average working days to an answer weighs each pair of days by the working calendar
    when the report is made, so a change to the calendar needs nothing rebuilt.
    """

    __tablename__ = "case_answer_days"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(24), primary_key=True)
    received_day: Mapped[date] = mapped_column(Date, primary_key=True)
    answered_day: Mapped[date] = mapped_column(Date, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer, default=0)


class DeadlineChange(Base):
    """A deadline set or moved on a case: old, new, why, by whom, when."""

    __tablename__ = "deadline_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[DeadlineKind] = mapped_column(_enum(DeadlineKind))
    old_deadline: Mapped[datetime | None]
    new_deadline: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(back_populates="deadline_changes")


class SupervisionEntry(Base):
    """A case registered with the supervision office: escalated, or overdue; open until decided.

    An overdue entry names the deadline it was opened for: the unique key lets the sweep
    open one per deadline, however often (and on however many machines) it runs.
    """

    __tablename__ = "supervision_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    cause: Mapped[SupervisionCause] = mapped_column(_enum(SupervisionCause, length=24))
    deadline_at: Mapped[datetime | None]  # the deadline missed (overdue entries only)
    reason: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(80), default="")
    closed_at: Mapped[datetime | None]
    decision: Mapped[str] = mapped_column(Text, default="")
    case: Mapped[Case] = relationship(back_populates="supervision_entries")

    __table_args__ = (UniqueConstraint("case_id", "cause", "deadline_at",
                                       name="uq_supervision_entries_deadline"),)


class UnitResult(Base):
    """A unit's written result for a transferred case, and the supervision office's verdict."""

    __tablename__ = "unit_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("case_assignments.id"))
    facts_true: Mapped[str] = mapped_column(String(20))  # true | partly | false
    causes: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    liaison_opinion: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(String(60))
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    verdict: Mapped[Verdict | None] = mapped_column(_enum(Verdict))
    return_category: Mapped[ReturnCategory | None] = mapped_column(_enum(ReturnCategory))
    verdict_reason: Mapped[str] = mapped_column(Text, default="")
    verdict_at: Mapped[datetime | None]
    case: Mapped[Case] = relationship(back_populates="results")


class ResultAttachment(Base):
    """A scan kept under RECORDINGS_DIR/attachments: a unit's signed and sealed written result
    (with its case), or the document of a criticism (with its censure)."""

    __tablename__ = "result_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    censure_id: Mapped[int | None] = mapped_column(ForeignKey("censures.id"), index=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("unit_results.id"))
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for the download name
    content_type: Mapped[str] = mapped_column(String(40))  # found from the content, not claimed
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)  # never the uploaded name
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    case: Mapped[Case | None] = relationship(back_populates="attachments")


class InboundMessage(Base):
    """An SMS someone sent us; one row per Twilio MessageSid, so a redelivery counts once."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(40), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    outcome: Mapped[str] = mapped_column(String(40), default="")
    reply: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """One SMS, from composition to Twilio's final delivery state."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, length=30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    # The recipient: exactly one of a leader, a unit, a liaison or a user (the supervision
    # office's staff, who are no one's leader or unit).
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("liaisons.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_number: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[NotificationStatus] = mapped_column(
        _enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]
    resent_as_id: Mapped[int | None] = mapped_column(Integer)  # the copy that replaced it
    case: Mapped[Case | None] = relationship()


class Reminder(Base):
    """One reminder the sweep sent: unique per (kind, subject, day), so it is sent once.

    The subject names the recipient or the case ("case:12", "user:3", "leader:4",
    "call:7/1"); the day is the bureau's local date the reminder belongs to.
    """

    __tablename__ = "reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind, length=30))
    subject: Mapped[str] = mapped_column(String(60))
    day: Mapped[date] = mapped_column(Date)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "subject", "day", name="uq_reminders_once"),)


class AuditEvent(Base):
    """Who changed what, when, from what to what. Never updated, never deleted."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # user:alice | twilio | worker | system
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)


class DutyPeriod(Base):
    """A weekly window in which the duty phone is staffed (weekday 0 = Monday)."""

    __tablename__ = "duty_periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class DutyException(Base):
    """A date that overrides the weekly schedule: a holiday (closed) or an extra duty day."""

    __tablename__ = "duty_exceptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    staffed: Mapped[bool] = mapped_column(Boolean, default=False)
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(200), default="")


class SettingValue(Base):
    """An admin-editable setting kept in the database (duty phone, prompt audio, ...)."""

    __tablename__ = "setting_values"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WorkerHeartbeat(Base):
    """The last sign of life of each worker, shown by /healthz and the dashboard."""

    __tablename__ = "worker_heartbeats"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    model_name: Mapped[str | None] = mapped_column(String(120))
    model_language: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(40), default="idle")


class DayKind(str, PyEnum):
    """What a calendar entry makes of its day."""

    HOLIDAY = "holiday"   # a day off (a public holiday, or one the bureau gives)
    WORKDAY = "workday"   # an adjusted workday (调休), usually a weekend day


class CalendarEntry(Base):
    """The bureau's own holiday or adjusted workday; it wins over the package's data."""

    __tablename__ = "calendar_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[DayKind] = mapped_column(_enum(DayKind, length=10))
    reason: Mapped[str] = mapped_column(String(200), default="")
    entered_by: Mapped[str] = mapped_column(String(80))  # an audit actor label: user:alice | cli
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
class ContactLog(Base):
    """A work-group member's call to one of their liaisons (the monthly contact duty)."""

    __tablename__ = "contact_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"))
    liaison_id: Mapped[int] = mapped_column(ForeignKey("liaisons.id"), index=True)
    contacted_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    leader: Mapped[Leader] = relationship()
    liaison: Mapped[Liaison] = relationship()

    __table_args__ = (Index("ix_contact_logs_leader_day", "leader_id", "contacted_on"),)


class Commendation(Base):
    """A letter of praise, a banner or media praise, for a member or a unit; counts in the annual review."""

    __tablename__ = "commendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CommendationKind] = mapped_column(_enum(CommendationKind))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    giver: Mapped[str] = mapped_column(String(200), default="")  # who sent it, or which outlet
    evidence: Mapped[str] = mapped_column(Text)  # what proves it: the letter's text, a link, a file reference
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    leader: Mapped[Leader | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class KeptBulletin(Base):
    """A bulletin (通报) as it was built and sent: its period, version and both files.

    A kept bulletin is never updated (nothing in intake/ writes to one after the insert); a
    rebuild is a new row with the next version. The files are kept in the database, not under
    DUTYLINE_INSTANCE: every web process on every machine serves the same bytes, a backup of
    the database holds them, and the row and its files are written in one transaction. Each is
    tens of kilobytes and the bureau keeps sixteen a year.
    """

    __tablename__ = "bulletins"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[BulletinPeriod] = mapped_column(_enum(BulletinPeriod))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    built_by: Mapped[str] = mapped_column(String(80))  # the audit label: system:sweep, user:…
    # Loaded when a file is asked for, not with the archive's list.
    docx: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    docx_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("period_kind", "period_start", "version",
                                       name="uq_bulletins_version"),)


__all__ = [
    "Base",
    "Unit",
    "Leader",
    "Liaison",
    "User",
    "Call",
    "CaseCounter",
    "Case",
    "CaseAssignment",
    "DeadlineChange",
    "SupervisionEntry",
    "UnitResult",
    "InboundMessage",
    "Notification",
    "Reminder",
    "AuditEvent",
    "DutyPeriod",
    "DutyException",
    "SettingValue",
    "WorkerHeartbeat",
    "DayKind",
    "CalendarEntry",
    "ContactLog",
    "Commendation",
    "KeptBulletin",
    "utcnow",
    "join_tokens",
]


class Censure(Base):
    """A criticism (通报批评) or an accountability (问责) on the register, proposed or recorded.

    It names a unit, or the duty room (criticism ground 5), or a person held to account; the
    cases it rests on are CensureCase rows. A system proposal carries a `proposal_key` that
    makes it once per subject (an assignment, a case and the deadline it missed).
    """

    __tablename__ = "censures"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CensureKind] = mapped_column(_enum(CensureKind), index=True)
    ground: Mapped[CensureGround] = mapped_column(_enum(CensureGround, 30))
    status: Mapped[CensureStatus] = mapped_column(_enum(CensureStatus), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    duty_room: Mapped[bool] = mapped_column(Boolean, default=False)
    person: Mapped[str] = mapped_column(String(60), default="")
    facts: Mapped[str] = mapped_column(Text, default="")
    proposal_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str] = mapped_column(String(80), default="")
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every decision's compare-and-set (intake.rules.censures): one of two wins.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    unit: Mapped[Unit | None] = relationship()
    links: Mapped[list["CensureCase"]] = relationship(back_populates="censure",
                                                     order_by="CensureCase.case_id")
    scans: Mapped[list["ResultAttachment"]] = relationship(order_by="ResultAttachment.id")

    @property
    def cases(self) -> list[Case]:
        return [link.case for link in self.links]


class CensureCase(Base):
    """One case a censure rests on."""

    __tablename__ = "censure_cases"
    censure_id: Mapped[int] = mapped_column(ForeignKey("censures.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    censure: Mapped[Censure] = relationship(back_populates="links")
    case: Mapped[Case] = relationship()


class FollowUpVisit(Base):
    """A follow-up visit (回访) on a closed case: the day, how, who goes, and what they found.

    `version` is bumped by every change (compare-and-set, as on a case), so of two people
    recording an outcome at once exactly one wins.
    """

    __tablename__ = "follow_up_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)  # the bureau's local day
    method: Mapped[VisitMethod] = mapped_column(_enum(VisitMethod))
    status: Mapped[VisitStatus] = mapped_column(_enum(VisitStatus), index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # what to look at, from the scheduler
    outcome: Mapped[VisitOutcome | None] = mapped_column(_enum(VisitOutcome))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    scheduled_by: Mapped[str] = mapped_column(String(80), default="")
    finished_at: Mapped[datetime | None]  # outcome recorded, or cancelled
    finished_by: Mapped[str] = mapped_column(String(80), default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    case: Mapped[Case] = relationship()
    visitors: Mapped[list["FollowUpVisitor"]] = relationship(
        back_populates="visit", order_by="FollowUpVisitor.user_id")

    @property
    def visitor_users(self) -> list[User]:
        return [link.user for link in self.visitors]


class FollowUpVisitor(Base):
    """One account that goes on a follow-up visit (and is reminded on the day)."""

    __tablename__ = "follow_up_visitors"
    visit_id: Mapped[int] = mapped_column(ForeignKey("follow_up_visits.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    visit: Mapped[FollowUpVisit] = relationship(back_populates="visitors")
    user: Mapped[User] = relationship()


class PublicNotice(Base):
    """A notice to the public (公告) on one case or a group of cases on one subject.

    Linking a case to a notice is what marks it 群众普遍关心. The notice's text is the
    office's own, written without personal data; the document built from it
    (intake.cases.notices) adds only what is public about each case.
    """

    __tablename__ = "public_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    reported: Mapped[str] = mapped_column(Text, default="")  # what was reported
    done: Mapped[str] = mapped_column(Text, default="")  # what was done
    result: Mapped[str] = mapped_column(Text, default="")  # the result
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    links: Mapped[list["PublicNoticeCase"]] = relationship(
        back_populates="notice", order_by="PublicNoticeCase.case_id")
    publications: Mapped[list["NoticePublication"]] = relationship(
        back_populates="notice", order_by="NoticePublication.id")

    @property
    def cases(self) -> list[Case]:
        return [link.case for link in self.links]


class PublicNoticeCase(Base):
    """One case a public notice speaks of (the case is 群众普遍关心)."""

    __tablename__ = "public_notice_cases"
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notices.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    notice: Mapped[PublicNotice] = relationship(back_populates="links")
    case: Mapped[Case] = relationship()


class NoticePublication(Base):
    """Where and when a public notice appeared: the outlet, the day and a link."""

    __tablename__ = "notice_publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notices.id"), index=True)
    outlet: Mapped[str] = mapped_column(String(120))
    published_on: Mapped[date] = mapped_column(Date)
    link: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")
    notice: Mapped[PublicNotice] = relationship(back_populates="publications")
