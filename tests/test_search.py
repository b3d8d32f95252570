"""The inbox search through the trigram index (intake.store.search_index) finds exactly what
today's LIKE scan finds, on seeded calls with Chinese, mixed and numeric text, and the index
follows every insert, correction and delete in the same transaction."""
from __future__ import annotations

import importlib.util
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select, text

from intake.calls import inbox
from intake.calls.inbox import PAGE_SIZE, list_inbox
from intake.directory.roster import add_leader, add_liaison
from intake.statuses import CallStatus
from intake.store import search_index
from intake.store.audit import Actor
from intake.store.database import (LIKE_ESCAPE, MIGRATIONS_DIR, contains_pattern, make_engine,
                                   make_session_factory, upgrade_database)
from intake.store.models import Call, Liaison
from tests.test_migration_0002 import _empty_database
from tests.test_migration_0008 import _downgrade

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
WORDS = ["药 店", "没有", "降压药", "饮用 水", "有 异味", "医保", "报销", "太 慢", "卫生室", "医生",
         "Vaccine", "vaccine", "ABC", "abc-12", "100%", "a_b", "3号楼", "第12号", "H1N1", "张三",
         "王五", "县医院", "乡", "异味"]
NAMES = ["张伟", "李娜", "王小明", "Anna Li", "联络员7", "联络员70", "赵六", "王五"]
QUERIES = [
    # Chinese: phrases spaced as Vosk writes and unspaced as a person types, names, 1-2 chars
    "药店没有", "药 店 没有", "饮用水有异味", "降压药", "张伟", "王小明", "联络员7", "联络员",
    "异味", "药", "乡", "王五", "县医院",
    # mixed and case-folded text, LIKE's own characters
    "Vaccine", "VACCINE", "abc", "abc-1", "100%", "a_b", "H1N1", "h1n", "3号楼", "第12号", "Anna",
    # numbers: whole, last digits, middle digits, spaced, references, too short to be a number
    "13812340042", "0042", "1234", "138 1234 0042", "1000017", "12", "号楼",
    # nothing
    "无此内容", "zzz",
    # one or two characters (revision 0020): rare and common Chinese, spaced as Vosk writes,
    # only in a correction, Latin in both cases, digits, LIKE's own characters
    "霉", "斑", "霉斑", "霉 斑", "锅", "锅炉", "炉", "异", "有 异", "医", "县医", "药店",
    "Q", "q", "Qz", "qZ", "v", "V", "Va", "aN", "7", "12", "42", "%", "_", "a_", "无此",
]
RARE = "霉 斑"  # in one call in 50, spaced as Vosk writes
CORRECTION_ONLY = "锅炉Qz"  # only ever typed by a person


def _old_search(query: str):
    """The search as it was before the index: LIKE scans (frozen copy, the reference)."""
    like = contains_pattern(query)
    unspaced = contains_pattern(query.replace(" ", ""))
    digits = "".join(ch for ch in query if ch.isdigit())
    matches = [Call.transcript_text.ilike(like, escape=LIKE_ESCAPE),
               Call.transcript_corrected.ilike(like, escape=LIKE_ESCAPE),
               Call.reference == query,
               Call.liaison_id.in_(select(Liaison.id).where(Liaison.name.ilike(like,
                                                                               escape=LIKE_ESCAPE)))]
    if len(digits) >= 3:
        matches.append(Call.from_number.like(f"%{digits}%"))
    matches.append(func.replace(Call.transcript_text, " ", "").ilike(unspaced, escape=LIKE_ESCAPE))
    return (select(Call.id).where(or_(*matches))
            .order_by(Call.urgent.desc(), Call.started_at.desc(), Call.id.desc()))


def _all_pages(session, query: str, state: str | None = "all") -> list[int]:
    ids, page = [], 1
    while True:
        found = list_inbox(session, query=query, state=state, page=page)
        ids += [call.id for call in found.calls]
        if not found.has_next:
            return ids
        page += 1


