"""Staff acknowledgements: "I have it" by Telegram button, SMS reply, voice key or the web.

Every way ends in :func:`acknowledge`, which names the ledger row the person
answers: the first acknowledgement per person and alert counts, a repeat
changes nothing, and the first one of anybody stops the alert's escalation
chain (channels/escalation.py).

On the web: user accounts and contacts are separate records (no link in the
schema), so a signed-in user counts as the contact whose active e-mail address
is the account's e-mail (:func:`contact_of_user`); they acknowledge for
themselves. Anyone who may write alerts (the duty officer) may also
acknowledge on a person's behalf — say after the person confirmed by phone;
the acknowledgement then keeps the officer's user id and the history says
"on behalf".
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sargs import clock
from sargs.auth.models import User
from sargs.channels import alerts, escalation, inbound
from sargs.channels.models import (
    Acknowledgement,
    Alert,
    Contact,
    ContactAddress,
    Delivery,
)

VIAS = ("telegram", "sms", "voice", "web")
# A staff member's SMS reply that acknowledges (first word, any case, punctuation ignored).
ACK_WORDS = {"1", "OK", "OKAY", "JĀ", "JA", "SAPRATU", "ACK", "APSTIPRINU", "YES"}
# Replies come from the phone the alert called or texted.
PHONE_CHANNELS = ("sms", "voice")
CALLBACK_PREFIX = "ack:"

TEXTS = {
    "button": {"lv": "Apstiprināt ✅", "en": "Acknowledge ✅"},
    "press_1": {"lv": "Lai apstiprinātu, ka saņēmāt šo paziņojumu, nospiediet 1.",
                "en": "To acknowledge this alert, press 1."},
    "reply_1": {"lv": "Lai apstiprinātu saņemšanu, atbildiet 1.",
                "en": "Reply 1 to acknowledge."},
    "thanks": {"lv": "Paldies, jūsu apstiprinājums ir saņemts (paziņojums #{alert_id}).",
               "en": "Thank you, your acknowledgement is recorded (alert #{alert_id})."},
    "not_acknowledged": {"lv": "Apstiprinājums nav saņemts.",
                         "en": "Nothing was acknowledged."},
}


def text(key: str, language: str, **values: Any) -> str:
    """A text for staff in ``language`` (Latvian when we have no such language)."""
    variants = TEXTS[key]
    return variants.get(language, variants["lv"]).format(**values)


def callback_data(delivery_id: int) -> str:
    """What the Telegram button carries back (the bot reads it with
    :func:`delivery_of_callback` and calls :func:`acknowledge` with via="telegram")."""
    return f"{CALLBACK_PREFIX}{delivery_id}"


def delivery_of_callback(data: str) -> int | None:
    """The delivery id in a button's ``callback_data``, or None if it is not ours."""
    if not data.startswith(CALLBACK_PREFIX):
        return None
    raw = data[len(CALLBACK_PREFIX):]
    return int(raw) if raw.isdigit() else None


def _existing(session: Session, alert_id: int, contact_id: int) -> Acknowledgement | None:
    return session.scalar(select(Acknowledgement).where(
        Acknowledgement.alert_id == alert_id, Acknowledgement.contact_id == contact_id))


def acknowledge(session: Session, *, delivery_id: int, via: str, address: str | None = None,
                user_id: int | None = None) -> Acknowledgement | None:
    """Record that the person of ledger row ``delivery_id`` acknowledged its alert.

    Returns the acknowledgement (the earlier one when the person already
    acknowledged), or None when nothing can be acknowledged: no such row, the
    alert asks for no acknowledgement or was cancelled, the row has no person,
    or ``address`` (the sender as the provider reports it) is not the row's.
    """
    if via not in VIAS:
        raise ValueError(f"unknown acknowledgement channel {via!r}")
    row = session.get(Delivery, delivery_id)
    if row is None or row.contact_id is None:
        return None
    if address is not None and address.strip() != row.address:
        return None
    alert = session.get(Alert, row.alert_id)
    if alert is None or not alert.ack_required or alert.state == "cancelled":
        return None
    earlier = _existing(session, alert.id, row.contact_id)
    if earlier is not None:
        return earlier
    ack = Acknowledgement(alert_id=alert.id, contact_id=row.contact_id, delivery_id=row.id,
                          via=via, user_id=user_id, at=clock.now())
    try:
        with session.begin_nested():
            session.add(ack)
    except IntegrityError:  # the same person acknowledged at the same moment elsewhere
        return _existing(session, alert.id, row.contact_id)
    on_behalf = via == "web" and user_id is not None and not _is_own(session, user_id,
                                                                      row.contact_id)
    note = f"contact #{row.contact_id} via {via}" + (", on their behalf" if on_behalf else "")
    alerts._event(session, alert, "acknowledged", user_id, alert.state, note)
    stopped = escalation.stop(session, alert.id)
    if stopped:
        alerts._event(session, alert, "escalation_stopped", user_id, alert.state,
                      f"acknowledged; {stopped} steps not needed")
    session.flush()
    return ack


