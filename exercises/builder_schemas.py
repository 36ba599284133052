"""Input of the exercise builder: the exercise's details, an objective, a participant, an
inject (MSEL line) and a library entry, as the forms, the CSV import and the JSON import
give them. Rules that need the database (an inject's number taken, its offset beyond the
exercise's duration, a recipient of this exercise …) are the service's."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sargs.volunteers.schemas import riga_time
from sargs.web.forms import blank_to_none

ExerciseKind = Literal["tabletop", "functional", "full_scale", "communications_check"]
ParticipantKind = Literal["controller", "evaluator", "participant"]
Channel = Literal["page", "telegram", "sms", "email", "voice", "pbx", "warning"]
OFFSET = re.compile(r"^(?:(\d{1,3}):([0-5]\d)|(\d{1,5}))$")
MAX_OFFSET_S = 7 * 24 * 3600


def offset_seconds(value: object) -> object:
    """An offset from the start as "H:MM" or whole minutes ("90") → seconds."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    match = OFFSET.match(text)
    if not match:
        raise ValueError(_("Give the time from the start as H:MM or minutes, e.g. 1:30 or 90."))
    hours, minutes, only = match.groups()
    return int(only) * 60 if only is not None else (int(hours) * 60 + int(minutes)) * 60


def offset_text(seconds: int) -> str:
    """Seconds from the start as "H:MM", the way the forms and files write it."""
    minutes = seconds // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)


class ExerciseIn(_In):
    kind: ExerciseKind = "tabletop"
    title: str = Field(min_length=1, max_length=200)
    scheduled_at: datetime  # a form gives Riga time without a zone
    duration_minutes: int = Field(120, ge=10, le=7 * 24 * 60)
    scenario: str = Field("", max_length=20_000)


    @field_validator("scheduled_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return riga_time(value)


class ObjectiveIn(_In):
    """What is tested: a plan's critical service (``service_id``) or a capability."""

    text: str = Field(min_length=1, max_length=500)
    service_id: int | None = None
    capability: str = Field("", max_length=200)


    @field_validator("service_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class ParticipantIn(_In):
    """A person and how they are reached; the addresses are checked (and normalised) by
    the contact registry when the service registers them."""

    kind: ParticipantKind = "participant"
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field("", max_length=200)
    role: str = Field("", max_length=200)
    user_id: int | None = None
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    telegram: str = Field("", max_length=32)
    pbx: str = Field("", max_length=32)  # an IP phone's paging extension (PBX injects)


    @field_validator("user_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class InjectIn(_In):
    """One line of the inject list. ``number`` left out takes the next free one;
    ``offset`` is "H:MM" or minutes after the start, kept as seconds."""

    number: int | None = Field(None, ge=1, le=9999)
    offset: int = Field(ge=0, le=MAX_OFFSET_S)
    channel: Channel = "page"
    sender: str = Field("", max_length=200)
    recipient_role: str = Field("", max_length=200)
    participant_id: int | None = None
    text: str = Field(min_length=1, max_length=5000)
    expected_action: str = Field("", max_length=5000)
    objective_id: int | None = None
    cap_document: str | None = Field(None, max_length=2_000_000)


    @field_validator("number", "participant_id", "objective_id", "cap_document", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: object) -> object:
        return offset_seconds(value)


class LibraryIn(_In):
    """An inject kept in the library under a title."""

    title: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class FromLibraryIn(_In):
    """A library inject put into an exercise at an offset."""

    library_id: int
    offset: int = Field(ge=0, le=MAX_OFFSET_S)
    number: int | None = Field(None, ge=1, le=9999)

    @field_validator("number", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: object) -> object:
        return offset_seconds(value)
