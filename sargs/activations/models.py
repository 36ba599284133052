"""An activation groups everything done for one emergency or one exercise.

Later modules link their alerts, call-outs, reserve requests, shelter
openings and journal entries to an activation; exercise activations keep
their activity out of real statistics and public output.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sargs.db import Base

KINDS = ("emergency", "exercise")


class Activation(Base):
    __tablename__ = "activation"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    is_exercise: Mapped[bool] = mapped_column(index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closing_note: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
