"""The shelter register's rules: places and their readiness, inspections and defects,
opening and closing in an activation, occupancy counts, and the nearest open shelter.

Plain functions on a session; the pages, the APIs, the CLI, the scheduler and the
Telegram bot call these. Callers commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.models import Activation
from sargs.areas import service as areas
from sargs.audit.service import current_actor
from sargs.settings import Settings
from sargs.shelters.models import (
    OccupancyChange,
    Shelter,
    ShelterDefect,
    ShelterInspection,
    ShelterOpening,
)
from sargs.shelters.notify import notify_opened
from sargs.shelters.schemas import DefectIn, InspectionIn, ShelterIn

EARTH_RADIUS_M = 6_371_000
# A status not updated for this long is flagged as stale on the pages.
STALE_AFTER = timedelta(minutes=60)


class ShelterError(ValueError):
    """A rule was broken; ``field`` names the input it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _who() -> tuple[int | None, str]:
    actor = current_actor()
    return (actor.id if actor.kind == "user" else None), actor.label


# --- the register ------------------------------------------------------------


def in_latvia(session: Session, lat: float, lon: float) -> bool:
    """Whether the point lies in one of Latvia's regions (the shipped outlines)."""
    return any(ref.kind == "region" for ref in areas.areas_at_point(session, lat, lon))


def _apply(session: Session, shelter: Shelter, data: ShelterIn) -> None:
    if not in_latvia(session, data.lat, data.lon):
        raise ShelterError("lat", _("This place is not in Latvia."))
    for name, value in data.model_dump().items():
        setattr(shelter, name, value)
    shelter.updated_at = clock.now()


def create_shelter(session: Session, data: ShelterIn) -> Shelter:
    now = clock.now()
    shelter = Shelter(created_at=now, updated_at=now, occupancy=0, readiness="green")
    _apply(session, shelter, data)
    session.add(shelter)
    session.flush()
    return shelter


def update_shelter(session: Session, shelter: Shelter, data: ShelterIn) -> Shelter:
    _apply(session, shelter, data)
    refresh_readiness(session, shelter)
    return shelter


def remove_shelter(session: Session, shelter: Shelter) -> Shelter:
    """Take a place out of the register; its history stays (an import restores it)."""
    if shelter.opening_id is not None:
        raise ShelterError("shelter", _("Close the shelter first."))
    shelter.active = False
    shelter.updated_at = clock.now()
    return shelter


def get_shelter(session: Session, shelter_id: int) -> Shelter | None:
    return session.get(Shelter, shelter_id)


def list_shelters(session: Session, *, active_only: bool = True) -> list[Shelter]:
    query = select(Shelter).order_by(Shelter.name)
    if active_only:
        query = query.where(Shelter.active.is_(True))
    return list(session.scalars(query))


# --- inspections, defects and readiness --------------------------------------


def inspection_due(shelter: Shelter) -> date | None:
    if shelter.last_inspected_on is None:
        return None
    return shelter.last_inspected_on + timedelta(days=shelter.inspection_interval_days)


def inspection_overdue(shelter: Shelter, today: date) -> bool:
    """Never inspected, or the interval since the last inspection has passed."""
    due = inspection_due(shelter)
    return due is None or due < today


def refresh_readiness(session: Session, shelter: Shelter) -> str:
    """Readiness follows the open defects: red with a major one, amber with a minor one or
    an overdue inspection, green otherwise; the reason says which."""
    open_defects = list(session.scalars(select(ShelterDefect).where(
        ShelterDefect.shelter_id == shelter.id, ShelterDefect.fixed_at.is_(None))))
    major = [d for d in open_defects if d.severity == "major"]
    today = clock.now().date()
    if major:
        shelter.readiness = "red"
        shelter.readiness_reason = _("Open major defects: %(n)s", n=len(major))
    elif open_defects:
        shelter.readiness = "amber"
        shelter.readiness_reason = _("Open defects: %(n)s", n=len(open_defects))
    elif shelter.last_inspected_on is not None and inspection_overdue(shelter, today):
        shelter.readiness = "amber"
        shelter.readiness_reason = _("Inspection overdue")
    else:
        shelter.readiness = "green"
        shelter.readiness_reason = ""
    return shelter.readiness


