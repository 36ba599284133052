"""Filters of the audit log page and its CSV export."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator


class AuditFilter(BaseModel):
    actor: str | None = Field(None, max_length=120)
    action: str | None = Field(None, max_length=32)
    object_type: str | None = Field(None, max_length=64)
    object_id: str | None = Field(None, max_length=64)
    date_from: date | None = None
    date_to: date | None = None
    page: int = Field(1, ge=1, le=100000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value
