"""The 8787 line's records: categories and partners, the routing between them, resident
reports with their photos and timeline, and the state of the e-mail intake."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

# Where a report came in: the 8787 phone line, the public web map, the city's mobile app
# (Open311), e-mail, or anything else (in person, a letter).
REPORT_CHANNELS = ("phone", "web", "app", "email", "other")
# draft: an e-mail not yet classified; new: registered, not yet sent to a partner;
# routed: sent, waiting for the partner to accept; returned: the partner rejected it and
# the operator must reroute or close it; accepted: the partner works on it; resolved: the
# partner finished it; rejected: closed without work (not ours, not a problem); duplicate:
# closed as a duplicate of another report.
REPORT_STATES = ("draft", "new", "routed", "returned", "accepted", "resolved", "rejected",
                 "duplicate")
OPEN_STATES = ("draft", "new", "routed", "returned", "accepted")
CLOSED_STATES = ("resolved", "rejected", "duplicate")
# Jelgava city (LV022) or the municipality around it (LV023), counted separately.
JURISDICTIONS = ("city", "municipality")
# How a reporter who asked for the outcome is told.
FEEDBACK_CHANNELS = ("email", "sms", "telegram", "open311")
EVENT_KINDS = ("created", "classified", "edited", "routed", "accepted", "planned",
               "rejected_by_partner", "resolved", "rejected", "duplicate", "reopened",
               "note", "overdue", "feedback", "contact_erased", "photo", "partner_mail")
PHOTO_KINDS = ("report", "resolution")


class CadCategory(Base):
    """What a report is about; each has its response and resolution time in working days."""

    __tablename__ = "cad_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the Open311 service_code
    name_lv: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    description_lv: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(300), default="")  # search words, both languages
    # Working days (Latvian public holidays are not working days).
    response_days: Mapped[int] = mapped_column(default=1)
    resolution_days: Mapped[int] = mapped_column(default=10)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, language: str) -> str:
        return self.name_lv if language == "lv" else self.name_en


class CadPartner(Base):
    """An organisation reports are forwarded to; it works on them without an account,
    through signed links in its e-mail or the partner API with its token."""

    __tablename__ = "cad_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    # SHA-256 of the partner API token; the token itself is shown once.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Reports outside the city go to this partner (Jelgava municipality).
    for_municipality: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class CadRoute(Base):
    """Which partner a category goes to, in one area or (area_code NULL) anywhere."""

    __tablename__ = "cad_route"
    __table_args__ = (UniqueConstraint("category_id", "area_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("cad_category.id", ondelete="CASCADE"))
    area_code: Mapped[str | None] = mapped_column(String(32))
    partner_id: Mapped[int] = mapped_column(ForeignKey("cad_partner.id"))


class CadReport(Base):
    """One resident report, from intake to closure."""

    __tablename__ = "cad_report"
    # The reporter's contact data stays out of the append-only audit log: it is erased
    # after the retention period and could not be erased there.
    __audit_exclude__ = frozenset({"reporter_name", "reporter_phone", "reporter_email",
                                   "reporter_telegram", "description"})
    __table_args__ = (
        Index("ix_cad_report_state_created", "state", "created_at"),
        Index("ix_cad_report_created_category", "created_at", "category_id"),
        Index("ix_cad_report_partner_state", "partner_id", "state"),
        Index("ix_cad_report_category_received", "category_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exercise reports belong to their exercise's activation and never count.
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("cad_category.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("cad_partner.id"))
    jurisdiction: Mapped[str] = mapped_column(String(16), default="city")
    area_code: Mapped[str | None] = mapped_column(String(32))  # the most precise area known
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    language: Mapped[str] = mapped_column(String(8), default="lv")
    # Reporter (all optional; erased after the retention period, the report stays).
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    reporter_email: Mapped[str | None] = mapped_column(String(254))
    reporter_telegram: Mapped[str | None] = mapped_column(String(32))  # a chat id
    feedback_wanted: Mapped[bool] = mapped_column(default=False)
    feedback_channel: Mapped[str | None] = mapped_column(String(16))
    feedback_sent_at: Mapped[datetime | None]
    contact_erased_at: Mapped[datetime | None]
    # Times: received_at is when the report reached the centre (historic imports keep
    # theirs); the rest follow the work.
    received_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    routed_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    planned_for: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None] = mapped_column(index=True)
    overdue_flagged_at: Mapped[datetime | None]
    status_note: Mapped[str] = mapped_column(Text, default="")  # shown to the reporter, Open311
    # Indexed: deleting reports (a replaced generated year) checks this reference.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cad_report.id"),
                                                        index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # E-mail intake: the mail's Message-ID, so a mail polled twice is one report.
    source_ref: Mapped[str | None] = mapped_column(String(300), unique=True)
    imported: Mapped[bool] = mapped_column(default=False)
    # Made by ``sargs cad demo-year`` (a demonstration), never a real resident's report.
    generated: Mapped[bool] = mapped_column(default=False)

    category: Mapped[CadCategory | None] = relationship(lazy="joined")
    partner: Mapped[CadPartner | None] = relationship(lazy="joined")
    events: Mapped[list[CadReportEvent]] = relationship(
        back_populates="report", order_by="CadReportEvent.id", lazy="select",
    )


class CadReportEvent(Base):
    """One step on a report's timeline (who did what, when); append-only in the database."""

    __tablename__ = "cad_report_event"
    __audit_skip__ = True  # itself a record of changes

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("cad_report.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(24))
    # user, partner, reporter, system
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    report: Mapped[CadReport] = relationship(back_populates="events")


class CadPhoto(Base):
    """A photo of a report (from the reporter) or of its resolution (from the partner),
    stored as JPEG or PNG with its EXIF metadata stripped."""

    __tablename__ = "cad_photo"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("cad_report.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16), default="report")
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime]


class CadIntakeState(Base):
    """Where a polled mailbox was left: its UIDVALIDITY and the last UID read."""

    __tablename__ = "cad_intake_state"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300), unique=True)
    uid_validity: Mapped[int | None]
    last_uid: Mapped[int] = mapped_column(default=0)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
