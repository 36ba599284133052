"""The append-only audit log (the database refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sargs.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __append_only__ = True
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, token, system, anonymous
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(120))
    origin: Mapped[str] = mapped_column(String(64))  # IP address, "cli", "scheduler"
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
