"""The residents' Telegram bot: what it answers, as plain service functions.

A conversation runs /start → language → area → levels → subscribed; /settings
changes one choice, /mydata shows and exports what is stored, /stop erases it,
/help (and anything the bot does not understand) explains. Where each chat
stands is a :class:`~sargs.channels.models.TelegramChat` row, so any bot process
can take the next message. :func:`handle` takes a session and an
:class:`Incoming` (a small description of one Telegram update) and returns the
:class:`Answer` to send; python-telegram-bot lives only in
``telegram_bot_runner``, so these rules are tested without it.

A subscriber is a public-subscriber contact with a ``telegram`` address (the
chat id), saved, exported and erased through :mod:`sargs.channels.subscriptions`.
A resident who blocks the bot (``my_chat_member`` kicked, or a 403 when an alert
is sent) is deactivated by :func:`chat_blocked`. Nothing here logs a chat id.
The functions do not commit: one update, one transaction, the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas.service import areas_at_point
from sargs.channels import inbound, subscriptions
from sargs.channels.consent import consent_text
from sargs.channels.models import Contact, ContactAddress, Delivery, TelegramChat
from sargs.channels.subscriptions import (
    DEFAULT_LEVELS,
    HOME_AREAS,
    LANGUAGES,
    LEVEL_CHOICES,
)

CHANNEL = "telegram"
COMMANDS = ("start", "settings", "mydata", "stop", "help")
EXPORT_NAME = "sargs-dati.json"
ACK_PREFIX = "ack:"
ACKNOWLEDGED = "acknowledged"
# The bot's status in a chat after the person blocked it (or a group removed it).
GONE = frozenset({"kicked", "left"})

AREA_NAMES = {
    "LV022": {"lv": "Jelgavas valstspilsēta", "en": "Jelgava city"},
    "LV023": {"lv": "Jelgavas novads", "en": "Jelgava municipality"},
}
LANGUAGE_NAMES = {"lv": "Latviešu", "en": "English"}
# Buttons in the order offered: the default (orange and red) first.
LEVEL_BUTTONS = {
    "orange_red": {"lv": "🟠🔴 Oranžos un sarkanos (ieteicams)",
                   "en": "🟠🔴 Orange and red (recommended)"},
    "all": {"lv": "🟡🟠🔴 Visus", "en": "🟡🟠🔴 All"},
    "red": {"lv": "🔴 Tikai sarkanos", "en": "🔴 Red only"},
}
LEVEL_NAMES = {
    "orange_red": {"lv": "oranžos un sarkanos", "en": "orange and red"},
    "all": {"lv": "visus (dzeltenos, oranžos un sarkanos)", "en": "all (yellow, orange and red)"},
    "red": {"lv": "tikai sarkanos", "en": "red only"},
}

COMMAND_LIST = {
    "lv": "/settings — mainīt izvēli\n/mydata — mani dati\n/stop — atteikties un dzēst datus",
    "en": "/settings — change your choices\n/mydata — my data\n/stop — unsubscribe and delete "
          "your data",
}

TEXTS: dict[str, dict[str, str]] = {
    "choose_language": {
        "lv": "Sargs — Jelgavas civilās aizsardzības brīdinājumi.\nIzvēlieties valodu / "
              "Choose your language:",
        "en": "Sargs — Jelgava civil-protection alerts.\nIzvēlieties valodu / "
              "Choose your language:",
    },
    "choose_area": {
        "lv": "Par kuru teritoriju vēlaties saņemt brīdinājumus? Izvēlieties to vai nosūtiet "
              "savu atrašanās vietu.",
        "en": "Which area do you want alerts for? Choose it or share your location.",
    },
    "share_location": {"lv": "📍 Nosūtīt atrašanās vietu", "en": "📍 Share my location"},
    "location_how": {
        "lv": "Nospiediet pogu “📍 Nosūtīt atrašanās vietu” zem teksta lauka.",
        "en": "Press the “📍 Share my location” button below the text field.",
    },
    "location_found": {
        "lv": "Jūsu atrašanās vieta ir teritorijā: {area}.",
        "en": "Your location is in: {area}.",
    },
    "location_outside": {
        "lv": "Šī vieta nav ne Jelgavas valstspilsētā, ne Jelgavas novadā. Sargs sūta "
              "brīdinājumus tikai par šīm teritorijām — izvēlieties vienu no tām.",
        "en": "This place is neither in Jelgava city nor in Jelgava municipality. Sargs sends "
              "alerts for these areas only — choose one of them.",
    },
    "location_unexpected": {
        "lv": "Paldies, bet atrašanās vietu šobrīd neizmantojam. /settings — mainīt teritoriju.",
        "en": "Thank you, but the location is not needed now. /settings — change your area.",
    },
    "choose_levels": {
        "lv": "Kādus brīdinājumus vēlaties saņemt?\n\nIzvēloties jūs piekrītat:\n{consent}\n\n"
              "Telegram: /mydata — jūsu dati, /stop — atteikties un dzēst datus.",
        "en": "Which alerts do you want?\n\nBy choosing you agree to:\n{consent}\n\n"
              "Telegram: /mydata — your data, /stop — unsubscribe and delete your data.",
    },
    "subscribed": {
        "lv": "Paldies! Jūs saņemsiet {levels} brīdinājumus par teritoriju: {area}.\n\n{commands}",
        "en": "Thank you! You will get {levels} alerts for: {area}.\n\n{commands}",
    },
    "settings": {
        "lv": "Jūsu izvēle:\nValoda: {language}\nTeritorija: {area}\nBrīdinājumi: {levels}\n\n"
              "Ko vēlaties mainīt?",
        "en": "Your choices:\nLanguage: {language}\nArea: {area}\nAlerts: {levels}\n\n"
              "What do you want to change?",
    },
    "change_language": {"lv": "Valodu", "en": "Language"},
    "change_area": {"lv": "Teritoriju", "en": "Area"},
    "change_levels": {"lv": "Brīdinājumu līmeņus", "en": "Alert levels"},
    "not_subscribed": {
        "lv": "Šis čats nav pierakstīts brīdinājumiem. Lai pierakstītos: /start",
        "en": "This chat is not subscribed to alerts. To subscribe: /start",
    },
    "stopped": inbound.TEXTS["stopped"],
    "help": {
        "lv": "Sargs — Jelgavas civilās aizsardzības brīdinājumi.\n/start — pierakstīties\n"
              "{commands}\n/patvertne — tuvākā atvērtā patvertne\n"
              "/brivpratigais — brīvprātīgā profils\n/help — palīdzība\n"
              "Palīdzība: 8787. Dzīvības apdraudējumā zvaniet 112.",
        "en": "Sargs — Jelgava civil-protection alerts.\n/start — subscribe\n{commands}\n"
              "/shelter — the nearest open shelter\n/volunteer — volunteer profile\n/help — help\n"
              "Help: 8787. If life is in danger, call 112.",
    },
    "mydata": {
        "lv": "Par jums glabājam:\nČata ID: {chat_id}\nValoda: {language}\nTeritorija: {area}\n"
              "Brīdinājumi: {levels}\nPiekrišana: {consent_version}, {consent_at}\n"
              "Aktīvs: {active}\nSaņemtās ziņas: {messages}\n\nVisi dati ir pievienotajā failā. "
              "/stop — dzēst tos.",
        "en": "What we keep about you:\nChat id: {chat_id}\nLanguage: {language}\nArea: {area}\n"
              "Alerts: {levels}\nConsent: {consent_version}, {consent_at}\nActive: {active}\n"
              "Messages received: {messages}\n\nAll of it is in the attached file. "
              "/stop — delete it.",
    },
    "mydata_conversation": {
        "lv": "Jūs neesat pierakstījies. Glabājam tikai šīs sarunas stāvokli (čata ID un "
              "izvēles līdz šim); /stop to dzēš.",
        "en": "You are not subscribed. We keep only where this conversation stands (the chat "
              "id and your choices so far); /stop deletes it.",
    },
    "mydata_nothing": {
        "lv": "Par šo čatu nekas netiek glabāts.",
        "en": "Nothing is kept about this chat.",
    },
    "yes": {"lv": "jā", "en": "yes"},
    "no": {"lv": "nē", "en": "no"},
    "stale_button": {
        "lv": "Šī izvēle vairs nav spēkā; skatiet pēdējo ziņu.",
        "en": "This choice is no longer open; see the latest message.",
    },
    "acknowledged_button": {"lv": "✅ Apstiprināts", "en": "✅ Acknowledged"},
    "already_acknowledged": {"lv": "Jau apstiprināts.", "en": "Already acknowledged."},
}


@dataclass(frozen=True)
class Incoming:
    """One Telegram update, as much as the rules need.

    ``kind`` is ``command`` (``text`` the command, ``payload`` what follows it),
    ``text``, ``button`` (``text`` the callback data), ``location`` or ``member``
    (``text`` the bot's new status in the chat, e.g. ``kicked``).
    ``language_hint`` is the language of the user's Telegram app.
    """

    chat_id: int
    kind: str
    text: str = ""
    payload: str = ""
    latitude: float | None = None
    longitude: float | None = None
    language_hint: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Message:
    """One message to send: text with inline ``buttons`` (rows), or a reply keyboard
    asking for the location, or the removal of that keyboard; or a file."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_location: str | None = None
    remove_keyboard: bool = False
    document: tuple[str, bytes] | None = None


@dataclass
class Answer:
    """What to do for one update: ``messages`` to send; for a pressed button the
    ``callback_text`` to show and the ``keyboard`` its message keeps (``()`` removes it,
    ``None`` leaves it)."""

    messages: list[Message] = field(default_factory=list)
    callback_text: str | None = None
    keyboard: tuple[tuple[Button, ...], ...] | None = None


# --- what other domains add to the bot -----------------------------------------

# A domain's handler answers one update it recognises, or None to pass it on.
UpdateHandler = Callable[[Session, Incoming, str], "Answer | None"]
_commands: dict[str, UpdateHandler] = {}
_start_payloads: list[tuple[str, UpdateHandler]] = []
_buttons: list[tuple[str, UpdateHandler]] = []


def register_command(names: tuple[str, ...], handler: UpdateHandler) -> None:
    """Answer the commands ``names`` (without the slash) with ``handler``."""
    for name in names:
        _commands[name.lower()] = handler


def register_start_payload(prefix: str, handler: UpdateHandler) -> None:
    """Answer a deep link ``/start <prefix>…`` with ``handler`` (e.g. a volunteer
    linking their chat from the portal)."""
    if all(known != prefix for known, _h in _start_payloads):
        _start_payloads.append((prefix, handler))


def register_button(prefix: str, handler: UpdateHandler) -> None:
    """Answer pressed buttons whose data starts with ``prefix`` (e.g. a call-out's
    "yes" and "no")."""
    if all(known != prefix for known, _h in _buttons):
        _buttons.append((prefix, handler))


def _registered(session: Session, incoming: Incoming, language: str) -> Answer | None:
    if incoming.kind == "command" and incoming.text.lower() == "start" and incoming.payload:
        for prefix, handler in _start_payloads:
            if incoming.payload.startswith(prefix):
                return handler(session, incoming, language)
    if incoming.kind == "command" and incoming.text.lower() in _commands:
        return _commands[incoming.text.lower()](session, incoming, language)
    if incoming.kind == "button":
        for prefix, handler in _buttons:
            if incoming.text.startswith(prefix):
                return handler(session, incoming, language)
    return None


def text(key: str, language: str, /, **values: Any) -> str:
    texts = TEXTS[key]
    return texts.get(language, texts["lv"]).format(**values)


# --- who is this chat ----------------------------------------------------------


def subscriber(session: Session, chat_id: int | str) -> Contact | None:
    return subscriptions.find_subscriber(session, str(chat_id), (CHANNEL,))


def _chat(session: Session, chat_id: int | str) -> TelegramChat | None:
    return session.scalar(select(TelegramChat).where(TelegramChat.chat_id == str(chat_id)))


def _language(session: Session, chat: TelegramChat | None, incoming: Incoming) -> str:
    """The chat's chosen language, else the subscriber's, else the app's if we speak it."""
    if chat is not None and chat.choices.get("language") in LANGUAGES:
        return str(chat.choices["language"])
    contact = subscriber(session, incoming.chat_id)
    if contact is not None:
        return contact.language
    hint = (incoming.language_hint or "")[:2].lower()
    return "en" if hint == "en" else "lv"


def _put(session: Session, chat_id: int, step: str, choices: dict[str, Any]) -> TelegramChat:
    chat = _chat(session, chat_id)
    if chat is None:
        chat = TelegramChat(chat_id=str(chat_id), step=step, choices=dict(choices),
                            updated_at=clock.now())
        session.add(chat)
    else:
        chat.step, chat.choices, chat.updated_at = step, dict(choices), clock.now()
    session.flush()
    return chat


# --- the questions -------------------------------------------------------------


def _ask(step: str, language: str) -> Message:
    if step == "language":
        return Message(text("choose_language", language), (tuple(
            Button(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()),))
    if step == "area":
        rows = tuple((Button(names[language], f"area:{code}"),)
                     for code, names in AREA_NAMES.items() if code in HOME_AREAS)
        return Message(text("choose_area", language),
                       rows + ((Button(text("share_location", language), "area:location"),),))
    consent = consent_text(language)
    paragraphs = cast(tuple[str, ...], consent["paragraphs"])
    body = "\n".join([str(consent["title"]), *paragraphs])
    return Message(text("choose_levels", language, consent=body), tuple(
        (Button(labels[language], f"levels:{name}"),) for name, labels in LEVEL_BUTTONS.items()))


def _area_names(areas: list[str], language: str) -> str:
    return ", ".join(AREA_NAMES.get(code, {}).get(language, code) for code in areas)


def _levels_name(levels: list[str], language: str) -> str:
    name = subscriptions.choice_of(levels) or DEFAULT_LEVELS
    return LEVEL_NAMES[name][language]


def _next(session: Session, chat_id: int, choices: dict[str, Any],
          before: list[Message] | None = None, change: str | None = None) -> Answer:
    """Ask the first question not yet answered (or the one to ``change``), or
    subscribe when all are answered."""
    messages = list(before or [])
    for step, key in (("language", "language"), ("area", "areas"), ("levels", "levels")):
        if not choices.get(key) or change == step:
            choices.pop(key, None)
            _put(session, chat_id, step, choices)
            return Answer(messages + [_ask(step, choices.get("language", "lv"))])
    return _subscribe(session, chat_id, choices, messages)


def _subscribe(session: Session, chat_id: int, choices: dict[str, Any],
               messages: list[Message]) -> Answer:
    checked = subscriptions.check_choices(choices["language"], choices["areas"],
                                          choices["levels"])
    contact = subscriptions.save_subscriber(session, str(chat_id), CHANNEL, checked,
                                            verified=True)
    _put(session, chat_id, "done", {"language": checked.language, "areas": list(checked.areas),
                                    "levels": list(checked.levels)})
    language = contact.language
    return Answer(messages + [Message(text(
        "subscribed", language, levels=_levels_name(contact.levels, language),
        area=_area_names(contact.areas, language), commands=COMMAND_LIST[language]))])


# --- commands ------------------------------------------------------------------


def _start(session: Session, incoming: Incoming) -> Answer:
    """A new conversation; a deep link (``/start lv``, ``/start sub_LV023``) preselects
    the language and the area it names."""
    choices: dict[str, Any] = {}
    for token in incoming.payload.replace("-", "_").split("_"):
        if token.lower() in LANGUAGES:
            choices["language"] = token.lower()
        elif token.upper() in HOME_AREAS:
            choices["areas"] = [token.upper()]
    return _next(session, incoming.chat_id, choices)


def _settings(session: Session, incoming: Incoming, language: str) -> Answer:
    contact = subscriber(session, incoming.chat_id)
    if contact is None:
        return Answer([Message(text("not_subscribed", language))])
    language = contact.language
    _put(session, incoming.chat_id, "done", {
        "language": contact.language, "areas": list(contact.areas),
        "levels": list(contact.levels)})
    return Answer([Message(text(
        "settings", language, language=LANGUAGE_NAMES.get(contact.language, contact.language),
        area=_area_names(contact.areas, language), levels=_levels_name(contact.levels, language),
    ), ((Button(text("change_language", language), "change:language"),
         Button(text("change_area", language), "change:area"),
         Button(text("change_levels", language), "change:levels")),))])


def stop(session: Session, chat_id: int | str, *, secret: str | bytes) -> bool:
    """Erase the chat's subscriber and conversation; False if it had no subscription."""
    contact = subscriber(session, chat_id)
    session.execute(delete(TelegramChat).where(TelegramChat.chat_id == str(chat_id)))
    if contact is None:
        return False
    subscriptions.erase_contact(session, contact, secret=secret)
    return True


def export(session: Session, chat_id: int | str) -> dict[str, Any]:
    """Everything kept about the chat: the subscription (as for an SMS subscriber)
    and where the conversation stands."""
    contact = subscriber(session, chat_id)
    chat = _chat(session, chat_id)
    return {
        "chat_id": str(chat_id),
        "subscription": subscriptions.export_contact(session, contact) if contact else None,
        "conversation": None if chat is None else {
            "step": chat.step, "choices": chat.choices,
            "updated_at": chat.updated_at.isoformat()},
    }


def _mydata(session: Session, incoming: Incoming, language: str) -> Answer:
    data = export(session, incoming.chat_id)
    document = (EXPORT_NAME, json.dumps(data, ensure_ascii=False, indent=2).encode())
    kept = data["subscription"]
    if kept is None:
        if data["conversation"] is None:
            return Answer([Message(text("mydata_nothing", language))])
        return Answer([Message(text("mydata_conversation", language), document=document)])
    return Answer([Message(text(
        "mydata", language, chat_id=incoming.chat_id,
        language=LANGUAGE_NAMES.get(kept["language"], kept["language"]),
        area=_area_names(kept["areas"], language), levels=_levels_name(kept["levels"], language),
        consent_version=kept["consent_version"], consent_at=kept["consent_at"],
        active=text("yes" if kept["active"] else "no", language),
        messages=len(kept["messages"])), document=document)])


def _help(language: str) -> Answer:
    return Answer([Message(text("help", language, commands=COMMAND_LIST[language]))])


# --- buttons and locations -----------------------------------------------------


def _button(session: Session, incoming: Incoming, chat: TelegramChat | None,
            language: str) -> Answer:
    kind, _, value = incoming.text.partition(":")
    if incoming.text.startswith(ACK_PREFIX):
        return acknowledge(session, incoming.chat_id, value)
    if incoming.text == ACKNOWLEDGED:  # the marker left where the button was
        return Answer(callback_text=text("already_acknowledged", language))
    step = chat.step if chat is not None else None
    choices = dict(chat.choices) if chat is not None else {}
    answer: Answer | None = None
    if kind == "lang" and step == "language" and value in LANGUAGES:
        choices["language"] = value
        answer = _next(session, incoming.chat_id, choices)
    elif kind == "area" and step == "area" and value == "location":
        answer = Answer([Message(text("location_how", language),
                                 ask_location=text("share_location", language))])
        return _pressed(answer, keyboard=None)
    elif kind == "area" and step == "area" and value in HOME_AREAS:
        choices["areas"] = [value]
        answer = _next(session, incoming.chat_id, choices)
    elif kind == "levels" and step == "levels" and value in LEVEL_CHOICES:
        choices["levels"] = list(subscriptions.levels_of(value))
        answer = _next(session, incoming.chat_id, choices)
    elif kind == "change" and step == "done" and value in ("language", "area", "levels") \
            and subscriber(session, incoming.chat_id) is not None:
        answer = _next(session, incoming.chat_id, choices, change=value)
    if answer is None:
        return Answer(callback_text=text("stale_button", language), keyboard=())
    return _pressed(answer, keyboard=())


def _pressed(answer: Answer, keyboard: tuple[tuple[Button, ...], ...] | None) -> Answer:
    answer.keyboard = keyboard
    answer.callback_text = answer.callback_text or ""
    return answer


def _location(session: Session, incoming: Incoming, chat: TelegramChat | None,
              language: str) -> Answer:
    if incoming.latitude is None or incoming.longitude is None:
        return Answer([Message(text("location_unexpected", language), remove_keyboard=True)])
    if chat is None or chat.step != "area":
        # Asked for by /patvertne, or sent unasked: a resident looking for shelter.
        from sargs.shelters import bot as shelter_bot  # it builds on this module's answers

        return shelter_bot.answer_location(session, chat, incoming.latitude,
                                           incoming.longitude, language)
    found = [ref.code for ref in areas_at_point(session, incoming.latitude, incoming.longitude)
             if ref.code in HOME_AREAS]
    if not found:
        return Answer([Message(text("location_outside", language), remove_keyboard=True),
                       _ask("area", language)])
    choices = dict(chat.choices, areas=found[:1])
    said = Message(text("location_found", language, area=_area_names(found[:1], language)),
                   remove_keyboard=True)
    return _next(session, incoming.chat_id, choices, [said])


def acknowledge(session: Session, chat_id: int, value: str) -> Answer:
    """A staff member pressed "Apstiprināt / Acknowledge" under an alert."""
    from sargs.channels import acks  # the acknowledgement rules live with the escalation chains

    delivery_id = int(value) if value.isdigit() else 0
    delivery = session.get(Delivery, delivery_id) if delivery_id else None
    done = acks.acknowledge(session, delivery_id=delivery_id, via=CHANNEL,
                            address=str(chat_id)) if delivery is not None else None
    language = delivery.language if delivery is not None else "lv"
    if delivery is None or done is None:
        return Answer(callback_text=acks.text("not_acknowledged", language))
    return Answer(callback_text=acks.text("thanks", language, alert_id=delivery.alert_id),
                  keyboard=((Button(text("acknowledged_button", language), ACKNOWLEDGED),),))


# --- blocking ------------------------------------------------------------------


def chat_blocked(session: Session, chat_id: int | str) -> int:
    """The person blocked the bot: their Telegram address stops being used, and a
    resident with no other way to reach them stops being a recipient. Staff
    contacts stay in their groups. Returns the addresses deactivated."""
    addresses = list(session.scalars(
        select(ContactAddress).where(ContactAddress.channel == CHANNEL,
                                     ContactAddress.address == str(chat_id),
                                     ContactAddress.active.is_(True))))
    for address in addresses:
        address.active = False
        contact = address.contact
        if contact.is_public_subscriber and not any(a.active for a in contact.addresses):
            contact.active = False
    session.flush()
    return len(addresses)


# --- the entry point -----------------------------------------------------------


def _is_help(answer: str) -> bool:
    return answer in inbound.TEXTS["help"].values()


def handle(session: Session, incoming: Incoming, *, secret: str | bytes,
           subscribe_url: str) -> Answer:
    """What the bot answers to one update."""
    chat = _chat(session, incoming.chat_id)
    language = _language(session, chat, incoming)
    if incoming.kind == "member":
        if incoming.text in GONE:
            chat_blocked(session, incoming.chat_id)
        return Answer()
    registered = _registered(session, incoming, language)
    if registered is not None:
        return registered
    if incoming.kind == "button":
        return _button(session, incoming, chat, language)
    if incoming.kind == "location":
        return _location(session, incoming, chat, language)
    command = incoming.text.lower() if incoming.kind == "command" else ""
    if incoming.kind == "text":
        words = incoming.text.split()
        word = words[0].upper() if words else ""
        command = "stop" if word in inbound.STOP_WORDS else \
            "start" if word in inbound.START_WORDS else ""
    from sargs.shelters import bot as shelter_bot  # it builds on this module's answers

    if shelter_bot.is_request(incoming):
        return shelter_bot.ask_location(chat, language)
    if command == "start":
        return _start(session, incoming)
    if command == "settings":
        return _settings(session, incoming, language)
    if command == "mydata":
        return _mydata(session, incoming, language)
    if command == "stop":
        erased = stop(session, incoming.chat_id, secret=secret)
        return Answer([Message(text("stopped" if erased else "not_subscribed", language),
                               remove_keyboard=True)])
    if incoming.kind == "text":
        # Call-out codes and other registered words; everything else gets the bot's help.
        said = inbound.route(session, inbound.Reply(CHANNEL, str(incoming.chat_id),
                                                    incoming.text),
                             secret=secret, subscribe_url=subscribe_url)
        if not _is_help(said):
            return Answer([Message(said)])
    return _help(language)

