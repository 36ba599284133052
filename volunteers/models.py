"""The CREWS volunteer corps: volunteers and their certificates, the codes that verify
and sign them in, coordinators' teams and notes, the training module (courses,
sessions, enrolments) and call-outs with each volunteer's answer.

Personal data lives in :class:`Volunteer` and :class:`VolunteerNote` only, and is
kept out of the append-only audit log (it could not be erased there).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

# pending: registered, waiting for a coordinator; active: can be called out; reserve:
# approved but asked only when the active ones are not enough; inactive: not asked;
# erased: the person asked to be forgotten, what the public task needs is kept
# pseudonymised.
STATUSES = ("pending", "active", "reserve", "inactive", "erased")
TEAM_KINDS = ("team", "neighbourhood")
CODE_PURPOSES = ("phone", "email", "signin")
SESSION_STATES = ("planned", "cancelled", "done")
ENROLMENT_STATES = ("enrolled", "waiting", "cancelled")
CALLOUT_STATES = ("open", "filled", "closed", "cancelled")
CALLOUT_LINKS = ("alert", "cad", "exercise", "none")
# asked: waiting for the answer; yes / no: answered; released: told "enough, thank you"
# (the quota filled before they answered, or the call-out ended); withdrawn: said yes,
# then the coordinator took them off the roster.
ASK_STATES = ("asked", "yes", "no", "released", "withdrawn")


class Volunteer(Base):
    """One registered volunteer."""

    __tablename__ = "volunteer"
    __audit_exclude__ = frozenset({
        "name", "phone", "email", "birth_date", "guardian_name", "guardian_phone",
        "telegram_chat_id"})
    __table_args__ = (Index("ix_volunteer_status_municipality", "status", "municipality"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    name: Mapped[str] = mapped_column(String(200))
    # Normalised (E.164); None once erased, so the number can register again.
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    phone_verified_at: Mapped[datetime | None]
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    email_confirmed_at: Mapped[datetime | None]
    birth_date: Mapped[date | None] = mapped_column(Date)
    # A 16- or 17-year-old registers only with a guardian's consent, recorded here.
    guardian_name: Mapped[str] = mapped_column(String(200), default="")
    guardian_phone: Mapped[str] = mapped_column(String(32), default="")
    guardian_consent_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(8), default="lv")
    municipality: Mapped[str] = mapped_column(String(16))  # an area code (LV022, …)
    neighbourhood: Mapped[str | None] = mapped_column(String(16))  # a neighbourhood area code
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of reference.SKILLS
    licence_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    own_vehicle: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO 639-1 codes
    # Weekdays (0 = Monday) and the hours of the day (minutes from midnight, Riga time)
    # they can usually come; travel_km: how far they will go.
    available_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    available_from: Mapped[int] = mapped_column(default=0)
    available_to: Mapped[int] = mapped_column(default=24 * 60)
    travel_km: Mapped[int] = mapped_column(default=10)
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    consent_withdrawn_at: Mapped[datetime | None]
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    # The channels contact the volunteer is reached through (owner "volunteers").
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="portal")  # portal, api, staff
    shelter_id: Mapped[int | None] = mapped_column(
        ForeignKey("shelter.id", ondelete="SET NULL"), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]

    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", lazy="selectin",
        order_by="Certificate.issued_on")


class Certificate(Base):
    """A certificate a volunteer holds (first aid, chainsaw, …), with its expiry."""

    __tablename__ = "volunteer_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a skill code of reference.SKILLS
    title: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    issued_by: Mapped[str] = mapped_column(String(200), default="")
    # Issued by Sargs' own training, for attending this session.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_session.id", ondelete="SET NULL"))
    renewal_reminded_at: Mapped[datetime | None]

    volunteer: Mapped[Volunteer] = relationship(back_populates="certificates")


class VerificationCode(Base):
    """A code or one-time link sent to a phone or e-mail address: to verify it, or to
    sign in. Only a keyed hash of the secret is kept; it works once, for minutes."""

    __tablename__ = "volunteer_code"
    __table_args__ = (Index("ix_volunteer_code_address_created", "address", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # phone, email, signin
    channel: Mapped[str] = mapped_column(String(16))  # sms, email, telegram
    address: Mapped[str] = mapped_column(String(254))  # normalised
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class VolunteerNote(Base):
    """A coordinator's note about a volunteer."""

    __tablename__ = "volunteer_note"
    __audit_exclude__ = frozenset({"text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Team(Base):
    """A team, or a neighbourhood group, of volunteers, led by a coordinator."""

    __tablename__ = "volunteer_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="team")  # team, neighbourhood
    area_code: Mapped[str | None] = mapped_column(String(16))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class TeamMember(Base):
    __tablename__ = "volunteer_team_member"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_team.id", ondelete="CASCADE"), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True, index=True)


class CoordinatorArea(Base):
    """A coordinator looks after the volunteers of these municipalities (area codes);
    an admin sees every volunteer."""

    __tablename__ = "volunteer_coordinator_area"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(16), primary_key=True)


# --- training ------------------------------------------------------------------


class Course(Base):
    """A course of the training module; attending a session can earn a certificate."""

    __tablename__ = "training_course"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_lv: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    certificate_kind: Mapped[str | None] = mapped_column(String(32))  # a skill code
    certificate_months: Mapped[int | None]  # validity; None: does not expire
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class TrainingSession(Base):
    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    instructor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    capacity: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="planned")
    reminder_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    course: Mapped[Course] = relationship(lazy="joined", innerjoin=True)


class Enrolment(Base):
    """A volunteer's place on a session, or on its waiting list (in order of asking)."""

    __tablename__ = "training_enrolment"
    __table_args__ = (UniqueConstraint("session_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # enrolled, waiting, cancelled
    asked_at: Mapped[datetime]
    attended: Mapped[bool | None]  # None until the instructor marks attendance
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_certificate.id", ondelete="SET NULL"))


# --- call-outs -----------------------------------------------------------------


class CallOut(Base):
    """A coordinator's request for volunteers: who, how many, when and where."""

    __tablename__ = "volunteer_callout"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The short code volunteers answer with ("A" → "A1" yes, "A2" no); unique among the
    # call-outs still asking, reused once they end.
    code: Mapped[str] = mapped_column(String(4), index=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activation.id"), index=True)
    link_kind: Mapped[str] = mapped_column(String(16), default="none")  # alert, cad, exercise
    link_ref: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    brief: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # all of them required
    area_code: Mapped[str | None] = mapped_column(String(16))
    place: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    needed: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    asks: Mapped[list[CallOutAsk]] = relationship(
        back_populates="callout", cascade="all, delete-orphan", order_by="CallOutAsk.id")


class CallOutAsk(Base):
    """One volunteer asked in one call-out: their answer and, on site, their hours."""

    __tablename__ = "volunteer_callout_ask"
    __table_args__ = (UniqueConstraint("callout_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    callout_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_callout.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="asked")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer_via: Mapped[str | None] = mapped_column(String(16))  # sms, telegram, web, staff
    checked_in_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]

    callout: Mapped[CallOut] = relationship(back_populates="asks")


class CallOutReply(Base):
    """Every reply that reached a call-out, raw; one not understood waits for the
    coordinator (``needs_review``) until someone settles it."""

    __tablename__ = "volunteer_callout_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    callout_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_callout.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(1600))
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # yes, no, unclear, late, busy
    needs_review: Mapped[bool] = mapped_column(default=False, index=True)
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    settled_at: Mapped[datetime | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
