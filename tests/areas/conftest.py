"""Helpers for the area tests: the shipped outlines and CAP polygons made from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sargs.areas import service

# Jelgava: a small square around the Academia Petrina / town hall quarter.
CITY_SQUARE = [(23.716, 56.648), (23.726, 56.648), (23.726, 56.654), (23.716, 56.654)]


def ring(corners: list[tuple[float, float]]) -> list[list[float]]:
    """A closed GeoJSON ring from lon/lat corners."""
    return [list(c) for c in corners] + [list(corners[0])]


@pytest.fixture(scope="session")
def shipped() -> dict[str, dict[str, Any]]:
    """The shipped GeoJSON Features by code."""
    return {f["properties"]["code"]: f for f in service.builtin_features()}


@pytest.fixture(scope="session")
def cap_polygon_of(shipped: dict[str, dict[str, Any]]) -> Callable[[str], str]:
    """The outline of a shipped area written as a CAP <polygon> ("lat,lon lat,lon …")."""

    def make(code: str) -> str:
        geometry = shipped[code]["geometry"]
        rings = geometry["coordinates"] if geometry["type"] == "Polygon" else geometry["coordinates"][0]
        return " ".join(f"{lat},{lon}" for lon, lat in rings[0])

    return make


@pytest.fixture
def square_geojson() -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring(CITY_SQUARE)]}
