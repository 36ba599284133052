"""Known areas with their outlines (GeoJSON geometry in WGS 84)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from sargs.db import Base

# emma: a Meteoalarm EMMA_ID area shipped with Sargs; neighbourhood: drawn by an admin.
AREA_KINDS = ("region", "municipality", "sea", "neighbourhood")


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
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]
