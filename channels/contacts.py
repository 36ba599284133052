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
from sargs.channels.sip_messages import SIP_ADDRESS

CONTACT_KINDS = ("person", "institution")
GROUP_KINDS = ("staff", "institution", "partner", "paging")
PBX_EXTENSION = re.compile(r"[0-9A-Za-z*#+_-]{1,40}")
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
    if channel == "sip":
        if not SIP_ADDRESS.fullmatch(value):
            raise AddressError("sip", "an extension (e.g. 7001) or a SIP URI (sip:7001@pbx)")
        return value
    # pbx: a paging extension; it goes into an AMI action line ("Channel: Local/<x>@paging"),
    # so anything beyond dial-plan characters (a line break above all) is refused.
    if not PBX_EXTENSION.fullmatch(value):
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
    contact.addresses = [
        ContactAddress(channel=channel, address=address, preference=preference)
        for preference, (channel, address) in enumerate(normalise_all(addresses))
    ]
    session.add(contact)
    session.flush()
    return contact


def normalise_all(addresses: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(channel, raw) pairs normalised, duplicates dropped, order kept; the first bad
    address raises :class:`AddressError` naming ``address_<position>``."""
    seen: dict[tuple[str, str], None] = {}
    for position, (channel, raw) in enumerate(addresses):
        try:
            seen.setdefault((channel, normalise(channel, raw)))
        except AddressError as error:
            raise AddressError(f"address_{position}", error.message) from error
    return list(seen)


def update_contact(session: Session, contact: Contact, *, name: str, kind: str, language: str,
                   addresses: Iterable[tuple[str, str]]) -> Contact:
    """Change a staff or institution contact; its addresses are replaced in the new order.

    An address kept keeps its row (and its verification); the rest are new.
    """
    wanted = normalise_all(addresses)
    current = {(a.channel, a.address): a for a in contact.addresses}
    contact.name, contact.kind, contact.language = name.strip(), kind, language
    kept = []
    for preference, key in enumerate(wanted):
        row = current.get(key) or ContactAddress(channel=key[0], address=key[1])
        row.preference = preference
        kept.append(row)
    contact.addresses = kept
    session.flush()
    return contact


def set_groups(session: Session, contact: Contact, group_ids: Iterable[int]) -> None:
    """Make ``contact`` a member of exactly the groups ``group_ids``."""
    wanted = set(group_ids)
    for member in list(session.scalars(
            select(ContactGroupMember).where(ContactGroupMember.contact_id == contact.id))):
        if member.group_id not in wanted:
            session.delete(member)
        wanted.discard(member.group_id)
    for group_id in sorted(wanted):
        session.add(ContactGroupMember(group_id=group_id, contact_id=contact.id))
    session.flush()


def groups_of(session: Session, contact_id: int) -> list[ContactGroup]:
    return list(session.scalars(
        select(ContactGroup).join(ContactGroupMember)
        .where(ContactGroupMember.contact_id == contact_id).order_by(ContactGroup.name)))


def find_by_address(session: Session, channel: str, address: str) -> Contact | None:
    """The staff or institution contact (not a resident subscriber) using an address."""
    return session.scalar(
        select(Contact).join(ContactAddress)
        .where(ContactAddress.channel == channel, ContactAddress.address == address,
               Contact.is_public_subscriber.is_(False)).limit(1))


def staff_contacts(session: Session, search: str = "", limit: int = 500) -> list[Contact]:
    """Staff, institutions and partners — residents who subscribed are kept apart."""
    query = select(Contact).where(Contact.is_public_subscriber.is_(False))
    if search.strip():
        query = query.where(Contact.name.ilike(f"%{search.strip()}%"))
    return list(session.scalars(query.order_by(Contact.name).limit(limit)))


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
