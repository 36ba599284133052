"""Input of the area pages and the area API."""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

CODE = re.compile(r"^[A-Za-z0-9_-]+$")


class PointQuery(BaseModel):
    """A point in WGS 84 degrees."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class NeighbourhoodForm(BaseModel):
    """A neighbourhood drawn on the areas page; the service checks the rest."""

    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=32)
    name: str = Field(min_length=2, max_length=200)
    geometry: dict[str, Any]

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str) -> str:
        if not CODE.match(value):
            raise ValueError(_("Use 2 to 32 letters, digits, - or _."))
        return value

    @field_validator("geometry", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(_("Draw the outline on the map or paste GeoJSON.")) from None
        return value
