"""criticism register: criticisms (通报批评) and accountability (问责), proposed or recorded

cases.importance (normal, important, instruction): every existing case is normal. Two new
tables: censures (one row per criticism or
accountability, with its ground, status, target and decisions) and censure_cases (the cases
each rests on). The units flagged before this revision (case_assignments.criticism_flagged_at)
are proposed here as criticisms of ground returned_three_times, so the office decides them
like every later proposal.

Revision ID: 0011_criticism_register
Revises: 0010_extension_rules
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = "0011_criticism_register"
down_revision = "0010_extension_rules"
branch_labels = None
depends_on = None

KINDS = ("criticism", "accountability")
GROUNDS = ("returned_three_times", "not_carried_out", "late_unexplained", "false_report",
           "duty_failure", "improper_conduct", "important_matter_late", "buck_passing",
           "abuse_of_office", "chased_without_result")
STATUSES = ("proposed", "confirmed", "dismissed", "withdrawn")
IMPORTANCE = ("normal", "important", "instruction")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column(
            "importance", sa.Enum(*IMPORTANCE, name="caseimportance", native_enum=False,
                                  length=20), nullable=False, server_default="normal"))
    op.create_table(
        "censures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="censurekind", native_enum=False, length=20),
                  nullable=False),
        sa.Column("ground", sa.Enum(*GROUNDS, name="censureground", native_enum=False,
                                    length=30), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="censurestatus", native_enum=False,
                                    length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("duty_room", sa.Boolean(), nullable=False),
        sa.Column("person", sa.String(length=60), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("proposal_key", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=False),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_key"),
    )
    op.create_index("ix_censures_kind", "censures", ["kind"])
    op.create_index("ix_censures_status", "censures", ["status"])
    op.create_index("ix_censures_unit_id", "censures", ["unit_id"])
    op.create_table(
        "censure_cases",
        sa.Column("censure_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["censure_id"], ["censures.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("censure_id", "case_id"),
    )
    op.create_index("ix_censure_cases_case_id", "censure_cases", ["case_id"])
    # Units flagged before: proposed for the office to decide, keyed like a new proposal.
    bind = op.get_bind()
    censures = sa.table("censures", *(sa.column(n) for n in (
        "kind", "ground", "status", "unit_id", "duty_room", "person", "facts", "proposal_key",
        "created_at", "created_by", "decided_by", "decision_reason", "withdrawn_by",
        "withdraw_reason")))
    flagged = bind.execute(sa.text(
        "SELECT a.id, a.case_id, a.unit_id, a.criticism_flagged_at, c.number "
        "FROM case_assignments a JOIN cases c ON c.id = a.case_id "
        "WHERE a.criticism_flagged_at IS NOT NULL ORDER BY a.id")).all()
    for row in flagged:
        flagged_at = row.criticism_flagged_at
        if isinstance(flagged_at, str):
            flagged_at = datetime.fromisoformat(flagged_at)
        if flagged_at.tzinfo is None:
            flagged_at = flagged_at.replace(tzinfo=timezone.utc)
        bind.execute(censures.insert().values(
            kind="criticism", ground="returned_three_times", status="proposed",
            unit_id=row.unit_id, duty_room=False, person="",
            facts=f"案件 {row.number} 办理结果连续三次因格式或质量被退回",
            proposal_key=f"returned_three_times:assignment:{row.id}",
            created_at=flagged_at if bind.dialect.name != "sqlite" else flagged_at.replace(tzinfo=None),
            created_by="system:migration", decided_by="", decision_reason="",
            withdrawn_by="", withdraw_reason=""))
        censure_id = bind.execute(sa.text(
            "SELECT id FROM censures WHERE proposal_key = :key"),
            {"key": f"returned_three_times:assignment:{row.id}"}).scalar_one()
        bind.execute(sa.text("INSERT INTO censure_cases (censure_id, case_id) VALUES (:c, :k)"),
                     {"c": censure_id, "k": row.case_id})


def downgrade() -> None:
    op.drop_index("ix_censure_cases_case_id", table_name="censure_cases")
    op.drop_table("censure_cases")
    op.drop_index("ix_censures_unit_id", table_name="censures")
    op.drop_index("ix_censures_status", table_name="censures")
    op.drop_index("ix_censures_kind", table_name="censures")
    op.drop_table("censures")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("importance")
