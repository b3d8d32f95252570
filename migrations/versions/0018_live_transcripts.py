"""live transcripts: calls.live_state, live_text, live_started_at and drafted_by (issue 22)

A call drafted before this revision was drafted from its recording, so its drafted_by is
"batch"; calls not yet drafted keep NULL and get theirs from whichever path drafts them.
No call was ever streamed live, so live_state, live_text and live_started_at stay NULL.

Revision ID: 0018_live_transcripts
Revises: 0017_search_and_facts
"""
from alembic import op
import sqlalchemy as sa


revision = "0018_live_transcripts"
down_revision = "0017_search_and_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("live_state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("live_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("live_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("drafted_by", sa.String(length=10), nullable=True))
    op.execute("UPDATE calls SET drafted_by = 'batch' WHERE drafted_at IS NOT NULL")


def _search_body(row: str) -> str:
    return (f"coalesce({row}transcript_text, '') || ' ' || "
            f"replace(coalesce({row}transcript_text, ''), ' ', '') || ' ' || "
            f"coalesce({row}transcript_corrected, '') || ' ' || coalesce({row}from_number, '')")


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("drafted_by")
        batch.drop_column("live_started_at")
        batch.drop_column("live_text")
        batch.drop_column("live_state")
    if op.get_bind().dialect.name == "sqlite":
        # Dropping columns rebuilt `calls` on SQLite, and with it went the search triggers of
        # 0017_search_and_facts; its index table stays and the rows keep their ids, so the
        # triggers are put back as 0017 made them.
        insert = f"INSERT INTO calls_search(rowid, body) VALUES (new.id, {_search_body('new.')});"
        delete = (f"INSERT INTO calls_search(calls_search, rowid, body) "
                  f"VALUES ('delete', old.id, {_search_body('old.')});")
        for statement in (
                f"CREATE TRIGGER IF NOT EXISTS calls_search_ai AFTER INSERT ON calls BEGIN {insert} END",
                f"CREATE TRIGGER IF NOT EXISTS calls_search_ad AFTER DELETE ON calls BEGIN {delete} END",
                "CREATE TRIGGER IF NOT EXISTS calls_search_au AFTER UPDATE OF transcript_text, "
                f"transcript_corrected, from_number ON calls BEGIN {delete} {insert} END"):
            op.execute(statement)
