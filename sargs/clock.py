"""The one clock of Sargs.

Code asks ``clock.now()`` (aware, UTC) instead of ``datetime.now()``, so tests
move time instead of sleeping. The active clock is swapped with
:func:`use_clock`; production uses :class:`SystemClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told (tests, replays)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta or timedelta(**kwargs)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


_active: SystemClock | FrozenClock = SystemClock()


def use_clock(clock: SystemClock | FrozenClock) -> None:
    global _active
    _active = clock


def now() -> datetime:
    return _active.now()


def local(moment: datetime, zone: str | ZoneInfo = "Europe/Riga") -> datetime:
    return moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
