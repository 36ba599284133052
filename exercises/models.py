"""Continuity plans of institutions and companies, with their critical services and
key contacts; exercises with their objectives, participants and inject list (MSEL);
and the library of injects to reuse."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

ORGANISATION_KINDS = ("institution", "company")
DEPENDENCIES = ("power", "water", "heating", "it", "communications", "suppliers", "transport",
                "staff")
EXERCISE_KINDS = ("tabletop", "functional", "full_scale", "communications_check")
# draft → ready → running ⇄ paused → ended
EXERCISE_STATES = ("draft", "ready", "running", "paused", "ended")
PARTICIPANT_ROLES = ("controller", "evaluator", "participant")
INJECT_CHANNELS = ("page", "telegram", "sms", "email", "voice", "pbx", "warning")
RESPONSE_KINDS = ("acknowledgement", "answer", "decision")
RESPONSE_VIAS = ("page", "telegram", "sms", "email", "voice")
# The four ratings of an objective (as in the HSEEP evaluation guides).
RATINGS = ("without_challenges", "some_challenges", "major_challenges", "unable")
ACTION_STATES = ("open", "in_progress", "done")


class ContinuityPlan(Base):
    """One organisation's business-continuity plan, in the version last approved."""

    __tablename__ = "continuity_plan"
    __audit_exclude__ = frozenset({"document"})  # the file's bytes: "changed" is enough

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200))
    organisation_kind: Mapped[str] = mapped_column(String(16), default="institution")
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    approved_on: Mapped[date | None] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(200))  # who keeps the plan (a post, a person)
    # The plan's document as the organisation gave it (PDF or office file).
    document_name: Mapped[str | None] = mapped_column(String(200))
    document_type: Mapped[str | None] = mapped_column(String(100))
    document: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    last_tested_on: Mapped[date | None] = mapped_column(Date)
    test_interval_days: Mapped[int] = mapped_column(default=365)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    services: Mapped[list[CriticalService]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", lazy="selectin",
        order_by="CriticalService.position")
    contacts: Mapped[list[PlanContact]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", lazy="selectin",
        order_by="PlanContact.position")


class CriticalService(Base):
    """A service the organisation must keep up, and how fast it must be back."""

    __tablename__ = "continuity_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("continuity_plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    recovery_time_hours: Mapped[int]  # the recovery time objective (RTO)
    minimum_staff: Mapped[int] = mapped_column(default=1)
    dependencies: Mapped[list[str]] = mapped_column(JSON, default=list)  # of DEPENDENCIES
    workarounds: Mapped[str] = mapped_column(Text, default="")
    # The last test: when, and whether the service was back within its objective.
    last_tested_on: Mapped[date | None] = mapped_column(Date)
    met_objective: Mapped[bool | None]

    plan: Mapped[ContinuityPlan] = relationship(back_populates="services")


class PlanContact(Base):
    """A key contact of the plan (crisis lead, deputy, IT …)."""

    __tablename__ = "continuity_contact"
    __audit_exclude__ = frozenset({"name", "phone", "email"})

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("continuity_plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")

    plan: Mapped[ContinuityPlan] = relationship(back_populates="contacts")


class Exercise(Base):
    """An exercise as the trainer builds it; its run belongs to an exercise activation."""

    __tablename__ = "exercise"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(default=120)
    scenario: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"))
    # The clock: seconds of exercise time elapsed at the last start, pause or resume,
    # the real time of that moment, and how many exercise seconds a real second is.
    clock_elapsed_s: Mapped[float] = mapped_column(default=0.0)
    clock_since: Mapped[datetime | None]
    speed: Mapped[float] = mapped_column(default=1.0)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", lazy="selectin",
        order_by="Objective.position")
    participants: Mapped[list[Participant]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", lazy="selectin",
        order_by="Participant.id")
    injects: Mapped[list[Inject]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", lazy="selectin",
        order_by=lambda: [Inject.offset_s, Inject.number])


