"""decisions carried out (督促落实): case_decisions, and implementations on case_assignments

A decision of the bureau meeting or the county is a case_decisions row (text, the date, who
decided, the state it was decided in). Its implementations are case_assignments rows with
decision_id set and their own implementation_status (assigned, result_filed, accepted);
existing assignments are transfers and keep NULL in both.

Cases the meeting or the county answered before this revision kept their outcome only as the
decision text of the escalation's supervision entry. Each becomes a decision here (who decided:
局务会议 or 县政府, on the local date the entry closed, recorded by the migration) with no
implementation, which is what such an answer was, so the case page shows it like a new one.

Revision ID: 0013_decisions
Revises: 0012_feedback_deadline
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = "0013_decisions"
down_revision = "0012_feedback_deadline"
branch_labels = None
depends_on = None

CASE_STATUSES = ("routed", "acknowledged", "handling", "transferred", "result_filed",
                 "bureau_meeting", "county", "implementing", "answered", "fed_back", "closed")
IMPLEMENTATION_STATUSES = ("assigned", "result_filed", "accepted")
# The bureau's zone (intake.clock.BUREAU_TIMEZONE), fixed here as the revision was written.
BUREAU_ZONE = ZoneInfo("Asia/Shanghai")
DECIDERS = {"escalation_bureau": ("局务会议", "bureau_meeting"),
            "escalation_county": ("县政府", "county")}


def upgrade() -> None:
    op.create_table(
        "case_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_in", sa.Enum(*CASE_STATUSES, name="casestatus", native_enum=False,
                                        length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_decisions_case_id", "case_decisions", ["case_id"])
    with op.batch_alter_table("case_assignments") as batch:
        batch.add_column(sa.Column("decision_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column(
            "implementation_status",
            sa.Enum(*IMPLEMENTATION_STATUSES, name="implementationstatus", native_enum=False,
                    length=20), nullable=True))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_case_assignments_decision_id", "case_decisions",
                                 ["decision_id"], ["id"])
        batch.create_index("ix_case_assignments_decision_id", ["decision_id"])
    _carry_over_answered_escalations()


def _carry_over_answered_escalations() -> None:
    """Give each case the meeting or the county answered its decision row, from the entry."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    decisions = sa.table("case_decisions", *(sa.column(n) for n in (
        "case_id", "text", "decided_at", "decided_by", "decided_in", "recorded_at",
        "recorded_by")))
    rows = bind.execute(sa.text(
        "SELECT e.case_id, e.cause, e.closed_at, e.decision FROM supervision_entries e "
        "JOIN cases c ON c.id = e.case_id "
        "WHERE e.closed_at IS NOT NULL AND e.decision <> '' AND ("
        "(e.cause = 'escalation_bureau' AND c.answered_from = 'bureau_meeting') OR "
        "(e.cause = 'escalation_county' AND c.answered_from = 'county')) "
        "ORDER BY e.case_id, e.id")).all()
    latest = {row.case_id: row for row in rows}  # a case escalated twice: the entry that answered
    for row in latest.values():
        closed = row.closed_at
        if isinstance(closed, str):
            closed = datetime.fromisoformat(closed)
        if closed.tzinfo is None:
            closed = closed.replace(tzinfo=timezone.utc)
        decided_by, decided_in = DECIDERS[row.cause]
        bind.execute(decisions.insert().values(
            case_id=row.case_id, text=row.decision, decided_at=closed.astimezone(BUREAU_ZONE).date(),
            decided_by=decided_by, decided_in=decided_in,
            recorded_at=closed.replace(tzinfo=None) if sqlite else closed,
            recorded_by="system:migration"))


def downgrade() -> None:
    with op.batch_alter_table("case_assignments") as batch:
        batch.drop_index("ix_case_assignments_decision_id")
        batch.drop_constraint("fk_case_assignments_decision_id", type_="foreignkey")
        batch.drop_column("accepted_at")
        batch.drop_column("implementation_status")
        batch.drop_column("decision_id")
    op.drop_index("ix_case_decisions_case_id", table_name="case_decisions")
    op.drop_table("case_decisions")
