"""calls.failure_code: why a call failed, as a code the dashboard translates

Revision ID: 0006_intake_retry
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_intake_retry"
down_revision = "0004_session_generation"
branch_labels = None
depends_on = None

# Existing rows carry only the English reason, whose wording names the kind of failure
# (transcription/jobs.py wrote these); the first pattern that matches wins.
_CODES_BY_PATTERN = (
    ("refused: %over the limit%", "too_long"),
    ("refused: %", "download_refused"),
    ("unreadable audio%", "unreadable_audio"),
    ("waiting for a speech model%", "waiting_for_model"),
    ("retrying in %", "retrying"),
)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("failure_code", sa.String(length=40), nullable=True))
    calls = sa.table("calls", sa.column("failure_reason", sa.Text),
                     sa.column("failure_code", sa.String))
    for pattern, code in _CODES_BY_PATTERN:
        op.execute(calls.update()
                   .where(calls.c.failure_code.is_(None), calls.c.failure_reason.like(pattern))
                   .values(failure_code=code))
    op.execute(calls.update()
               .where(calls.c.failure_code.is_(None), calls.c.failure_reason.is_not(None))
               .values(failure_code="job_failed"))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("failure_code")
