"""The contact registry: normalised addresses, contacts and groups.

Other domains (volunteers, CAD partners, exercises) register their people
here through :func:`register_contact`, so one phone is one address everywhere
and the ledger can send each person one message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels.models import (
    CHANNELS,
    Contact,
    ContactAddress,
    ContactGroup,
    ContactGroupMember,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LATVIA = "+371"


class AddressError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_phone(raw: str) -> str:
    """A phone number in E.164; Latvian 8-digit numbers get +371."""
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"[26]\d{7}", digits):
        digits = LATVIA + digits
    if not E164.match(digits):
        raise AddressError("phone", "not a phone number (e.g. +371 20000000)")
    return digits


def normalise(channel: str, raw: str) -> str:
    """The canonical form of an address on ``channel``."""
    if channel not in CHANNELS:
        raise AddressError("channel", f"unknown channel {channel!r}")
    value = raw.strip()
    if channel in ("sms", "voice"):
        return normalise_phone(value)
    if channel == "email":
        if not EMAIL.match(value):
            raise AddressError("email", "not an e-mail address")
        return value.lower()
    if channel == "telegram":
        if not re.fullmatch(r"-?\d{1,20}", value):
            raise AddressError("telegram", "a Telegram chat id is a number")
        return value
    if not value:  # pbx and sip: an extension or a SIP URI
        raise AddressError(channel, "an extension is required")
    return value


def register_contact(
    session: Session,
    name: str,
    addresses: Iterable[tuple[str, str]],
    *,
    kind: str = "person",
    language: str = "lv",
    areas: Iterable[str] = (),
    levels: Iterable[str] = (),
    public_subscriber: bool = False,
    owner: str = "channels",
) -> Contact:
    """Create a contact with addresses given as (channel, raw address) in preference order."""
    contact = Contact(
        kind=kind, name=name.strip(), language=language, areas=list(areas), levels=list(levels),
        is_public_subscriber=public_subscriber, owner=owner, created_at=clock.now(),
    )
    seen: set[tuple[str, str]] = set()
    for preference, (channel, raw) in enumerate(addresses):
        address = normalise(channel, raw)
        if (channel, address) in seen:
            continue
        seen.add((channel, address))
        contact.addresses.append(ContactAddress(channel=channel, address=address,
                                                preference=preference))
    session.add(contact)
    session.flush()
    return contact


def ensure_group(session: Session, code: str, name: str, kind: str) -> ContactGroup:
    group = session.scalar(select(ContactGroup).where(ContactGroup.code == code))
    if group is None:
        group = ContactGroup(code=code, name=name, kind=kind)
        session.add(group)
        session.flush()
    return group


def add_to_group(session: Session, group: ContactGroup, contact: Contact) -> None:
    if any(member.contact_id == contact.id for member in group.members):
        return
    group.members.append(ContactGroupMember(contact_id=contact.id))
    session.flush()
