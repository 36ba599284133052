"""Fixtures of the volunteer tests: a registration as the portal sends it, and an
outbox standing in for the SMS and e-mail adapters where the provider is not the point."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sargs.volunteers import service
from sargs.volunteers.consent import CONSENT_VERSION
from sargs.volunteers.schemas import VolunteerIn


def registration(**fields: Any) -> dict[str, Any]:
    """A complete, valid registration; ``fields`` override."""
    values: dict[str, Any] = {
        "name": "Ilze Kalniņa", "phone": "+371 2612 3456", "email": "ilze@example.lv",
        "birth_date": date(1990, 4, 12), "language": "lv", "municipality": "LV022",
        "skills": ["first_aid", "driving"], "licence_categories": ["B"], "own_vehicle": True,
        "languages": ["lv", "en"], "available_days": [0, 1, 2, 3, 4],
        "available_from": "08:00", "available_to": "22:00", "travel_km": 15,
        "consent": True, "consent_version": CONSENT_VERSION,
    }
    values.update(fields)
    return values


class Outbox:
    """What a code sender was handed: (channel, address, language, text)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    def __call__(self, channel: str, address: str, language: str, text: str) -> None:
        self.sent.append((channel, address, language, text))

    def last_code(self) -> str:
        import re

        found = re.search(r"\b(\d{6})\b", self.sent[-1][3])
        assert found, self.sent[-1]
        return found.group(1)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def make_volunteer(db: Any, outbox: Outbox):
    """A registered volunteer; ``status`` "active" verifies the phone and approves them."""
    def make(status: str = "pending", **fields: Any) -> Any:
        volunteer = service.register(db, VolunteerIn(**registration(**fields)))
        if status != "pending":
            service.send_phone_code(db, volunteer, secret="s", send=outbox)
            service.confirm_phone(db, volunteer, outbox.last_code(), secret="s")
            service.decide(db, volunteer, status, None)
        db.commit()
        return volunteer

    return make
