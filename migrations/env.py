"""Alembic environment: runs migrations against the URL set by intake.store.database.upgrade_database."""
from alembic import context

from intake.store.database import make_engine
from intake.store.models import Base
from intake.store.search_index import is_search_index

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys
            # enforced, dropping a table other rows reference fails. As SQLite advises:
            # off for the rebuild (outside any transaction), checked afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            # The search index is SQL the models do not describe; autogenerate leaves it be.
            include_name=lambda name, type_, parents: not is_search_index(name, type_),
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    engine.dispose()


run_migrations_online()
