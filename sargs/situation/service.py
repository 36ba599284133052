"""The situation at a glance: one snapshot of every module, for the commission's dashboard
and the situation report.

Every number here is read through the module's own service functions — the warnings'
list and sources, the alert ledger and acknowledgements, the 8787 queues, the shelters'
public rows, the reserves' autonomy, the call-outs' counts — so the dashboard can never
disagree with the module's own page. Exercise activity stays out: each function used
already leaves it out, or the selection here does by the activation's ``is_exercise``.

Each part carries ``as_of``: when the part's data was last known good. For warnings that
is the last good poll of a warning source (and the part is ``stale`` when the warnings
module calls a source stale); for the other parts, read live from the database, it is
the moment the snapshot was taken. ``stale_after_s`` tells a page refreshing the snapshot
when a part it still shows has grown too old to trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.models import Activation
from sargs.activations.service import exclude_exercises
from sargs.cad import service as cad
from sargs.cad.models import OPEN_STATES
from sargs.channels import acks, escalation, ledger, notices
from sargs.channels.models import Alert, EscalationStep
from sargs.reserves import service as reserves
from sargs.settings import Settings
from sargs.shelters import service as shelters
from sargs.volunteers import callouts as volunteer_callouts
from sargs.warnings import ingest, page_data
from sargs.warnings import service as warnings
from sargs.warnings.models import WarningSource

# A part read live is stale when the page could not refresh it for this long.
LIVE_STALE_AFTER_S = 60
# Alerts still moving: waiting for a second person, approved, or going out.
IN_FLIGHT = ("awaiting_approval", "approved", "sending")
# Alerts to the population and staff. The other sources are one module's messages to
# single people (call-out questions, reporters' feedback, reminders), counted in their
# own part.
ALERT_SOURCES = ("warning", "manual")
OVERDUE_SHOWN = 20
MAP_REPORTS = 2000


# --- the parts -----------------------------------------------------------------------


@dataclass(frozen=True)
class WarningItem:
    id: int
    level: str
    type_name: str | None
    headline: str
    onset: datetime | None
    expires: datetime
    home_areas: list[str]
    areas: list[str]


@dataclass(frozen=True)
class WarningsPart:
    as_of: datetime
    stale: bool  # a configured warning source has had no good fetch lately
    stale_sources: list[str]
    items: list[WarningItem]
    stale_after_s: int = LIVE_STALE_AFTER_S

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def highest_level(self) -> str | None:
        ranked = [(warnings.LEVEL_RANK.get(w.level, 0), w.level) for w in self.items]
        return max(ranked)[1] if ranked else None


@dataclass(frozen=True)
class ChannelProgress:
    channel: str
    counts: dict[str, int]  # ledger state → rows
    total: int


@dataclass(frozen=True)
class AlertItem:
    id: int
    state: str
    level: str | None
    summary: str
    sending_at: datetime | None
    total: int
    finished: int
    delivered: int
    percent: int
    channels: list[ChannelProgress]
    ack_required: bool
    acknowledged: int
    pending_acks: list[str]  # names of the people still to acknowledge
    chain: str | None  # the escalation chain: running, acknowledged, finished, stopped


@dataclass(frozen=True)
class AlertsPart:
    as_of: datetime
    items: list[AlertItem]
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def pending_acks(self) -> int:
        return sum(len(a.pending_acks) for a in self.items)


@dataclass(frozen=True)
class CategoryCount:
    code: str | None
    name: str
    open: int


@dataclass(frozen=True)
class OverdueReport:
    id: int
    title: str
    category: str
    state: str
    kind: str | None  # "response" or "resolution" (cad.service.overdue_kind)
    partner: str
    received_at: datetime
    address: str | None


@dataclass(frozen=True)
class CadPart:
    as_of: datetime
    open: int
    by_category: list[CategoryCount]
    overdue: int
    overdue_reports: list[OverdueReport]
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S


@dataclass(frozen=True)
class ShelterItem:
    id: int
    name: str
    address: str
    lat: float
    lon: float
    occupancy: int
    capacity: int
    free: int
    updated_at: datetime | None
    count_stale: bool  # the shelters module's rule: no count for an hour


@dataclass(frozen=True)
class SheltersPart:
    as_of: datetime
    items: list[ShelterItem]
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S

    @property
    def open(self) -> int:
        return len(self.items)

    @property
    def occupancy(self) -> int:
        return sum(s.occupancy for s in self.items)

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.items)

    @property
    def free(self) -> int:
        return sum(s.free for s in self.items)


@dataclass(frozen=True)
class LimitingItem:
    item: str
    name: str
    days: Decimal
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class ReservesPart:
    as_of: datetime
    people: int  # the people in open shelters now
    days: Decimal | None  # None: no one sheltered, or no item has a norm
    limiting_item: str | None
    items: list[LimitingItem]  # shortest first
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S


@dataclass(frozen=True)
class CallOutItem:
    id: int
    code: str
    title: str
    place: str
    lat: float | None
    lon: float | None
    state: str
    starts_at: datetime
    needed: int
    asked: int  # everyone asked in the call-out
    waiting: int  # asked, no answer yet
    committed: int  # said yes
    on_site: int  # said yes and checked in, not yet out


@dataclass(frozen=True)
class VolunteersPart:
    as_of: datetime
    items: list[CallOutItem]
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S

    @property
    def open(self) -> int:
        return len(self.items)

    @property
    def asked(self) -> int:
        return sum(c.asked for c in self.items)

    @property
    def committed(self) -> int:
        return sum(c.committed for c in self.items)

    @property
    def on_site(self) -> int:
        return sum(c.on_site for c in self.items)


@dataclass(frozen=True)
class MapPart:
    as_of: datetime
    warnings: dict[str, Any]  # GeoJSON FeatureCollections, lon/lat
    shelters: dict[str, Any]
    reports: dict[str, Any]
    callouts: dict[str, Any]
    stale: bool = False
    stale_after_s: int = LIVE_STALE_AFTER_S


@dataclass(frozen=True)
class Situation:
    taken_at: datetime
    timezone: str
    warnings: WarningsPart
    alerts: AlertsPart
    cad: CadPart
    shelters: SheltersPart
    reserves: ReservesPart
    volunteers: VolunteersPart
    map: MapPart
    parts: tuple[str, ...] = field(default=(
        "warnings", "alerts", "cad", "shelters", "reserves", "volunteers", "map"))


# --- gathering -----------------------------------------------------------------------


def _warnings(session: Session, settings: Settings, now: datetime,
              language: str) -> tuple[WarningsPart, list[Any]]:
    active = warnings.list_warnings(session, "active")
    stale = ingest.stale_sources(session, settings)
    polled = [row.last_success_at for row in session.scalars(select(WarningSource))
              if row.last_success_at is not None]
    items = [WarningItem(
        id=w.id, level=w.level, type_name=w.type_name,
        headline=page_data.headline(w, language), onset=w.onset, expires=w.expires,
        home_areas=list(w.home_areas or []), areas=list(w.areas or []),
    ) for w in active]
    part = WarningsPart(
        as_of=max(polled) if polled else now, stale=bool(stale),
        stale_sources=[row.url for row in stale], items=items,
        # The warnings module's own rule for a stale source: three poll intervals.
        stale_after_s=int(3 * settings.feed_poll_seconds),
    )
    return part, active


def _alerts_in_flight(session: Session) -> list[Alert]:
    """Real alerts still moving, and sent staff alerts whose acknowledgement chain still
    runs; oldest first."""
    chain_running = exists().where(EscalationStep.alert_id == Alert.id,
                                   EscalationStep.state == "waiting")
    query = exclude_exercises(select(Alert).where(
        Alert.cap_status == "Actual", Alert.source.in_(ALERT_SOURCES),
        Alert.state.in_(IN_FLIGHT) | ((Alert.state == "done") & chain_running),
    ), Alert.activation_id)
    return list(session.scalars(query.order_by(Alert.created_at, Alert.id)))


def alert_item(session: Session, alert: Alert, language: str = "lv") -> AlertItem:
    """One alert's delivery and acknowledgements, counted as its own page counts them."""
    counts = ledger.progress(session, alert.id)
    total = sum(sum(states.values()) for states in counts.values())
    finished = sum(n for states in counts.values() for state, n in states.items()
                   if state in ledger.FINAL_DELIVERY_STATES)
    delivered = sum(states.get("delivered", 0) for states in counts.values())
    people = acks.people(session, alert)
    chain = escalation.state_of(session, alert)
    return AlertItem(
        id=alert.id, state=alert.state, level=alert.level,
        summary=notices.summary(alert, language) if alert.texts else "",
        sending_at=alert.sending_at, total=total, finished=finished, delivered=delivered,
        percent=round(100 * finished / total) if total else 0,
        channels=[ChannelProgress(channel, dict(counts.get(channel, {})),
                                  sum(counts.get(channel, {}).values()))
                  for channel in alert.channels],
        ack_required=alert.ack_required,
        acknowledged=sum(1 for p in people if p.acknowledgement is not None),
        pending_acks=[p.name for p in people if p.acknowledgement is None],
        chain=chain.state if chain is not None else None,
    )


