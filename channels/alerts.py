"""Alert campaigns: drafting, the two-person rule, sending, cancelling.

A manual Actual alert to the public is sent only after a second authorised
person — never its author, with a fresh second factor — approved it (the
Hawaii 2018 lesson). Exercise and Test alerts are marked in every text and
may belong only to an exercise activation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.service import get_activation
from sargs.channels import audience, escalation, ledger, texts
from sargs.channels.models import (
    CAP_STATUSES,
    CHANNELS,
    LEVELS,
    SOURCES,
    Alert,
    AlertEvent,
    AlertText,
)

APPROVER_ROLES = frozenset({"commission", "admin"})
SECOND_FACTOR_FRESH = timedelta(minutes=10)
PRIORITY = {None: 0, "yellow": 10, "orange": 20, "red": 30}

# state → the states it may move to
TRANSITIONS = {
    "draft": {"awaiting_approval", "approved", "cancelled"},
    "awaiting_approval": {"approved", "draft", "cancelled"},
    "approved": {"sending", "cancelled"},
    "sending": {"done", "cancelled"},
    "done": set(),
    "cancelled": set(),
}


class AlertError(ValueError):
    """A rule refused the operation; ``field`` names the input or rule at fault and
    ``reason``, where one field can break several rules, which one."""

    def __init__(self, field: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.reason = reason


@dataclass
class AlertDraft:
    source: str
    cap_status: str
    texts: dict[str, str]  # language → body, first = default
    audience: dict[str, Any]
    channels: list[str]
    level: str | None = None
    activation_id: int | None = None
    expires_at: datetime | None = None
    source_ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Staff must acknowledge; the chain is tried when nobody does (channels/escalation.py).
    ack_required: bool = False
    escalation: dict[str, Any] | None = None


def needs_second_person(cap_status: str, source: str, audience_definition: dict[str, Any]) -> bool:
    return cap_status == "Actual" and source == "manual" and bool(audience_definition.get("public"))


def _check(session: Session, draft: AlertDraft) -> None:
    if draft.source not in SOURCES:
        raise AlertError("source", f"unknown source {draft.source!r}")
    if draft.cap_status not in CAP_STATUSES:
        raise AlertError("cap_status", f"unknown CAP status {draft.cap_status!r}")
    if draft.level is not None and draft.level not in LEVELS:
        raise AlertError("level", f"unknown level {draft.level!r}")
    if not draft.channels or set(draft.channels) - set(CHANNELS):
        raise AlertError("channels", "choose channels from " + ", ".join(CHANNELS))
    if not any(body.strip() for body in draft.texts.values()):
        raise AlertError("texts", "a text is required")
    if not any(draft.audience.get(key) for key in ("groups", "contacts", "public", "told_of")):
        raise AlertError("audience", "the alert reaches nobody")
    if draft.expires_at is not None and draft.expires_at <= clock.now():
        raise AlertError("expires_at", "already expired")
    activation = get_activation(session, draft.activation_id) if draft.activation_id else None
    if draft.activation_id and activation is None:
        raise AlertError("activation_id", "no such activation")
    if draft.cap_status == "Exercise" and not (activation and activation.is_exercise):
        raise AlertError("activation_id", "an exercise alert belongs to an exercise activation")
    if draft.cap_status == "Actual" and activation is not None and activation.is_exercise:
        raise AlertError("cap_status", "an exercise activation sends Exercise alerts only")
    for language, body in draft.texts.items():
        try:
            texts.check_text(draft.cap_status, language, body)
        except texts.TextRuleError as exc:
            raise AlertError(exc.field, exc.message, exc.reason) from None


def _event(session: Session, alert: Alert, action: str, actor_id: int | None,
           from_state: str | None, note: str = "") -> None:
    session.add(AlertEvent(alert_id=alert.id, at=clock.now(), actor_id=actor_id, action=action,
                           from_state=from_state, to_state=alert.state, note=note))


def _current(session: Session, alert: Alert) -> Alert:
    """Re-read the alert under a row lock, so two people acting at once cannot both pass
    a check made on a stale copy (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    session.refresh(alert, with_for_update=True)
    return alert


def _move(session: Session, alert: Alert, to_state: str, action: str, actor_id: int | None,
          note: str = "") -> None:
    if to_state not in TRANSITIONS[alert.state]:
        raise AlertError("state", f"an alert {alert.state} cannot become {to_state}")
    before = alert.state
    alert.state = to_state
    session.flush()
    _event(session, alert, action, actor_id, before, note)


def create_alert(session: Session, draft: AlertDraft, author_id: int | None) -> Alert:
    """A draft alert with marked texts; refused with :class:`AlertError` on bad input."""
    _check(session, draft)
    chain = None
    if draft.escalation is not None:
        if not draft.ack_required:
            raise AlertError("escalation", "an escalation chain needs acknowledgement required")
        try:
            chain = escalation.checked(session, draft.escalation)
        except escalation.EscalationError as exc:
            raise AlertError(exc.field, exc.message) from None
    alert = Alert(
        source=draft.source, source_ref=draft.source_ref, cap_status=draft.cap_status,
        level=draft.level, priority=PRIORITY.get(draft.level, 0), audience=draft.audience,
        channels=list(dict.fromkeys(draft.channels)), expires_at=draft.expires_at,
        activation_id=draft.activation_id, state="draft", created_by_id=author_id,
        created_at=clock.now(),
        requires_approval=needs_second_person(draft.cap_status, draft.source, draft.audience),
        ack_required=draft.ack_required, escalation=chain,
    )
    for position, (language, body) in enumerate(draft.texts.items()):
        if body.strip():
            alert.texts.append(AlertText(language=language, position=position,
                                         body=texts.mark(draft.cap_status, language, body)))
    session.add(alert)
    session.flush()
    _event(session, alert, "created", author_id, None)
    return alert


def submit(session: Session, alert: Alert, by_id: int | None) -> Alert:
    """Ask for approval, or approve at once where no second person is needed."""
    _current(session, alert)
    if alert.requires_approval:
        _move(session, alert, "awaiting_approval", "submitted", by_id)
    else:
        alert.approved_at = clock.now()
        alert.approved_by_id = by_id
        _move(session, alert, "approved", "approved", by_id, "no second person required")
    return alert


def approve(session: Session, alert: Alert, approver_id: int, approver_roles: set[str],
            second_factor_at: datetime | None) -> Alert:
    """The second person's approval: authorised, not the author, second factor fresh."""
    _current(session, alert)
    if alert.state != "awaiting_approval":
        raise AlertError("state", "the alert is not awaiting approval")
    if approver_id == alert.created_by_id:
        raise AlertError("approver", "the author cannot approve their own alert")
    if not approver_roles & APPROVER_ROLES:
        raise AlertError("approver", "only the commission may approve a public alert")
    if second_factor_at is None or clock.now() - second_factor_at > SECOND_FACTOR_FRESH:
        raise AlertError("second_factor", "confirm your second factor again to approve")
    alert.approved_by_id = approver_id
    alert.approved_at = clock.now()
    _move(session, alert, "approved", "approved", approver_id)
    return alert


def reject(session: Session, alert: Alert, by_id: int, note: str) -> Alert:
    _current(session, alert)
    _move(session, alert, "draft", "rejected", by_id, note)
    return alert


def start_sending(session: Session, alert: Alert, configured: set[str]) -> int:
    """Resolve the audience and write the ledger in the same transaction as the move
    to sending (the caller commits both or neither). Returns the number of rows."""
    _current(session, alert)
    if alert.state != "approved":
        raise AlertError("state", "only an approved alert can be sent")
    if alert.requires_approval and (
        alert.approved_by_id is None or alert.approved_by_id == alert.created_by_id
    ):
        raise AlertError("approver", "a second person must approve this alert")
    recipients = audience.resolve(session, alert)
    alert.sending_at = clock.now()
    _move(session, alert, "sending", "sending", None, f"{len(recipients)} deliveries")
    written = ledger.write(session, alert, recipients, configured)
    escalation.start(session, alert)
    return written


def cancel(session: Session, alert: Alert, by_id: int | None, note: str = "") -> int:
    """Cancel the alert; nothing not yet handed to a provider is sent. Returns rows cancelled."""
    _current(session, alert)
    cancelled = ledger.cancel_unsent(session, alert.id) if alert.state == "sending" else 0
    alert.cancelled_at = clock.now()
    _move(session, alert, "cancelled", "cancelled", by_id, note)
    return cancelled


def finish_if_complete(session: Session, alert: Alert) -> bool:
    # An escalation chain still climbing keeps the alert sending.
    if (alert.state == "sending" and ledger.all_final(session, alert.id)
            and not escalation.waiting(session, alert.id)):
        alert.finished_at = clock.now()
        _move(session, alert, "done", "done", None)
        return True
    return False
