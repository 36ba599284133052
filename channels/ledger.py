"""The delivery ledger: rows written with the alert's move to sending, and
state moves that never go backwards.

States: held (quiet hours, channel not configured) → pending → claimed → sent
→ delivered; failed, undeliverable, cancelled and expired are final. A late or
repeated provider callback cannot move a row back.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels.audience import Recipient, guarded
from sargs.channels.models import CHANNELS, FINAL_DELIVERY_STATES, Alert, Delivery
from sargs.settings import Settings

# From which states each state may be reached.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "pending": frozenset({"held", "claimed"}),  # released from hold, or a retry
    "claimed": frozenset({"pending"}),
    "sent": frozenset({"claimed"}),
    "delivered": frozenset({"claimed", "sent"}),
    "failed": frozenset({"claimed", "sent"}),
    "undeliverable": frozenset({"held", "pending", "claimed", "sent"}),
    "cancelled": frozenset({"held", "pending", "claimed"}),
    "expired": frozenset({"held", "pending", "claimed"}),
}


def configured_channels(settings: Settings) -> set[str]:
    """Channels with credentials; the others hold their rows, visibly."""
    configured = set()
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        configured |= {"sms", "voice"}
    if settings.telegram_bot_token:
        configured.add("telegram")
    if settings.smtp_url:
        configured.add("email")
    if settings.pbx_ami_url:
        configured.add("pbx")
    if settings.sip_proxy:
        configured.add("sip")
    return configured


def health(session: Session, settings: Settings) -> dict[str, Any]:
    """The channels' part of /healthz: what is configured, what waits for it."""
    configured = configured_channels(settings)
    held = dict(session.execute(
        select(Delivery.channel, func.count())
        .where(Delivery.state == "held", Delivery.hold_reason == "channel_not_configured")
        .group_by(Delivery.channel)
    ).all())
    return {
        channel: {"configured": channel in configured, "waiting": held.get(channel, 0)}
        for channel in CHANNELS
    }


def write(session: Session, alert: Alert, recipients: list[Recipient], configured: set[str],
          round: int = 0) -> int:
    """Insert one ledger row per recipient, in the caller's transaction (``round``:
    0 for the fan-out, r for an escalation chain's round r). The fan-out's recipients
    come from the audience resolver, which has left out whoever an exercise may not reach."""
    now = clock.now()
    rows = [
        {
            "alert_id": alert.id,
            "contact_id": r.contact_id,
            "channel": r.channel,
            "address": r.address,
            "language": r.language,
            "round": round,
            "priority": alert.priority,
            "state": "pending" if r.channel in configured else "held",
            "hold_reason": None if r.channel in configured else "channel_not_configured",
            "attempts": 0,
            "possibly_duplicated": False,
            "due_at": now,
            "created_at": now,
        }
        for r in recipients
    ]
    if rows and session.get_bind().dialect.name == "postgresql":
        _copy(session, rows)
    elif rows:
        # Core executemany: no ORM bookkeeping per row (50 000 rows in well under a second).
        session.execute(insert(Delivery.__table__), rows)
    return len(rows)


