"""feedback deadline: cases.feedback_due_at, the end of the working day by which the leader
feeds back to the liaison once a case is answered

Existing rows keep NULL: a case answered before this revision was answered under no feedback
deadline, and giving it one now would put every old answered case on the supervision list at
the first sweep. Cases answered from now on get theirs (and a deadline-change row of kind
"feedback") when they are answered.

Revision ID: 0012_feedback_deadline
Revises: 0011_criticism_register
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_feedback_deadline"
down_revision = "0011_criticism_register"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("feedback_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("feedback_due_at")
