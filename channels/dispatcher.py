"""The dispatcher: workers claim ledger rows and send them through the adapters.

* Claims take the highest priority first (red before orange before yellow)
  with a lease of seconds; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many
  workers share one ledger, on SQLite one worker runs.
* Each channel has a rate budget (a token bucket on the injected clock); a
  worker claims no more than the budget allows.
* Each outcome is committed on its own, so a crash leaves at most the row in
  hand ambiguous; an expired lease is reconciled with the provider before any
  resend.
* Retryable failures back off (or wait the provider's Retry-After); permanent
  ones move the person to their next channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sargs import clock
from sargs.channels import alerts, ledger
from sargs.channels.adapters import Adapter, Outgoing, PermanentError, RetryableError
from sargs.channels.models import Alert, Contact, Delivery

log = logging.getLogger(__name__)
BACKOFF_S = (5, 30, 120, 600)
MAX_ATTEMPTS = 6
ERROR_LENGTH = 300


class TokenBucket:
    """``rate`` tokens a second, bursts up to ``capacity``, on the injected clock."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(rate, 1.0)
        self.tokens = self.capacity
        self.updated = clock.now()

    def available(self) -> int:
        now = clock.now()
        elapsed = (now - self.updated).total_seconds()
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        return int(self.tokens)

    def take(self, count: int) -> None:
        self.tokens -= count


