"""Alembic environment: runs against the engine handed over by sargs.migrate."""

from __future__ import annotations

from alembic import context

from sargs.db import include_in_autogenerate
from sargs.models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
