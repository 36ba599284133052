"""Who an alert reaches: the one place that turns an audience into addresses.

The drill rule lives here and nowhere else: an Exercise or Test alert
reaches only the contacts listed in it by name (the exercise's
participants) — never groups, never the public.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels.models import Alert, Contact, ContactGroup


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    channel: str
    address: str
    language: str


def _addresses(contact: Contact, channels: list[str], every: bool) -> list[tuple[str, str]]:
    """The contact's active addresses on the alert's channels: all, or the preferred one."""
    usable = [(a.channel, a.address) for a in contact.addresses if a.active and a.channel in channels]
    return usable if every else usable[:1]


def _public_subscribers(session: Session, alert: Alert) -> list[Contact]:
    areas = set(alert.audience.get("public", {}).get("areas", []))
    subscribers = session.scalars(
        select(Contact).where(Contact.is_public_subscriber.is_(True), Contact.active.is_(True))
    )
    return [
        contact for contact in subscribers
        if areas & set(contact.areas) and (alert.level is None or alert.level in contact.levels)
    ]


def resolve(session: Session, alert: Alert) -> list[Recipient]:
    """Recipients of ``alert``, one per (channel, address), first claim wins.

    Staff reached through groups or by name get every address on the alert's
    channels (voice and Telegram for the commission); residents get their
    preferred channel, and fall back to the next one only on failure.
    """
    chosen: list[tuple[Contact, bool]] = []
    named = alert.audience.get("contacts", [])
    if named:
        contacts = session.scalars(select(Contact).where(Contact.id.in_(named)))
        chosen.extend((c, True) for c in contacts if c.active)
    if alert.cap_status == "Actual":
        codes = alert.audience.get("groups", [])
        if codes:
            for group in session.scalars(select(ContactGroup).where(ContactGroup.code.in_(codes))):
                chosen.extend((m.contact, True) for m in group.members if m.contact.active)
        if alert.audience.get("public"):
            chosen.extend((c, False) for c in _public_subscribers(session, alert))
    seen: set[tuple[str, str]] = set()
    recipients: list[Recipient] = []
    for contact, every in chosen:
        for channel, address in _addresses(contact, alert.channels, every):
            if (channel, address) in seen:
                continue
            seen.add((channel, address))
            language = contact.language if any(
                t.language == contact.language for t in alert.texts) else alert.texts[0].language
            recipients.append(Recipient(contact.id, channel, address, language))
    return recipients


def count(session: Session, alert: Alert) -> dict[tuple[str, str], int]:
    """How many recipients :func:`resolve` finds, per (channel, language).

    Works on an unsaved alert too (the form's preview): it needs the
    alert's cap_status, level, audience, channels and at least one text.
    """
    counts: dict[tuple[str, str], int] = {}
    for recipient in resolve(session, alert):
        key = (recipient.channel, recipient.language)
        counts[key] = counts.get(key, 0) + 1
    return counts
