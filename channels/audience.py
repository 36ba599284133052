"""Who an alert reaches: the one place that turns an audience into addresses.

The drill rule lives here and nowhere else: an Exercise or Test alert
reaches only the contacts listed in it by name (the exercise's
participants) — never groups, never the public. And an alert of an
activation that belongs to an exercise reaches only that exercise's
participants, whatever its audience names: the exercises module registers
who they are (:func:`register_drill_guard`), so a mistake anywhere upstream —
a wrong contact id in an inject, a warning replayed with a real policy's
groups — still cannot reach anyone outside the exercise.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from sargs.channels.models import Alert, Contact, ContactAddress, ContactGroup, Delivery

log = logging.getLogger(__name__)

# activation id → the contact ids an exercise of that activation may reach, or None
# when the activation is no exercise's.
DrillGuard = Callable[[Session, int], "set[int] | None"]
_drill_guards: list[DrillGuard] = []


def register_drill_guard(guard: DrillGuard) -> None:
    if guard not in _drill_guards:
        _drill_guards.append(guard)


def drill_allowed(session: Session, alert: Alert) -> set[int] | None:
    """The only contacts ``alert`` may reach when its activation is an exercise's, else None."""
    if alert.activation_id is None:
        return None
    allowed: set[int] | None = None
    for guard in _drill_guards:
        found = guard(session, alert.activation_id)
        if found is not None:
            allowed = found if allowed is None else allowed & found
    return allowed


def guarded(session: Session, alert: Alert, recipients: list[Recipient]) -> list[Recipient]:
    """``recipients`` without anyone an exercise's alert may not reach (see the module
    docstring); the ledger applies it to the rows it adds one by one (fallbacks, chains)."""
    allowed = drill_allowed(session, alert)
    if allowed is None:
        return recipients
    kept = [r for r in recipients if r.contact_id in allowed]
    if len(kept) < len(recipients):
        log.error("alert %s: %d recipients outside the exercise left out", alert.id,
                  len(recipients) - len(kept))
    return kept


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


def _public_subscribers(session: Session, alert: Alert) -> list[tuple[int, str, str, str]]:
    """(contact id, language, channel, address) of each subscriber in the alert's areas
    and level, on their preferred address among the alert's channels.

    One query over contacts and addresses, without building objects: a city's
    tens of thousands of subscribers resolve in a fraction of a second.
    """
    areas = set(alert.audience.get("public", {}).get("areas", []))
    contact, address = Contact.__table__.c, ContactAddress.__table__.c
    # Areas and levels come as JSON text: residents share a handful of choices, so each
    # distinct text is decoded once instead of twice per resident.
    decoded = functools.cache(json.loads)
    rows = session.execute(
        select(contact.id, contact.language, cast(contact.areas, Text), cast(contact.levels, Text),
               address.channel, address.address)
        .join(ContactAddress.__table__, address.contact_id == contact.id)
        .where(contact.is_public_subscriber.is_(True), contact.active.is_(True),
               address.active.is_(True), address.channel.in_(alert.channels))
        .order_by(contact.id, address.preference, address.id)
    )
    chosen: list[tuple[int, str, str, str]] = []
    last = None
    for contact_id, language, contact_areas, levels, channel, where in rows:
        if contact_id == last:
            continue  # the preferred address was taken; the others wait for a fallback
        last = contact_id
        if areas.isdisjoint(decoded(contact_areas or "[]")) or (
                alert.level is not None and alert.level not in decoded(levels or "[]")):
            continue
        chosen.append((contact_id, language, channel, where))
    return chosen


