"""A generated year of 8787 reports for demonstrations, following the operational
information centre's published figures for 2025 exactly: 8 274 reports, 8 062 in the
city and 212 in the municipality; streets and sidewalks 1 607, animals 804,
hydrotechnical structures 394 (the top three categories); JVPI "Pilsētsaimniecība"
3 638 (44 %), the municipal police 970 (12 %), SIA "Zemgale EKO" 884 (10.68 %) (the top
three partners); July 911 and May 822 (the two busiest months); 1 207 reports from the
web map, 222 from the app, 291 by e-mail and the rest by phone.

Every generated report is marked ``generated`` (pages show it, statistics count it) and
is closed: the year is past. The counts below are the published figures and the rest
distributed so that no other category, partner or month overtakes the named ones, and
every category goes to the partner routing gives it (the municipality's reports to the
municipality). Thirteen broad categories cannot hold 8 274 reports with no fourth
category above 394, so the register also has finer ones (illegal dumping, sorted-waste
containers, traffic organisation, hot water, stops, municipal housing: see
cad/reference.py); the year adds them to an older register that lacks them.

Deterministic: the same year and seed give the same reports. Inserted in bulk, without
timeline entries (the timeline is append-only, and ``--replace`` must be able to remove
a generated year again).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas import service as areas
from sargs.cad import deadlines, reference
from sargs.cad.models import CadCategory, CadPartner, CadReport, CadRoute
from sargs.cad.service import CITY, MUNICIPALITY
from sargs.cad.stats import period_bounds

SEED = 8787
# Reports per category in the city (each goes to its category's partner).
CITY_COUNTS: dict[str, int] = {
    "streets": 1547, "hydro": 369, "lighting": 360, "greenery": 370, "snow-ice": 330,
    "other": 300, "traffic": 362,                            # jvpi: 3 638
    "animals": 774, "public-order": 196,                     # police: 970
    "waste": 370, "dumping": 300, "sorting": 214,            # zemgale-eko: 884
    "water": 370, "heating": 390, "hot-water": 360, "transport": 370, "stops": 340,
    "buildings": 360, "housing": 380,
}
# Reports per category in the municipality (all go to the municipality): 212.
MUNICIPALITY_COUNTS: dict[str, int] = {
    "streets": 60, "animals": 30, "hydro": 25, "waste": 20, "greenery": 15, "lighting": 10,
    "water": 12, "other": 10, "public-order": 10, "snow-ice": 10, "buildings": 5,
    "transport": 5,
}
MONTH_COUNTS = (620, 560, 640, 720, 822, 800, 911, 780, 700, 620, 560, 541)
CHANNEL_COUNTS = {"web": 1207, "app": 222, "email": 291}  # the rest by phone
# Published figures the counts above must give (checked by :func:`check_figures`).
PUBLISHED = {
    "total": 8274, "city": 8062, "municipality": 212,
    "categories": {"streets": 1607, "animals": 804, "hydro": 394},
    "partners": {"jvpi": 3638, "police": 970, "zemgale-eko": 884},
    "months": {"07": 911, "05": 822},
    "channels": {"web": 1207, "app": 222, "email": 291, "phone": 6554},
}
# Seasonal weight per month (January first) for categories that have a season.
SEASONS = {
    "snow-ice": (9, 8, 4, 1, 0, 0, 0, 0, 0, 1, 4, 8),
    "heating": (5, 4, 3, 2, 1, 1, 1, 1, 2, 4, 5, 5),
    "hot-water": (3, 3, 2, 2, 1, 1, 1, 1, 2, 3, 3, 3),
    "greenery": (1, 1, 2, 4, 6, 7, 7, 6, 4, 3, 1, 1),
    "hydro": (2, 2, 5, 5, 3, 3, 4, 4, 3, 3, 2, 2),
    "animals": (2, 2, 3, 4, 5, 5, 6, 5, 4, 3, 2, 2),
}
STREETS = ["Lielā iela", "Katoļu iela", "Rīgas iela", "Pasta iela", "Zemgales prospekts",
           "Dobeles šoseja", "Svētes iela", "Lāčplēša iela", "Akadēmijas iela",
           "Loka maģistrāle", "Raiņa iela", "Satiksmes iela", "Aspazijas iela",
           "Brīvības bulvāris", "Kalnciema ceļš", "Meiju ceļš", "Sniega iela", "Ganību iela"]
PLACES = ["Ozolnieki", "Valgunde", "Kalnciems", "Eleja", "Līvbērze", "Svēte", "Glūda",
          "Cena", "Vircava", "Zaļenieki", "Platone", "Sesava", "Lielplatone", "Vilce"]
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 10, 9, 10, 10, 10, 9, 8, 6, 4, 3, 2, 2, 1]


class DemoYearError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Plan:
    """The reports to make, as (category code, jurisdiction, month, channel)."""

    reports: list[tuple[str, str, int, str]]


def check_figures() -> None:
    """The counts give the published figures (a mistake here is a programming error)."""
    city, muni = sum(CITY_COUNTS.values()), sum(MUNICIPALITY_COUNTS.values())
    assert (city, muni, sum(MONTH_COUNTS)) == (8062, 212, 8274)
    totals = {code: CITY_COUNTS.get(code, 0) + MUNICIPALITY_COUNTS.get(code, 0)
              for code in CITY_COUNTS}
    third = PUBLISHED["categories"]["hydro"]
    assert all(totals[c] == n for c, n in PUBLISHED["categories"].items())
    assert all(n < third for c, n in totals.items() if c not in PUBLISHED["categories"])
    assert MONTH_COUNTS[6] == 911 and MONTH_COUNTS[4] == 822
    assert all(n < 822 for i, n in enumerate(MONTH_COUNTS) if i not in (4, 6))


def plan(rng: random.Random) -> Plan:
    """Which reports, with months and channels spread exactly to the figures."""
    check_figures()
    wanted = [(code, "city") for code, n in CITY_COUNTS.items() for _ in range(n)]
    wanted += [(code, "municipality") for code, n in MUNICIPALITY_COUNTS.items()
               for _ in range(n)]
    # Seasonal categories take their months first; the rest fill what is left.
    wanted.sort(key=lambda item: item[0] not in SEASONS)
    left = list(MONTH_COUNTS)
    months = []
    for code, _where in wanted:
        season = SEASONS.get(code)
        weights = [n * (season[i] if season else 1) for i, n in enumerate(left)]
        if not any(weights):
            weights = left
        month = rng.choices(range(12), weights)[0]
        left[month] -= 1
        months.append(month + 1)
    total = len(wanted)
    channels = [c for c, n in CHANNEL_COUNTS.items() for _ in range(n)]
    channels += ["phone"] * (total - len(channels))
    rng.shuffle(channels)
    return Plan([(code, where, month, channel) for (code, where), month, channel
                 in zip(wanted, months, channels, strict=True)])


def ensure_categories(session: Session) -> int:
    """Add the finer categories the year needs (with their routes) if missing."""
    return reference.add_missing_categories(session)


class _Points:
    """Random points inside an area's shape (rejection sampling, vectorised)."""

    def __init__(self, shape: Any, rng: random.Random) -> None:
        self.shape = shape
        shapely.prepare(shape)
        self.rng = rng
        self.bounds = shape.bounds
        self.buffer: list[tuple[float, float]] = []

    def take(self) -> tuple[float, float]:
        while not self.buffer:
            min_x, min_y, max_x, max_y = self.bounds
            xs = [self.rng.uniform(min_x, max_x) for _ in range(512)]
            ys = [self.rng.uniform(min_y, max_y) for _ in range(512)]
            inside = shapely.contains_xy(self.shape, xs, ys)
            self.buffer = [(round(y, 6), round(x, 6))
                           for x, y, ok in zip(xs, ys, inside, strict=True) if ok]
        return self.buffer.pop()


