"""kept bulletins: each scheduled or rebuilt 通报 as it was sent, DOCX and PDF, never changed

One new table, bulletins: the period (month or quarter, first and last day), a version per
period (a rebuild is the next version beside the old), when and by whom it was built, both
files and their SHA-256. Nothing existing moves: bulletins made before this revision were
downloaded, not kept, so the archive starts empty and the sweep keeps the next one.

Revision ID: 0015_bulletins
Revises: 0014_leader_reports
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_bulletins"
down_revision = "0014_leader_reports"
branch_labels = None
depends_on = None

PERIOD_KINDS = ("month", "quarter")


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.Enum(*PERIOD_KINDS, name="bulletinperiod", native_enum=False,
                                         length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.String(length=80), nullable=False),
        sa.Column("docx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("docx_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period_kind", "period_start", "version",
                            name="uq_bulletins_version"),
    )


def downgrade() -> None:
    op.drop_table("bulletins")
