"""Fixtures of the shelter tests: places registered through the service."""

from __future__ import annotations

from typing import Any

import pytest

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.shelters import service
from sargs.shelters.schemas import ShelterIn

# Jelgava's centre and a few places around it.
CENTRE = (56.6511, 23.7214)


@pytest.fixture
def make_shelter(db: Any):
    def make(name: str = "Jelgavas Valsts ģimnāzija", lat: float = CENTRE[0],
             lon: float = CENTRE[1], **fields: Any) -> Any:
        values = {"name": name, "address": "Mātera iela 44", "lat": lat, "lon": lon,
                  "capacity": 100, **fields}
        shelter = service.create_shelter(db, ShelterIn(**values))
        db.commit()
        return shelter

    return make


@pytest.fixture
def activation(db: Any):
    """An open emergency activation (``exercise=True`` makes an exercise's)."""
    def make(exercise: bool = False) -> Any:
        found = open_activation(db, ActivationOpen(
            title="Vētra Zemgalē" if not exercise else "Mācības 2026", kind="exercise" if exercise
            else "emergency"), by_user_id=None)
        db.commit()
        return found

    return make