def _alerts(session: Session, now: datetime, language: str) -> AlertsPart:
    return AlertsPart(as_of=now, items=[alert_item(session, alert, language)
                                        for alert in _alerts_in_flight(session)])


def _cad(session: Session, settings: Settings, now: datetime, language: str) -> CadPart:
    _rows, total = cad.search(session, settings, cad.ReportFilter(states=OPEN_STATES, limit=0),
                              now)
    by_category = []
    for category in cad.categories(session, active_only=False):
        _rows, n = cad.search(session, settings, cad.ReportFilter(
            states=OPEN_STATES, category=category.code, limit=0), now)
        if n:
            by_category.append(CategoryCount(category.code, category.name(language), n))
    by_category.sort(key=lambda c: (-c.open, c.name))
    unclassified = total - sum(c.open for c in by_category)
    if unclassified > 0:
        by_category.append(CategoryCount(None, "", unclassified))
    overdue, overdue_total = cad.queue(session, settings, "overdue", limit=OVERDUE_SHOWN,
                                       now=now)
    return CadPart(as_of=now, open=total, by_category=by_category, overdue=overdue_total,
                   overdue_reports=[OverdueReport(
                       id=r.id, title=r.title or r.description[:80],
                       category=r.category.name(language) if r.category else "",
                       state=r.state, kind=cad.overdue_kind(r, now),
                       partner=r.partner.name if r.partner else "",
                       received_at=r.received_at, address=r.address,
                   ) for r in overdue])


