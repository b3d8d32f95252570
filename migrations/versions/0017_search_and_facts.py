"""search index and kept case facts

1. Search: calls' text, unspaced text, correction and number through a trigram index.

SQLite: a contentless FTS5 table `calls_search` (tokenizer trigram) whose rowid is the call's
id, kept by triggers on `calls` so every insert, update and delete of a call changes the index
in the same transaction. PostgreSQL: the pg_trgm extension and a GIN trigram index on the same
text expression (an expression index is kept by PostgreSQL itself). The text is written once,
in intake.store.search_index, and both are built here for the existing rows (this file keeps
a frozen copy of those statements; tests/test_search.py checks they agree).

Also an index on calls(liaison_id, started_at): a search for a liaison's name finds the
liaisons by name (a small table) and their calls through it.

A later batch migration that rebuilds `calls` on SQLite drops its triggers with the old
table: such a migration must call create_sqlite_search_index() again (tests/test_search.py
checks the triggers exist at head).

2. Facts: `case_facts` and `case_unit_facts`, what the rates count per case and per case and
unit, kept by a session hook from now on (intake.store.case_facts) and computed here for the
cases on file by the same code. (Should a later revision change what a fact means, it must
rebuild them itself: rebuild_case_facts reads only columns that exist at this revision.)

Revision ID: 0017_search_and_facts
Revises: 0016_notices_visits
"""
from alembic import op
import sqlalchemy as sa


revision = "0017_search_and_facts"
down_revision = "0016_notices_visits"
branch_labels = None
depends_on = None


def _body(row: str = "") -> str:
    return (f"coalesce({row}transcript_text, '') || ' ' || "
            f"replace(coalesce({row}transcript_text, ''), ' ', '') || ' ' || "
            f"coalesce({row}transcript_corrected, '') || ' ' || coalesce({row}from_number, '')")


_INSERT = f"INSERT INTO calls_search(rowid, body) VALUES (new.id, {_body('new.')});"
_DELETE = (f"INSERT INTO calls_search(calls_search, rowid, body) "
           f"VALUES ('delete', old.id, {_body('old.')});")
SQLITE = [
    "CREATE VIRTUAL TABLE calls_search USING fts5(body, content='', "
    "tokenize='trigram case_sensitive 0')",
    f"CREATE TRIGGER calls_search_ai AFTER INSERT ON calls BEGIN {_INSERT} END",
    f"CREATE TRIGGER calls_search_ad AFTER DELETE ON calls BEGIN {_DELETE} END",
    "CREATE TRIGGER calls_search_au AFTER UPDATE OF "
    f"transcript_text, transcript_corrected, from_number ON calls BEGIN {_DELETE} {_INSERT} END",
    f"INSERT INTO calls_search(rowid, body) SELECT id, {_body()} FROM calls",
]
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS ix_calls_search_trgm ON calls USING gin (({_body()}) gin_trgm_ops)",
]


def _flags() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in (
        "completed", "fed_back", "rated", "satisfied", "answered_on_time", "fed_back_on_time")]


def upgrade() -> None:
    op.create_index("ix_calls_liaison_started", "calls", ["liaison_id", "started_at"])
    bind = op.get_bind()
    statements = POSTGRESQL if bind.dialect.name == "postgresql" else SQLITE
    for statement in statements:
        bind.exec_driver_sql(statement)

    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        *_flags(),
        sa.Column("transferred", sa.Integer(), nullable=False),
        sa.Column("current_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_result_in", sa.Integer(), nullable=False),
        sa.Column("current_on_time", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_facts_received_at", "case_facts", ["received_at"])
    op.create_table(
        "case_unit_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("township", "county", name="unitkind", native_enum=False,
                                  length=20), nullable=False),
        sa.Column("latest_of_kind", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        *_flags(),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_in", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("missed_before_ended", sa.Integer(), nullable=False),
        sa.Column("returns_in_row", sa.Integer(), nullable=False),
        sa.Column("dissatisfied_redos", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("case_id", "unit_id"),
    )
    op.create_index("ix_case_unit_facts_received_at", "case_unit_facts", ["received_at"])
    from intake.store.case_facts import rebuild_case_facts
    rebuild_case_facts(bind)


def downgrade() -> None:
    op.drop_table("case_unit_facts")
    op.drop_table("case_facts")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_calls_search_trgm")
    else:
        for trigger in ("calls_search_ai", "calls_search_ad", "calls_search_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS calls_search")
    op.drop_index("ix_calls_liaison_started", "calls")
