"""Input of the area pages and the area API."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator


class PointQuery(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class NeighbourhoodForm(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=2, max_length=200)
    geometry: dict[str, Any]

    @field_validator("geometry", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(_("Draw the outline on the map or paste GeoJSON.")) from None
        return value
