"""Recording the audit log.

Changes to mapped objects are recorded automatically: a session listener
writes one entry per inserted, updated or deleted object with its before and
after values, attributed to the actor of the current request, CLI command or
job (:func:`acting_as`). Events that are not row changes (a login, an export)
are recorded with :func:`record`. Secrets listed in a model's
``__audit_exclude__`` appear only as "changed".
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Mapper, Session, object_session

from sargs import clock
from sargs.audit.models import AuditEntry

HIDDEN = "***"


@dataclass(frozen=True)
class Actor:
    kind: str  # user, token, system, anonymous
    id: int | None
    label: str
    origin: str


SYSTEM = Actor("system", None, "system", "system")
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("sargs_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> contextvars.Token[Actor]:
    return _actor.set(actor)


def reset_actor(token: contextvars.Token[Actor]) -> None:
    _actor.reset(token)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _columns(obj: Any) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _snapshot(obj: Any, which: str) -> dict[str, Any]:
    """Column values of ``obj``: "now", or "before" the pending changes."""
    hidden = getattr(obj, "__audit_exclude__", frozenset())
    state = inspect(obj)
    out: dict[str, Any] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if which == "before" and history.has_changes():
            value = history.deleted[0] if history.deleted else None
        else:
            value = state.attrs[key].value
        out[key] = HIDDEN if key in hidden and value is not None else _plain(value)
    return out


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hidden = getattr(obj, "__audit_exclude__", frozenset())
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if key in hidden:
            before[key], after[key] = HIDDEN, HIDDEN
        else:
            before[key], after[key] = _plain(old), _plain(new)
    return before, after


def _identity(obj: Any) -> str | None:
    state = inspect(obj)
    ident = state.mapper.primary_key_from_instance(obj)
    if not ident or any(part is None for part in ident):
        return None
    return ",".join(str(part) for part in ident)


def _audited(obj: Any) -> bool:
    return not isinstance(obj, AuditEntry) and not getattr(obj, "__audit_skip__", False)


def _row(action: str, object_type: str, object_id: str | None, before: Any, after: Any) -> dict:
    actor = current_actor()
    return {
        "at": clock.now(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "origin": actor.origin,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
    }


def _collect(session: Session, _ctx: Any, _instances: Any = None) -> None:
    pending = session.info.setdefault("audit_pending", [])
    for obj in session.new:
        if _audited(obj):
            pending.append(("create", obj, None))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            pending.append(("update", obj, _changes(obj)))


def _collect_delete(_mapper: Any, _connection: Any, obj: Any) -> None:
    """Every row the flush deletes, including orphans that a removal from a
    collection deletes (those never appear in ``session.deleted``)."""
    session = object_session(obj)
    pending = session.info.get("audit_pending") if session is not None else None
    if pending is not None and _audited(obj):
        pending.append(("delete", obj, (_snapshot(obj, "before"), None)))


def _write(session: Session, _ctx: Any) -> None:
    pending = session.info.pop("audit_pending", [])
    rows = []
    for action, obj, changes in pending:
        table = obj.__table__.name
        if action == "create":
            rows.append(_row(action, table, _identity(obj), None, _snapshot(obj, "now")))
        elif action == "update":
            before, after = changes
            if after:
                rows.append(_row(action, table, _identity(obj), before, after))
        else:
            rows.append(_row(action, table, _identity(obj), changes[0], None))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install(session_class: type[Session] | Any) -> None:
    """Attach the audit listeners to a Session class or sessionmaker."""
    # A mark on the factory itself, not event.contains(): the event registry keys on
    # id(), and a new sessionmaker can reuse the id of a collected one, which made
    # contains() answer yes for a factory that had no listeners at all.
    if not getattr(session_class, "_sargs_audited", False):
        event.listen(session_class, "before_flush", _collect)
        event.listen(session_class, "after_flush", _write)
        session_class._sargs_audited = True
    if not event.contains(Mapper, "before_delete", _collect_delete):
        event.listen(Mapper, "before_delete", _collect_delete)


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record an event that is not a row change (login, export, approval …)."""
    session.execute(
        insert(AuditEntry),
        [_row(action, object_type, None if object_id is None else str(object_id),
              _plain(before) if before else None, _plain(after) if after else None)],
    )


# --- reading -------------------------------------------------------------

PAGE_SIZE = 100


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def search(
    session: Session, query: Any, zone: str, limit: int | None = PAGE_SIZE
) -> tuple[list[AuditEntry], int]:
    """Entries matching an :class:`~sargs.audit.schemas.AuditFilter`, newest first.

    The filter's dates are whole days in ``zone`` (the installation's time zone).
    """
    local_zone = ZoneInfo(zone)
    stmt = select(AuditEntry)
    if query.actor:
        stmt = stmt.where(AuditEntry.actor_label.ilike(f"%{query.actor}%"))
    if query.action:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.object_type:
        stmt = stmt.where(AuditEntry.object_type == query.object_type)
    if query.object_id:
        stmt = stmt.where(AuditEntry.object_id == query.object_id)
    if query.date_from:
        stmt = stmt.where(AuditEntry.at >= _local_midnight(query.date_from, local_zone))
    if query.date_to:
        stmt = stmt.where(AuditEntry.at < _local_midnight(query.date_to + timedelta(days=1), local_zone))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(AuditEntry.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit).offset((query.page - 1) * limit)
    return list(session.scalars(stmt)), total


def _distinct(session: Session, column: Any) -> list[str]:
    return list(session.scalars(select(column).distinct().order_by(column)))


def object_types(session: Session) -> list[str]:
    return _distinct(session, AuditEntry.object_type)


def actions(session: Session) -> list[str]:
    return _distinct(session, AuditEntry.action)
