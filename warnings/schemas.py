"""Input of the warnings pages: the list filter and the escalation-policy form."""

from __future__ import annotations

from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from sargs.channels.models import CHANNELS
from sargs.warnings.cap import TYPE_CODES
from sargs.warnings.policies import PolicyInput
from sargs.web.forms import blank_to_none

LIST_STATES = ("active", "ended", "expired", "all")


class WarningFilter(BaseModel):
    state: Literal["active", "ended", "expired", "all"] = "active"


def _known_channels(value: list[str]) -> list[str]:
    unknown = [channel for channel in value if channel not in CHANNELS]
    if unknown:
        raise ValueError(_("Unknown channel: %(channel)s", channel=", ".join(unknown)))
    return list(dict.fromkeys(value))


class PolicyForm(BaseModel):
    """One escalation policy as the form sends it; field order matters for the checks
    of the acknowledgement chain, which read the fields before them."""

    name: str = Field(min_length=1, max_length=100)
    level: Literal["yellow", "orange", "red"]
    awareness_type: int | None = None
    area: str | None = Field(None, max_length=32)
    groups: list[str] = Field(default_factory=list)
    public: bool = False
    channels: list[str] = Field(default_factory=list, validate_default=True)
    quiet_hours: bool = False
    approval_required: bool = False
    # Group codes in calling order, comma-separated; empty: nobody is called.
    ack_groups: str = Field("", max_length=500)
    ack_minutes: int | None = Field(None, ge=1, le=120, validate_default=True)
    ack_rounds: int | None = Field(None, ge=1, le=10, validate_default=True)
    ack_channels: list[str] = Field(default_factory=list, validate_default=True)

    @field_validator("awareness_type", "area", "ack_minutes", "ack_rounds", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("This field is required."))
        return value.strip()

    @field_validator("awareness_type")
    @classmethod
    def _known_type(cls, value: int | None) -> int | None:
        if value is not None and value not in TYPE_CODES:
            raise ValueError(_("Choose a warning type from the list."))
        return value

    @field_validator("area")
    @classmethod
    def _area_code(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(_("Choose at least one channel."))
        return _known_channels(value)

    @field_validator("ack_minutes", "ack_rounds")
    @classmethod
    def _needed_by_chain(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and info.data.get("ack_groups", "").strip():
            raise ValueError(_("This field is required."))
        return value

    @field_validator("ack_channels")
    @classmethod
    def _chain_channels(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and info.data.get("ack_groups", "").strip():
            raise ValueError(_("Choose at least one channel."))
        return _known_channels(value)

    def chain_groups(self) -> list[str]:
        return list(dict.fromkeys(code.strip() for code in self.ack_groups.split(",")
                                  if code.strip()))

    def as_input(self) -> PolicyInput:
        chain = None
        if self.chain_groups():
            chain = {"groups": self.chain_groups(), "minutes": self.ack_minutes,
                     "rounds": self.ack_rounds, "channels": self.ack_channels}
        return PolicyInput(
            name=self.name, level=self.level,
            audience={"groups": list(dict.fromkeys(self.groups)), "public": self.public},
            channels=self.channels, quiet_hours=self.quiet_hours,
            approval_required=self.approval_required, ack_chain=chain,
            awareness_type=self.awareness_type, area=self.area,
        )
