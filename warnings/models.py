"""Warnings as Sargs keeps them: every CAP version received, one current state per
warning, the sources polled, documents refused, escalation policies, and the
alerts each warning raised (or holds for quiet hours)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

WARNING_STATES = ("active", "ended", "expired")
# Why a warning ended: a Cancel, an Update with responseType AllClear, or its absence from
# LVĢMC's list of warnings in force.
END_REASONS = ("cancel", "all_clear", "left_list")
NOTICE_KINDS = ("alert", "upgrade", "update", "all_clear")
NOTICE_STATES = ("held", "sent", "dropped")


class WeatherWarning(Base):
    """One warning across its versions: the state residents are told about."""

    __tablename__ = "weather_warning"
    __audit_skip__ = True  # machine-made from upstream documents; versions are the record

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)  # of the first version
    sender: Mapped[str] = mapped_column(String(200))
    # An exercise inject's warning belongs to the exercise's activation; real ones to none.
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None]
    # As the current (newest) version says:
    current_identifier: Mapped[str] = mapped_column(String(200))
    cap_status: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))  # yellow, orange, red
    awareness_type: Mapped[int | None]
    type_name: Mapped[str | None] = mapped_column(String(32))
    sent: Mapped[datetime]
    first_sent: Mapped[datetime]
    onset: Mapped[datetime | None]
    expires: Mapped[datetime] = mapped_column(index=True)
    # language → {"event", "headline", "description", "instruction", "area_desc"}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    areas: Mapped[list[str]] = mapped_column(JSON)  # identified area codes
    home_areas: Mapped[list[str]] = mapped_column(JSON)  # the home areas it affects
    affects_home: Mapped[bool] = mapped_column(default=False, index=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # GeoJSON, lon/lat
    # Raised from Atom entries alone: the CAP document could not be fetched.
    incomplete: Mapped[bool] = mapped_column(default=False)
    # LVĢMC list.php: successful polls in a row that did not list the warning.
    absent_polls: Mapped[int] = mapped_column(default=0)
    source_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    versions: Mapped[list[WarningVersion]] = relationship(
        back_populates="warning", order_by="WarningVersion.sent", lazy="selectin"
    )


class WarningVersion(Base):
    """One CAP document as received (raw bytes kept), append-only in practice."""

    __tablename__ = "warning_version"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("weather_warning.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime]
    msg_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    references: Mapped[str] = mapped_column(Text, default="")  # as sent: triples
    response_type: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    expires: Mapped[datetime]
    incomplete: Mapped[bool] = mapped_column(default=False)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # None for an Atom-only stub
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime]

    warning: Mapped[WeatherWarning] = relationship(back_populates="versions")


class WarningSource(Base):
    """A polled source and what the last fetch left: validators, health, back-off."""

    __tablename__ = "warning_source"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # atom, json, lvgmc-list, cap
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(default=0)  # in a row
    next_attempt_at: Mapped[datetime | None]


class RejectedDocument(Base):
    """A feed or CAP document refused as a whole, with the reason."""

    __tablename__ = "warning_rejection"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    source_url: Mapped[str] = mapped_column(String(500))
    identifier: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(300))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


class EscalationPolicy(Base):
    """What a warning of a level (optionally of one awareness type, for one area) sets off.

    Versioned: an edit writes a new row (``version`` + 1) and retires the old one, so
    every alert can name the exact policy it was made under (its frozen copy is kept
    with the notice).
    """

    __tablename__ = "escalation_policy"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)
    current: Mapped[bool] = mapped_column(default=True, index=True)
    level: Mapped[str] = mapped_column(String(16))
    awareness_type: Mapped[int | None]  # None: every type
    area: Mapped[str | None] = mapped_column(String(32))  # None: every home area
    # {"groups": [staff / institution / paging group codes], "public": bool}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    quiet_hours: Mapped[bool] = mapped_column(default=False)  # held 21:00–07:00
    approval_required: Mapped[bool] = mapped_column(default=False)
    # {"groups": [group codes, in calling order], "minutes": N, "rounds": K,
    #  "channels": [...]} — the first active member of each group is called.
    ack_chain: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class WarningNotice(Base):
    """One alert a warning calls for: sent (``alert_id``), held for quiet hours until
    ``due_at`` (re-checked then), or dropped with the reason."""

    __tablename__ = "warning_notice"
    __audit_skip__ = True  # machine-driven; the alert keeps its own history
    __table_args__ = (
        Index("ix_warning_notice_due", "state", "due_at"),
        # One notice per version and kind: a poll that sees a document again adds nothing.
        UniqueConstraint("version_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("weather_warning.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("warning_version.id"))
    kind: Mapped[str] = mapped_column(String(16))  # alert, upgrade, update, all_clear
    level: Mapped[str] = mapped_column(String(16))
    # The validity it announced: a later version with other times is worth an update.
    onset: Mapped[datetime | None]
    expires: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # frozen copy, with id and version
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
