"""Input of the exercises module: a continuity plan as the form or an API gives it, with
its critical services and key contacts. Every bad field is named — a service's or a
contact's as ``services.<k>.<field>`` / ``contacts.<k>.<field>``."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator

from sargs.channels.contacts import AddressError, normalise, normalise_phone
from sargs.exercises.models import DEPENDENCIES
from sargs.web.forms import blank_to_none


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value



def email_or_blank(value: str) -> str:
    """An optional e-mail address, normalised; a form's error when it is not one."""
    if not value:
        return ""
    try:
        return normalise("email", value)
    except AddressError:
        raise ValueError(_("This is not an e-mail address.")) from None

class ServiceIn(BaseModel):
    """A critical service. ``id`` is the stored service an edit keeps (its test results
    and the exercise objectives linked to it stay); none is a new one."""

    id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    recovery_time_hours: int = Field(le=8760)  # a year at most
    minimum_staff: int = Field(1, ge=0, le=100_000)
    dependencies: list[str] = Field(default_factory=list)
    workarounds: str = Field("", max_length=5000)

    @field_validator("id", mode="before")
    @classmethod
    def _blank_id(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("minimum_staff", mode="before")
    @classmethod
    def _default_staff(cls, value: object) -> object:
        return 1 if blank_to_none(value) is None else value

    @field_validator("name", "workarounds", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return _strip(value)

    @field_validator("recovery_time_hours")
    @classmethod
    def _at_least_an_hour(cls, value: int) -> int:
        if value < 1:
            raise ValueError(_("The recovery time objective is at least 1 hour."))
        return value

    @field_validator("dependencies")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [item for item in value if item not in DEPENDENCIES]
        if unknown:
            raise ValueError(_("Unknown dependency: %(names)s", names=", ".join(unknown)))
        return [item for item in DEPENDENCIES if item in value]  # the catalogue's order


class ContactIn(BaseModel):
    """A key contact: a name and role, and a phone or e-mail (normalised)."""

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)

    @field_validator("name", "role", "phone", "email", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return _strip(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not value:
            return ""
        try:
            return normalise_phone(value)
        except AddressError:
            raise ValueError(_("A phone number has 6–20 digits, e.g. +371 20000000.")) from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return email_or_blank(value)


class PlanIn(BaseModel):
    """A continuity plan with its services and contacts, saved together."""

    organisation: str = Field(min_length=1, max_length=200)
    organisation_kind: Literal["institution", "company"] = "institution"
    title: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=32)
    approved_on: date | None = None
    owner: str = Field(min_length=1, max_length=200)
    last_tested_on: date | None = None  # a test before the plan came into Sargs
    test_interval_days: int = Field(365, ge=1, le=3650)
    services: list[ServiceIn] = Field(default_factory=list)
    contacts: list[ContactIn] = Field(default_factory=list)

    @field_validator("organisation", "title", "version", "owner", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return _strip(value)

    @field_validator("approved_on", "last_tested_on", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("test_interval_days", mode="before")
    @classmethod
    def _default_interval(cls, value: object) -> object:
        return 365 if blank_to_none(value) is None else value