def _routes(session: Session) -> dict[str, CadPartner]:
    partners = {p.id: p for p in session.scalars(select(CadPartner))}
    found = {}
    for category, route in session.execute(
            select(CadCategory, CadRoute).join(CadRoute, CadRoute.category_id == CadCategory.id)
            .where(CadRoute.area_code.is_(None))):
        found[category.code] = partners[route.partner_id]
    return found


def existing(session: Session, year: int, zone: ZoneInfo) -> int:
    start, end = period_bounds(year, 1, 12, zone)
    return int(session.scalar(select(func.count()).select_from(CadReport).where(
        CadReport.generated.is_(True), CadReport.received_at >= start,
        CadReport.received_at < end)) or 0)


def generate(session: Session, zone: ZoneInfo, year: int, *, replace: bool = False,
             seed: int = SEED) -> int:
    """Make the year's reports; returns how many. Refuses a year not yet over and a year
    that already has generated reports (unless ``replace``: they are removed first)."""
    start, end = period_bounds(year, 1, 12, zone)
    if end > clock.now():
        raise DemoYearError("year", f"{year} is not over yet; a generated year is a past one")
    if existing(session, year, zone):
        if not replace:
            raise DemoYearError("year", f"{year} already has generated reports; "
                                        "use --replace to make them again")
        try:
            with session.begin_nested():
                session.execute(delete(CadReport).where(
                    CadReport.generated.is_(True), CadReport.received_at >= start,
                    CadReport.received_at < end))
        except IntegrityError:
            raise DemoYearError("year", "some generated reports of that year were worked "
                                        "on (their timeline cannot be removed)") from None
    ensure_categories(session)
    categories = {c.code: c for c in session.scalars(select(CadCategory))}
    routes = _routes(session)
    municipality = session.scalar(select(CadPartner).where(
        CadPartner.for_municipality.is_(True)).limit(1))
    index = areas.area_index(session)
    city_shape = index.outline_of(CITY)
    outer = index.outline_of(MUNICIPALITY)
    if city_shape is None or outer is None or municipality is None:
        raise DemoYearError("areas", "Jelgava's areas or the municipality's partner are missing")
    rng = random.Random(f"{seed}:{year}")
    points = {"city": _Points(city_shape, rng),
              "municipality": _Points(outer.difference(city_shape), rng)}
    rows = [_row(rng, zone, year, code, where, month, channel, categories[code],
                 municipality if where == "municipality" else routes[code], points[where])
            for code, where, month, channel in plan(rng).reports]
    rows.sort(key=lambda row: row["received_at"])
    session.execute(insert(CadReport), rows)
    return len(rows)


