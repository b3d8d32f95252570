"""Revision 0005 migrates a directory that already has leaders, and downgrades cleanly."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from intake.store.database import MIGRATIONS_DIR, make_engine, scratch_database, upgrade_database


def _config(url: str) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def test_existing_leaders_get_no_superior_and_are_not_heads(tmp_path):
    with scratch_database(os.environ.get("TEST_DATABASE_URL"), tmp_path, "dutyline_m5") as url:
        # Whatever the revision was chained after when branches were merged.
        before = ScriptDirectory.from_config(_config(url)).get_revision(
            "0005_directory_duties").down_revision
        command.downgrade(_config(url), before)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO leaders (name, title, phone, email, on_duty, active) "
                "VALUES ('王建国', '副局长', '+8613900000001', '', false, true)"))
        upgrade_database(url)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT reports_to_id, is_head FROM leaders")).one()
            assert tuple(row) == (None, False)
            assert conn.execute(text("SELECT count(*) FROM contact_logs")).scalar() == 0
        command.downgrade(_config(url), before)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM leaders")).scalar() == "王建国"
        engine.dispose()
