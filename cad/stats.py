"""The 8787 line's annual figures: reports by month, category, partner, channel, city or
municipality, the partners' response and resolution times and overdue counts, and the
same figures for earlier years. The statistics page, its CSV / XLSX exports and
``sargs cad stats`` all read :func:`year_stats`.

What counts: every report *received* (``received_at``, in the installation's time zone)
in the period, except exercise reports (they belong to their exercise) and drafts (an
e-mail nobody has classified yet is not yet a report: it may be spam or a duplicate).
Closed reports count whatever their outcome, as the centre registered them.

Speed: the period's reports are read as plain tuples with one indexed range query and
counted here, since a local-time month is not an SQL expression SQLite and PostgreSQL
share; earlier years are counted by the database, grouped by a CASE over each year's
bounds in UTC (one scan, no per-dialect date functions).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.service import exclude_exercises
from sargs.cad import deadlines
from sargs.cad.models import (
    CLOSED_STATES,
    REPORT_CHANNELS,
    CadCategory,
    CadPartner,
    CadReport,
    CadReportEvent,
)

MONTHS = tuple(f"{m:02d}" for m in range(1, 13))


@dataclass
class Times:
    """Working days from receiving a report to a partner's step, over the reports that
    reached that step."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "median": self.median, "p90": self.p90}


@dataclass
class YearStats:
    year: int
    month_from: int
    month_to: int
    total: int = 0
    city: int = 0
    municipality: int = 0
    generated: int = 0
    imported: int = 0
    by_month: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MONTHS, 0))
    by_category: dict[str, int] = field(default_factory=dict)
    by_partner: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORT_CHANNELS, 0))
    # Reports closed without a partner or not yet sent to one.
    without_partner: int = 0
    response: dict[str, Times] = field(default_factory=dict)
    resolution: dict[str, Times] = field(default_factory=dict)
    overdue: dict[str, int] = field(default_factory=dict)
    # Earlier years with reports, newest first: {year: {"total", "city", ...}}.
    earlier: dict[int, dict[str, Any]] = field(default_factory=dict)
    # code -> display name, for the page and the exports.
    category_names: dict[str, tuple[str, str]] = field(default_factory=dict)
    partner_names: dict[str, str] = field(default_factory=dict)

    def percent(self, count: int) -> float:
        return round(100 * count / self.total, 2) if self.total else 0.0

    @property
    def by_partner_percent(self) -> dict[str, float]:
        return {code: self.percent(n) for code, n in self.by_partner.items()}

    @property
    def by_category_percent(self) -> dict[str, float]:
        return {code: self.percent(n) for code, n in self.by_category.items()}

    def as_json(self) -> dict[str, Any]:
        """The interface of ``sargs cad stats --json``: these first keys are stable."""
        return {
            "total": self.total, "city": self.city, "municipality": self.municipality,
            "by_month": self.by_month, "by_category": self.by_category,
            "by_partner": self.by_partner, "by_channel": self.by_channel,
            "year": self.year, "months": [self.month_from, self.month_to],
            "by_partner_percent": self.by_partner_percent,
            "by_category_percent": self.by_category_percent,
            "without_partner": self.without_partner,
            "generated": self.generated, "imported": self.imported,
            "response_days": {c: t.as_json() for c, t in self.response.items()},
            "resolution_days": {c: t.as_json() for c, t in self.resolution.items()},
            "overdue": self.overdue,
            "earlier_years": {str(y): v for y, v in self.earlier.items()},
        }


