"""Escalation chains: when nobody acknowledges a staff alert, try one person
after another, N minutes apart, up to K rounds.

Round 0 is the alert's own fan-out: everyone in its audience at once. The
chain's rounds 1..K then try its contacts one at a time on the chain's
channels; step (round r, position p) is due ``((r - 1) * len + p + 1) * N``
minutes after the alert started sending, so the first person is tried N
minutes after the fan-out and round 2 starts again from the first person
after the last one of round 1. Each try is a ledger row of its own with
``Delivery.round = r``. The steps are rows the scheduler tick works; the first
acknowledgement stops every step still waiting (:func:`stop`).

The alert's history names people by contact id only: it is append-only, and a
name written there could never be corrected or erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import alerts, ledger
from sargs.channels.models import (
    CHANNELS,
    Acknowledgement,
    Alert,
    Contact,
    Delivery,
    EscalationStep,
)
from sargs.context import settings
from sargs.scheduler import tick_handler

MAX_ROUNDS = 10
MAX_MINUTES = 24 * 60
MAX_CONTACTS = 50


class EscalationError(ValueError):
    """A chain definition is wrong; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _whole(spec: dict[str, Any], key: str, low: int, high: int) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EscalationError(f"escalation.{key}", f"{key} must be a whole number "
                                                   f"from {low} to {high}")
    return value


def checked(session: Session, spec: dict[str, Any]) -> dict[str, Any]:
    """The chain definition, validated and in its stored shape."""
    if not isinstance(spec, dict):
        raise EscalationError("escalation", "the chain must be an object")
    contacts = spec.get("contacts")
    if (not isinstance(contacts, list) or not contacts or len(contacts) > MAX_CONTACTS
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in contacts)):
        raise EscalationError("escalation.contacts",
                              f"contacts must list 1 to {MAX_CONTACTS} contact ids in order")
    if len(set(contacts)) != len(contacts):
        raise EscalationError("escalation.contacts", "a contact is listed twice")
    known = set(session.scalars(select(Contact.id).where(Contact.id.in_(contacts),
                                                         Contact.active.is_(True))))
    unknown = [c for c in contacts if c not in known]
    if unknown:
        raise EscalationError("escalation.contacts",
                              "no active contact with id " + ", ".join(map(str, unknown)))
    minutes = _whole(spec, "minutes", 1, MAX_MINUTES)
    rounds = _whole(spec, "rounds", 1, MAX_ROUNDS)
    channels = spec.get("channels")
    if (not isinstance(channels, list) or not channels
            or not all(isinstance(c, str) and c in CHANNELS for c in channels)):
        raise EscalationError("escalation.channels", "choose channels from " + ", ".join(CHANNELS))
    return {"contacts": list(contacts), "minutes": minutes, "rounds": rounds,
            "channels": list(dict.fromkeys(channels))}


def due_at(start: datetime, spec: dict[str, Any], round_: int, position: int) -> datetime:
    index = (round_ - 1) * len(spec["contacts"]) + position + 1
    return start + timedelta(minutes=index * spec["minutes"])


def start(session: Session, alert: Alert) -> int:
    """Write the chain's steps when an ack-required alert starts sending; returns how many."""
    spec = alert.escalation
    if not alert.ack_required or not spec or alert.sending_at is None:
        return 0
    steps = [
        EscalationStep(alert_id=alert.id, contact_id=contact_id, round=round_,
                       position=position, due_at=due_at(alert.sending_at, spec, round_, position),
                       state="waiting")
        for round_ in range(1, spec["rounds"] + 1)
        for position, contact_id in enumerate(spec["contacts"])
    ]
    session.add_all(steps)
    session.flush()
    return len(steps)


def waiting(session: Session, alert_id: int) -> int:
    """Steps of the alert's chain still to come."""
    return session.scalar(select(func.count()).select_from(EscalationStep).where(
        EscalationStep.alert_id == alert_id, EscalationStep.state == "waiting")) or 0


def stop(session: Session, alert_id: int) -> int:
    """Stop the chain: no waiting step runs, and no chain try not yet handed to a
    provider is sent. Returns the number of steps stopped."""
    stopped = session.execute(
        update(EscalationStep)
        .where(EscalationStep.alert_id == alert_id, EscalationStep.state == "waiting")
        .values(state="stopped")
    ).rowcount
    session.execute(
        update(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.round >= 1,
               Delivery.state.in_(ledger.ALLOWED_FROM["cancelled"]))
        .values(state="cancelled", final_at=clock.now(), last_error="acknowledged")
    )
    return stopped


