"""leader reports and register upkeep: what intake could not learn, a version on the register,
a scan on a criticism

- `cases.unknown_fields`: the intake fields (name, work unit or address, phone, content) left
  empty on purpose, each with the reason (一.4). Existing cases get `{}`: nothing was marked
  unknown when they were taken down, so the server default is the truth for them.
- `censures.version`: the register's compare-and-set counter, so that of two office users
  deciding one entry at once exactly one wins. Existing rows start at 1.
- `result_attachments.censure_id`: a scan attached to a criticism. The scans of results and of
  criticisms are one kind of file, checked and served the same way, so they share the table;
  `case_id` becomes optional because a criticism's scan belongs to no one case. Existing rows
  all have their case and keep it.

Revision ID: 0014_leader_reports
Revises: 0013_decisions
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_leader_reports"
down_revision = "0013_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("unknown_fields", sa.JSON(), server_default="{}",
                                   nullable=False))
    with op.batch_alter_table("censures") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("result_attachments") as batch:
        batch.add_column(sa.Column("censure_id", sa.Integer(), nullable=True))
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key("fk_result_attachments_censure_id_censures", "censures",
                                 ["censure_id"], ["id"])
        batch.create_index("ix_result_attachments_censure_id", ["censure_id"])


def downgrade() -> None:
    with op.batch_alter_table("result_attachments") as batch:
        batch.drop_index("ix_result_attachments_censure_id")
        batch.drop_constraint("fk_result_attachments_censure_id_censures", type_="foreignkey")
        batch.drop_column("censure_id")
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("censures") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("unknown_fields")
