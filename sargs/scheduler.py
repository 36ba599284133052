"""The scheduler: one APScheduler job, one tick that works due rows.

Timers are data (rows with a due time) owned by the domains; each domain
registers a tick handler with :func:`tick_handler`, and every tick calls them
all, each in its own session and transaction. Only one scheduler may run:
PostgreSQL holds an advisory lock on a dedicated connection, SQLite a file
lock. The heartbeat row lets ``/healthz`` tell whether the scheduler lives.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from sargs import clock
from sargs.audit.service import Actor, acting_as
from sargs.db import Base

log = logging.getLogger(__name__)
SCHEDULER_LOCK_KEY = 0x5A4754
TickHandler = Callable[[Session], Any]
_handlers: dict[str, TickHandler] = {}


class SchedulerState(Base):
    """One row per scheduler name: who holds it and when it last ticked."""

    __tablename__ = "scheduler_state"
    __audit_skip__ = True

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    last_tick_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


def tick_handler(name: str) -> Callable[[TickHandler], TickHandler]:
    def register(handler: TickHandler) -> TickHandler:
        _handlers[name] = handler
        return handler

    return register


def handlers() -> dict[str, TickHandler]:
    return dict(_handlers)


class SchedulerLock:
    """Keeps a second scheduler from running against the same database."""

    def __init__(self, engine: Any, instance_path: Path, key: int = SCHEDULER_LOCK_KEY,
                 name: str = "scheduler") -> None:
        # ``key`` and ``name`` let another single-holder part (the Telegram bot's poller)
        # lock the same way.
        self.engine, self.instance_path, self.key, self.name = engine, instance_path, key, name
        self._connection: Any = None
        self._file: Any = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            self._connection = self.engine.connect()
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar()
            self._connection.commit()
            if not got:
                self._connection.close()
                self._connection = None
            return bool(got)
        self.instance_path.mkdir(parents=True, exist_ok=True)
        self._file = (self.instance_path / f"{self.name}.lock").open("w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            return False
        return True

    def still_held(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            if self._connection is None:
                return False
            try:
                held = self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND objid = :k AND pid = pg_backend_pid() AND granted"
                    ),
                    {"k": self.key},
                ).scalar()
                self._connection.commit()
                return bool(held)
            except Exception:  # the dedicated connection died: the lock is gone
                log.exception("scheduler lock connection lost")
                return False
        return self._file is not None

    def release(self) -> None:
        if self._connection is not None:
            # Closing only returns the connection to the pool, still holding the lock.
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.commit()
            except Exception:  # the connection died, and the lock with it
                log.warning("could not unlock %s; its connection is gone", self.name)
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_tick(sessionmaker: Any, name: str = "main") -> dict[str, str]:
    """Run every registered handler once; return handler → "ok" or the error."""
    results: dict[str, str] = {}
    with acting_as(Actor("system", None, "scheduler", "scheduler")):
        for handler_name, handler in handlers().items():
            with sessionmaker() as session:
                try:
                    handler(session)
                    session.commit()
                    results[handler_name] = "ok"
                except Exception as exc:  # one failing handler must not stop the others
                    session.rollback()
                    log.exception("tick handler %s failed", handler_name)
                    results[handler_name] = type(exc).__name__
        with sessionmaker() as session:
            state = session.get(SchedulerState, name)
            if state is None:
                state = SchedulerState(name=name, holder=holder_name(), started_at=clock.now())
                session.add(state)
            state.holder = holder_name()
            state.last_tick_at = clock.now()
            failed = {k: v for k, v in results.items() if v != "ok"}
            state.last_error = ", ".join(f"{k}: {v}" for k, v in failed.items())[:500] or None
            session.commit()
    return results


def mark_started(sessionmaker: Any, name: str = "main") -> None:
    with sessionmaker() as session:
        state = session.get(SchedulerState, name) or SchedulerState(name=name)
        state.holder = holder_name()
        state.started_at = clock.now()
        state.last_tick_at = None
        state.last_error = None
        session.add(state)
        session.commit()


def state_of(session: Session, interval: float, name: str = "main") -> dict[str, Any]:
    """The scheduler's state as /healthz reports it."""
    state = session.scalar(select(SchedulerState).where(SchedulerState.name == name))
    if state is None:
        return {"state": "never_started"}
    report: dict[str, Any] = {
        "holder": state.holder,
        "started_at": state.started_at.isoformat(),
        "last_tick_at": state.last_tick_at.isoformat() if state.last_tick_at else None,
        "last_error": state.last_error,
    }
    reference = state.last_tick_at or state.started_at
    age = (clock.now() - reference).total_seconds()
    report["age_seconds"] = round(age, 1)
    report["state"] = "running" if age <= 3 * interval + 5 else "stale"
    return report


def start_background(app: Any) -> BackgroundScheduler | None:
    """Start the scheduler in this process if no other holds the lock."""
    ext = app.extensions["sargs"]
    lock = SchedulerLock(ext.engine, ext.settings.instance_path)
    if not lock.acquire():
        log.warning("another scheduler holds the lock; this process will not schedule")
        return None
    mark_started(ext.sessionmaker)
    scheduler = BackgroundScheduler(timezone="UTC")

    def tick() -> None:
        if not lock.still_held():
            log.error("scheduler lock lost; stopping ticks")
            scheduler.pause()
            return
        with app.app_context():
            run_tick(ext.sessionmaker)

    scheduler.add_job(
        tick, "interval", seconds=ext.settings.tick_seconds, id="tick",
        max_instances=1, coalesce=True, next_run_time=clock.now(),
    )
    scheduler.start()
    ext.scheduler = scheduler
    ext.scheduler_lock = lock
    return scheduler
