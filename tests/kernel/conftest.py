"""Fixtures of the kernel tests: apps with other settings, an empty database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sargs.app import create_app
from tests.conftest import ON_POSTGRES, PG_URL, _pg_admin


@pytest.fixture
def make_app(settings: Any, frozen_clock: Any) -> Iterator[Callable[..., Any]]:
    """An app on the test database with some settings changed."""
    made: list[Any] = []

    def make(**changes: Any) -> Any:
        application = create_app(settings.model_copy(update=changes))
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["sargs"].engine.dispose()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on the backend the suite runs on."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"sargs_empty_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
