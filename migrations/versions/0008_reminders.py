"""reminders and the sweep: one reminder per (kind, subject, day), one overdue entry per
deadline, SMS to supervision-office users, urgent acknowledgement on calls

Revision ID: 0008_reminders
Revises: 0005_directory_duties
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_reminders"
down_revision = "0006_intake_retry"
branch_labels = None
depends_on = None

REMINDER_KINDS = ("unit_due_tomorrow", "unit_due_today", "leader_same_day", "overdue_digest",
                  "contact_duty", "urgent_escalation")


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*REMINDER_KINDS, name="reminderkind", native_enum=False,
                                  length=30), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject", "day", name="uq_reminders_once"),
    )
    op.create_index("ix_reminders_case_id", "reminders", ["case_id"])
    with op.batch_alter_table("supervision_entries") as batch:
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
    # An overdue entry opened before this revision was opened for the deadline in force at
    # the time: the latest deadline set on its case no later than the entry was opened.
    op.execute("""
        UPDATE supervision_entries SET deadline_at = (
            SELECT dc.new_deadline FROM deadline_changes dc
            WHERE dc.case_id = supervision_entries.case_id
              AND dc.changed_at <= supervision_entries.opened_at
            ORDER BY dc.changed_at DESC, dc.id DESC LIMIT 1)
        WHERE cause = 'overdue'
    """)
    with op.batch_alter_table("supervision_entries") as batch:
        batch.create_unique_constraint("uq_supervision_entries_deadline",
                                       ["case_id", "cause", "deadline_at"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_notifications_user_id_users", "users", ["user_id"], ["id"])
    # Urgent calls already on file count as taken on: nobody should be paged about old ones.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("urgent_acknowledged_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("urgent_acknowledged_by", sa.String(length=80),
                                   nullable=True))
    op.execute("UPDATE calls SET urgent_acknowledged_at = started_at, "
               "urgent_acknowledged_by = 'migration' WHERE urgent")


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("urgent_acknowledged_by")
        batch.drop_column("urgent_acknowledged_at")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("fk_notifications_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
    with op.batch_alter_table("supervision_entries") as batch:
        batch.drop_constraint("uq_supervision_entries_deadline", type_="unique")
        batch.drop_column("deadline_at")
    op.drop_index("ix_reminders_case_id", table_name="reminders")
    op.drop_table("reminders")
