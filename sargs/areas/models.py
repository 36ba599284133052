"""Known areas with their outlines (GeoJSON geometry in WGS 84)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, event
from sqlalchemy.orm import Mapped, mapped_column

from sargs.db import Base

# region, municipality, sea: Meteoalarm EMMA_ID areas shipped with Sargs;
# neighbourhood: drawn by an admin. Listed from the widest to the narrowest on land.
AREA_KINDS = ("region", "municipality", "neighbourhood", "sea")


def content_hash(code: str, name: str, kind: str, source: str, geometry: dict[str, Any]) -> str:
    """A digest of everything the shape cache keeps about an area."""
    payload = json.dumps([code, name, kind, source, geometry], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class Area(Base):
    __tablename__ = "area"
    # Outlines are large; the audit log keeps their content hash instead.
    __audit_exclude__ = frozenset({"geometry"})

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    builtin: Mapped[bool] = mapped_column(default=False)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(300), default="")
    # Changes whenever code, name, kind, source or geometry change: the shape
    # cache of sargs.areas.service is keyed on (id, content_hash).
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]

    def stamp(self) -> None:
        self.content_hash = content_hash(
            self.code, self.name, self.kind, self.source or "", self.geometry
        )

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.kind}>"


@event.listens_for(Area, "before_insert")
@event.listens_for(Area, "before_update")
def _keep_hash_current(_mapper: Any, _connection: Any, area: Area) -> None:
    # A safety net for code that edits an area without calling stamp():
    # a stale hash would let the shape cache serve an old outline.
    area.stamp()
