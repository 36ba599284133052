"""The nearest shelter in the residents' Telegram bot.

``/patvertne`` (``/shelter``, or the word alone) asks for the resident's location
with the "📍 share location" keyboard button; the location is answered with the
three nearest shelters open with free places — name, address, free places,
distance and a map link — or, when none is open, says so and lists the three
nearest registered places. A location sent outside the area question is taken
the same way: in a crisis that is what a resident means by it.

A chat the bot already keeps (a subscriber, or a conversation under way) steps
into ``shelter`` and back to where it was once answered; for any other chat
nothing is stored, since its location is answered with shelters all the same.
The texts follow the bot's own (Latvian and English, in the chat's language).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sargs.channels.models import TelegramChat
from sargs.channels.telegram_bot import Answer, Incoming, Message
from sargs.shelters import service

COMMANDS = frozenset({"patvertne", "patvertnes", "shelter", "shelters"})
WORDS = frozenset({"PATVERTNE", "PATVERTNES", "SHELTER", "SHELTERS"})
STEP = "shelter"
# Where the chat stood before it asked, to go back there after the answer.
RESUME = "resume_step"
SHOWN = 3

TEXTS: dict[str, dict[str, str]] = {
    "ask": {
        "lv": "Lai atrastu tuvāko atvērto patvertni, nospiediet pogu “📍 Nosūtīt atrašanās "
              "vietu” zem teksta lauka.",
        "en": "To find the nearest open shelter, press the “📍 Share my location” button "
              "below the text field.",
    },
    "button": {"lv": "📍 Nosūtīt atrašanās vietu", "en": "📍 Share my location"},
    "open": {"lv": "Tuvākās atvērtās patvertnes ar brīvām vietām:",
             "en": "The nearest open shelters with free places:"},
    "none_open": {
        "lv": "Pašlaik neviena patvertne nav atvērta. Tuvākās reģistrētās vietas (tās "
              "atvērs, ja būs vajadzība — sekojiet pašvaldības norādījumiem):",
        "en": "No shelter is open at the moment. The nearest registered places (they are "
              "opened when needed — follow the municipality's instructions):",
    },
    "nothing": {"lv": "Patvertņu reģistrs ir tukšs.", "en": "The shelter register is empty."},
    "free": {"lv": "brīvas vietas: {n}", "en": "free places: {n}"},
    "away": {"lv": "{distance} no jums", "en": "{distance} away"},
    "footer": {"lv": "Dzīvības apdraudējumā zvaniet 112. Palīdzība: 8787.",
               "en": "If life is in danger, call 112. Help: 8787."},
}


def text(key: str, language: str, /, **values: object) -> str:
    texts = TEXTS[key]
    return texts.get(language, texts["lv"]).format(**values)


def is_request(incoming: Incoming) -> bool:
    """``/patvertne``, ``/shelter`` or the word on its own."""
    if incoming.kind == "command":
        return incoming.text.lower() in COMMANDS
    return incoming.kind == "text" and incoming.text.strip().upper() in WORDS


def ask_location(chat: TelegramChat | None, language: str) -> Answer:
    """Ask for the location with the share-location keyboard button."""
    if chat is not None and chat.step != STEP:
        chat.choices = dict(chat.choices, **{RESUME: chat.step})
        chat.step = STEP
    return Answer([Message(text("ask", language), ask_location=text("button", language))])


def answer_location(session: Session, chat: TelegramChat | None, lat: float, lon: float,
                    language: str) -> Answer:
    """The nearest shelters to the point; the chat goes back to where it was."""
    if chat is not None and chat.step == STEP:
        choices = dict(chat.choices)
        chat.step = str(choices.pop(RESUME, "done"))
        chat.choices = choices
    found, any_open = service.nearest(session, lat, lon, SHOWN)
    return Answer([Message(nearest_text(found, any_open, language), remove_keyboard=True)])


def distance_text(metres: int, language: str) -> str:
    """"350 m", "1,2 km" (Latvian decimal comma) / "1.2 km"."""
    if metres < 1000:
        return f"{metres} m"
    kilometres = f"{metres / 1000:.1f}" if metres < 10_000 else f"{round(metres / 1000)}"
    return f"{kilometres.replace('.', ',') if language == 'lv' else kilometres} km"


def map_url(lat: float, lon: float) -> str:
    return (f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}"
            f"#map=17/{lat:.5f}/{lon:.5f}")


def nearest_text(found: list[service.Nearby], any_open: bool, language: str) -> str:
    if not found:
        return f"{text('nothing', language)}\n\n{text('footer', language)}"
    lines = [text("open" if any_open else "none_open", language)]
    for number, near in enumerate(found, 1):
        shelter = near.shelter
        facts = [shelter.address]
        if any_open:
            facts.append(text("free", language, n=service.free_places(shelter)))
        facts.append(text("away", language, distance=distance_text(near.distance_m, language)))
        lines += ["", f"{number}. {shelter.name}", ", ".join(facts),
                  map_url(shelter.lat, shelter.lon)]
    return "\n".join([*lines, "", text("footer", language)])
