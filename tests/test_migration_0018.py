"""Revision 0018_live_transcripts: calls drafted before it were drafted from their recording."""
import os

from sqlalchemy import text

from intake.store.database import make_engine, scratch_database, upgrade_database
from tests.test_migration_retry import _downgrade

ROWS = [  # (status, drafted, the drafted_by it must get)
    ("draft", True, "batch"),
    ("confirmed", True, "batch"),
    ("queued", False, None),
    ("ringing", False, None),
]


def test_calls_drafted_before_the_revision_were_drafted_by_the_batch_path(tmp_path):
    with scratch_database(os.environ.get("TEST_DATABASE_URL"), tmp_path, "mig0018") as url:
        engine = make_engine(url)
        # scratch_database migrated to head; step back to the schema before this revision.
        _downgrade(url, "0017_search_and_facts")
        with engine.begin() as conn:
            for number, (status, drafted, _path) in enumerate(ROWS, start=1):
                conn.execute(text(
                    "INSERT INTO calls (call_sid, reference, from_number, to_number, language,"
                    " urgent, status, no_speech, progress, attempts, started_at, updated_at,"
                    " drafted_at, transcript_text) VALUES (:sid, :ref, '', '', 'zh-CN', false,"
                    " :status, false, 0, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " CASE WHEN :drafted THEN CURRENT_TIMESTAMP END, :text)"),
                    {"sid": f"CA{number}", "ref": f"10000{number}", "status": status,
                     "drafted": drafted, "text": "안녕하세요" if drafted else None})
        upgrade_database(url)
        with engine.connect() as conn:
            rows = {sid: (path, state, live_text) for sid, path, state, live_text in conn.execute(
                text("SELECT call_sid, drafted_by, live_state, live_text FROM calls")).all()}
        _downgrade(url, "0017_search_and_facts")  # and back down, without a trace
        with engine.connect() as conn:
            columns = conn.execute(text("SELECT * FROM calls")).keys()
        engine.dispose()
    assert rows == {f"CA{n}": (path, None, None) for n, (_s, _d, path) in enumerate(ROWS, start=1)}
    assert not {"drafted_by", "live_state", "live_text", "live_started_at"} & set(columns)