def period_bounds(year: int, month_from: int, month_to: int,
                  zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the months in local time, as aware datetimes."""
    start = datetime(year, month_from, 1, tzinfo=zone)
    end = (datetime(year + 1, 1, 1, tzinfo=zone) if month_to == 12
           else datetime(year, month_to + 1, 1, tzinfo=zone))
    return start, end


def _counted(query: Any) -> Any:
    return exclude_exercises(query, CadReport.activation_id).where(CadReport.state != "draft")


def years_with_data(session: Session, zone: ZoneInfo) -> list[int]:
    """The years that have counted reports, newest first (for the year picker)."""
    first, last = session.execute(_counted(
        select(func.min(CadReport.received_at), func.max(CadReport.received_at)))).one()
    if first is None:
        return []
    return list(range(last.astimezone(zone).year, first.astimezone(zone).year - 1, -1))


def year_stats(session: Session, zone: ZoneInfo, year: int, month_from: int = 1,
               month_to: int = 12, *, now: datetime | None = None) -> YearStats:
    """The figures of ``year`` (optionally only months ``month_from``..``month_to``)."""
    if not 1 <= month_from <= month_to <= 12:
        raise ValueError("months must satisfy 1 <= month_from <= month_to <= 12")
    now = now or clock.now()
    stats = YearStats(year, month_from, month_to)
    categories = {c.id: c for c in session.scalars(select(CadCategory))}
    partners = {p.id: p for p in session.scalars(select(CadPartner))}
    start, end = period_bounds(year, month_from, month_to, zone)
    rows = session.execute(_counted(select(
        CadReport.received_at, CadReport.jurisdiction, CadReport.category_id,
        CadReport.partner_id, CadReport.channel, CadReport.state, CadReport.accepted_at,
        CadReport.closed_at, CadReport.response_due, CadReport.resolution_due,
        CadReport.generated, CadReport.imported,
    ).where(CadReport.received_at >= start, CadReport.received_at < end))).all()

    months: Counter[str] = Counter()
    by_category: Counter[int] = Counter()
    by_partner: Counter[int] = Counter()
    overdue: Counter[int] = Counter()
    response: dict[int, list[int]] = defaultdict(list)
    resolution: dict[int, list[int]] = defaultdict(list)
    days = _WorkingDays(zone, start.date())
    for (received, jurisdiction, category_id, partner_id, channel, state, accepted, closed,
         response_due, resolution_due, generated, imported) in rows:
        stats.total += 1
        if jurisdiction == "municipality":
            stats.municipality += 1
        else:
            stats.city += 1
        stats.generated += bool(generated)
        stats.imported += bool(imported)
        months[f"{received.astimezone(zone).month:02d}"] += 1
        if category_id is not None:
            by_category[category_id] += 1
        stats.by_channel[channel] = stats.by_channel.get(channel, 0) + 1
        if partner_id is None:
            stats.without_partner += 1
            continue
        by_partner[partner_id] += 1
        if accepted is not None:
            response[partner_id].append(days.between(received, accepted))
        if state == "resolved" and closed is not None:
            resolution[partner_id].append(days.between(received, closed))
        if _late(state, accepted, closed, response_due, resolution_due, now):
            overdue[partner_id] += 1

    stats.by_month.update(months)
    stats.by_category = {categories[i].code: n for i, n in by_category.most_common()}
    stats.by_partner = {partners[i].code: n for i, n in by_partner.most_common()}
    stats.response = {partners[i].code: _times(v) for i, v in _by_count(response, by_partner)}
    stats.resolution = {partners[i].code: _times(v)
                        for i, v in _by_count(resolution, by_partner)}
    stats.overdue = {partners[i].code: overdue[i] for i, _n in by_partner.most_common()}
    stats.category_names = {c.code: (c.name_lv, c.name_en) for c in categories.values()}
    stats.partner_names = {p.code: p.name for p in partners.values()}
    stats.earlier = _earlier_years(session, zone, year, month_from, month_to, categories,
                                   partners)
    return stats


# Figures already counted, by data version: a page asked for again while nothing
# changed is answered without counting a year of reports again. Per process, small.
_COUNTED: OrderedDict[tuple[Any, ...], YearStats] = OrderedDict()
_COUNTED_MAX = 32
_COUNTED_LOCK = threading.Lock()


def data_version(session: Session) -> tuple[Any, ...]:
    """What changes whenever a figure could: reports added or removed (count, newest id),
    and every step on a report's timeline (each change the service makes writes one)."""
    reports = session.execute(select(func.count(), func.max(CadReport.id),
                                     func.max(CadReport.updated_at))).one()
    events = session.scalar(select(func.count()).select_from(CadReportEvent))
    return (str(session.get_bind().url), *reports, events)


def year_stats_now(session: Session, zone: ZoneInfo, year: int, month_from: int = 1,
                   month_to: int = 12) -> YearStats:
    """:func:`year_stats` as of now, counted again only when the data changed or a minute
    passed (overdue counts of open reports move with the clock)."""
    now = clock.now()
    key = (data_version(session), str(zone), year, month_from, month_to,
           now.replace(second=0, microsecond=0))
    with _COUNTED_LOCK:
        found = _COUNTED.get(key)
    if found is not None:
        return found
    figures = year_stats(session, zone, year, month_from, month_to, now=now)
    with _COUNTED_LOCK:
        _COUNTED[key] = figures
        while len(_COUNTED) > _COUNTED_MAX:
            _COUNTED.popitem(last=False)
    return figures


def _late(state: str, accepted: datetime | None, closed: datetime | None,
          response_due: datetime | None, resolution_due: datetime | None,
          now: datetime) -> bool:
    """Whether the partner answered or finished after the deadline (or has not yet,
    past it). Rejected and duplicate reports were closed by the centre, not the partner."""
    if state in ("rejected", "duplicate"):
        return False
    open_ = state not in CLOSED_STATES
    if resolution_due is not None:
        finished = closed if not open_ else now
        if finished is not None and finished > resolution_due:
            return True
    if response_due is not None:
        answered = accepted if accepted is not None else (now if open_ else None)
        if answered is not None and answered > response_due:
            return True
    return False


def _by_count(values: dict[int, list[int]], order: Counter[int]) -> list[tuple[int, list[int]]]:
    return [(i, values[i]) for i, _n in order.most_common() if values.get(i)]


def _times(values: list[int]) -> Times:
    ordered = sorted(values)
    # The nearest-rank 90th percentile: a day count someone actually waited.
    rank = max(1, -(-9 * len(ordered) // 10))
    return Times(len(ordered), float(median(ordered)), float(ordered[rank - 1]))


class _WorkingDays:
    """Working days between two moments, from a running count of working days since
    ``origin`` (the same answer as :func:`sargs.cad.deadlines.working_days_between`,
    without walking the days of every report)."""

    def __init__(self, zone: ZoneInfo, origin: date) -> None:
        self.zone = zone
        self.origin = origin
        self.count = [0]  # working days in (origin, origin + i]

    def _ordinal(self, day: date) -> int:
        index = (day - self.origin).days
        while len(self.count) <= index:
            current = self.origin + timedelta(days=len(self.count))
            self.count.append(self.count[-1] + deadlines.is_working_day(current))
        return self.count[index]

    def between(self, start: datetime, end: datetime) -> int:
        first = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        if last <= first:
            return 0
        if first < self.origin:
            return deadlines.working_days_between(start, end, self.zone)
        return self._ordinal(last) - self._ordinal(first)


def _earlier_years(session: Session, zone: ZoneInfo, year: int, month_from: int,
                   month_to: int, categories: dict[int, CadCategory],
                   partners: dict[int, CadPartner]) -> dict[int, dict[str, Any]]:
    """The same months of every earlier year with reports: totals, city and
    municipality, categories and partners, counted by the database."""
    first = session.scalar(_counted(select(func.min(CadReport.received_at))))
    if first is None or first.astimezone(zone).year >= year:
        return {}
    bounds = {y: period_bounds(y, month_from, month_to, zone)
              for y in range(first.astimezone(zone).year, year)}
    if (month_from, month_to) == (1, 12):
        # Whole years follow each other: the first start not after the report is its year
        # (one comparison per year passed, newest first).
        which = case(*((CadReport.received_at >= start, y)
                       for y, (start, _end) in sorted(bounds.items(), reverse=True)),
                     else_=None).label("year")
    else:
        which = case(*((CadReport.received_at.between(start, end - timedelta(microseconds=1)),
                        y) for y, (start, end) in bounds.items()), else_=None).label("year")
    query = _counted(select(which, CadReport.jurisdiction, CadReport.category_id,
                            CadReport.partner_id, func.count())).where(
        CadReport.received_at >= bounds[min(bounds)][0],
        CadReport.received_at < bounds[max(bounds)][1],
    ).group_by(which, CadReport.jurisdiction, CadReport.category_id, CadReport.partner_id)
    found: dict[int, dict[str, Any]] = {}
    for y, jurisdiction, category_id, partner_id, count in session.execute(query):
        if y is None:
            continue
        entry = found.setdefault(int(y), {"total": 0, "city": 0, "municipality": 0,
                                          "by_category": Counter(), "by_partner": Counter()})
        entry["total"] += count
        entry["municipality" if jurisdiction == "municipality" else "city"] += count
        if category_id is not None:
            entry["by_category"][categories[category_id].code] += count
        if partner_id is not None:
            entry["by_partner"][partners[partner_id].code] += count
    for entry in found.values():
        entry["by_category"] = dict(entry["by_category"].most_common())
        entry["by_partner"] = dict(entry["by_partner"].most_common())
    return dict(sorted(found.items(), reverse=True))


def as_text(stats: YearStats) -> str:
    """The figures as a plain table for the terminal."""
    months = (f"{stats.month_from:02d}-{stats.month_to:02d}"
              if (stats.month_from, stats.month_to) != (1, 12) else "")
    lines = [f"{stats.year} {months}".rstrip(),
             f"  total         {stats.total:>7}",
             f"  city          {stats.city:>7}",
             f"  municipality  {stats.municipality:>7}"]
    if stats.generated:
        lines.append(f"  generated     {stats.generated:>7}")

    def table(title: str, counts: dict[str, int], percent: bool = False) -> None:
        lines.append(title)
        for key, n in counts.items():
            share = f"  {stats.percent(n):6.2f} %" if percent else ""
            lines.append(f"  {key:<14}{n:>7}{share}")

    table("by month", stats.by_month)
    table("by category", stats.by_category, percent=True)
    table("by partner", stats.by_partner, percent=True)
    table("by channel", stats.by_channel, percent=True)
    lines.append("working days per partner: response median / p90, resolution median / p90, "
                 "overdue")
    for code in stats.by_partner:
        r, s = stats.response.get(code, Times()), stats.resolution.get(code, Times())
        lines.append(f"  {code:<14}{_days(r.median):>5} /{_days(r.p90):>5}   "
                     f"{_days(s.median):>5} /{_days(s.p90):>5}   {stats.overdue.get(code, 0):>5}")
    if stats.earlier:
        lines.append("earlier years: total, city, municipality")
        for year, entry in stats.earlier.items():
            lines.append(f"  {year:<14}{entry['total']:>7}{entry['city']:>7}"
                         f"{entry['municipality']:>7}")
    return "\n".join(lines)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