def _copy(session: Session, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY, in the session's transaction: a city's fan-out in one
    stream instead of 50 000 parsed INSERT rows (about twice as fast)."""
    columns = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    names = ", ".join(f'"{column}"' for column in columns)
    with cursor.copy(f'COPY "{Delivery.__tablename__}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def write_one(session: Session, alert: Alert, contact: Any, channel: str, address: str,
              configured: set[str], round: int = 0) -> int:
    """One more row for ``alert`` (a fallback to the person's next channel, or an
    escalation chain's try) — none for a person an exercise's alert may not reach."""
    language = contact.language if any(t.language == contact.language for t in alert.texts) \
        else alert.texts[0].language
    return write(session, alert, guarded(
        session, alert, [Recipient(contact.id, channel, address, language)]), configured, round)


def _move_values(to_state: str, fields: dict[str, Any]) -> dict[str, Any]:
    now = clock.now()
    values: dict[str, Any] = {"state": to_state, **fields}
    if to_state in FINAL_DELIVERY_STATES:
        values["final_at"] = now
    if to_state == "sent":
        values.setdefault("sent_at", now)
    if to_state == "delivered":
        values.setdefault("delivered_at", now)
    return values


def move(session: Session, delivery_id: int, to_state: str, **fields: Any) -> bool:
    """Move one row to ``to_state`` if that is forward from where it is; else change nothing."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state.in_(ALLOWED_FROM[to_state]))
        .values(**_move_values(to_state, fields))
    )
    return result.rowcount == 1


def move_many(session: Session, to_state: str, changes: dict[int, dict[str, Any]]) -> None:
    """:func:`move` for many rows in one statement (a worker's batch of outcomes):
    ``changes`` maps a delivery id to its fields; every row gets the same field names."""
    if not changes:
        return
    table = Delivery.__table__
    names = sorted(_move_values(to_state, next(iter(changes.values()))))
    statement = (
        update(table)
        # IN (…) cannot go into an executemany; the same test as plain equalities.
        .where(table.c.id == bindparam("row_id"),
               or_(*(table.c.state == state for state in sorted(ALLOWED_FROM[to_state]))))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    session.execute(statement, [
        {"row_id": delivery_id,
         **{f"new_{k}": v for k, v in _move_values(to_state, fields).items()}}
        for delivery_id, fields in changes.items()
    ])


def cancel_unsent(session: Session, alert_id: int) -> int:
    """Cancel every row of the alert not yet handed to a provider."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.state.in_(ALLOWED_FROM["cancelled"]))
        .values(state="cancelled", final_at=clock.now())
    )
    return result.rowcount


def progress(session: Session, alert_id: int) -> dict[str, dict[str, int]]:
    """Counts per channel and state, for the alert page."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(Delivery.channel, Delivery.state, func.count())
        .where(Delivery.alert_id == alert_id)
        .group_by(Delivery.channel, Delivery.state)
    )
    for channel, state, count in rows:
        counts[channel][state] = count
    return dict(counts)


def all_final(session: Session, alert_id: int) -> bool:
    open_rows = session.scalar(
        select(func.count()).select_from(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.state.not_in(FINAL_DELIVERY_STATES))
    )
    return not open_rows


def milestones(session: Session, alert_id: int, since: datetime | None,
               shares: tuple[int, ...] = (50, 90, 100)) -> dict[int, timedelta | None]:
    """Time from ``since`` (the move to sending) until ``share`` % of the alert's
    rows were finished (delivered, or final otherwise); None while not reached."""
    total = session.scalar(select(func.count()).select_from(Delivery)
                           .where(Delivery.alert_id == alert_id)) or 0
    finished = sorted(
        at for at in session.scalars(
            select(func.coalesce(Delivery.delivered_at, Delivery.final_at))
            .where(Delivery.alert_id == alert_id, Delivery.state.in_(FINAL_DELIVERY_STATES))
        ) if at is not None
    )
    result: dict[int, timedelta | None] = {}
    for share in shares:
        needed = math.ceil(total * share / 100)
        if since is None or total == 0 or len(finished) < needed:
            result[share] = None
        else:
            result[share] = max(finished[needed - 1] - since, timedelta(0))
    return result


def failures(session: Session, alert_id: int) -> list[tuple[str, str, str, int]]:
    """(channel, state, reason, rows) of rows that failed for good, most frequent first."""
    rows = session.execute(
        select(Delivery.channel, Delivery.state, Delivery.last_error, func.count())
        .where(Delivery.alert_id == alert_id,
               Delivery.state.in_(("failed", "undeliverable", "expired")))
        .group_by(Delivery.channel, Delivery.state, Delivery.last_error)
    )
    found = [(channel, state, error or "", n) for channel, state, error, n in rows]
    return sorted(found, key=lambda item: (-item[3], item[0], item[2]))


def held_not_configured(session: Session, alert_id: int) -> dict[str, int]:
    """Rows held because their channel has no credentials, per channel."""
    rows = session.execute(
        select(Delivery.channel, func.count())
        .where(Delivery.alert_id == alert_id, Delivery.state == "held",
               Delivery.hold_reason == "channel_not_configured")
        .group_by(Delivery.channel)
    )
    return {channel: n for channel, n in rows}


def totals(session: Session, alert_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows per state for each of ``alert_ids`` (the alerts list)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if not alert_ids:
        return {}
    rows = session.execute(
        select(Delivery.alert_id, Delivery.state, func.count())
        .where(Delivery.alert_id.in_(alert_ids))
        .group_by(Delivery.alert_id, Delivery.state)
    )
    for alert_id, state, n in rows:
        counts[alert_id][state] = n
    return dict(counts)
