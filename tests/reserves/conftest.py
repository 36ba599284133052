"""Fixtures of the reserves tests: a small catalogue and two warehouses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sargs.reserves import service
from sargs.reserves.schemas import ItemIn, WarehouseIn


@pytest.fixture
def stockroom(db: Any) -> Any:
    """Water (3 l a day), canned food (0.5 kg), sandbags (no norm); warehouses CENTRS
    and OZOLNIEKI."""
    class Room:
        water = service.create_item(db, ItemIn(
            code="W-5L", name_lv="Dzeramais ūdens", name_en="Drinking water",
            category="water", unit="l", norm_per_person_day=Decimal(3), shelf_life_days=365))
        food = service.create_item(db, ItemIn(
            code="F-CAN", name_lv="Konservi", name_en="Canned food", category="food",
            unit="kg", norm_per_person_day=Decimal("0.5")))
        sandbags = service.create_item(db, ItemIn(
            code="SB", name_lv="Smilšu maisi", name_en="Sandbags",
            category="flood_protection", unit="pcs"))
        centre = service.create_warehouse(db, WarehouseIn(code="CENTRS", name="Centrālā"))
        ozolnieki = service.create_warehouse(db, WarehouseIn(code="OZOL", name="Ozolnieki"))

    db.commit()
    return Room
