"""The inbound router: one grammar for every reply that reaches Sargs.

STOP / BEIGT unsubscribes (and deletes the subscriber's data, as the consent
text promises), START tells how to subscribe again, HELP / PALĪDZĪBA explains.
Other domains register their own words (call-out codes such as "A1") with
:func:`register`; a reply nobody understands gets the help text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sargs.channels import subscriptions

STOP_WORDS = {"STOP", "BEIGT", "STOPP", "ATTEIKTIES"}
START_WORDS = {"START", "SĀKT", "SAKT"}
HELP_WORDS = {"HELP", "PALĪDZĪBA", "PALIDZIBA", "INFO"}


@dataclass(frozen=True)
class Reply:
    """What came in: the channel, the sender's normalised address and the text."""

    channel: str
    address: str
    text: str


# A handler answers a reply it understands with a text, or None to pass it on.
Handler = Callable[[Session, Reply], str | None]
_handlers: list[Handler] = []


def register(handler: Handler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


TEXTS = {
    "stopped": {
        "lv": "Jūs vairs nesaņemsiet Jelgavas civilās aizsardzības paziņojumus; jūsu dati ir dzēsti.",
        "en": "You will get no more Jelgava civil-protection alerts; your data is deleted.",
    },
    "not_subscribed": {
        "lv": "Šis numurs nav pierakstīts paziņojumiem.",
        "en": "This number is not subscribed to alerts.",
    },
    "start": {
        "lv": "Lai pierakstītos paziņojumiem, atveriet {url} vai zvaniet 8787.",
        "en": "To subscribe to alerts, open {url} or call 8787.",
    },
    "help": {
        "lv": "Jelgavas civilās aizsardzības paziņojumi. BEIGT — atteikties. Palīdzība: 8787. "
              "Dzīvības apdraudējumā zvaniet 112.",
        "en": "Jelgava civil-protection alerts. STOP to unsubscribe. Help: 8787. "
              "If life is in danger, call 112.",
    },
}


ENGLISH_WORDS = {"STOP", "START", "HELP", "INFO"}


def _first_word(text: str) -> str:
    return text.strip().split()[0].upper() if text.strip() else ""


def _language(session: Session, reply: Reply, word: str) -> str:
    """The subscriber's language if we know them, else the language of the word."""
    contact = subscriptions.find_subscriber(session, reply.address) if reply.channel == "sms" \
        else None
    if contact is not None:
        return contact.language
    return "en" if word in ENGLISH_WORDS else "lv"


def route(session: Session, reply: Reply, *, secret: str | bytes, subscribe_url: str) -> str:
    """Handle one reply; return the answer to send back on the same channel."""
    word = _first_word(reply.text)
    language = _language(session, reply, word)
    if word in STOP_WORDS and reply.channel == "sms":
        try:
            subscriptions.erase(session, reply.address, secret=secret)
        except subscriptions.SubscriptionError:
            return TEXTS["not_subscribed"][language]
        return TEXTS["stopped"][language]
    if word in START_WORDS:
        return TEXTS["start"][language].format(url=subscribe_url)
    if word not in HELP_WORDS:
        for handler in _handlers:
            answer = handler(session, reply)
            if answer is not None:
                return answer
    return TEXTS["help"][language]
