"""Messages to volunteers, through the notification engine.

A contact named in an alert is sent it on every channel where it has an address, so
a volunteer with both Telegram and a phone would be told twice. Volunteers' alerts
therefore name them with ``"first_reachable"``: each is sent the message on the first
of the alert's channels their contact can be reached on (Telegram before SMS before
e-mail, as :func:`service.sync_contact` orders them), and on the next one only when
that fails for good (a blocked bot). The delivery ledger then proves who was told
what and when, as for any alert.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels import alerts
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert, Contact, ContactAddress


def configured(settings: Any = None) -> set[str] | None:
    """The channels that can send now; None when unknown (no settings, outside the app):
    the alert's rows then wait, visibly held, until a channel is configured."""
    if settings is None and has_app_context():
        settings = current_app.extensions["sargs"].settings
    return configured_channels(settings) if settings is not None else None


def first_channels(session: Session, contact_ids: list[int],
                   channels: tuple[str, ...]) -> dict[int, str]:
    """Contact id → the first of ``channels`` it has an active address on; inactive
    contacts and those with none of them are missing."""
    if not contact_ids:
        return {}
    found: dict[int, str] = {}
    for contact_id, channel in session.execute(
            select(ContactAddress.contact_id, ContactAddress.channel)
            .join(Contact, Contact.id == ContactAddress.contact_id)
            .where(ContactAddress.contact_id.in_(contact_ids), ContactAddress.active.is_(True),
                   ContactAddress.channel.in_(channels), Contact.active.is_(True))
            .order_by(ContactAddress.contact_id, ContactAddress.preference, ContactAddress.id)):
        found.setdefault(contact_id, channel)
    return found


def send(session: Session, contact_ids: list[int], channels: tuple[str, ...], *,
         texts: dict[str, str], source: str, source_ref: str,
         activation_id: int | None = None, exercise: bool = False,
         sendable: set[str] | None = None) -> dict[int, Alert]:
    """One message to each contact on its first channel, as one alert; contact id →
    that alert (contacts with no address on ``channels`` are left out). Raises
    :class:`sargs.channels.alerts.AlertError` for a text the engine refuses."""
    reachable = list(first_channels(session, list(dict.fromkeys(contact_ids)), channels))
    if not reachable:
        return {}
    alert = alerts.create_alert(session, alerts.AlertDraft(
        source=source, cap_status="Exercise" if exercise else "Actual", texts=texts,
        audience={"contacts": reachable, "first_reachable": True}, channels=list(channels),
        activation_id=activation_id, source_ref=source_ref), None)
    alerts.submit(session, alert, None)  # volunteers named one by one: no second person
    alerts.start_sending(session, alert, sendable or set())
    return dict.fromkeys(reachable, alert)