def resolve(session: Session, alert: Alert) -> list[Recipient]:
    """Recipients of ``alert``, one per (channel, address), first claim wins.

    Staff reached through groups or by name get every address on the alert's
    channels (voice and Telegram for the commission); residents get their
    preferred channel, and fall back to the next one only on failure — as do
    contacts named in an audience with ``"first_reachable": true`` (volunteers asked
    a question once, on the first channel they can answer on).
    """
    if "told_of" in alert.audience:  # a cancel or correction: see follow_up
        return guarded(session, alert, follow_up(session, alert))
    chosen: list[tuple[int, str, str, str]] = []
    named = alert.audience.get("contacts", [])
    staff: list[Contact] = []
    if named:
        contacts = session.scalars(select(Contact).where(Contact.id.in_(named)))
        staff.extend(c for c in contacts if c.active)
    public: list[tuple[int, str, str, str]] = []
    if alert.cap_status == "Actual":
        codes = alert.audience.get("groups", [])
        if codes:
            for group in session.scalars(select(ContactGroup).where(ContactGroup.code.in_(codes))):
                staff.extend(m.contact for m in group.members if m.contact.active)
        if alert.audience.get("public"):
            public = _public_subscribers(session, alert)
    every = not alert.audience.get("first_reachable")
    for contact in staff:
        chosen.extend((contact.id, contact.language, channel, address)
                      for channel, address in _addresses(contact, alert.channels, every))
    chosen.extend(public)
    written = {t.language for t in alert.texts}
    fallback = alert.texts[0].language
    seen: set[tuple[str, str]] = set()
    recipients: list[Recipient] = []
    for contact_id, language, channel, address in chosen:
        if (channel, address) in seen:
            continue
        seen.add((channel, address))
        recipients.append(Recipient(contact_id, channel, address,
                                    language if language in written else fallback))
    return guarded(session, alert, recipients)


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


# --- follow-ups: who was told of an alert -------------------------------------------

# Rows whose text may have reached the person: handed to the provider, resent after
# a crash, or held by a worker when a cancel came (the provider may have it by now;
# the lease is cleared whenever a row goes back to waiting, so it marks exactly those).
_TOLD = or_(
    Delivery.state.in_(("sent", "delivered")),
    Delivery.possibly_duplicated.is_(True),
    and_(Delivery.state.in_(("claimed", "cancelled")), Delivery.lease_until.is_not(None)),
)


def told(session: Session, alert_id: int) -> list[Recipient]:
    """Everyone who may already have ``alert_id``'s text, on the channel that took it.

    Erased subscribers (pseudonymised addresses) and contacts deleted since are left out.
    """
    rows = session.execute(
        select(Delivery.contact_id, Delivery.channel, Delivery.address, Delivery.language)
        .where(Delivery.alert_id == alert_id, _TOLD, Delivery.contact_id.is_not(None),
               Delivery.address.not_like("erased:%"))
        .order_by(Delivery.id)
    )
    seen: set[tuple[str, str]] = set()
    found: list[Recipient] = []
    for contact_id, channel, address, language in rows:
        if (channel, address) not in seen:
            seen.add((channel, address))
            found.append(Recipient(contact_id, channel, address, language))
    return found


def follow_up(session: Session, alert: Alert) -> list[Recipient]:
    """Recipients of a cancel, correction or update (audience ``{"told_of": id or [ids]}``):
    those already told of the original(s), where they were told; with
    ``"whole_audience"`` also the rest of the original's audience as it resolves now (a
    person already told is not reached again on another channel). A warning's all-clear
    names every alert the warning raised, and each person hears it once."""
    told_of = alert.audience["told_of"]
    originals = [session.get(Alert, i) for i in (told_of if isinstance(told_of, list) else [told_of])]
    originals = [original for original in originals if original is not None]
    if not originals:
        return []
    written = {t.language for t in alert.texts}
    fallback = alert.texts[0].language
    recipients: list[Recipient] = []
    seen: set[tuple[str, str]] = set()
    reached: set[int] = set()
    # The newest original first: where it reached a person is where they look now.
    originals.sort(key=lambda original: original.id, reverse=True)
    several = len(originals) > 1
    candidates = [r for original in originals for r in told(session, original.id)]
    told_count = len(candidates)
    if alert.audience.get("whole_audience"):
        for original in originals:
            candidates += resolve(session, original)
    for position, r in enumerate(candidates):
        key = (r.channel, r.address)
        if key in seen or r.channel not in alert.channels or (
                (position >= told_count or several) and r.contact_id in reached):
            continue
        seen.add(key)
        reached.add(r.contact_id)
        recipients.append(Recipient(r.contact_id, r.channel, r.address,
                                    r.language if r.language in written else fallback))
    return recipients
