"""Residents subscribe to alerts by SMS: a 6-digit code confirms the number.

:func:`start_subscription` keeps the resident's choices with a one-time code
and sends the code through ``send_code`` (the web view passes the configured
SMS adapter); :func:`confirm` turns a right code into one public-subscriber
contact per phone number. :func:`start_manage` and :func:`confirm_manage` let
a subscriber open their data, :func:`export` gives it as a dict and
:func:`erase` deletes it, pseudonymising their rows of the delivery ledger.
:func:`operator_register` is for the 8787 operators entering a resident who
gave consent by phone.

Codes: at most :data:`CODES_PER_HOUR` per number an hour, valid
:data:`CODE_VALID` and dead after :data:`MAX_ATTEMPTS` wrong tries; only an
HMAC of the code (keyed with the app secret) is stored. Nothing here writes a
phone number or a code to the logs. The functions do not commit: one
operation, one transaction, the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sargs import clock
from sargs.audit.service import record
from sargs.channels.adapters import Adapter, Outgoing
from sargs.channels.consent import CONSENT_VERSION
from sargs.channels.contacts import AddressError, normalise_phone, register_contact
from sargs.channels.models import (
    LEVELS,
    Contact,
    ContactAddress,
    Delivery,
    InboundMessage,
    SubscriptionCode,
)

CODES_PER_HOUR = 3
CODE_VALID = timedelta(minutes=10)
MAX_ATTEMPTS = 5
PURPOSES = ("subscribe", "manage")
HOME_AREAS = ("LV022", "LV023")
PHONE_CHANNELS = ("sms", "voice")
LANGUAGES = ("lv", "en")
# The three choices a resident has; orange and red is the default.
LEVEL_CHOICES: dict[str, tuple[str, ...]] = {
    "all": ("yellow", "orange", "red"),
    "orange_red": ("orange", "red"),
    "red": ("red",),
}
DEFAULT_LEVELS = "orange_red"
# The code SMS, in the resident's language.
CODE_TEXTS = {
    "subscribe": {
        "lv": "Sargs: jūsu kods brīdinājumu abonēšanai ir {code}. Tas derīgs 10 minūtes.",
        "en": "Sargs: your code to subscribe to alerts is {code}. It is valid for 10 minutes.",
    },
    "manage": {
        "lv": "Sargs: jūsu kods savu datu apskatei ir {code}. Tas derīgs 10 minūtes.",
        "en": "Sargs: your code to see your data is {code}. It is valid for 10 minutes.",
    },
}
# Latvian landlines (6xxxxxxx) cannot take an SMS.
LATVIAN_LANDLINE = "+3716"

SendCode = Callable[[str, str, str], None]  # (phone, language, text)


class SubscriptionError(Exception):
    """A refusal the resident can act on: ``field`` is the form field, ``reason`` a key
    the views turn into a message in the user's language."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Choices:
    language: str
    areas: tuple[str, ...]
    levels: tuple[str, ...]


def levels_of(choice: str) -> tuple[str, ...]:
    return LEVEL_CHOICES[choice]


def choice_of(levels: Iterable[str]) -> str | None:
    """The name of the choice whose levels are ``levels``, else None."""
    wanted = set(levels)
    for name, chosen in LEVEL_CHOICES.items():
        if set(chosen) == wanted:
            return name
    return None


