"""live transcripts: calls.live_state, live_text, live_started_at and drafted_by (issue 22)

A call drafted before this revision was drafted from its recording, so its drafted_by is
"batch"; calls not yet drafted keep NULL and get theirs from whichever path drafts them.
No call was ever streamed live, so live_state, live_text and live_started_at stay NULL.

Revision ID: 0018_live_transcripts
Revises: 0012_feedback_deadline
"""
from alembic import op
import sqlalchemy as sa


revision = "0018_live_transcripts"
down_revision = "0012_feedback_deadline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("live_state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("live_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("live_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("drafted_by", sa.String(length=10), nullable=True))
    op.execute("UPDATE calls SET drafted_by = 'batch' WHERE drafted_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("drafted_by")
        batch.drop_column("live_started_at")
        batch.drop_column("live_text")
        batch.drop_column("live_state")
