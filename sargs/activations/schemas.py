"""Input and output of activations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ActivationOpen(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    kind: Literal["emergency", "exercise"]
    description: str = Field("", max_length=5000)


class ActivationClose(BaseModel):
    closing_note: str = Field("", max_length=5000)


class ActivationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    kind: str
    is_exercise: bool
    description: str
    opened_at: datetime
    closed_at: datetime | None
