"""The inbound router: one grammar for every reply that reaches Sargs.

STOP / BEIGT unsubscribes (and deletes the subscriber's data, as the consent
text promises), START tells how to subscribe again, HELP / PALĪDZĪBA explains.
Other domains register their own words (call-out codes such as "A1") with
:func:`register`, under a name; a reply nobody understands gets the help text.

Every reply is kept as an :class:`InboundMessage` with what became of it
(``stop``, ``start``, ``help``, the name of the handler that took it, or
``unknown``), the contact it came from and the alert it answers (the last one
sent to that address on that channel): replies nobody understood wait on the
operators' page "Atbildes / Replies" (channels/replies_views.py). A STOP
erases the subscriber, and with them the address of every reply they sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import subscriptions
from sargs.channels.models import ContactAddress, Delivery, InboundMessage

STOP_WORDS = {"STOP", "BEIGT", "STOPP", "ATTEIKTIES"}
START_WORDS = {"START", "SĀKT", "SAKT"}
HELP_WORDS = {"HELP", "PALĪDZĪBA", "PALIDZIBA", "INFO"}
PHONE_CHANNELS = ("sms", "voice")
TEXT_LENGTH = 1600  # the longest concatenated SMS; Telegram's 4096 is cut here too


@dataclass(frozen=True)
class Reply:
    """What came in: the channel, the sender's normalised address and the text."""

    channel: str
    address: str
    text: str


# A handler answers a reply it understands with a text, or None to pass it on.
Handler = Callable[[Session, Reply], str | None]
_handlers: list[tuple[str, Handler]] = []
OUTCOME_LENGTH = 32


def register(handler: Handler, name: str | None = None) -> None:
    """Offer ``handler`` every reply that is not STOP, START or HELP; the replies it
    answers are kept with ``name`` (default: the function's name) as their outcome."""
    if all(known is not handler for _name, known in _handlers):
        _handlers.append(((name or handler.__name__)[:OUTCOME_LENGTH], handler))


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


def _sender(session: Session, reply: Reply) -> tuple[int | None, int | None]:
    """The contact at the reply's address and the alert last sent there, if any."""
    channels = PHONE_CHANNELS if reply.channel in PHONE_CHANNELS else (reply.channel,)
    contact_id = session.scalar(
        select(ContactAddress.contact_id)
        .where(ContactAddress.address == reply.address, ContactAddress.channel.in_(channels))
        .order_by(ContactAddress.contact_id).limit(1)
    )
    alert_id = session.scalar(
        select(Delivery.alert_id)
        .where(Delivery.address == reply.address, Delivery.channel == reply.channel,
               Delivery.sent_at.is_not(None))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc()).limit(1)
    )
    return contact_id, alert_id


def _answer(session: Session, reply: Reply, word: str, language: str, *,
            secret: str | bytes, subscribe_url: str) -> tuple[str, str]:
    """(outcome, answer) of one reply."""
    if word in STOP_WORDS and reply.channel == "sms":
        try:
            subscriptions.erase(session, reply.address, secret=secret)
        except subscriptions.SubscriptionError:
            return "stop", TEXTS["not_subscribed"][language]
        return "stop", TEXTS["stopped"][language]
    if word in START_WORDS:
        return "start", TEXTS["start"][language].format(url=subscribe_url)
    if word in HELP_WORDS:
        return "help", TEXTS["help"][language]
    for name, handler in _handlers:
        answer = handler(session, reply)
        if answer is not None:
            return name, answer
    return "unknown", TEXTS["help"][language]


def route(session: Session, reply: Reply, *, secret: str | bytes, subscribe_url: str) -> str:
    """Handle one reply and keep it; return the answer to send back on the same channel."""
    word = _first_word(reply.text)
    language = _language(session, reply, word)
    contact_id, alert_id = _sender(session, reply)
    outcome, answer = _answer(session, reply, word, language, secret=secret,
                              subscribe_url=subscribe_url)
    address = reply.address
    if outcome == "stop":  # the sender's data is gone: keep the STOP, not who sent it
        address, contact_id = subscriptions.pseudonym(secret, reply.address), None
    session.add(InboundMessage(
        channel=reply.channel, address=address, text=reply.text[:TEXT_LENGTH],
        received_at=clock.now(), outcome=outcome, contact_id=contact_id, alert_id=alert_id,
    ))
    session.flush()
    return answer
