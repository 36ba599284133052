"""The crisis journal of an activation: information received, decisions with who
took them, tasks and their state, corrections — append-only and hash-chained.

Nothing is ever changed: a task's new state is a ``task_update`` entry and a
mistake is put right by a ``correction`` entry that refers to it (the database
refuses UPDATE and DELETE of ``journal_entry``). A closed activation takes no
new entries, corrections included: its journal is the record as it was closed.

The chain. Entries of an activation are numbered ``seq`` = 1, 2, …; each carries
``prev_hash``, the ``hash`` of the entry before it ("0" × 64 for the first), and its
own ``hash``: the SHA-256 of :func:`canonical`, the UTF-8 JSON of every column except
``id`` and ``hash`` — keys sorted, no spaces, times as UTC ISO 8601 with microseconds,
links as ``[{"id": n, "type": t}]`` in their order. :func:`verify` recomputes it all.

Two writers cannot fork the chain: the activation's row is locked (``FOR UPDATE`` on
PostgreSQL; SQLite's transactions are ``BEGIN IMMEDIATE``) before the last entry is
read, and ``(activation_id, seq)`` is unique besides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from sargs import clock
from sargs.activations.journal_schemas import JournalEntryIn
from sargs.activations.models import Activation, JournalEntry
from sargs.activations.service import ActivationError
from sargs.cad.models import CadReport
from sargs.channels.models import Alert
from sargs.reserves.models import ReserveRequest
from sargs.shelters.models import Shelter
from sargs.volunteers.models import CallOut
from sargs.warnings.models import WeatherWarning

GENESIS = "0" * 64
# How far ahead of the server's clock an occurred_at may be (clocks of people differ).
FUTURE_SLACK = timedelta(minutes=1)
HASHED = ("activation_id", "seq", "kind", "text", "source", "decided_by", "assignee",
          "due_at", "task_state", "refers_to_id", "links", "author_id", "author_name",
          "occurred_at", "recorded_at", "prev_hash")
LINKED_MODELS: dict[str, Any] = {
    "alert": Alert, "warning": WeatherWarning, "report": CadReport, "shelter": Shelter,
    "callout": CallOut, "request": ReserveRequest,
}
# The fields each kind keeps; the rest stay empty whatever a form sent.
KIND_FIELDS = {
    "information": {"source"},
    "decision": {"decided_by"},
    "task": {"assignee", "due_at", "task_state"},
    "task_update": {"task_state", "refers_to"},
    "correction": {"refers_to"},
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical(entry: JournalEntry) -> bytes:
    """The bytes an entry's hash is taken of."""
    fields = {name: _plain(getattr(entry, name)) for name in HASHED}
    fields["links"] = [{"id": int(link["id"]), "type": link["type"]} for link in entry.links]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def entry_hash(entry: JournalEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def is_exercise_material(session: Session, link_type: str, obj: Any) -> bool:
    """True when a linked object belongs to an exercise (never in a real journal)."""
    if getattr(obj, "cap_status", "Actual") != "Actual":
        return True
    activation_id = getattr(obj, "activation_id", None)
    if activation_id is None:
        return False
    owner = session.get(Activation, activation_id)
    return owner is not None and owner.is_exercise


def _check_links(session: Session, activation: Activation, data: JournalEntryIn) -> None:
    for link in data.links:
        obj = session.get(LINKED_MODELS[link.type], link.id)
        if obj is None:
            raise ActivationError("links", _("There is no %(type)s %(id)s.",
                                             type=link.type, id=link.id))
        if not activation.is_exercise and is_exercise_material(session, link.type, obj):
            raise ActivationError("links", _("%(type)s %(id)s is exercise material; a real "
                                             "journal cannot refer to it.",
                                             type=link.type, id=link.id))


def _referred(session: Session, activation: Activation, data: JournalEntryIn) -> int | None:
    if data.kind not in ("task_update", "correction"):
        return None
    referred = session.get(JournalEntry, data.refers_to)
    if referred is None or referred.activation_id != activation.id:
        raise ActivationError("refers_to", _("No such entry in this journal."))
    if data.kind == "task_update" and referred.kind != "task":
        raise ActivationError("refers_to", _("Only a task's state can be updated."))
    return referred.id


def _check_time(activation: Activation, occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + FUTURE_SLACK:
        raise ActivationError("occurred_at", _("This time is in the future."))
    if occurred_at < activation.opened_at:
        raise ActivationError("occurred_at", _("This is before the activation was opened."))


def add_entry(session: Session, activation: Activation, data: JournalEntryIn,
              author: Any) -> JournalEntry:
    """Append an entry written by ``author`` (a user, or None for the system)."""
    # Hold the activation first: the entry read next is then the last one for sure.
    session.refresh(activation, with_for_update=True)
    if not activation.is_open:
        raise ActivationError("activation", _("The activation is closed; its journal "
                                              "takes no new entries."))
    now = clock.now()
    occurred_at = data.occurred_at or now
    _check_time(activation, occurred_at, now)
    refers_to_id = _referred(session, activation, data)
    _check_links(session, activation, data)
    kept = KIND_FIELDS[data.kind]
    last = session.scalars(
        select(JournalEntry).where(JournalEntry.activation_id == activation.id)
        .order_by(JournalEntry.seq.desc()).limit(1)
    ).first()
    entry = JournalEntry(
        activation_id=activation.id,
        seq=(last.seq + 1) if last else 1,
        kind=data.kind,
        text=data.text,
        source=data.source if "source" in kept else "",
        decided_by=data.decided_by if "decided_by" in kept else "",
        assignee=data.assignee if "assignee" in kept else "",
        due_at=data.due_at if "due_at" in kept else None,
        task_state=(data.task_state or "open") if "task_state" in kept else None,
        refers_to_id=refers_to_id,
        links=[link.model_dump() for link in data.links],
        author_id=getattr(author, "id", None),
        author_name=_author_name(author),
        occurred_at=occurred_at,
        recorded_at=now,
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def _author_name(author: Any) -> str:
    if author is None:
        return "Sargs"
    return getattr(author, "display_name", None) or author.username


def entries(session: Session, activation: Activation, kind: str | None = None,
            newest_first: bool = False) -> list[JournalEntry]:
    query = select(JournalEntry).where(JournalEntry.activation_id == activation.id)
    if kind:
        query = query.where(JournalEntry.kind == kind)
    order = JournalEntry.seq.desc() if newest_first else JournalEntry.seq
    return list(session.scalars(query.order_by(order)))


@dataclass
class Task:
    """A task with its current state: that of its latest update, or "open"."""

    entry: JournalEntry
    state: str
    updates: list[JournalEntry] = field(default_factory=list)

    @property
    def changed_at(self) -> datetime:
        return self.updates[-1].occurred_at if self.updates else self.entry.occurred_at


def tasks(session: Session, activation: Activation) -> list[Task]:
    found: dict[int, Task] = {}
    for entry in entries(session, activation):
        if entry.kind == "task":
            found[entry.id] = Task(entry, entry.task_state or "open")
        elif entry.kind == "task_update" and entry.refers_to_id in found:
            task = found[entry.refers_to_id]
            task.updates.append(entry)
            task.state = entry.task_state or task.state
    return list(found.values())


def corrections_of(entry: JournalEntry) -> list[JournalEntry]:
    session = object_session(entry)
    assert session is not None, "the entry must belong to a session"
    return list(session.scalars(
        select(JournalEntry).where(JournalEntry.refers_to_id == entry.id,
                                   JournalEntry.kind == "correction")
        .order_by(JournalEntry.seq)))


def corrections_by_entry(journal: list[JournalEntry]) -> dict[int, list[JournalEntry]]:
    """For a whole journal at once: entry id → the corrections of it, oldest first."""
    found: dict[int, list[JournalEntry]] = {}
    for entry in sorted(journal, key=lambda e: e.seq):
        if entry.kind == "correction" and entry.refers_to_id is not None:
            found.setdefault(entry.refers_to_id, []).append(entry)
    return found


def verify(session: Session, activation: Activation) -> int | None:
    """The seq of the first entry whose hash, link to the one before, or place in the
    numbering is wrong; None when the whole chain holds."""
    previous = GENESIS
    for expected_seq, entry in enumerate(entries(session, activation), start=1):
        if (entry.seq != expected_seq or entry.prev_hash != previous
                or entry.hash != entry_hash(entry)):
            return entry.seq
        previous = entry.hash
    return None