def _shelters(session: Session, now: datetime) -> SheltersPart:
    items = []
    for row in shelters.public_shelters(session):
        if not row["open"]:
            continue
        shelter = shelters.get_shelter(session, row["id"])
        items.append(ShelterItem(
            id=row["id"], name=row["name"], address=row["address"], lat=row["lat"],
            lon=row["lon"], occupancy=row["occupancy"], capacity=row["capacity"],
            free=row["free_places"] or 0,
            updated_at=shelter.occupancy_updated_at if shelter else None,
            count_stale=bool(shelter and shelters.is_stale(shelter, now)),
        ))
    items.sort(key=lambda s: s.name)
    return SheltersPart(as_of=now, items=items)


def _reserves(session: Session, now: datetime, language: str) -> ReservesPart:
    people = reserves.sheltered_people(session)
    if people < 1:
        return ReservesPart(as_of=now, people=0, days=None, limiting_item=None, items=[])
    result = reserves.autonomy(session, people, language=language)
    return ReservesPart(as_of=now, people=people, days=result.days,
                        limiting_item=result.limiting_item,
                        items=[LimitingItem(row.item, row.name, row.days, row.quantity, row.unit)
                               for row in result.items])


def _real_callouts(session: Session) -> list[Any]:
    asking = [c for c in volunteer_callouts.list_callouts(session)
              if c.state in volunteer_callouts.ASKING]
    ids = {c.activation_id for c in asking}
    exercises = set(session.scalars(select(Activation.id).where(
        Activation.id.in_(ids), Activation.is_exercise.is_(True)))) if ids else set()
    return [c for c in asking if c.activation_id not in exercises]


