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

One or two characters have no trigram; a second structure serves them (revision
0020_short_search, which carries its own frozen copy):

- SQLite: an fts5vocab table `calls_search_instance` over `calls_search`. Every occurrence of
  a 1–2 character query in the transcript or correction is followed in the indexed text by
  more characters, so it starts a trigram: the trigrams that start with the query are a term
  range of the vocabulary, which fts5vocab seeks, and each instance row names its call.
- PostgreSQL: a GIN index `ix_calls_search_chars` on the array of the characters (case folded
  by lower(), spaces left out) of the transcript and correction; a query's characters must all
  be in it.
"""
from __future__ import annotations

from sqlalchemy import and_, column, func, literal_column, null, or_, select, table, text

from intake.store.database import LIKE_ESCAPE, contains_pattern
from intake.store.models import Call

# The shortest text a trigram index can look up.
MIN_INDEXED_CHARS = 3
SQLITE_TABLE = "calls_search"
POSTGRESQL_INDEX = "ix_calls_search_trgm"
SQLITE_VOCAB = SQLITE_TABLE + "_instance"
POSTGRESQL_CHARS_INDEX = "ix_calls_search_chars"
SQLITE_NO_NUMBER_INDEX = "ix_calls_search_no_number"
# Above every character: `term < prefix || MAX_CHAR` ends the range of terms starting with
# prefix (FTS5 compares terms as UTF-8 bytes, and U+10FFFF encodes highest).
MAX_CHAR = "\U0010ffff"


def is_search_index(name: str | None, type_: str, *_parents) -> bool:
    """Whether a schema object is this index, which the models do not describe (an FTS5 table
    and its shadow tables; an expression index): schema comparisons leave it out."""
    if type_ == "table":
        return bool(name) and (name == SQLITE_TABLE or name.startswith(SQLITE_TABLE + "_"))
    return type_ == "index" and name in (POSTGRESQL_INDEX, POSTGRESQL_CHARS_INDEX,
                                         SQLITE_NO_NUMBER_INDEX)


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


def chars_sql() -> str:
    """The characters of a call's transcript and correction, as PostgreSQL reads them: an
    array of one-character strings (case folded by lower(), as ILIKE folds; spaces left out,
    since a query's unspaced characters are what must be found)."""
    return ("string_to_array(lower(replace(coalesce(transcript_text, '') || "
            "coalesce(transcript_corrected, ''), ' ', '')), NULL)")


def short_sqlite_statements() -> list[str]:
    """The vocabulary of calls_search, one row per trigram instance: it reads the FTS5 index
    itself, so it needs no filling and no triggers. And the corrected calls without a number:
    there the indexed text ends with the correction and one space, so no trigram starts at
    the correction's last character."""
    return [f"CREATE VIRTUAL TABLE {SQLITE_VOCAB} USING fts5vocab({SQLITE_TABLE}, 'instance')",
            f"CREATE INDEX {SQLITE_NO_NUMBER_INDEX} ON calls(id) "
            "WHERE from_number = '' AND transcript_corrected IS NOT NULL"]


def short_postgresql_statements() -> list[str]:
    """The GIN index on each call's characters (PostgreSQL builds it from the existing rows)."""
    return [f"CREATE INDEX IF NOT EXISTS {POSTGRESQL_CHARS_INDEX} ON calls "
            f"USING gin (({chars_sql()}))"]


def short_text_matching(dialect: str, query: str, exact=None) -> list | None:
    """SELECTs of the ids of calls whose transcript or correction may contain `query` (fewer
    than MIN_INDEXED_CHARS characters besides its spaces, so no trigram search) spaced or
    unspaced, or None when the index cannot answer (SQLite: a cased letter outside ASCII,
    whose folding by FTS5 this code does not reproduce). Each SELECT gives an id once.

    The answer is a superset; the caller re-checks. `exact`, PostgreSQL only, is the caller's
    condition, applied here so that the candidates counted are real matches.
    """
    unspaced = query.replace(" ", "")
    if dialect == "postgresql":
        # The model's table, so that `exact` (written on the model) reads the same FROM.
        calls = Call.__table__
        chars = literal_column(f"({chars_sql()})")
        # Folded by the same lower() as the index; spaced or not, these characters must be in.
        wanted = func.string_to_array(func.lower(unspaced), null())
        stmt = select(calls.c.id).where(chars.op("@>")(wanted))
        return [stmt.where(exact) if exact is not None else stmt]
    if _has_case_beyond_ascii(query):
        return None
    term, doc = literal_column("term"), literal_column("doc")
    # Fold as the trigram tokenizer (case_sensitive 0) folds; ASCII only, see above. The
    # query as typed only matters for the correction (the indexed text holds it spaced as
    # typed): its first three characters are then a trigram of their own.
    prefixes = sorted({needle.lower()[:MIN_INDEXED_CHARS] for needle in (query, unspaced)})
    found = [select(doc).distinct().select_from(text(SQLITE_VOCAB)).where(or_(
        *(and_(term >= prefix, term < prefix + MAX_CHAR) for prefix in prefixes)))]
    if len(unspaced) == 1:
        # A literal '' (not a parameter), so that SQLite sees the partial index applies.
        found.append(select(literal_column("id")).select_from(text("calls")).where(
            text("from_number = '' AND transcript_corrected IS NOT NULL"),
            literal_column("transcript_corrected").like(contains_pattern(unspaced),
                                                        escape=LIKE_ESCAPE)))
    return found


def _has_case_beyond_ascii(needle: str) -> bool:
    return any(not ch.isascii() and ch.lower() != ch.upper() for ch in needle)


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
