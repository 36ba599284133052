"""Fixtures of the exercises tests: continuity plans saved through the service.

``plan`` is one school's plan with two critical services (heating, then meals) and one
key contact; ``make_plan`` makes others. Kept small and stable: the exercise tests build
objectives on ``plan.services``."""

from __future__ import annotations

from typing import Any

import pytest

from sargs.exercises import service
from sargs.exercises.schemas import PlanIn

SERVICES = [
    {"name": "Apkure un ēdināšanas telpas", "recovery_time_hours": 4, "minimum_staff": 2,
     "dependencies": ["power", "heating"], "workarounds": "Pārvietojamais ģenerators"},
    {"name": "Skolēnu ēdināšana", "recovery_time_hours": 24, "minimum_staff": 3,
     "dependencies": ["water", "suppliers"], "workarounds": "Sausās pārtikas paciņas"},
]
CONTACTS = [{"name": "Anna Bērziņa", "role": "direktore", "phone": "+37120000001",
             "email": "anna@example.lv"}]


@pytest.fixture
def make_plan(db: Any):
    def make(organisation: str = "Jelgavas 4. vidusskola", **fields: Any) -> Any:
        values = {"organisation": organisation, "title": "Darbības nepārtrauktības plāns",
                  "version": "1.0", "owner": "Direktores vietniece",
                  "services": SERVICES, "contacts": CONTACTS, **fields}
        plan = service.create_plan(db, PlanIn(**values))
        db.commit()
        return plan

    return make


@pytest.fixture
def plan(make_plan: Any) -> Any:
    """A school's plan, never tested, with two critical services."""
    return make_plan()
