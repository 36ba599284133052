"""The notification engine's records: contacts and groups, alert campaigns
with their texts and history, and the delivery ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

CHANNELS = ("sms", "voice", "telegram", "email", "pbx", "sip")
LEVELS = ("yellow", "orange", "red")
CAP_STATUSES = ("Actual", "Exercise", "Test")
SOURCES = ("warning", "manual", "exercise", "cad", "callout", "reminder")
ALERT_STATES = ("draft", "awaiting_approval", "approved", "sending", "done", "cancelled")
DELIVERY_STATES = ("held", "pending", "claimed", "sent", "delivered", "failed",
                   "undeliverable", "cancelled", "expired")
FINAL_DELIVERY_STATES = frozenset({"delivered", "failed", "undeliverable", "cancelled", "expired"})


class Contact(Base):
    """A person or institution Sargs can reach; other domains register theirs here."""

    __tablename__ = "contact"
    # Residents' personal data stays out of the append-only audit log (it could not be
    # erased there); the entry still shows that a contact changed, and who changed it.
    __audit_exclude__ = frozenset({"name"})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # person, institution
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="lv")
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Residents choose the warning levels they want; staff get what their groups get.
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_public_subscriber: Mapped[bool] = mapped_column(default=False, index=True)
    owner: Mapped[str] = mapped_column(String(32), default="channels")  # registering domain
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    addresses: Mapped[list[ContactAddress]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", lazy="selectin",
        order_by="ContactAddress.preference",
    )


class ContactAddress(Base):
    """One way to reach a contact; ``preference`` orders them (0 = first)."""

    __tablename__ = "contact_address"
    __audit_exclude__ = frozenset({"address"})
    __table_args__ = (UniqueConstraint("contact_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))  # normalised: E.164, chat id, e-mail
    preference: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)

    contact: Mapped[Contact] = relationship(back_populates="addresses")


class ContactGroup(Base):
    """Staff groups, institutions, partners and IP-phone paging groups."""

    __tablename__ = "contact_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # staff, institution, partner, paging

    members: Mapped[list[ContactGroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", lazy="selectin"
    )


class ContactGroupMember(Base):
    __tablename__ = "contact_group_member"
    __table_args__ = (UniqueConstraint("group_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("contact_group.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))

    group: Mapped[ContactGroup] = relationship(back_populates="members")
    contact: Mapped[Contact] = relationship(lazy="joined")


class Alert(Base):
    """One campaign: what is said, to whom, over which channels, and its state."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(200))
    cap_status: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(default=0)  # higher first
    # {"groups": [codes], "contacts": [ids], "public": {"areas": [codes]}}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None]
    sending_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # A cancel or correction points at the alert it cancels or corrects.
    references_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    msg_type: Mapped[str] = mapped_column(String(16), default="Alert")  # Alert, Update, Cancel
    # Staff alerts that must be acknowledged; ``escalation`` is the chain tried when
    # nobody does: {"contacts": [ids in order], "minutes": N, "rounds": K,
    # "channels": [channels]} (see channels/escalation.py).
    ack_required: Mapped[bool] = mapped_column(default=False)
    escalation: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    texts: Mapped[list[AlertText]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", lazy="selectin",
        order_by="AlertText.position",
    )

    def text_for(self, language: str) -> AlertText:
        """The text in ``language``, else the alert's first language."""
        for text in self.texts:
            if text.language == language:
                return text
        return self.texts[0]


class AlertText(Base):
    __tablename__ = "alert_text"
    __table_args__ = (UniqueConstraint("alert_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(default=0)
    body: Mapped[str] = mapped_column(Text)

    alert: Mapped[Alert] = relationship(back_populates="texts")


class AlertEvent(Base):
    """The alert's history, append-only: every state change and who made it."""

    __tablename__ = "alert_event"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")


class Delivery(Base):
    """One row of the delivery ledger: one alert to one address over one channel."""

    __tablename__ = "delivery"
    __audit_skip__ = True  # the ledger is its own record; state moves are not user changes
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "address", "round"),
        # The claim asks for one channel's due rows of one priority, oldest first.
        Index("ix_delivery_work", "state", "channel", "priority", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))  # snapshot; pseudonymised on erasure
    language: Mapped[str] = mapped_column(String(8))
    # 0 for the alert's own fan-out; an escalation chain's later rounds try the same
    # person again, each round its own row.
    round: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # Resent after a crash where the provider could not say whether it had it (Telegram).
    possibly_duplicated: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    final_at: Mapped[datetime | None]


class SubscriptionCode(Base):
    """A one-time code sent by SMS to confirm a subscription or to open "my data".

    Only an HMAC of the code is kept; ``choices`` holds what the resident asked for
    until the code confirms it. Not audited: the rows carry a phone number and live
    ten minutes; the subscription they confirm is audited.
    """

    __tablename__ = "subscription_code"
    __audit_skip__ = True
    __table_args__ = (Index("ix_subscription_code_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))  # E.164
    code_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256, hex
    purpose: Mapped[str] = mapped_column(String(16))  # subscribe, manage
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class Acknowledgement(Base):
    """A staff member confirmed they received an alert (Telegram button, SMS reply,
    voice key or the web); the first acknowledgement per person counts."""

    __tablename__ = "acknowledgement"
    __table_args__ = (UniqueConstraint("alert_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"))
    via: Mapped[str] = mapped_column(String(16))  # telegram, sms, voice, web
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # web
    at: Mapped[datetime]


class EscalationStep(Base):
    """One try of an escalation chain, due at ``due_at``; the scheduler tick sends
    due steps until someone acknowledges (then the rest are stopped)."""

    __tablename__ = "escalation_step"
    __audit_skip__ = True  # machine-driven; the alert's history records the climb
    __table_args__ = (
        UniqueConstraint("alert_id", "round", "position"),
        Index("ix_escalation_step_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    round: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting, tried, stopped
    tried_at: Mapped[datetime | None]


class InboundMessage(Base):
    """Every reply that reached the inbound router, with what became of it; replies
    nobody understood wait for an operator (``outcome`` "unknown", ``handled_at`` unset)."""

    __tablename__ = "inbound_message"
    __audit_exclude__ = frozenset({"address", "text"})
    __table_args__ = (Index("ix_inbound_message_open", "outcome", "handled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))  # pseudonymised on erasure
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(32))  # stop, start, help, ack, <handler>, unknown
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class EmailConfirmation(Base):
    """A pending e-mail subscription (double opt-in): only an HMAC of the token is
    kept; the resident confirms with a button (POST) on the page the link opens."""

    __tablename__ = "email_confirmation"
    __audit_skip__ = True
    __table_args__ = (Index("ix_email_confirmation_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TelegramChat(Base):
    """Where a resident's conversation with the bot stands (/start → language →
    area → levels → confirmed), so any bot process can take the next message."""

    __tablename__ = "telegram_chat"
    __audit_skip__ = True  # chat ids are personal data; the subscription is audited

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(32), unique=True)
    step: Mapped[str] = mapped_column(String(16))  # language, area, levels, done
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
