"""notices and visits: follow-up visits (回访) and notices to the public (公告)

Four new tables and no change to existing ones: follow_up_visits (one row per visit on a
closed case: day, method, status, outcome) with follow_up_visitors (the accounts that go),
and public_notices (the office's notice on one case or a group of cases on one subject) with
public_notice_cases (the cases it speaks of: they are 群众普遍关心) and notice_publications
(outlet, day, link). Existing cases have no visit and no notice, so nothing is moved.

Revision ID: 0016_notices_visits
Revises: 0015_bulletins
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_notices_visits"
down_revision = "0015_bulletins"
branch_labels = None
depends_on = None

VISIT_STATUSES = ("scheduled", "done", "cancelled")
VISIT_METHODS = ("phone", "in_person")
VISIT_OUTCOMES = ("solved", "partly_solved", "came_back")
NOTICE_STATUSES = ("draft", "published", "withdrawn")


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        "follow_up_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("method", _enum(VISIT_METHODS, "visitmethod"), nullable=False),
        sa.Column("status", _enum(VISIT_STATUSES, "visitstatus"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("outcome", _enum(VISIT_OUTCOMES, "visitoutcome"), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_by", sa.String(length=80), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_by", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_follow_up_visits_case_id", "follow_up_visits", ["case_id"])
    op.create_index("ix_follow_up_visits_due_on", "follow_up_visits", ["due_on"])
    op.create_index("ix_follow_up_visits_status", "follow_up_visits", ["status"])
    op.create_table(
        "follow_up_visitors",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["follow_up_visits.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("visit_id", "user_id"),
    )
    op.create_index("ix_follow_up_visitors_user_id", "follow_up_visitors", ["user_id"])
    op.create_table(
        "public_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("reported", sa.Text(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("status", _enum(NOTICE_STATUSES, "noticestatus"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_public_notices_status", "public_notices", ["status"])
    op.create_table(
        "public_notice_cases",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["public_notices.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("notice_id", "case_id"),
    )
    op.create_index("ix_public_notice_cases_case_id", "public_notice_cases", ["case_id"])
    op.create_table(
        "notice_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("outlet", sa.String(length=120), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["public_notices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notice_publications_notice_id", "notice_publications", ["notice_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_publications_notice_id", table_name="notice_publications")
    op.drop_table("notice_publications")
    op.drop_index("ix_public_notice_cases_case_id", table_name="public_notice_cases")
    op.drop_table("public_notice_cases")
    op.drop_index("ix_public_notices_status", table_name="public_notices")
    op.drop_table("public_notices")
    op.drop_index("ix_follow_up_visitors_user_id", table_name="follow_up_visitors")
    op.drop_table("follow_up_visitors")
    op.drop_index("ix_follow_up_visits_status", table_name="follow_up_visits")
    op.drop_index("ix_follow_up_visits_due_on", table_name="follow_up_visits")
    op.drop_index("ix_follow_up_visits_case_id", table_name="follow_up_visits")
    op.drop_table("follow_up_visits")