def _volunteers(session: Session, now: datetime) -> VolunteersPart:
    items = []
    for callout in _real_callouts(session):
        counts = volunteer_callouts.counts(session, callout)
        on_site = sum(1 for ask in callout.asks if ask.state == "yes"
                      and ask.checked_in_at is not None and ask.checked_out_at is None)
        items.append(CallOutItem(
            id=callout.id, code=callout.code, title=callout.title, place=callout.place,
            lat=callout.lat, lon=callout.lon, state=callout.state,
            starts_at=callout.starts_at, needed=callout.needed,
            asked=sum(counts.values()), waiting=counts["asked"], committed=counts["yes"],
            on_site=on_site,
        ))
    return VolunteersPart(as_of=now, items=items)


def _points(features: list[tuple[float | None, float | None, dict[str, Any]]]
            ) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": properties}
        for lat, lon, properties in features if lat is not None and lon is not None]}


def _map(session: Session, settings: Settings, now: datetime, language: str,
         active: list[Any], shelter_part: SheltersPart,
         volunteer_part: VolunteersPart) -> MapPart:
    return MapPart(
        as_of=now,
        warnings=page_data.map_shapes(session, active, list(settings.home_areas), {}),
        shelters=_points([(s.lat, s.lon, {
            "id": s.id, "name": s.name, "occupancy": s.occupancy, "capacity": s.capacity,
            "free": s.free}) for s in shelter_part.items]),
        reports=cad.open_reports_geojson(session, settings, limit=MAP_REPORTS,
                                         language=language, now=now),
        callouts=_points([(c.lat, c.lon, {
            "id": c.id, "title": c.title, "place": c.place, "needed": c.needed,
            "committed": c.committed, "on_site": c.on_site}) for c in volunteer_part.items]),
    )


def snapshot(session: Session, settings: Settings, *, language: str = "lv") -> Situation:
    """Every part of the situation now; names and texts in ``language`` where the
    modules keep both."""
    now = clock.now()
    warnings_part, active = _warnings(session, settings, now, language)
    shelter_part = _shelters(session, now)
    volunteer_part = _volunteers(session, now)
    return Situation(
        taken_at=now, timezone=settings.timezone, warnings=warnings_part,
        alerts=_alerts(session, now, language), cad=_cad(session, settings, now, language),
        shelters=shelter_part, reserves=_reserves(session, now, language),
        volunteers=volunteer_part,
        map=_map(session, settings, now, language, active, shelter_part, volunteer_part),
    )


# --- as JSON -------------------------------------------------------------------------

# The totals each part adds to its fields (properties, not stored).
_TOTALS = {
    "warnings": ("count", "highest_level"),
    "alerts": ("count", "pending_acks"),
    "shelters": ("open", "occupancy", "capacity", "free"),
    "volunteers": ("open", "asked", "committed", "on_site"),
}


def _plain(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, Decimal):
        return float(value)  # days and quantities, already rounded by their module
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), zone) for f in fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item, zone) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, zone) for item in value]
    return value


def snapshot_json(situation: Situation) -> dict[str, Any]:
    """The snapshot as JSON: times as ISO 8601 in the city's time zone, each part with
    its ``as_of``, ``stale`` and ``stale_after_s`` and its totals."""
    zone = ZoneInfo(situation.timezone)
    result: dict[str, Any] = {"taken_at": _plain(situation.taken_at, zone),
                              "timezone": situation.timezone, "parts": {}}
    for name in situation.parts:
        part = getattr(situation, name)
        data = _plain(part, zone)
        for total in _TOTALS.get(name, ()):
            data[total] = getattr(part, total)
        result["parts"][name] = data
    return result
