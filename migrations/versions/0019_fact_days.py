"""case facts summed per day: case_fact_days and case_answer_days (issue 21)

The rates of a year read the facts of every case received in it (0017_search_and_facts);
at half a million cases that is seconds per view. The session hook now also keeps each
local day's facts summed for the bureau, each unit and each kind (`case_fact_days`), and each
day's answered cases by the day of their answer (`case_answer_days`, for the working days to
an answer). They are built here from the facts on file by the same code. Partial indexes find
the transfers still awaiting a result (the figure that depends on the report's moment) and
the few facts with returns or redos.

Revision ID: 0019_fact_days
Revises: 0018_live_transcripts
"""
from alembic import op
import sqlalchemy as sa


revision = "0019_fact_days"
down_revision = "0018_live_transcripts"
branch_labels = None
depends_on = None



def _scope() -> list[sa.Column]:
    return [sa.Column("scope", sa.String(length=8), nullable=False),
            sa.Column("scope_key", sa.String(length=24), nullable=False),
            sa.Column("received_day", sa.Date(), nullable=False)]

COUNTS = ("received", "completed", "fed_back", "rated", "satisfied", "answered_on_time",
          "fed_back_on_time", "due_settled", "on_time")


def _partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(name, table, columns, sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))


def upgrade() -> None:
    op.create_table(
        "case_fact_days",
        *_scope(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("scope", "scope_key", "received_day"),
    )
    op.create_table(
        "case_answer_days",
        *_scope(),
        sa.Column("answered_day", sa.Date(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_key", "received_day", "answered_day"),
    )
    # Covering: a report counts the transfers awaiting a result from the index alone.
    _partial_index("ix_case_facts_awaiting", "case_facts", ["received_at", "current_due_at"],
                   "transferred = 1 AND current_result_in = 0")
    _partial_index("ix_case_unit_facts_awaiting", "case_unit_facts",
                   ["received_at", "due_at", "unit_id", "kind", "latest_of_kind"],
                   "current = 1 AND result_in = 0")
    _partial_index("ix_case_unit_facts_returned", "case_unit_facts", ["received_at"],
                   "returns_in_row > 0 OR dissatisfied_redos > 0")
    from intake.store.case_facts import rebuild_fact_days
    rebuild_fact_days(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_case_unit_facts_returned", "case_unit_facts")
    op.drop_index("ix_case_unit_facts_awaiting", "case_unit_facts")
    op.drop_index("ix_case_facts_awaiting", "case_facts")
    op.drop_table("case_answer_days")
    op.drop_table("case_fact_days")
