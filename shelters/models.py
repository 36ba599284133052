"""The shelter register: places people can shelter in, their inspections and defects,
their openings in an activation, occupancy changes, documents and (optionally) the
evacuees registered in them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base

# shelter: a "patvertne" proper; suitable: a place suitable for sheltering; short_stay:
# short-stay accommodation; evacuation_point: where people gather to be moved.
SHELTER_KINDS = ("shelter", "suitable", "short_stay", "evacuation_point")
# Per the State Fire and Rescue Service's classification of a shelter's protection.
COMPLIANCE = ("full", "partial")
READINESS = ("green", "amber", "red")
FACILITIES = ("water", "toilets", "ventilation", "heating", "power_backup", "first_aid",
              "communications")
DEFECT_SEVERITIES = ("minor", "major")  # an open minor defect makes a place amber, major red
DOCUMENT_KINDS = ("photo", "document")


class Shelter(Base):
    """One place in the register, with its live state while it is open."""

    __tablename__ = "shelter"
    # Contact people's data stays out of the append-only audit log (it could not be
    # erased there); the entry still shows that it changed, and who changed it.
    __audit_exclude__ = frozenset({"responsible_name", "responsible_phone",
                                   "responsible_email", "key_holder_name", "key_holder_phone"})
    __table_args__ = (Index("ix_shelter_lat_lon", "lat", "lon"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float]
    lon: Mapped[float]
    kind: Mapped[str] = mapped_column(String(24))
    compliance: Mapped[str | None] = mapped_column(String(16))
    capacity: Mapped[int]  # persons (by day)
    capacity_night: Mapped[int | None]  # persons overnight, where it differs
    floor_area_m2: Mapped[int | None]
    owner: Mapped[str] = mapped_column(String(200), default="")
    manager: Mapped[str] = mapped_column(String(200), default="")
    responsible_name: Mapped[str] = mapped_column(String(200), default="")
    responsible_phone: Mapped[str] = mapped_column(String(32), default="")
    responsible_email: Mapped[str] = mapped_column(String(254), default="")
    key_holder_name: Mapped[str] = mapped_column(String(200), default="")
    key_holder_phone: Mapped[str] = mapped_column(String(32), default="")
    opening_procedure: Mapped[str] = mapped_column(Text, default="")
    step_free: Mapped[bool] = mapped_column(default=False)
    lift: Mapped[bool] = mapped_column(default=False)
    accessible_toilet: Mapped[bool] = mapped_column(default=False)
    facilities: Mapped[list[str]] = mapped_column(JSON, default=list)  # those of FACILITIES present
    sign_placed_on: Mapped[date | None] = mapped_column(Date)  # the "Patvertne" sign
    readiness: Mapped[str] = mapped_column(String(8), default="green")
    readiness_reason: Mapped[str] = mapped_column(String(300), default="")
    inspection_interval_days: Mapped[int] = mapped_column(default=365)
    last_inspected_on: Mapped[date | None] = mapped_column(Date)
    # Illustrative entries (the demonstration register) are marked, never official.
    illustrative: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # The live state: the current opening (None when closed) and its counters. No foreign
    # key: the opening refers to its shelter already, and a cycle of keys would make the
    # two tables impossible to create or fill in one pass.
    opening_id: Mapped[int | None] = mapped_column(index=True)
    occupancy: Mapped[int] = mapped_column(default=0)
    occupancy_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    opening: Mapped[ShelterOpening | None] = relationship(
        primaryjoin="foreign(Shelter.opening_id) == ShelterOpening.id", lazy="joined",
        viewonly=True)


class ShelterOpening(Base):
    """A shelter open for people, from opening to closing, within an activation."""

    __tablename__ = "shelter_opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id"), index=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activation.id"), index=True)
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    peak_occupancy: Mapped[int] = mapped_column(default=0)
    # Set when occupancy went above capacity during this opening.
    over_capacity_at: Mapped[datetime | None]


class OccupancyChange(Base):
    """One check-in or check-out count; append-only in the database."""

    __tablename__ = "shelter_occupancy_change"
    __audit_skip__ = True  # itself the record

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id"), index=True)
    opening_id: Mapped[int] = mapped_column(ForeignKey("shelter_opening.id"), index=True)
    at: Mapped[datetime]
    delta: Mapped[int]
    occupancy_after: Mapped[int]
    over_capacity: Mapped[bool] = mapped_column(default=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    by_label: Mapped[str] = mapped_column(String(200), default="")


class ShelterInspection(Base):
    """A dated inspection with its checklist (item → passed)."""

    __tablename__ = "shelter_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id"), index=True)
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(200))
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ShelterDefect(Base):
    """A defect found by an inspection: a task with an owner and a due date."""

    __tablename__ = "shelter_defect"

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("shelter_inspection.id"))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8), default="minor")
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    fixed_at: Mapped[datetime | None]
    fixed_note: Mapped[str] = mapped_column(Text, default="")


class ShelterDocument(Base):
    """A photo or document of a place (plan, agreement, inspection act)."""

    __tablename__ = "shelter_document"
    __audit_skip__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Evacuee(Base):
    """A person registered in an open shelter, with minimal data, anonymised (name and
    notes removed) after the opening closes."""

    __tablename__ = "shelter_evacuee"
    __audit_exclude__ = frozenset({"name", "phone", "notes"})

    id: Mapped[int] = mapped_column(primary_key=True)
    opening_id: Mapped[int] = mapped_column(ForeignKey("shelter_opening.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    household_size: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str | None] = mapped_column(Text)  # needs: medicine, mobility, pets …
    checked_in_at: Mapped[datetime]
    checked_out_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]