class Objective(Base):
    """What the exercise tests: a plan's critical service, or a capability."""

    __tablename__ = "exercise_objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(500))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("continuity_service.id", ondelete="SET NULL"))
    capability: Mapped[str] = mapped_column(String(200), default="")

    exercise: Mapped[Exercise] = relationship(back_populates="objectives")


class Participant(Base):
    """A person in the exercise: a controller, an evaluator or a participant, with the
    role they play and how they are reached (a channels contact, owner "exercises")."""

    __tablename__ = "exercise_participant"
    __audit_exclude__ = frozenset({"name"})

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # of PARTICIPANT_ROLES
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")  # e.g. "commission chair"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))

    exercise: Mapped[Exercise] = relationship(back_populates="participants")


class Inject(Base):
    """One line of the inject list (MSEL): what reaches whom, when, over which channel,
    and what is expected of them."""

    __tablename__ = "exercise_inject"
    __table_args__ = (UniqueConstraint("exercise_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    offset_s: Mapped[int]  # exercise seconds after the start
    channel: Mapped[str] = mapped_column(String(16))  # of INJECT_CHANNELS
    sender: Mapped[str] = mapped_column(String(200), default="")  # the simulated sender
    # To the participants playing this role, or to one participant.
    recipient_role: Mapped[str] = mapped_column(String(200), default="")
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_participant.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    expected_action: Mapped[str] = mapped_column(Text, default="")
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_objective.id", ondelete="SET NULL"))
    # A recorded LVĢMC warning (CAP 1.2 XML) the "warning" channel replays.
    cap_document: Mapped[str | None] = mapped_column(Text)
    # The run: delivered once, at its time or released early by the controller.
    delivered_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    exercise: Mapped[Exercise] = relationship(back_populates="injects")


class LibraryInject(Base):
    """An inject kept to reuse in other exercises."""

    __tablename__ = "exercise_library_inject"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(200), default="")
    recipient_role: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    expected_action: Mapped[str] = mapped_column(Text, default="")
    cap_document: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class Response(Base):
    """What a participant did during the run: acknowledged an inject, answered it, or
    logged a decision (with or without an inject it answers). Never edited: a
    correction is a new entry."""

    __tablename__ = "exercise_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_participant.id", ondelete="CASCADE"), index=True)
    inject_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_inject.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # of RESPONSE_KINDS
    text: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(16), default="page")  # of RESPONSE_VIAS
    exercise_time_s: Mapped[float]  # the exercise clock when it was recorded
    at: Mapped[datetime]


class Observation(Base):
    """An evaluator's observation on one objective, with its rating."""

    __tablename__ = "exercise_observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_objective.id", ondelete="SET NULL"), index=True)
    evaluator_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_participant.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rating: Mapped[str] = mapped_column(String(24))  # of RATINGS
    text: Mapped[str] = mapped_column(Text, default="")
    strength: Mapped[str] = mapped_column(Text, default="")
    improvement: Mapped[str] = mapped_column(Text, default="")
    exercise_time_s: Mapped[float]
    at: Mapped[datetime]


class CommunicationsCheck(Base):
    """A ping of every participant before the start; the ledger of its alert shows who
    was reached."""

    __tablename__ = "exercise_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime]


class AfterActionReport(Base):
    """The after-action report: drafted by Sargs from the run, edited by the trainer.
    ``sections`` holds the trainer's text per section; the measured parts (timeline,
    times, ratings) are computed from the run each time it is shown."""

    __tablename__ = "exercise_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), unique=True)
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    drafted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    finished_at: Mapped[datetime | None]  # the trainer finished it: plans marked tested


class ImprovementAction(Base):
    """One line of the improvement plan, followed with reminders until it is done."""

    __tablename__ = "exercise_action"
    __audit_exclude__ = frozenset({"owner_email"})

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercise.id", ondelete="CASCADE"), index=True)
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_objective.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    closed_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