def record_inspection(session: Session, shelter: Shelter, data: InspectionIn,
                      defects: list[DefectIn] = ()) -> ShelterInspection:  # type: ignore[assignment]
    """An inspection with its checklist; each defect found becomes a task."""
    by_id, _label = _who()
    now = clock.now()
    inspection = ShelterInspection(shelter_id=shelter.id, inspected_on=data.inspected_on,
                                   inspector=data.inspector, checklist=data.checklist,
                                   notes=data.notes, created_at=now, created_by_id=by_id)
    session.add(inspection)
    session.flush()
    for defect in defects:
        add_defect(session, shelter, defect, inspection_id=inspection.id, refresh=False)
    if shelter.last_inspected_on is None or data.inspected_on >= shelter.last_inspected_on:
        shelter.last_inspected_on = data.inspected_on
    session.flush()
    refresh_readiness(session, shelter)
    return inspection


def add_defect(session: Session, shelter: Shelter, data: DefectIn, *,
               inspection_id: int | None = None, refresh: bool = True) -> ShelterDefect:
    defect = ShelterDefect(shelter_id=shelter.id, inspection_id=inspection_id,
                           description=data.description, severity=data.severity,
                           owner=data.owner, due_on=data.due_on, created_at=clock.now())
    session.add(defect)
    session.flush()
    if refresh:
        refresh_readiness(session, shelter)
    return defect


def fix_defect(session: Session, defect: ShelterDefect, note: str = "") -> ShelterDefect:
    if defect.fixed_at is not None:
        raise ShelterError("defect", _("This defect is already fixed."))
    defect.fixed_at = clock.now()
    defect.fixed_note = note
    session.flush()
    shelter = session.get(Shelter, defect.shelter_id)
    assert shelter is not None
    refresh_readiness(session, shelter)
    return defect


def overdue_inspections(session: Session, today: date | None = None) -> list[Shelter]:
    """Places never inspected or past their inspection interval, oldest first."""
    today = today or clock.now().date()
    return sorted((s for s in list_shelters(session) if inspection_overdue(s, today)),
                  key=lambda s: s.last_inspected_on or date.min)


# --- opening, closing and occupancy ------------------------------------------


def is_exercise_opening(session: Session, shelter: Shelter) -> bool:
    if shelter.opening is None:
        return False
    activation = session.get(Activation, shelter.opening.activation_id)
    return bool(activation and activation.is_exercise)


def open_shelter(session: Session, shelter: Shelter, activation_id: int, *,
                 settings: Settings | None = None, notify: bool = True) -> ShelterOpening:
    """Open a place for people within an activation (an emergency or an exercise), and
    tell its staff through the notification engine (``notify``; ``settings`` name the
    configured channels, by default the app's)."""
    activation = session.get(Activation, activation_id)
    if activation is None or not activation.is_open:
        raise ShelterError("activation", _("Choose an open activation."))
    if shelter.opening_id is not None:
        raise ShelterError("shelter", _("This shelter is already open."))
    if not shelter.active:
        raise ShelterError("shelter", _("This place is no longer in the register."))
    by_id, _label = _who()
    now = clock.now()
    opening = ShelterOpening(shelter_id=shelter.id, activation_id=activation.id, opened_at=now,
                             opened_by_id=by_id, peak_occupancy=0)
    session.add(opening)
    session.flush()
    shelter.opening_id = opening.id
    shelter.opening = opening
    shelter.occupancy = 0
    shelter.occupancy_updated_at = now
    session.flush()
    if notify:
        notify_opened(session, settings, shelter, opening)
    return opening


