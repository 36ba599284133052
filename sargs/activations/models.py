"""An activation groups everything done for one emergency or one exercise.

Later modules link their alerts, call-outs, reserve requests, shelter
openings and journal entries to an activation; exercise activations keep
their activity out of real statistics and public output.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sargs.db import Base

KINDS = ("emergency", "exercise")
# What a crisis journal entry records; a task's later state and a correction are
# entries of their own that refer to the entry they are about.
ENTRY_KINDS = ("information", "decision", "task", "task_update", "correction")
TASK_STATES = ("open", "in_progress", "done", "cancelled")
LINK_TYPES = ("alert", "warning", "report", "shelter", "callout", "request")


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


class JournalEntry(Base):
    """One entry of an activation's crisis journal. Append-only (the database refuses
    UPDATE and DELETE); each entry carries the hash of the one before it in the same
    activation, so a change anywhere breaks the chain from there on."""

    __tablename__ = "journal_entry"
    __append_only__ = True
    __table_args__ = (UniqueConstraint("activation_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activation.id"), index=True)
    seq: Mapped[int]  # 1, 2, … within the activation: the chain's order
    kind: Mapped[str] = mapped_column(String(16))  # of ENTRY_KINDS
    text: Mapped[str] = mapped_column(Text)
    # Information: where it came from. Decision: who decided (the commission, its chair…).
    source: Mapped[str] = mapped_column(String(200), default="")
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    # A task: who must do it and by when; its state (also on a task_update).
    assignee: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime | None]
    task_state: Mapped[str | None] = mapped_column(String(16))  # of TASK_STATES
    # The entry a task_update or a correction is about.
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    # What the entry is about elsewhere in Sargs: [{"type": LINK_TYPES, "id": n}, …].
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    author_name: Mapped[str] = mapped_column(String(200))  # as it was when written
    occurred_at: Mapped[datetime]  # when it happened (may be before it was written)
    recorded_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))  # "0" * 64 for the first entry
    hash: Mapped[str] = mapped_column(String(64), unique=True)
