"""Revision 0006_intake_retry gives existing failed calls a failure code from their reason."""
import os

from sqlalchemy import text

from intake.store.database import make_engine, scratch_database, upgrade_database

ROWS = [  # (failure_reason as transcription/jobs.py wrote it, the code it must get)
    ("refused: recording URL host is not allowed: 127.0.0.1", "download_refused"),
    ("refused: recording (/r/call-2.wav) is at least 400.0 s long, over the limit of 305.0 s",
     "too_long"),
    ("unreadable audio: the file is empty", "unreadable_audio"),
    ("ConnectionError: connection refused", "job_failed"),
    (None, None),
]


def test_existing_failure_reasons_get_their_codes(tmp_path):
    with scratch_database(os.environ.get("TEST_DATABASE_URL"), tmp_path, "mig0006") as url:
        engine = make_engine(url)
        # scratch_database migrated to head; step back to the schema before this revision.
        _downgrade(url, "0001")
        with engine.begin() as conn:
            for number, (reason, _code) in enumerate(ROWS, start=1):
                conn.execute(text(
                    "INSERT INTO calls (call_sid, reference, from_number, to_number, language,"
                    " urgent, status, no_speech, progress, failure_reason, attempts, started_at,"
                    " updated_at) VALUES (:sid, :ref, '', '', 'zh-CN', false, 'failed', false,"
                    " 0, :reason, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"sid": f"CA{number}", "ref": f"10000{number}", "reason": reason})
        upgrade_database(url)
        with engine.connect() as conn:
            codes = dict(conn.execute(text("SELECT call_sid, failure_code FROM calls")).all())
        engine.dispose()
    assert codes == {f"CA{n}": code for n, (_reason, code) in enumerate(ROWS, start=1)}


def _downgrade(url: str, revision: str) -> None:
    """Downgrade a migrated database to `revision`."""
    from alembic import command
    from alembic.config import Config

    from intake.store.database import MIGRATIONS_DIR

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.downgrade(config, revision)
