"""Fixtures of the warnings tests."""

from __future__ import annotations

import pytest

from sargs.warnings import ingest
from tests.warnings.lvgmc import Doc


@pytest.fixture
def feed(app, db, tmp_path):
    """Write documents as files and ingest them, as `sargs warnings ingest FILE…` does;
    ``settings`` replaces the app's, ``activation_id`` makes them an exercise's."""
    ext = app.extensions["sargs"]

    def ingest_docs(*docs: Doc, settings=None, activation_id: int | None = None) -> ingest.Report:
        db.rollback()  # SQLite: the ingest writes; the test's session must not hold the lock
        paths = []
        for doc in docs:
            path = tmp_path / f"{doc.identifier}.xml"
            path.write_bytes(doc.xml())
            paths.append(str(path))
        return ingest.ingest(ext.sessionmaker, paths, settings or ext.settings,
                             activation_id=activation_id)

    return ingest_docs