def _acknowledged(session: Session, alert_id: int) -> bool:
    return session.scalar(select(Acknowledgement.id).where(
        Acknowledgement.alert_id == alert_id).limit(1)) is not None


def _over(session: Session, alert: Alert) -> str | None:
    """Why the alert's chain must not climb any more, or None."""
    if alert.state == "cancelled":
        return "cancelled"
    if alert.expires_at is not None and alert.expires_at <= clock.now():
        return "expired"
    if _acknowledged(session, alert.id):
        return "acknowledged"
    return None


def _addresses(contact: Contact, channels: list[str]) -> list[tuple[str, str]]:
    """The contact's preferred active address on each of the chain's channels."""
    found: list[tuple[str, str]] = []
    for channel in channels:
        for address in contact.addresses:  # ordered by preference
            if address.active and address.channel == channel:
                found.append((channel, address.address))
                break
    return found


def _try(session: Session, alert: Alert, step: EscalationStep, configured: set[str]) -> None:
    spec = alert.escalation or {}
    contact = session.get(Contact, step.contact_id) if step.contact_id is not None else None
    addresses = _addresses(contact, spec.get("channels", [])) if contact is not None else []
    written = []
    for channel, address in addresses:
        exists = session.scalar(select(Delivery.id).where(
            Delivery.alert_id == alert.id, Delivery.channel == channel,
            Delivery.address == address, Delivery.round == step.round))
        if exists is None:
            ledger.write_one(session, alert, contact, channel, address, configured,
                             round=step.round)
            written.append(channel)
    step.state = "tried"
    step.tried_at = clock.now()
    total = spec.get("rounds", step.round)
    who = f"contact #{step.contact_id}" if step.contact_id is not None else "a deleted contact"
    note = (f"now trying {who}, round {step.round} of {total}"
            + (f", over {', '.join(written)}" if written else ", no address on the chain's channels"))
    alerts._event(session, alert, "escalation", None, alert.state, note)


@tick_handler("escalation")
def climb(session: Session) -> int:
    """Try every step that is due, unless its alert was acknowledged, cancelled or expired."""
    due = list(session.scalars(
        select(EscalationStep)
        .where(EscalationStep.state == "waiting", EscalationStep.due_at <= clock.now())
        .order_by(EscalationStep.due_at, EscalationStep.id)
    ))
    if not due:
        return 0
    configured = ledger.configured_channels(settings())
    tried = 0
    for step in due:
        if step.state != "waiting":  # stopped below with an earlier step of its alert
            continue
        alert = session.get(Alert, step.alert_id)
        assert alert is not None
        reason = _over(session, alert)
        if reason is not None:
            if stop(session, alert.id):
                alerts._event(session, alert, "escalation_stopped", None, alert.state, reason)
            session.flush()
            session.expire_all()
            continue
        _try(session, alert, step, configured)
        session.flush()
        tried += 1
    return tried


@dataclass
class ChainState:
    """What the alert page shows of a chain."""

    rounds: int
    trying: EscalationStep | None  # the latest step tried while the chain still runs
    next_step: EscalationStep | None
    state: str  # running, acknowledged, finished, stopped


def state_of(session: Session, alert: Alert) -> ChainState | None:
    if not alert.escalation:
        return None
    steps = list(session.scalars(
        select(EscalationStep).where(EscalationStep.alert_id == alert.id)
        .order_by(EscalationStep.round, EscalationStep.position)))
    if not steps:
        return None
    tried = [s for s in steps if s.state == "tried"]
    upcoming = [s for s in steps if s.state == "waiting"]
    if alert.state == "cancelled":  # its waiting steps are stopped on the next tick
        state = "stopped"
    elif upcoming:
        state = "running"
    elif _acknowledged(session, alert.id):
        state = "acknowledged"
    elif any(s.state == "stopped" for s in steps):
        state = "stopped"
    else:
        state = "finished"
    return ChainState(rounds=alert.escalation.get("rounds", 0),
                      trying=tried[-1] if tried and state == "running" else None,
                      next_step=upcoming[0] if upcoming and state == "running" else None,
                      state=state)
