"""Input of the alert pages: the manual-alert form, approval and the ledger filter."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from sargs import clock
from sargs.auth.schemas import TotpForm
from sargs.channels.models import CHANNELS, DELIVERY_STATES
from sargs.context import settings
from sargs.web.forms import blank_to_none

TEXT_MAX = 1600


class ManualAlertForm(BaseModel):
    """A manual alert as the form sends it; field order matters for the cross checks."""

    cap_status: Literal["Actual", "Exercise", "Test"]
    level: Literal["yellow", "orange", "red"]
    activation_id: int | None = None
    text_en: str = Field("", max_length=TEXT_MAX)
    text_lv: str = Field("", max_length=TEXT_MAX)
    groups: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list, validate_default=True)
    channels: list[str] = Field(default_factory=list, validate_default=True)
    expires_at: datetime | None = None
    # Append the open shelters in the chosen areas to each language's text.
    shelter_guidance: bool = False

    @field_validator("activation_id", "expires_at", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("text_lv")
    @classmethod
    def _some_text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip() and not info.data.get("text_en", "").strip():
            raise ValueError(_("Write the alert in at least one language."))
        return value

    @field_validator("areas")
    @classmethod
    def _someone(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and not info.data.get("groups"):
            raise ValueError(_("Choose at least one group or area."))
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(_("Choose at least one channel."))
        unknown = [channel for channel in value if channel not in CHANNELS]
        if unknown:
            raise ValueError(_("Unknown channel: %(channel)s", channel=", ".join(unknown)))
        return list(dict.fromkeys(value))

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # the form's datetime-local is the installation's local time
            value = value.replace(tzinfo=settings().zone)
        if value <= clock.now():
            raise ValueError(_("The expiry time has already passed."))
        return value

    def texts(self) -> dict[str, str]:
        """Language → text, Latvian first, empty languages left out."""
        found = {"lv": self.text_lv.strip(), "en": self.text_en.strip()}
        return {language: body for language, body in found.items() if body}

    def audience(self) -> dict[str, object]:
        audience: dict[str, object] = {}
        if self.groups:
            audience["groups"] = list(dict.fromkeys(self.groups))
        if self.areas:
            audience["public"] = {"areas": list(dict.fromkeys(self.areas))}
        return audience


class ApproveForm(TotpForm):
    """The approver's current code: the second factor is fresh at the moment of approval."""


class RejectForm(BaseModel):
    note: str = Field(min_length=1, max_length=1000)


class LedgerFilter(BaseModel):
    channel: Literal["", *CHANNELS] = ""  # type: ignore[valid-type]
    state: Literal["", *DELIVERY_STATES] = ""  # type: ignore[valid-type]
    address: str = Field("", max_length=254)