@dataclass
class Claimed:
    message: Outgoing
    attempts: int
    alert_id: int
    contact_id: int | None


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], adapters: dict[str, Adapter],
                 lease_seconds: float = 30, batch: int = 200) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.buckets = {name: TokenBucket(a.rate_per_second) for name, a in adapters.items()}

    # --- one round -------------------------------------------------------

    def run_once(self) -> int:
        """Recover expired leases, expire stale rows, claim and send one batch."""
        self._expire_outdated()
        self._recover_expired_leases()
        claimed = self._claim()
        for item in claimed:
            self._deliver(item)
        self._finish_complete_alerts()
        return len(claimed)

    def _expire_outdated(self) -> None:
        with self.sessions() as session:
            expired = select(Alert.id).where(Alert.expires_at < clock.now())
            session.execute(
                update(Delivery)
                .where(Delivery.alert_id.in_(expired.scalar_subquery()),
                       Delivery.state.in_(("held", "pending")))
                .values(state="expired", final_at=clock.now())
            )
            session.commit()

    def _claim(self) -> list[Claimed]:
        claimed: list[Claimed] = []
        with self.sessions() as session:
            for channel, bucket in self.buckets.items():
                budget = min(self.batch, bucket.available())
                if budget <= 0:
                    continue
                query = (
                    select(Delivery)
                    .where(Delivery.channel == channel, Delivery.state == "pending",
                           Delivery.due_at <= clock.now())
                    .order_by(Delivery.priority.desc(), Delivery.id)
                    .limit(budget)
                )
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                rows = list(session.scalars(query))
                bucket.take(len(rows))
                for row in rows:
                    row.state = "claimed"
                    row.lease_until = clock.now() + self.lease
                    row.attempts += 1
                    claimed.append(self._claimed(session, row))
            session.commit()
        return claimed

    def _claimed(self, session: Session, row: Delivery) -> Claimed:
        alert = session.get(Alert, row.alert_id)
        assert alert is not None
        expires_in = None
        if alert.expires_at is not None:
            expires_in = max(1, int((alert.expires_at - clock.now()).total_seconds()))
        message = Outgoing(
            delivery_id=row.id, channel=row.channel, address=row.address, language=row.language,
            text=alert.text_for(row.language).body, cap_status=alert.cap_status,
            level=alert.level, expires_in_s=expires_in,
        )
        return Claimed(message, row.attempts, alert.id, row.contact_id)

    def _still_ours(self, session: Session, delivery_id: int) -> bool:
        """A cancel may have taken the row since it was claimed."""
        return session.scalar(select(Delivery.state).where(Delivery.id == delivery_id)) == "claimed"

    def _deliver(self, item: Claimed) -> None:
        message = item.message
        adapter = self.adapters[message.channel]
        with self.sessions() as session:
            if not self._still_ours(session, message.delivery_id):
                return
            session.rollback()  # release SQLite's write lock while the provider answers
            try:
                provider_id = adapter.send(message)
            except RetryableError as exc:
                self._retry_later(session, item, exc)
            except PermanentError as exc:
                ledger.move(session, message.delivery_id, "undeliverable",
                            last_error=exc.reason[:ERROR_LENGTH])
                self._fall_back(session, item)
            except Exception as exc:  # an adapter bug or a dropped connection: retry
                log.exception("adapter %s failed", message.channel)
                self._retry_later(session, item, RetryableError(type(exc).__name__))
            else:
                ledger.move(session, message.delivery_id, "sent", provider_id=provider_id)
                if adapter.delivered_on_send:
                    ledger.move(session, message.delivery_id, "delivered")
            session.commit()

    def _retry_later(self, session: Session, item: Claimed, error: RetryableError) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            ledger.move(session, item.message.delivery_id, "failed",
                        last_error=error.reason[:ERROR_LENGTH])
            self._fall_back(session, item)
            return
        wait = BACKOFF_S[min(item.attempts - 1, len(BACKOFF_S) - 1)]
        if error.retry_after is not None:
            wait = max(wait, error.retry_after)
        ledger.move(session, item.message.delivery_id, "pending", lease_until=None,
                    due_at=clock.now() + timedelta(seconds=wait),
                    last_error=error.reason[:ERROR_LENGTH])

    def _fall_back(self, session: Session, item: Claimed) -> None:
        """Queue the person's next address on the alert's channels, if any is left."""
        if item.contact_id is None:
            return
        alert = session.get(Alert, item.alert_id)
        contact = session.get(Contact, item.contact_id)
        if alert is None or contact is None or alert.state != "sending":
            return
        used = set(session.execute(
            select(Delivery.channel, Delivery.address).where(Delivery.alert_id == alert.id)
        ).all())
        for address in contact.addresses:
            key = (address.channel, address.address)
            if address.active and address.channel in alert.channels and key not in used:
                ledger.write_one(session, alert, contact, address.channel, address.address,
                                 set(self.adapters))
                return

    def _recover_expired_leases(self) -> None:
        with self.sessions() as session:
            stale = list(session.scalars(
                select(Delivery).where(Delivery.state == "claimed",
                                       Delivery.lease_until < clock.now())
            ))
            items = [self._claimed(session, row) for row in stale]
            provider_ids = {row.id: row.provider_id for row in stale}
            session.rollback()
            for item in items:
                self._reconcile(session, item, provider_ids[item.message.delivery_id])
                session.commit()

    def _reconcile(self, session: Session, item: Claimed, provider_id: str | None) -> None:
        adapter = self.adapters.get(item.message.channel)
        if adapter is None:
            return
        try:
            found = adapter.reconcile(item.message, provider_id)
        except LookupError:
            ledger.move(session, item.message.delivery_id, "pending", lease_until=None,
                        possibly_duplicated=True)
            return
        if found:
            ledger.move(session, item.message.delivery_id, "sent", provider_id=found)
        else:
            ledger.move(session, item.message.delivery_id, "pending", lease_until=None)

    def _finish_complete_alerts(self) -> None:
        """Alerts whose every row is final (callbacks included) become done."""
        with self.sessions() as session:
            for alert in session.scalars(select(Alert).where(Alert.state == "sending")):
                alerts.finish_if_complete(session, alert)
            session.commit()


def drain(dispatcher: Dispatcher, rounds: int = 100) -> int:
    """Run rounds until nothing is claimed (tests, ``sargs tick``)."""
    total = 0
    for _ in range(rounds):
        sent = dispatcher.run_once()
        total += sent
        if not sent:
            break
    return total