def code_hash(secret: str | bytes, purpose: str, phone: str, code: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def pseudonym(secret: str | bytes, phone: str) -> str:
    """A stable stand-in for an erased phone number in the delivery ledger."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"erased:{phone}".encode(), hashlib.sha256).hexdigest()
    return "erased:" + digest[:24]


def phone_of(raw: str) -> str:
    try:
        return normalise_phone(raw or "")
    except AddressError:
        raise SubscriptionError("phone", "phone", "not a phone number") from None


def check_choices(language: str, areas: Sequence[str], levels: Sequence[str],
                  allowed_areas: Sequence[str] = HOME_AREAS,
                  languages: Sequence[str] = LANGUAGES) -> Choices:
    if language not in languages:
        raise SubscriptionError("language", "language", "unknown language")
    chosen_areas = tuple(dict.fromkeys(areas))
    if not chosen_areas:
        raise SubscriptionError("areas", "areas_missing", "choose at least one area")
    if any(area not in allowed_areas for area in chosen_areas):
        raise SubscriptionError("areas", "areas_unknown", "unknown area")
    if any(level not in LEVELS for level in levels) or choice_of(levels) is None:
        raise SubscriptionError("levels", "levels", "not one of the level choices")
    ordered = tuple(level for level in LEVELS if level in set(levels))
    return Choices(language, chosen_areas, ordered)


def sms_sender(adapter: Adapter) -> SendCode:
    """A ``send_code`` that hands the code SMS straight to an SMS adapter.

    A code is not an alert: it has no ledger row (delivery id 0), and the network
    drops it once it is no longer valid.
    """

    def send(phone: str, language: str, text: str) -> None:
        adapter.send(Outgoing(
            delivery_id=0, channel="sms", address=phone, language=language, text=text,
            cap_status="Actual", level=None, expires_in_s=int(CODE_VALID.total_seconds()),
        ))

    return send


# --- codes -------------------------------------------------------------------


def _issue(session: Session, phone: str, purpose: str, language: str, choices: dict[str, Any],
           *, send_code: SendCode, secret: str | bytes) -> SubscriptionCode:
    now = clock.now()
    recent = session.scalar(
        select(func.count()).select_from(SubscriptionCode)
        .where(SubscriptionCode.phone == phone,
               SubscriptionCode.created_at > now - timedelta(hours=1))
    ) or 0
    if recent >= CODES_PER_HOUR:
        raise SubscriptionError("phone", "too_many_codes",
                                f"at most {CODES_PER_HOUR} codes an hour per number")
    code = f"{secrets.randbelow(10**6):06d}"
    row = SubscriptionCode(
        phone=phone, code_hash=code_hash(secret, purpose, phone, code), purpose=purpose,
        choices=choices, created_at=now, expires_at=now + CODE_VALID, attempts=0,
    )
    session.add(row)
    session.flush()
    text = CODE_TEXTS[purpose].get(language, CODE_TEXTS[purpose]["lv"]).format(code=code)
    try:
        send_code(phone, language, text)
    except Exception as error:  # the provider's reason stays out of the page and the log
        raise SubscriptionError("phone", "not_sent", "the code could not be sent") from error
    return row


def _check(session: Session, phone: str, purpose: str, code: str,
           secret: str | bytes) -> SubscriptionCode:
    """The newest open code of ``phone`` for ``purpose`` if ``code`` is it.

    A wrong code counts an attempt; the caller commits that even though it refuses.
    """
    row = session.scalar(
        select(SubscriptionCode)
        .where(SubscriptionCode.phone == phone, SubscriptionCode.purpose == purpose,
               SubscriptionCode.used_at.is_(None))
        .order_by(SubscriptionCode.created_at.desc(), SubscriptionCode.id.desc())
        .limit(1).with_for_update()
    )
    if row is None:
        raise SubscriptionError("code", "no_code", "no code was sent to this number")
    if row.expires_at <= clock.now():
        raise SubscriptionError("code", "expired", "the code has expired")
    if row.attempts >= MAX_ATTEMPTS:
        raise SubscriptionError("code", "too_many_attempts", "too many wrong codes")
    given = (code or "").strip()
    if not hmac.compare_digest(row.code_hash, code_hash(secret, purpose, phone, given)):
        row.attempts += 1
        session.flush()
        raise SubscriptionError("code", "wrong_code", "the code is wrong")
    row.used_at = clock.now()
    session.flush()
    return row


# --- subscribing -------------------------------------------------------------


def find_subscriber(session: Session, phone: str,
                    channels: Sequence[str] = PHONE_CHANNELS) -> Contact | None:
    """The public subscriber reached at ``phone`` (or a chat id, with ``channels``)."""
    return session.scalar(
        select(Contact).join(ContactAddress, ContactAddress.contact_id == Contact.id)
        .where(Contact.is_public_subscriber.is_(True), ContactAddress.address == phone,
               ContactAddress.channel.in_(channels))
        .order_by(Contact.id).limit(1)
    )


def save_subscriber(session: Session, phone: str, channel: str, choices: Choices,
                    verified: bool) -> Contact:
    """Create the address's subscriber contact, or update its choices: one per number
    (or per Telegram chat)."""
    now = clock.now()
    contact = find_subscriber(session, phone,
                              PHONE_CHANNELS if channel in PHONE_CHANNELS else (channel,))
    if contact is None:
        contact = register_contact(
            session, "", [(channel, phone)], language=choices.language, areas=choices.areas,
            levels=choices.levels, public_subscriber=True,
        )
    else:
        contact.language = choices.language
        contact.areas = list(choices.areas)
        contact.levels = list(choices.levels)
        contact.active = True
        if not any(a.channel == channel and a.address == phone for a in contact.addresses):
            contact.addresses.append(ContactAddress(
                channel=channel, address=phone, preference=len(contact.addresses)))
    contact.consent_version = CONSENT_VERSION
    contact.consent_at = now
    for address in contact.addresses:
        if address.address == phone and address.channel == channel:
            address.active = True
            if verified and address.verified_at is None:
                address.verified_at = now
    session.flush()
    return contact


def start_subscription(
    session: Session, phone: str, language: str, areas: Sequence[str], levels: Sequence[str],
    consent_given: bool, *, send_code: SendCode, secret: str | bytes,
    consent_version: str = CONSENT_VERSION, allowed_areas: Sequence[str] = HOME_AREAS,
    languages: Sequence[str] = LANGUAGES,
) -> SubscriptionCode:
    """Keep the choices with a new code and send the code by SMS."""
    number = phone_of(phone)
    choices = check_choices(language, areas, levels, allowed_areas, languages)
    if not consent_given:
        raise SubscriptionError("consent", "consent", "consent is required")
    if consent_version != CONSENT_VERSION:
        raise SubscriptionError("consent_version", "consent_version",
                                "the consent text has changed; show the current one")
    pending = {"language": choices.language, "areas": list(choices.areas),
               "levels": list(choices.levels), "consent_version": CONSENT_VERSION}
    return _issue(session, number, "subscribe", choices.language, pending,
                  send_code=send_code, secret=secret)


def confirm(session: Session, phone: str, code: str, *, secret: str | bytes) -> Contact:
    """A right code makes (or updates) the number's subscription."""
    number = phone_of(phone)
    row = _check(session, number, "subscribe", code, secret)
    pending = row.choices
    choices = Choices(pending["language"], tuple(pending["areas"]), tuple(pending["levels"]))
    return save_subscriber(session, number, "sms", choices, verified=True)


def operator_register(
    session: Session, phone: str, channel: str, language: str, areas: Sequence[str],
    levels: Sequence[str], *, consent_by_phone: bool, operator: Any,
    allowed_areas: Sequence[str] = HOME_AREAS, languages: Sequence[str] = LANGUAGES,
) -> Contact:
    """An 8787 operator enters a resident who gave consent on the phone."""
    number = phone_of(phone)
    if channel not in ("sms", "voice"):
        raise SubscriptionError("channel", "channel", "sms or voice")
    if channel == "sms" and number.startswith(LATVIAN_LANDLINE):
        raise SubscriptionError("channel", "landline_sms", "a landline cannot take an SMS")
    choices = check_choices(language, areas, levels, allowed_areas, languages)
    if not consent_by_phone:
        raise SubscriptionError("consent_by_phone", "consent", "consent is required")
    contact = save_subscriber(session, number, channel, choices, verified=False)
    record(session, "subscriber_registered_by_operator", "contact", contact.id, after={
        "channel": channel, "language": choices.language, "areas": list(choices.areas),
        "levels": list(choices.levels), "consent": "by phone",
        "consent_version": CONSENT_VERSION, "consent_at": contact.consent_at,
        "operator_id": getattr(operator, "id", None),
    })
    return contact


# --- my data -----------------------------------------------------------------


def start_manage(session: Session, phone: str, *, send_code: SendCode,
                 secret: str | bytes) -> SubscriptionCode | None:
    """Send a code to open "my data" if the number is subscribed; else send nothing.

    The page answers the same either way, so it does not tell who is subscribed.
    """
    number = phone_of(phone)
    contact = find_subscriber(session, number)
    if contact is None:
        return None
    return _issue(session, number, "manage", contact.language, {},
                  send_code=send_code, secret=secret)


def confirm_manage(session: Session, phone: str, code: str, *,
                   secret: str | bytes) -> SubscriptionCode:
    return _check(session, phone_of(phone), "manage", code, secret)


def export(session: Session, phone: str) -> dict[str, Any]:
    """Everything Sargs keeps about the subscriber of ``phone``."""
    number = phone_of(phone)
    contact = find_subscriber(session, number)
    if contact is None:
        raise SubscriptionError("phone", "not_subscribed", "this number is not subscribed")
    return {"phone": number, **export_contact(session, contact)}


def export_contact(session: Session, contact: Contact) -> dict[str, Any]:
    """Everything Sargs keeps about one subscriber, whatever channel found them."""
    deliveries = session.scalars(
        select(Delivery).where(Delivery.contact_id == contact.id).order_by(Delivery.id)
    )
    return {
        "addresses": [
            {"channel": a.channel, "address": a.address, "active": a.active,
             "verified_at": _iso(a.verified_at)}
            for a in contact.addresses
        ],
        "language": contact.language,
        "areas": list(contact.areas),
        "levels": list(contact.levels),
        "consent_version": contact.consent_version,
        "consent_at": _iso(contact.consent_at),
        "subscribed_at": _iso(contact.created_at),
        "active": contact.active,
        "messages": [
            {"alert_id": d.alert_id, "channel": d.channel, "state": d.state,
             "sent_at": _iso(d.sent_at), "delivered_at": _iso(d.delivered_at)}
            for d in deliveries
        ],
        "replies": [
            {"channel": r.channel, "text": r.text, "received_at": _iso(r.received_at)}
            for r in session.scalars(
                select(InboundMessage).where(InboundMessage.address.in_(
                    [a.address for a in contact.addresses])).order_by(InboundMessage.id))
        ],
    }


def erase(session: Session, phone: str, *, secret: str | bytes) -> int:
    """Delete the subscriber of ``phone`` with their addresses and codes, and
    pseudonymise their rows of the delivery ledger; returns the rows changed there."""
    number = phone_of(phone)
    contact = find_subscriber(session, number)
    if contact is None:
        raise SubscriptionError("phone", "not_subscribed", "this number is not subscribed")
    return erase_contact(session, contact, secret=secret)


def erase_contact(session: Session, contact: Contact, *, secret: str | bytes) -> int:
    """:func:`erase` for a subscriber found by any channel (a Telegram chat too)."""
    addresses = {a.address for a in contact.addresses}
    changed = 0
    for address in addresses:
        result = session.execute(
            update(Delivery)
            .where(Delivery.contact_id == contact.id, Delivery.address == address)
            .values(address=pseudonym(secret, address))
        )
        changed += result.rowcount
        # Their replies too (channels/inbound.py keeps every reply for the operators).
        session.execute(update(InboundMessage).where(InboundMessage.address == address)
                        .values(address=pseudonym(secret, address), contact_id=None))
    session.execute(delete(SubscriptionCode).where(SubscriptionCode.phone.in_(addresses)))
    session.delete(contact)
    session.flush()
    return changed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
