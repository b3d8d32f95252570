"""The trigram index the inbox search reads, on both databases.

One text per call is indexed: the transcript as the model wrote it, the same without its
spaces (Vosk writes Mandarin with spaces between words, a person types without), the
person's correction and the caller's number. SQLite keeps it in a contentless FTS5 table
(tokenizer trigram) fed by triggers on `calls`; PostgreSQL in a GIN index (pg_trgm) on the
same expression. Both find any substring of three characters or more, Chinese included,
without word segmentation, and both change in the same transaction as the call row.

The index only narrows the rows: the search re-applies its exact LIKE conditions to what the
index returns (intake.calls.inbox), so the index may match more (it folds case more widely)
but never decides a result on its own.

migrations/versions/0017_search_and_facts.py carries a frozen copy of these statements;
tests/test_search.py checks the two agree.
"""
from __future__ import annotations

from sqlalchemy import column, literal_column, or_, select, table, text

from intake.store.database import LIKE_ESCAPE, contains_pattern

# The shortest text a trigram index can look up.
MIN_INDEXED_CHARS = 3
SQLITE_TABLE = "calls_search"
POSTGRESQL_INDEX = "ix_calls_search_trgm"


def is_search_index(name: str | None, type_: str, *_parents) -> bool:
    """Whether a schema object is this index, which the models do not describe (an FTS5 table
    and its shadow tables; an expression index): schema comparisons leave it out."""
    if type_ == "table":
        return bool(name) and (name == SQLITE_TABLE or name.startswith(SQLITE_TABLE + "_"))
    return type_ == "index" and name == POSTGRESQL_INDEX


def body_sql(row: str = "") -> str:
    """The indexed text of a call as SQL both databases read; `row` is "new." or "old."."""
    return (f"coalesce({row}transcript_text, '') || ' ' || "
            f"replace(coalesce({row}transcript_text, ''), ' ', '') || ' ' || "
            f"coalesce({row}transcript_corrected, '') || ' ' || coalesce({row}from_number, '')")


def sqlite_statements() -> list[str]:
    """Create the FTS5 table and its triggers; fill it from the existing calls."""
    insert = (f"INSERT INTO {SQLITE_TABLE}(rowid, body) VALUES (new.id, {body_sql('new.')});")
    delete = (f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, body) "
              f"VALUES ('delete', old.id, {body_sql('old.')});")
    watched = "transcript_text, transcript_corrected, from_number"
    return [
        f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5(body, content='', "
        "tokenize='trigram case_sensitive 0')",
        f"CREATE TRIGGER calls_search_ai AFTER INSERT ON calls BEGIN {insert} END",
        f"CREATE TRIGGER calls_search_ad AFTER DELETE ON calls BEGIN {delete} END",
        f"CREATE TRIGGER calls_search_au AFTER UPDATE OF {watched} ON calls BEGIN "
        f"{delete} {insert} END",
        f"INSERT INTO {SQLITE_TABLE}(rowid, body) SELECT id, {body_sql()} FROM calls",
    ]


def postgresql_statements() -> list[str]:
    """Create pg_trgm and the GIN index (PostgreSQL builds it from the existing rows)."""
    return ["CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f"CREATE INDEX IF NOT EXISTS {POSTGRESQL_INDEX} ON calls "
            f"USING gin (({body_sql()}) gin_trgm_ops)"]


def indexed_text_matching(dialect: str, needles: list[str]):
    """A SELECT of the ids of calls whose indexed text may contain any of `needles`.

    Every needle has at least MIN_INDEXED_CHARS characters. The answer is a superset of the
    calls that contain one (case folded); the caller re-checks.
    """
    if dialect == "postgresql":
        calls = table("calls", column("id"))
        # The very expression the GIN index was built on, so the planner can use it.
        body = literal_column(f"({body_sql()})")
        return select(calls.c.id).where(or_(*(body.ilike(contains_pattern(needle),
                                                         escape=LIKE_ESCAPE)
                                              for needle in needles)))
    # FTS5 query syntax: each needle a quoted string (a " inside is doubled); OR between.
    query = " OR ".join('"' + needle.replace('"', '""') + '"' for needle in needles)
    return select(literal_column("rowid")).select_from(text(SQLITE_TABLE)).where(
        literal_column(SQLITE_TABLE).op("MATCH")(query))