def _seed(session, n_calls: int, seed: int) -> None:
    rng = random.Random(seed)
    actor = Actor("test")
    leader = add_leader(session, "领导甲", "+8613900000001", actor)
    liaisons = [add_liaison(session, name, f"+861381234{i:04d}", leader, actor)
                for i, name in enumerate(NAMES)]
    for i in range(n_calls):
        liaison = rng.choice(liaisons) if rng.random() < 0.7 else None
        number = liaison.phone if liaison else f"+86137{rng.randrange(10**8):08d}"
        if i % 9 == 0:
            number = "+8613812340042"
        session.add(Call(
            call_sid=f"CA{i:032x}", reference=f"{1000000 + i}", from_number=number,
            liaison_id=liaison.id if liaison else None, urgent=rng.random() < 0.1,
            status=rng.choice([CallStatus.CONFIRMED, CallStatus.DRAFT, CallStatus.FAILED]),
            transcript_text=(" ".join(rng.sample(WORDS, 3)) + (f" {RARE}" if i % 50 == 0 else "")
                             if rng.random() < 0.95 else None),
            started_at=START + timedelta(minutes=7 * i + rng.randrange(5))))
    session.flush()
    calls = list(session.scalars(select(Call).order_by(Call.id)))
    for call in rng.sample(calls, n_calls // 5):  # a person corrects the transcript
        call.transcript_corrected = " ".join(rng.sample(WORDS, 2)).replace(" ", "")
        if call.id % 7 == 0:
            call.transcript_corrected += CORRECTION_ONLY
    for call in rng.sample(calls, n_calls // 20):
        session.delete(call)
    session.commit()


def test_the_indexed_search_finds_exactly_what_the_like_scan_found(db_session, monkeypatch):
    _seed(db_session, 400, seed=21)
    # 5: names with many calls take the newest-first walk instead of the index.
    for many_calls in (inbox.MANY_CALLS, 5):
        monkeypatch.setattr(inbox, "MANY_CALLS", many_calls)
        for query in QUERIES:
            expected = list(db_session.scalars(_old_search(query)))
            assert _all_pages(db_session, query) == expected, (query, many_calls)
    # Found things, so the comparison compared something, on more than one page.
    assert len(_all_pages(db_session, "药")) > PAGE_SIZE
    assert _all_pages(db_session, "降压药") and _all_pages(db_session, "0042")
    assert _all_pages(db_session, "联络员7") and _all_pages(db_session, "vaccine")
    assert _all_pages(db_session, "霉") and _all_pages(db_session, "炉")
    assert _all_pages(db_session, "qZ")


def test_a_short_search_reads_the_index_of_short_text(db_session, monkeypatch):
    _seed(db_session, 200, seed=5)
    # The walk newest first, which reads back to the first call for a rare query, is what
    # the index replaces: the rare queries must get their candidates from it.
    answers = {}
    candidates = inbox._candidates
    monkeypatch.setattr(inbox, "_candidates", lambda session, query: answers.setdefault(
        query, candidates(session, query)))
    for query in ("霉", "霉斑", "霉 斑", "炉", "锅炉", "qz"):
        assert _all_pages(db_session, query) == list(db_session.scalars(_old_search(query)))
        assert answers[query], query
    statement = select(Call.id).where(Call.id.in_(search_index.short_text_matching(
        db_session.get_bind().dialect.name, "霉斑")[0]))
    compiled = statement.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
    if db_session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in db_session.execute(
            text(f"EXPLAIN QUERY PLAN {compiled}")))
        # INDEX 0 would be a scan of the whole vocabulary; a term range is a seek.
        assert "calls_search_instance VIRTUAL TABLE INDEX" in plan and "INDEX 0:" not in plan
        # The calls without a number, for one character, through their partial index.
        lone = search_index.short_text_matching("sqlite", "锅")[1].compile(
            db_session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in db_session.execute(
            text(f"EXPLAIN QUERY PLAN {lone}")))
        assert "ix_calls_search_no_number" in plan
    else:
        db_session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db_session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_calls_search_chars" in plan


def test_a_search_without_a_state_searches_every_state(db_session):
    _seed(db_session, 120, seed=7)
    for query in ("降压药", "异味", "0042"):
        assert _all_pages(db_session, query, state=None) == list(
            db_session.scalars(_old_search(query)))


def test_the_index_follows_inserts_corrections_and_deletes_in_the_same_transaction(db_session):
    call = Call(call_sid="CA1", reference="2000001", from_number="+8613700000001",
                transcript_text="村里 卫生室 的 医生 不在", status=CallStatus.DRAFT)
    db_session.add(call)
    db_session.flush()  # not committed: the index must already see it
    assert [c.id for c in list_inbox(db_session, query="卫生室的医生").calls] == [call.id]
    call.transcript_corrected = "村里卫生室的护士不在"
    db_session.flush()
    assert [c.id for c in list_inbox(db_session, query="护士不在").calls] == [call.id]
    call.from_number = "+8613799998888"
    db_session.flush()
    assert list_inbox(db_session, query="0000001").calls == []
    assert [c.id for c in list_inbox(db_session, query="9998888").calls] == [call.id]
    db_session.delete(call)
    db_session.flush()
    assert list_inbox(db_session, query="卫生室的医生").calls == []
    if db_session.get_bind().dialect.name == "sqlite":
        # A contentless FTS5 table answers from the index alone: nothing may be left in it.
        assert db_session.scalar(text(
            "SELECT count(*) FROM calls_search WHERE calls_search MATCH '\"卫生室\"'")) == 0


def test_the_search_reads_the_index(db_session):
    # Guards against a planner or a rewrite that quietly falls back to scanning calls.
    statement = select(Call.id).where(Call.id.in_(search_index.indexed_text_matching(
        db_session.get_bind().dialect.name, ["饮用水有异味"])))
    compiled = statement.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
    if db_session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in db_session.execute(
            text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "VIRTUAL TABLE INDEX" in plan and "calls_search" in plan
    else:
        db_session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db_session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_calls_search_trgm" in plan


def _migration(name: str):
    path = MIGRATIONS_DIR / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def _insert_confirmed_call(engine, transcript: str, correction: str | None) -> None:
    """One call written in SQL, as it stood before a revision (the models are the head's)."""
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO calls (call_sid, reference, from_number, to_number, language, "
            "urgent, status, transcript_text, transcript_corrected, no_speech, progress, "
            "attempts, started_at, updated_at) VALUES ('CA9', '3000001', "
            "'+8613812345678', '', 'zh-CN', false, 'confirmed', :transcript, "
            ":correction, false, 1.0, 1, :at, :at)"),
            {"transcript": transcript, "correction": correction, "at": START})


def test_the_migration_carries_the_same_statements_as_the_module():
    migration = _migration("0017_search_and_facts")
    assert migration.SQLITE == search_index.sqlite_statements()
    assert migration.POSTGRESQL == search_index.postgresql_statements()


def test_the_migration_indexes_the_calls_already_on_file(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url, "0016_notices_visits")
        engine = make_engine(url)
        try:
            _insert_confirmed_call(engine, "药 店 没有 降压药", None)
            upgrade_database(url)
            with make_session_factory(engine)() as session:
                for query in ("药店没有降压", "药 店 没有", "2345678"):
                    assert [c.reference for c in _pages(session, query)] == ["3000001"], query
                if engine.dialect.name == "sqlite":
                    triggers = set(session.scalars(text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
                    assert {"calls_search_ai", "calls_search_ad", "calls_search_au"} <= triggers
        finally:
            engine.dispose()


def _pages(session, query):
    return list_inbox(session, query=query, state="all").calls


def test_the_short_search_migration_carries_the_same_statements_as_the_module():
    migration = _migration("0020_short_search")
    assert migration.SQLITE == search_index.short_sqlite_statements()
    assert migration.POSTGRESQL == search_index.short_postgresql_statements()


def test_the_short_search_migration_indexes_the_calls_already_on_file(tmp_path):
    with _empty_database(tmp_path) as url:
        upgrade_database(url, "0019_fact_days")
        engine = make_engine(url)
        try:
            _insert_confirmed_call(engine, "药 店 没有 霉 斑", "锅炉坏了")
            upgrade_database(url)
            with make_session_factory(engine)() as session:
                for query in ("霉斑", "霉 斑", "锅", "坏了", "药店没有霉"):
                    assert inbox._candidates(session, query), query
                    assert [c.reference for c in _pages(session, query)] == ["3000001"], query
            _downgrade(url, "0019_fact_days")
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    assert not conn.scalar(text("SELECT count(*) FROM sqlite_master "
                                                "WHERE name = 'calls_search_instance'"))
                else:
                    assert not conn.scalar(text("SELECT to_regclass('ix_calls_search_chars')"))
            upgrade_database(url)
        finally:
            engine.dispose()


def test_a_character_ending_the_correction_of_a_call_without_a_number_is_found(db_session):
    # The indexed text then ends with the correction and one space: no trigram starts at its
    # last character.
    call = Call(call_sid="CA2", reference="2000002", from_number="", transcript_text="药 店",
                transcript_corrected="药店的锅", status=CallStatus.DRAFT)
    db_session.add(call)
    db_session.flush()
    for query in ("锅", "的锅", "店的锅"):
        assert [c.id for c in list_inbox(db_session, query=query).calls] == [call.id], query
