"""Working days in Latvia: weekends and the public holidays of the law "Par svētku,
atceres un atzīmējamām dienām" (with the days off moved by the Cabinet), from the
``holidays`` package. A deadline of N working days ends at the close of the Nth working
day after the report's day, in Europe/Riga."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=32)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("LV", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(day: date, days: int) -> date:
    """The ``days``-th working day after ``day`` (``day`` itself when ``days`` is 0 and it
    is a working day, else the next working day)."""
    current = day
    if days <= 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    left = days
    while left:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def due_at(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The moment (UTC-aware) ``days`` working days after ``start`` end."""
    local_day = start.astimezone(zone).date()
    end = datetime.combine(add_working_days(local_day, days), END_OF_DAY, zone)
    return end.astimezone(ZoneInfo("UTC"))


def working_days_between(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    """Working days from ``start``'s day to ``end``'s day (0 on the same day)."""
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    count = 0
    current = first
    while current < last:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