# --- SMS replies -------------------------------------------------------------


def _word(text_: str) -> str:
    words = text_.strip().split()
    return words[0].strip(string.punctuation + "!?.,").upper() if words else ""


def outstanding_delivery(session: Session, address: str) -> Delivery | None:
    """The latest row to this phone of an alert that asks for acknowledgement and
    that its person has not acknowledged yet."""
    acknowledged = exists().where(Acknowledgement.alert_id == Delivery.alert_id,
                                  Acknowledgement.contact_id == Delivery.contact_id)
    # Staff alerts asking for acknowledgement are few; the ledger is searched by alert.
    asking = select(Alert.id).where(Alert.ack_required.is_(True), Alert.state != "cancelled")
    return session.scalar(
        select(Delivery)
        .where(Delivery.alert_id.in_(asking.scalar_subquery()), Delivery.address == address,
               Delivery.channel.in_(PHONE_CHANNELS), Delivery.contact_id.is_not(None),
               ~acknowledged)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(1)
    )


def acknowledge_by_reply(session: Session, reply: inbound.Reply) -> str | None:
    """"1", "OK", "JĀ", "SAPRATU", "ACK" … from a staff phone acknowledges the latest
    alert waiting for that person; other replies pass on to the next handler."""
    if reply.channel != "sms" or _word(reply.text) not in ACK_WORDS:
        return None
    row = outstanding_delivery(session, reply.address)
    if row is None:
        return None
    ack = acknowledge(session, delivery_id=row.id, via="sms", address=reply.address)
    if ack is None:
        return None
    return text("thanks", row.language, alert_id=row.alert_id)


inbound.register(acknowledge_by_reply, name="ack")


# --- the web -----------------------------------------------------------------


def contact_of_user(session: Session, email: str | None) -> Contact | None:
    """The contact a user account stands for: the one whose active e-mail address
    is the account's e-mail (see the module's notes)."""
    if not email:
        return None
    return session.scalar(
        select(Contact).join(ContactAddress, ContactAddress.contact_id == Contact.id)
        .where(ContactAddress.channel == "email", ContactAddress.active.is_(True),
               func.lower(ContactAddress.address) == email.strip().lower(),
               Contact.active.is_(True))
        .order_by(Contact.id).limit(1)
    )


def _is_own(session: Session, user_id: int, contact_id: int) -> bool:
    user = session.get(User, user_id)
    own = contact_of_user(session, user.email) if user is not None else None
    return own is not None and own.id == contact_id


def acknowledge_on_web(session: Session, alert: Alert, contact_id: int,
                       user_id: int) -> Acknowledgement | None:
    """A web acknowledgement for ``contact_id`` (the user's own or on the person's
    behalf), on the person's latest ledger row of the alert."""
    row = session.scalar(
        select(Delivery).where(Delivery.alert_id == alert.id, Delivery.contact_id == contact_id)
        .order_by(Delivery.id.desc()).limit(1))
    if row is None:
        return None
    return acknowledge(session, delivery_id=row.id, via="web", user_id=user_id)


@dataclass
class Person:
    """One person the alert asks to acknowledge, as the alert page shows them."""

    contact_id: int
    name: str
    acknowledgement: Acknowledgement | None
    reached: bool  # the alert or its chain has tried them (a web acknowledgement needs a row)

    @property
    def at(self) -> datetime | None:
        return self.acknowledgement.at if self.acknowledgement else None


def people(session: Session, alert: Alert) -> list[Person]:
    """Everyone the alert asks to acknowledge — the staff it reached or will try, not the
    residents (their messages ask nothing, see the dispatcher) — acknowledged first (in
    order), then the rest."""
    if not alert.ack_required:
        return []
    reached = set(session.scalars(select(Delivery.contact_id).join(
        Contact, Contact.id == Delivery.contact_id).where(
        Delivery.alert_id == alert.id, Contact.is_public_subscriber.is_(False)).distinct()))
    ids = reached | set((alert.escalation or {}).get("contacts", []))
    acks = {a.contact_id: a for a in session.scalars(
        select(Acknowledgement).where(Acknowledgement.alert_id == alert.id))}
    ids |= {cid for cid in acks if cid is not None}
    names = dict(session.execute(select(Contact.id, Contact.name)
                                 .where(Contact.id.in_(ids))).all()) if ids else {}
    found = [Person(cid, names.get(cid, f"#{cid}"), acks.get(cid), cid in reached)
             for cid in ids]
    return sorted(found, key=lambda p: (p.acknowledgement is None,
                                        p.at or clock.now(), p.name.lower()))