def close_shelter(session: Session, shelter: Shelter) -> ShelterOpening:
    if shelter.opening is None:
        raise ShelterError("shelter", _("This shelter is not open."))
    by_id, _label = _who()
    opening = shelter.opening
    opening.closed_at = clock.now()
    opening.closed_by_id = by_id
    shelter.opening_id = None
    shelter.opening = None
    shelter.occupancy = 0
    shelter.occupancy_updated_at = opening.closed_at
    # Imported here: the evacuees module counts through this one. Closing leaves only
    # the counts and times of the people registered in the opening.
    from sargs.shelters.evacuees import anonymise_opening
    anonymise_opening(session, opening.id)
    session.flush()
    return opening


@dataclass(frozen=True)
class OccupancyResult:
    occupancy: int
    capacity: int
    over_capacity: bool


def change_occupancy(session: Session, shelter: Shelter, delta: int) -> OccupancyResult:
    """Count people in (delta > 0) or out (delta < 0). Occupancy never goes below 0; above
    capacity it is counted all the same (people are not turned away by a counter), and
    recorded and flagged as over capacity."""
    if shelter.opening_id is None:
        raise ShelterError("delta", _("This shelter is not open."))
    # One statement, so two phones counting at once cannot go below zero.
    changed = session.execute(
        update(Shelter).where(Shelter.id == shelter.id, Shelter.opening_id.is_not(None),
                              Shelter.occupancy + delta >= 0)
        .values(occupancy=Shelter.occupancy + delta, occupancy_updated_at=clock.now())
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        raise ShelterError("delta", _("Fewer people are checked in than that."))
    session.refresh(shelter)
    capacity = shelter.capacity
    over = shelter.occupancy > capacity
    opening = shelter.opening
    assert opening is not None
    opening.peak_occupancy = max(opening.peak_occupancy, shelter.occupancy)
    if over and opening.over_capacity_at is None:
        opening.over_capacity_at = clock.now()
    by_id, label = _who()
    session.add(OccupancyChange(shelter_id=shelter.id, opening_id=opening.id, at=clock.now(),
                                delta=delta, occupancy_after=shelter.occupancy,
                                over_capacity=over, by_id=by_id, by_label=label))
    session.flush()
    return OccupancyResult(shelter.occupancy, capacity, over)


def free_places(shelter: Shelter) -> int:
    return max(shelter.capacity - shelter.occupancy, 0)


def minutes_since_update(shelter: Shelter, now: datetime | None = None) -> int | None:
    if shelter.occupancy_updated_at is None:
        return None
    now = now or clock.now()
    return int((now - shelter.occupancy_updated_at).total_seconds() // 60)


def is_stale(shelter: Shelter, now: datetime | None = None) -> bool:
    """An open shelter whose count has not been updated for an hour."""
    minutes = minutes_since_update(shelter, now)
    return shelter.opening_id is not None and minutes is not None and \
        minutes * 60 >= STALE_AFTER.total_seconds()


# --- public view and the nearest open shelter ---------------------------------


def _real_open_clause() -> Any:
    """Open in a real activation: exercise openings never reach the public."""
    exercises = select(Activation.id).where(Activation.is_exercise.is_(True)).scalar_subquery()
    return and_(Shelter.opening_id.is_not(None),
                Shelter.opening_id.not_in(select(ShelterOpening.id).where(
                    ShelterOpening.activation_id.in_(exercises)).scalar_subquery()))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Nearby:
    shelter: Shelter
    distance_m: int
    open: bool


# Open shelters are few next to the register: up to this many are ranked from one read.
# Candidates the database returns beyond the n asked for: its flat distance and the exact
# one may order close places differently, never by more than a few places.
CANDIDATES_BEYOND = 8


def nearest(session: Session, lat: float, lon: float, n: int = 3) -> tuple[list[Nearby], bool]:
    """The ``n`` nearest shelters open (in a real activation) with free places, nearest
    first; when none is open, the ``n`` nearest registered places instead. The second
    value says whether the list is of open shelters.

    The database ranks the open ones by a flat approximation of distance and returns a
    few more than ``n``, ranked here exactly: one query. With none open, the register is
    searched in a box around the point that widens until it holds ``n`` places."""
    cos_lat = math.cos(math.radians(lat))
    flat = ((Shelter.lat - lat) * (Shelter.lat - lat)
            + (Shelter.lon - lon) * cos_lat * (Shelter.lon - lon) * cos_lat)
    candidates = session.scalars(_open_with_places(select(Shelter)).order_by(flat)
                                 .limit(n + CANDIDATES_BEYOND)).unique().all()
    if candidates:
        ranked = sorted(((distance_m(lat, lon, s.lat, s.lon), s.id, s) for s in candidates),
                        key=lambda found: found[:2])[:n]
        return [Nearby(shelter, round(d), True) for d, _id, shelter in ranked], True
    found = _nearest_in_boxes(session, lat, lon, n, open_only=False)
    loaded = {s.id: s for s in session.scalars(
        select(Shelter).where(Shelter.id.in_([shelter_id for _d, shelter_id in found])))}
    return [Nearby(loaded[shelter_id], round(d), False) for d, shelter_id in found], False


def _open_with_places(query: Any) -> Any:
    """``query`` of shelters narrowed to those open in a real activation with a free
    place (the same rule as :func:`_real_open_clause`, by joins the indexes serve)."""
    return (query.join(ShelterOpening, ShelterOpening.id == Shelter.opening_id)
            .join(Activation, Activation.id == ShelterOpening.activation_id)
            .where(Activation.is_exercise.is_(False), Shelter.active.is_(True),
                   Shelter.occupancy < Shelter.capacity))


def _nearest_in_boxes(session: Session, lat: float, lon: float, n: int, *,
                      open_only: bool) -> list[tuple[float, int]]:
    half = 0.02  # degrees of latitude (~2 km), doubled until enough places are in the box
    cos_lat = max(math.cos(math.radians(lat)), 0.01)
    while True:
        query = select(Shelter.id, Shelter.lat, Shelter.lon).where(
            Shelter.active.is_(True),
            Shelter.lat.between(lat - half, lat + half),
            Shelter.lon.between(lon - half / cos_lat, lon + half / cos_lat))
        if open_only:
            query = _open_with_places(query)
        rows = session.execute(query).all()
        # Only places within the box's inscribed circle are surely nearer than any outside.
        within = [(distance_m(lat, lon, r.lat, r.lon), r.id) for r in rows]
        radius = half * 111_000
        sure = [pair for pair in within if pair[0] <= radius]
        if len(sure) >= n or half >= 180:
            return sorted(sure if len(sure) >= n else within)[:n]
        half *= 2


def public_row(shelter: Shelter, *, open_: bool) -> dict[str, Any]:
    """What anyone may see of a place: no contact people, no procedures."""
    return {
        "id": shelter.id, "name": shelter.name, "address": shelter.address,
        "lat": shelter.lat, "lon": shelter.lon, "kind": shelter.kind,
        "capacity": shelter.capacity,
        "occupancy": shelter.occupancy if open_ else 0,
        "free_places": free_places(shelter) if open_ else None,
        "open": open_,
        "step_free": shelter.step_free, "accessible_toilet": shelter.accessible_toilet,
        "updated_at": shelter.occupancy_updated_at.isoformat()
        if open_ and shelter.occupancy_updated_at else None,
        "illustrative": shelter.illustrative,
    }


def public_shelters(session: Session) -> list[dict[str, Any]]:
    """Every place of the register as the public sees it (open only in a real activation)."""
    open_ids = set(session.scalars(select(Shelter.id).where(_real_open_clause())))
    return [public_row(s, open_=s.id in open_ids) for s in list_shelters(session)]
