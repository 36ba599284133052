"""What the simulated phones, chats, inboxes and IP phones received, person by person.

The simulators keep what reached each address (sargs/channels/simulators); an address
that belongs to a contact in the registry is shown under that person — a resident who
subscribed, a volunteer, a member of staff or an institution — and the rest under the
address alone. Newest first, the people with the newest message first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels.models import Contact, ContactAddress

SIMULATORS = "demo.simulators"  # the key of the running simulators in the app's state
KINDS = ("resident", "volunteer", "staff", "unknown")
TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Received:
    channel: str  # sms, voice, telegram, email, pbx
    address: str
    at: datetime | None
    text: str
    subject: str = ""


@dataclass
class Person:
    key: str
    name: str
    kind: str  # of KINDS
    messages: list[Received] = field(default_factory=list)

    @property
    def newest(self) -> datetime | None:
        return max((m.at for m in self.messages if m.at is not None), default=None)


def _spoken(twiml: str | None) -> str:
    """The words of a call's TwiML (what the callee heard)."""
    return " ".join(TAG.sub(" ", twiml or "").split())


def _pbx_text(call: dict[str, Any]) -> str:
    variables = call.get("variables") or {}
    parts = [value for key, value in sorted(variables.items())
             if key.startswith("SARGS_TEXT_") and key != "SARGS_TEXT_PARTS"]
    return " ".join(parts) or str(call.get("extension", ""))


def received(simulators: dict[str, Any]) -> list[Received]:
    """Everything the simulators delivered, in no particular order."""
    found: list[Received] = []
    for number, entry in simulators["twilio"].phones.all():
        if entry["kind"] == "sms":
            found.append(Received("sms", number, entry.get("at"), entry.get("body") or ""))
        else:
            found.append(Received("voice", number, entry.get("at"), _spoken(entry.get("twiml"))))
    for chat, entry in simulators["telegram"].chats.all():
        text = entry.get("text") or entry.get("caption") or entry["kind"]
        found.append(Received("telegram", chat, entry.get("at"), str(text)))
    for inbox, entry in simulators["smtp"].inboxes.all():
        found.append(Received("email", inbox, entry.get("at"), entry.get("text") or "",
                              str(entry.get("subject") or "")))
    for extension, call in simulators["ami"].calls.all():
        found.append(Received("pbx", extension, call.get("at"), _pbx_text(call)))
    return found


def _owners(session: Session, messages: list[Received]) -> dict[tuple[str, str], Contact]:
    """(channel, address) → the contact using it; a phone number serves SMS and calls."""
    addresses = {m.address for m in messages}
    if not addresses:
        return {}
    found: dict[tuple[str, str], Contact] = {}
    rows = session.execute(
        select(ContactAddress.channel, ContactAddress.address, Contact)
        .join(Contact, Contact.id == ContactAddress.contact_id)
        .where(ContactAddress.address.in_(addresses)))
    for channel, address, contact in rows:
        found.setdefault((channel, address), contact)
        if channel in ("sms", "voice"):
            found.setdefault(("sms" if channel == "voice" else "voice", address), contact)
    return found


def _kind(contact: Contact | None) -> str:
    if contact is None:
        return "unknown"
    if contact.is_public_subscriber:
        return "resident"
    return "volunteer" if contact.owner == "volunteers" else "staff"


def people(session: Session, simulators: dict[str, Any], kind: str | None = None) -> list[Person]:
    """The people who received something (only those of ``kind``, if given), the one
    with the newest message first, each one's messages newest first."""
    messages = received(simulators)
    owners = _owners(session, messages)
    found: dict[str, Person] = {}
    for message in messages:
        contact = owners.get((message.channel, message.address))
        key = f"contact:{contact.id}" if contact is not None else \
            f"{message.channel}:{message.address}"
        person = found.get(key)
        if person is None:
            name = contact.name if contact is not None and contact.name else message.address
            person = found[key] = Person(key, name, _kind(contact))
        person.messages.append(message)
    chosen = [p for p in found.values() if kind is None or p.kind == kind]
    floor = datetime.min
    for person in chosen:
        person.messages.sort(key=lambda m: _naive(m.at) or floor, reverse=True)
    chosen.sort(key=lambda p: _naive(p.newest) or floor, reverse=True)
    return chosen


def _naive(moment: datetime | None) -> datetime | None:
    """Comparable whatever clock the simulator read (all of Sargs' are UTC)."""
    return None if moment is None else moment.replace(tzinfo=None)
