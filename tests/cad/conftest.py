"""Fixtures of the 8787 line's tests: reports made through the service, as every
intake does."""

from __future__ import annotations

from typing import Any

import pytest

from sargs.cad import service
from sargs.cad.schemas import ReportIn

# Points inside Jelgava city (LV022), in Jelgava municipality outside the city (LV023),
# and in Riga (served by nobody here).
CITY_POINT = (56.6511, 23.7214)
MUNICIPALITY_POINT = (56.58, 23.60)
RIGA_POINT = (56.9496, 24.1052)


@pytest.fixture
def make_report(app: Any, db: Any):
    """Register a report as an operator would (committed); keyword arguments go to
    :class:`ReportIn`."""
    settings = app.extensions["sargs"].settings

    def make(**fields: Any) -> Any:
        values: dict[str, Any] = {"category": "streets", "description": "Bedre brauktuvē",
                                  "address": "Lielā iela 11", "lat": CITY_POINT[0],
                                  "lon": CITY_POINT[1]}
        values.update(fields)
        report = service.create_report(db, settings, ReportIn(**values))
        db.commit()
        return report

    return make
