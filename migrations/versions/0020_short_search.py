"""an index for searches of one or two characters

A trigram index (0017_search_and_facts) cannot look up fewer than three characters, so a
search for one or two walked the newest-first index testing every call: quick for a common
character, the whole table for a rare pair (issue 21).

SQLite: an fts5vocab table `calls_search_instance` over `calls_search`, one row per trigram
instance (term, call). The trigrams that start with the query are a range of terms it seeks;
it reads the FTS5 index itself, so it needs no filling and no triggers (a batch migration that
rebuilds `calls` leaves it alone). Beside it a partial index of the corrected calls without
a number: the indexed text of such a call ends with the correction and one space, so no
trigram starts at the correction's last character, and a one-character search reads them
apart (a batch migration that rebuilds `calls` must create it again).

PostgreSQL: a GIN index on the array of each call's characters (transcript and correction,
lower-cased, without spaces), built from the calls on file.

The statements are written once, in intake.store.search_index; this file keeps a frozen copy
(tests/test_search.py checks they agree).

Revision ID: 0020_short_search
Revises: 0019_fact_days
"""
from alembic import op


revision = "0020_short_search"
down_revision = "0019_fact_days"
branch_labels = None
depends_on = None


SQLITE = [
    "CREATE VIRTUAL TABLE calls_search_instance USING fts5vocab(calls_search, 'instance')",
    "CREATE INDEX ix_calls_search_no_number ON calls(id) "
    "WHERE from_number = '' AND transcript_corrected IS NOT NULL",
]
POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS ix_calls_search_chars ON calls USING gin (("
    "string_to_array(lower(replace(coalesce(transcript_text, '') || "
    "coalesce(transcript_corrected, ''), ' ', '')), NULL)))",
]


def upgrade() -> None:
    bind = op.get_bind()
    for statement in POSTGRESQL if bind.dialect.name == "postgresql" else SQLITE:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_calls_search_chars")
    else:
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_calls_search_no_number")
        bind.exec_driver_sql("DROP TABLE IF EXISTS calls_search_instance")
