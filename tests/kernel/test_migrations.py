"""Migrations: one line of history, reversible, and the same schema as the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from sargs import migrate
from sargs.db import include_in_autogenerate, make_engine
from sargs.models import metadata

NO_OBJECTS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace "
                  "WHERE nspname = 'public' UNION ALL SELECT typname FROM pg_type "
                  "JOIN pg_namespace n ON n.oid = typnamespace WHERE nspname = 'public' "
                  "AND typtype = 'e'",
}


def test_the_history_has_one_head(app):
    engine = app.extensions["sargs"].engine
    assert len(ScriptDirectory.from_config(migrate.alembic_config(engine)).get_heads()) == 1


def _leftovers(engine) -> list[str]:
    """Tables, triggers, functions … still in the database, apart from Alembic's own."""
    with engine.connect() as connection:
        names = [row[0] for row in connection.execute(text(NO_OBJECTS[engine.dialect.name]))]
    tables = inspect(engine).get_table_names()
    return sorted(name for name in {*names, *tables} if name != "alembic_version")


def test_upgrade_downgrade_to_base_and_upgrade_again(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
        assert "audit_log" in inspect(engine).get_table_names()

        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert _leftovers(engine) == []

        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
    finally:
        engine.dispose()


def test_the_models_match_the_migrations(app):
    engine = app.extensions["sargs"].engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_in_autogenerate})
        differences = compare_metadata(context, metadata)
    assert differences == []
