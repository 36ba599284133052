"""The dispatcher: workers claim ledger rows and send them through the adapters.

* Claims take the highest priority first (red before orange before yellow)
  with a lease of seconds; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many
  workers share one ledger, on SQLite one worker runs.
* Each channel has a rate budget (channels.rates: a token bucket on the
  injected clock, shared in Redis with SARGS_REDIS_URL), and Telegram one per
  chat; a worker claims no more than the budgets allow.
* A round claims up to the worker's concurrency per channel, sends the batch at
  once (Telegram: requests gathered on the adapter's loop; SMS: a thread pool)
  and commits the batch's outcomes together, so a crash leaves at most that
  batch ambiguous; an expired lease is reconciled with the provider before any
  resend.
* Retryable failures back off (or wait the provider's Retry-After); permanent
  ones move the person to their next channel.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from sargs import clock
from sargs.channels import alerts, ledger, rates, telegram_bot
from sargs.channels.adapters import Adapter, Outgoing, PermanentError, RetryableError
from sargs.channels.models import Alert, Contact, Delivery

log = logging.getLogger(__name__)
BACKOFF_S = (5, 30, 120, 600)
MAX_ATTEMPTS = 6
ERROR_LENGTH = 300
FINISH_EVERY = HOUSEKEEPING_EVERY = timedelta(seconds=1)
MIN_WAIT_S = 0.05


@dataclass
class Claimed:
    message: Outgoing
    attempts: int
    alert_id: int
    contact_id: int | None


class Dispatcher:
    """One worker. Each round claims up to ``concurrency`` rows per channel (within
    the channel's rate budget), sends every channel's batch at once, and records the
    batch's outcomes in one transaction: a crash leaves at most ``concurrency`` rows
    per channel claimed but unrecorded, and their leases bring them to reconciliation."""

    def __init__(self, sessions: sessionmaker[Session], adapters: dict[str, Adapter],
                 lease_seconds: float = 30, concurrency: int = 64,
                 budgets: rates.Budgets | None = None) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = concurrency
        self.budgets = budgets or rates.Budgets(
            {name: a.rate_per_second for name, a in adapters.items()})
        self._starved: set[str] = set()  # channels whose budget was spent last round
        self._finished_at: datetime | None = None
        self._housekept_at: datetime | None = None
        self._busy = False
        self._channels = ThreadPoolExecutor(max(len(adapters), 1),
                                            thread_name_prefix="dispatch-channel")

    # --- one round -------------------------------------------------------

    def run_once(self) -> int:
        """Recover expired leases, expire stale rows, claim and send one batch."""
        if self._housekeeping_due():
            self._expire_outdated()
            self._recover_expired_leases()
        claimed = self._claim()
        by_channel: dict[str, list[Claimed]] = defaultdict(list)
        for item in claimed:
            by_channel[item.message.channel].append(item)
        # Channels go out side by side: SMS recipients do not wait for Telegram's batch.
        outcomes = list(self._channels.map(self._send_batch, by_channel.values()))
        self._record(outcomes)
        self._finish_complete_alerts(idle=not claimed)
        self._busy = bool(claimed)
        return len(claimed)

    def idle_wait(self, default: float) -> float:
        """How long a worker with nothing claimed should wait: until a drained rate
        budget has a token again, so a limited channel loses no time; else ``default``."""
        # A few tokens' worth at once keeps rounds (each a few queries) from outnumbering sends.
        waits = [max(1 / self.budgets.rate(channel), MIN_WAIT_S) for channel in self._starved]
        return min([default, *waits])

    def close(self) -> None:
        self._channels.shutdown(wait=True)

    def _housekeeping_due(self) -> bool:
        """Expiry and lease recovery run once a second on the clock while the worker
        is busy (each is a query over the ledger), and on every idle round."""
        now = clock.now()
        if (not self._busy or self._housekept_at is None
                or now - self._housekept_at >= HOUSEKEEPING_EVERY):
            self._housekept_at = now
            return True
        return False

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
        table = Delivery.__table__
        with self.sessions() as session:
            alerts_seen: dict[int, Alert] = {}
            self._starved.clear()
            for channel in self.adapters:
                budget = self.budgets.acquire(channel, self.batch)
                if budget <= 0:
                    self._starved.add(channel)
                    continue
                rows = self._due_rows(session, channel, budget)
                admits = self.budgets.admit(channel, [row.address for row in rows])
                self.budgets.give_back(channel, budget - sum(admits))
                if not all(admits):  # those chats had a message a moment ago (Telegram: 1/s)
                    rows = self._wait_a_moment(session, rows, admits)
                if not rows:
                    continue
                session.execute(
                    update(table).where(table.c.id.in_([row.id for row in rows]))
                    .values(state="claimed", lease_until=clock.now() + self.lease,
                            attempts=table.c.attempts + 1)
                )
                residents = _residents(session, rows, alerts_seen)
                for row in rows:
                    claimed.append(self._claimed(session, row, row.attempts + 1, alerts_seen,
                                                 residents))
            session.commit()
        self.budgets.charge_extra(item.message for item in claimed)  # SMS: one unit a segment
        return claimed

    def _wait_a_moment(self, session: Session, rows: list[Any], admits: list[bool]) -> list[Any]:
        """Rows not admitted come due a second later (unclaimed); the admitted ones."""
        table = Delivery.__table__
        later = [row.id for row, ok in zip(rows, admits, strict=True) if not ok]
        session.execute(update(table).where(table.c.id.in_(later))
                        .values(due_at=clock.now() + timedelta(seconds=1)))
        return [row for row, ok in zip(rows, admits, strict=True) if ok]

    def _due_rows(self, session: Session, channel: str, limit: int) -> list[Any]:
        """Up to ``limit`` due pending rows of ``channel``, highest priority first, then
        the longest waiting.

        One priority at a time (there are a handful), so every query walks the
        (state, priority, due_at) index in order and stops at ``limit``: a single
        ORDER BY priority DESC, id would sort every pending row, each round."""
        table = Delivery.__table__
        found: list[Any] = []
        below: int | None = None
        while len(found) < limit:
            top = select(func.max(table.c.priority)).where(table.c.state == "pending")
            if below is not None:
                top = top.where(table.c.priority < below)
            below = session.scalar(top)
            if below is None:
                break
            query = (
                select(table.c.id, table.c.channel, table.c.address, table.c.language,
                       table.c.attempts, table.c.alert_id, table.c.contact_id)
                .where(table.c.state == "pending", table.c.priority == below,
                       table.c.due_at <= clock.now(), table.c.channel == channel)
                .order_by(table.c.due_at, table.c.id)
                .limit(limit - len(found))
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found.extend(session.execute(query).all())
        return found

    def _claimed(self, session: Session, row: Any, attempts: int,
                 alerts_seen: dict[int, Alert] | None = None,
                 residents: frozenset[int] = frozenset()) -> Claimed:
        alert = _alert(session, row.alert_id, alerts_seen)
        expires_in = None
        if alert.expires_at is not None:
            expires_in = max(1, int((alert.expires_at - clock.now()).total_seconds()))
        message = Outgoing(
            delivery_id=row.id, channel=row.channel, address=row.address, language=row.language,
            text=alert.text_for(row.language).body, cap_status=alert.cap_status,
            level=alert.level, expires_in_s=expires_in,
            # Staff are asked to acknowledge; residents reached by the same alert are not.
            ack_required=alert.ack_required and row.contact_id not in residents,
            subscriber=row.contact_id in residents, source_ref=alert.source_ref,
        )
        return Claimed(message, attempts, alert.id, row.contact_id)

    def _still_ours(self, items: list[Claimed]) -> list[Claimed]:
        """A cancel may have taken rows since they were claimed."""
        ids = [item.message.delivery_id for item in items]
        with self.sessions() as session:
            ours = set(session.scalars(
                select(Delivery.id).where(Delivery.id.in_(ids), Delivery.state == "claimed")))
            session.rollback()  # release SQLite's write lock while the provider answers
        return [item for item in items if item.message.delivery_id in ours]

    def _send_batch(self, items: list[Claimed]) -> list[tuple[Claimed, str | Exception]]:
        """Hand one channel's batch to its adapter: all at once where the adapter can
        (``send_many``), else one after another."""
        items = self._still_ours(items)
        if not items:
            return []
        adapter = self.adapters[items[0].message.channel]
        messages = [item.message for item in items]
        send_many = getattr(adapter, "send_many", None)
        results: list[str | Exception]
        if send_many is not None:
            try:
                results = send_many(messages)
            except Exception as exc:  # the whole batch failed (e.g. its wait ran out)
                # Some may have reached the provider: ask it before any resend.
                log.error("adapter %s failed a batch", messages[0].channel, exc_info=exc)
                results = [RetryableError(type(exc).__name__, maybe_sent=True)] * len(messages)
        else:
            results = []
            for message in messages:
                try:
                    results.append(adapter.send(message))
                except Exception as exc:  # classified in _record
                    results.append(exc)
        return list(zip(items, results, strict=True))

    def _record(self, outcomes: list[list[tuple[Claimed, str | Exception]]]) -> None:
        """Every outcome of the round in one transaction."""
        if not any(outcomes):
            return
        with self.sessions() as session:
            for batch in outcomes:
                sent: dict[int, dict[str, Any]] = {}
                for item, result in batch:
                    if isinstance(result, str):
                        sent[item.message.delivery_id] = {"provider_id": result}
                    else:
                        self._failed(session, item, result)
                if not batch or not sent:
                    continue
                if self.adapters[batch[0][0].message.channel].delivered_on_send:
                    # sent and delivered at once: one statement instead of two
                    now = clock.now()
                    ledger.move_many(session, "delivered",
                                     {i: {**fields, "sent_at": now} for i, fields in sent.items()})
                else:
                    ledger.move_many(session, "sent", sent)
            session.commit()

    def _failed(self, session: Session, item: Claimed, error: Exception) -> None:
        if isinstance(error, RetryableError):
            self._retry_later(session, item, error)
        elif isinstance(error, PermanentError):
            ledger.move(session, item.message.delivery_id, "undeliverable",
                        last_error=error.reason[:ERROR_LENGTH])
            if error.reason.startswith("Telegram 403"):  # blocked: stop using that chat
                telegram_bot.chat_blocked(session, item.message.address)
            self._fall_back(session, item)
        else:  # an adapter bug or a dropped connection: retry
            log.error("adapter %s failed", item.message.channel, exc_info=error)
            self._retry_later(session, item, RetryableError(type(error).__name__))

    def _retry_later(self, session: Session, item: Claimed, error: RetryableError) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            ledger.move(session, item.message.delivery_id, "failed",
                        last_error=error.reason[:ERROR_LENGTH])
            self._fall_back(session, item)
            return
        wait = BACKOFF_S[min(item.attempts - 1, len(BACKOFF_S) - 1)]
        if error.retry_after is not None:
            wait = max(wait, error.retry_after)
        if error.maybe_sent:  # no answer in time: the lease's end asks the provider first
            session.execute(update(Delivery).where(Delivery.id == item.message.delivery_id,
                                                   Delivery.state == "claimed")
                            .values(lease_until=clock.now() + timedelta(seconds=wait),
                                    last_error=error.reason[:ERROR_LENGTH]))
            return
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
            residents = _residents(session, stale)
            items = [self._claimed(session, row, row.attempts, residents=residents)
                     for row in stale]
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

    def _finish_complete_alerts(self, idle: bool = True) -> None:
        """Alerts whose every row is final (callbacks included) become done.

        Counting a large alert's open rows is the dearest query of a round, so a
        busy worker does it once a second; an idle one every round."""
        now = clock.now()
        if not idle and self._finished_at is not None and now - self._finished_at < FINISH_EVERY:
            return
        self._finished_at = now
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


def _alert(session: Session, alert_id: int, seen: dict[int, Alert] | None) -> Alert:
    """The row's alert, loaded once per claim round."""
    alert = seen.get(alert_id) if seen is not None else None
    if alert is None:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        if seen is not None:
            seen[alert_id] = alert
    return alert


def _residents(session: Session, rows: list[Any],
               alerts_seen: dict[int, Alert] | None = None) -> frozenset[int]:
    """Which of the rows' contacts are residents who subscribed themselves, where it
    matters: the row's alert asks for acknowledgement (residents are not asked), or the
    row is an e-mail (only a subscriber's carries the link to their data)."""
    asking = {alert_id for alert_id in {row.alert_id for row in rows}
              if _alert(session, alert_id, alerts_seen).ack_required}
    ids = {row.contact_id for row in rows if row.contact_id is not None
           and (row.alert_id in asking or row.channel == "email")}
    if not ids:
        return frozenset()
    return frozenset(session.scalars(select(Contact.id).where(
        Contact.id.in_(ids), Contact.is_public_subscriber.is_(True))))
