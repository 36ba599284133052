"""Input of the shelter register: a place as a form, the CSV import or the staff API
gives it, an inspection, an occupancy count, and an evacuee registered at the door."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator

from sargs.channels.contacts import AddressError, normalise_phone
from sargs.shelters.models import FACILITIES
from sargs.web.forms import blank_to_none


class ShelterIn(BaseModel):
    """One place of the register. The point must lie in Latvia (checked by the service
    against the shipped outlines)."""

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kind: Literal["shelter", "suitable", "short_stay", "evacuation_point"] = "shelter"
    compliance: Literal["full", "partial"] | None = None
    capacity: int = Field(ge=0, le=100_000)
    capacity_night: int | None = Field(None, ge=0, le=100_000)
    floor_area_m2: int | None = Field(None, ge=0, le=1_000_000)
    owner: str = Field("", max_length=200)
    manager: str = Field("", max_length=200)
    responsible_name: str = Field("", max_length=200)
    responsible_phone: str = Field("", max_length=32)
    responsible_email: str = Field("", max_length=254)
    key_holder_name: str = Field("", max_length=200)
    key_holder_phone: str = Field("", max_length=32)
    opening_procedure: str = Field("", max_length=5000)
    step_free: bool = False
    lift: bool = False
    accessible_toilet: bool = False
    facilities: list[str] = Field(default_factory=list)
    sign_placed_on: date | None = None
    inspection_interval_days: int = Field(365, ge=1, le=3650)
    illustrative: bool = False

    @field_validator("compliance", "capacity_night", "floor_area_m2", "sign_placed_on",
                     mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("name", "address", "owner", "manager", "responsible_name",
                     "responsible_phone", "responsible_email", "key_holder_name",
                     "key_holder_phone", "opening_procedure", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("facilities", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):  # a CSV cell: "water;toilets"
            return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
        return value

    @field_validator("facilities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [item for item in value if item not in FACILITIES]
        if unknown:
            raise ValueError(_("Unknown facility: %(names)s", names=", ".join(unknown)))
        return list(dict.fromkeys(value))


class InspectionIn(BaseModel):
    inspected_on: date
    inspector: str = Field(min_length=1, max_length=200)
    checklist: dict[str, bool] = Field(default_factory=dict)
    notes: str = Field("", max_length=5000)


class DefectIn(BaseModel):
    description: str = Field(min_length=1, max_length=2000)
    severity: Literal["minor", "major"] = "minor"
    owner: str = Field("", max_length=200)
    due_on: date | None = None

    @field_validator("due_on", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class OccupancyIn(BaseModel):
    """A check-in (positive) or check-out (negative) count."""

    delta: int = Field(ge=-10_000, le=10_000)

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError(_("Give a number of people other than 0."))
        return value


class EvacueeIn(BaseModel):
    """A person (or household) registered in an open shelter: minimal data, all of it
    optional but the household's size."""

    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=32)
    household_size: int = Field(ge=1, le=30)
    notes: str | None = Field(None, max_length=500)  # needs: medicine, mobility, pets …

    @field_validator("name", "phone", "notes", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_phone(value)
        except AddressError:
            raise ValueError(_("A phone number has 6–20 digits, e.g. +371 20000000.")) from None