def _row(rng: random.Random, zone: ZoneInfo, year: int, code: str, where: str, month: int,
         channel: str, category: CadCategory, partner: CadPartner,
         points: _Points) -> dict[str, Any]:
    first = datetime(year, month, 1, tzinfo=zone)
    days = ((datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone) - first).days)
    local = first.replace(day=rng.randint(1, days), hour=rng.choices(range(24), HOURS)[0],
                          minute=rng.randint(0, 59), second=rng.randint(0, 59))
    received = local.astimezone(ZoneInfo("UTC"))
    routed = received + timedelta(minutes=rng.uniform(2, 40))
    response_due = deadlines.due_at(received, category.response_days, zone)
    resolution_due = deadlines.due_at(received, category.resolution_days, zone)
    rejected = rng.random() < 0.04
    late = rng.random() < 0.07
    accepted = None if rejected else routed + timedelta(
        hours=rng.uniform(26, 90) if late else rng.uniform(0.3, 20))
    if rejected:
        closed = routed + timedelta(hours=rng.uniform(2, 48))
    else:
        span = category.resolution_days * 1.4 * (rng.uniform(1.0, 1.6) if late
                                                  else rng.betavariate(1.6, 3.2))
        closed = max(accepted, received + timedelta(days=span)) + timedelta(minutes=30)
    lat, lon = points.take()
    address = (f"{rng.choice(STREETS)} {rng.randint(1, 140)}, Jelgava" if where == "city"
               else f"{rng.choice(PLACES)}, Jelgavas novads")
    return {
        "channel": channel, "state": "rejected" if rejected else "resolved",
        "category_id": category.id, "partner_id": partner.id, "jurisdiction": where,
        "area_code": CITY if where == "city" else MUNICIPALITY,
        "title": category.name_lv, "description": "Ģenerēts demonstrācijas ziņojums.",
        "address": address, "lat": lat, "lon": lon, "language": "lv",
        "feedback_wanted": False, "received_at": received, "created_at": received,
        "updated_at": closed, "routed_at": routed, "accepted_at": accepted,
        "closed_at": closed, "response_due": response_due, "resolution_due": resolution_due,
        "status_note": "Nav pašvaldības kompetencē." if rejected else "Izpildīts.",
        "imported": False, "generated": True,
    }
