"""The one interface every channel adapter speaks to the dispatcher.

An adapter sends one ledger row and answers with the provider's id, or raises
:class:`RetryableError` (try again later, honouring ``retry_after``) or
:class:`PermanentError` (this address will never work: move to the person's
next channel). ``reconcile`` asks the provider what became of a row whose
outcome a crash left unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """What a worker hands an adapter: one row of the ledger and its text."""

    delivery_id: int
    channel: str
    address: str
    language: str
    text: str
    cap_status: str
    level: str | None
    expires_in_s: int | None  # e.g. Twilio's ValidityPeriod
    # Staff must acknowledge: Telegram adds a button, a call asks for key 1 (channels/acks.py).
    ack_required: bool = False
    # A resident who subscribed themselves: their e-mail links to their data (unsubscribe).
    subscriber: bool = False
    # What the alert answers to (e.g. "callout:12"): Telegram may add reply buttons for it.
    source_ref: str | None = None


class RetryableError(Exception):
    """``maybe_sent``: the provider may have the message (no answer in time), so it
    is reconciled with the provider before any resend."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Adapter(Protocol):
    channel: str
    rate_per_second: float
    # True where the provider's acceptance is the delivery (a Telegram message is in
    # the chat once sendMessage answers); False where a receipt follows (Twilio).
    delivered_on_send: bool

    def send(self, message: Outgoing) -> str:
        """Hand the message to the provider; return the provider's id."""
        ...

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """The provider id if the provider has the message, else None (not sent).

        Raise :class:`LookupError` when the provider cannot tell (Telegram):
        the row is then resent and counted as possibly duplicated.
        """
        ...
