"""Input of the 8787 line: a report as an operator, a resident, the city's app or an
e-mail gives it, and what the partner sends back."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator, model_validator

from sargs.web.forms import FieldError, blank_to_none

PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ReportIn(BaseModel):
    """A new report, whichever way it came in. A place is an address, a point or both;
    a point must lie in Jelgava city or municipality (checked by the service)."""

    channel: Literal["phone", "web", "app", "email", "other"] = "phone"
    category: str | None = Field(None, max_length=32)  # a category code
    description: str = Field("", max_length=5000)
    title: str = Field("", max_length=200)
    address: str = Field("", max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    # Without a point the operator says whether the place is in the city.
    jurisdiction: Literal["city", "municipality"] | None = None
    language: Literal["lv", "en"] = "lv"
    reporter_name: str | None = Field(None, max_length=200)
    reporter_phone: str | None = Field(None, max_length=32)
    reporter_email: str | None = Field(None, max_length=254)
    reporter_telegram: str | None = Field(None, max_length=32)
    feedback_wanted: bool = False
    feedback_channel: Literal["email", "sms", "telegram", "open311"] | None = None

    @field_validator("category", "reporter_name", "reporter_phone", "reporter_email",
                     "reporter_telegram", "lat", "lon", "jurisdiction", "feedback_channel",
                     mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("description", "title", "address", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("reporter_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not PHONE.match(value):
            raise ValueError(_("A phone number has 6–20 digits, e.g. +371 20000000."))
        return value

    @field_validator("reporter_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(_("This is not an e-mail address."))
        return value.lower() if value else value

    @model_validator(mode="after")
    def _consistent(self) -> ReportIn:
        if (self.lat is None) != (self.lon is None):
            field = "lon" if self.lon is None else "lat"
            raise FieldError(field, _("Give both latitude and longitude, or neither."))
        if self.channel != "email" and not self.description and not self.title:
            raise FieldError("description", _("Describe the problem."))
        if self.channel != "email" and not self.address and self.lat is None:
            raise FieldError("address", _("Give an address or choose the place on the map."))
        if self.feedback_wanted:
            needed = {"email": self.reporter_email, "sms": self.reporter_phone,
                      "telegram": self.reporter_telegram, "open311": True}
            channel = self.feedback_channel or next(
                (c for c in ("email", "sms", "telegram") if needed[c]), None)
            if channel is None or not needed[channel]:
                field = {"sms": "reporter_phone", "telegram": "reporter_telegram"}.get(
                    channel or "", "reporter_email")
                raise FieldError(field, _(
                    "To be told the outcome, give an address to tell it to."))
            self.feedback_channel = channel
        return self


class PartnerAction(BaseModel):
    """What a partner does with a report, through its link or its API."""

    action: Literal["accept", "reject", "plan", "resolve"]
    note: str = Field("", max_length=2000)
    planned_for: date | None = None

    @field_validator("planned_for", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _needs(self) -> PartnerAction:
        if self.action == "reject" and not self.note:
            raise FieldError("note", _("Say why the report is rejected."))
        if self.action == "plan" and self.planned_for is None:
            raise FieldError("planned_for", _("Give the planned date."))
        return self
