"""The nearest shelter in the residents' Telegram bot, driven through the Telegram
simulator by the real bot runner: /patvertne asks for the location with the
share-location button, the location is answered with the three nearest open
shelters with free places (or, when none is open, the nearest registered places),
and a location sent unasked gets the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.channels import telegram_bot_runner
from sargs.channels.models import TelegramChat
from sargs.channels.simulators import telegram as telegram_sim
from sargs.shelters import service
from sargs.shelters.schemas import ShelterIn
from tests.channels.adapters_helpers import wired
from tests.channels.test_telegram_bot import said, subscribe, subscriber, user
from tests.shelters.conftest import CENTRE

CHAT = 5550101


@pytest.fixture
def telegram() -> Iterator[Any]:
    with telegram_sim.TelegramSimulator(mode="test") as bot:
        yield bot


@pytest.fixture
def wiring(settings, telegram, frozen_clock) -> Iterator[Any]:
    with wired(settings, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        yield wiring


@pytest.fixture
def bot(wiring) -> Iterator[telegram_bot_runner.BotRunner]:
    runner = telegram_bot_runner.BotRunner(wiring.app, polling=True, poll_timeout=1).start()
    yield runner
    runner.stop()


def _register(wiring, places: list[dict[str, Any]]) -> None:
    """Places north of the centre: ``north`` metres away, ``open`` in a real (or
    ``exercise``) activation, ``inside`` people checked in."""
    with wiring.sessions() as db:
        real = open_activation(db, ActivationOpen(title="Vētra", kind="emergency"),
                               by_user_id=None)
        drill = open_activation(db, ActivationOpen(title="Mācības", kind="exercise"),
                                by_user_id=None)
        for place in places:
            shelter = service.create_shelter(db, ShelterIn(
                name=place["name"], address=place.get("address", "Lielā iela 1"),
                lat=CENTRE[0] + place["north"] / 111_195, lon=CENTRE[1],
                capacity=place.get("capacity", 100)))
            if place.get("open"):
                activation = drill if place.get("exercise") else real
                service.open_shelter(db, shelter, activation.id, settings=wiring.settings)
                if place.get("inside"):
                    service.change_occupancy(db, shelter, place["inside"])
        db.commit()


CITY_PLACES = [
    {"name": "Tālā skola", "north": 5400, "open": True},
    {"name": "Sporta halle", "north": 1150, "open": True, "address": "Kalnciema ceļš 2"},
    {"name": "Pilsētas dome", "north": 100, "open": True, "inside": 20,
     "address": "Lielā iela 11"},
    {"name": "Pilna zāle", "north": 50, "open": True, "capacity": 10, "inside": 10},
    {"name": "Mācību skola", "north": 60, "open": True, "exercise": True},
    {"name": "Kultūras nams", "north": 2500, "open": True},
    {"name": "Slēgtā skola", "north": 30},
]


def _chat_step(wiring, chat: int = CHAT) -> str | None:
    with wiring.sessions() as db:
        return db.scalar(select(TelegramChat.step).where(TelegramChat.chat_id == str(chat)))


def test_patvertne_asks_for_the_location_and_lists_the_three_nearest_open_shelters(
        wiring, telegram, bot):
    _register(wiring, CITY_PLACES)
    subscribe(telegram, chat=CHAT)

    [asked] = user(telegram, "user_sends", "/patvertne", chat=CHAT)
    assert "tuvāko atvērto patvertni" in asked
    keyboard = said(telegram, CHAT)[-1]["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "📍 Nosūtīt atrašanās vietu", "request_location": True}]]
    assert _chat_step(wiring) == "shelter"

    [answer] = user(telegram, "user_shares_location", *CENTRE, chat=CHAT)
    assert said(telegram, CHAT)[-1]["reply_markup"] == {"remove_keyboard": True}
    assert answer.startswith("Tuvākās atvērtās patvertnes ar brīvām vietām:")
    # Nearest first; the full one, the exercise's and the closed one are left out.
    names = [line.split(". ", 1)[1] for line in answer.splitlines() if line[:2] in ("1.", "2.",
                                                                                       "3.")]
    assert names == ["Pilsētas dome", "Sporta halle", "Kultūras nams"]
    assert "Lielā iela 11, brīvas vietas: 80, 100 m no jums" in answer
    assert "Kalnciema ceļš 2, brīvas vietas: 100, 1,1 km no jums" in answer
    assert "2,5 km no jums" in answer
    lat = f"{CENTRE[0] + 100 / 111_195:.5f}"
    assert (f"https://www.openstreetmap.org/?mlat={lat}&mlon=23.72140#map=17/{lat}/23.72140"
            in answer)
    assert "112" in answer
    # The subscriber is back where they were, their subscription untouched.
    assert _chat_step(wiring) == "done"
    assert subscriber(wiring, CHAT).areas == ["LV022"]


def test_the_word_in_english_and_no_shelter_open(wiring, telegram, bot):
    _register(wiring, [{"name": "Jelgavas pils", "north": 300},
                       {"name": "Zinātņu māja", "north": 1800},
                       {"name": "Ledus halle", "north": 900},
                       {"name": "Tālā skola", "north": 7000},
                       {"name": "Mācību skola", "north": 10, "open": True, "exercise": True}])

    telegram.add_chat(CHAT, language_code="en")  # an English Telegram app
    [asked] = user(telegram, "user_sends", "Shelter", chat=CHAT)
    assert asked.startswith("To find the nearest open shelter")
    keyboard = said(telegram, CHAT)[-1]["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "📍 Share my location", "request_location": True}]]

    [answer] = user(telegram, "user_shares_location", *CENTRE, chat=CHAT)
    assert answer.startswith("No shelter is open at the moment.")
    # The exercise's opening is no opening for the public: the nearest registered places.
    assert [line for line in answer.splitlines() if line[:2] in ("1.", "2.", "3.")] == [
        "1. Mācību skola", "2. Jelgavas pils", "3. Ledus halle"]
    assert "free places" not in answer and "300 m away" in answer
    # Nothing is kept about a chat that only asked for shelters.
    with wiring.sessions() as db:
        assert db.scalar(select(func.count()).select_from(TelegramChat)) == 0


def test_a_location_sent_unasked_is_answered_with_shelters(wiring, telegram, bot):
    _register(wiring, [{"name": "Pilsētas dome", "north": 100, "open": True}])
    [answer] = user(telegram, "user_shares_location", *CENTRE, chat=CHAT)
    assert answer.startswith("Tuvākās atvērtās patvertnes ar brīvām vietām:")
    assert "1. Pilsētas dome" in answer and "brīvas vietas: 100" in answer


def test_help_names_the_shelter_command(wiring, telegram, bot):
    [helped] = user(telegram, "user_sends", "/help", chat=CHAT)
    assert "/patvertne" in helped
