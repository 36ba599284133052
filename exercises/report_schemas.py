"""Input of the after-action report's forms: the trainer's sections and a line of the
improvement plan. Every bad field is named."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from sargs.exercises.schemas import email_or_blank
from sargs.web.forms import blank_to_none


class SectionsIn(BaseModel):
    summary: str = Field("", max_length=20_000)
    strengths: str = Field("", max_length=20_000)
    improvements: str = Field("", max_length=20_000)
    conclusions: str = Field("", max_length=20_000)


class ActionIn(BaseModel):
    """One line of the improvement plan: what, who (and their e-mail for the reminders),
    by when, and the objective it answers."""

    action: str = Field(min_length=1, max_length=5000)
    owner: str = Field(min_length=1, max_length=200)
    owner_email: str = Field("", max_length=254)
    due_on: date
    objective_id: int | None = None

    @field_validator("action", "owner", "owner_email", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("objective_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("owner_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return email_or_blank(value)


class StatusIn(BaseModel):
    status: Literal["open", "in_progress", "done"]
