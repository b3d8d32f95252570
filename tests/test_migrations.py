"""The schema comes from Alembic, has one head, and matches the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from intake.store.database import MIGRATIONS_DIR
from intake.store.models import Base
from intake.store.search_index import is_search_index


def test_alembic_has_exactly_one_head():
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": False,
            "include_name": lambda name, type_, parents: not is_search_index(name, type_)})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
