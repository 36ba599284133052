"""Which areas a point or a polygon belongs to, and which known area a polygon is.

The Meteoalarm outlines shipped in ``data/emma`` are synchronised into the
``area`` table on start; admins add neighbourhoods. An area's *effective*
shape is its outline minus the outlines of same-kind areas lying inside it:
LV023 (Jelgava municipality) surrounds LV022 (Jelgava city), so a point in the
city belongs to LV022 only, not to the municipality.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from shapely import make_valid
from shapely.geometry import Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas.models import Area

EMMA_SOURCE = "Meteoalarm / EUMETNET EMMA_ID (CC0-1.0)"
# Latvia with a margin: neighbourhood outlines must lie inside.
LATVIA_BOUNDS = (20.0, 55.5, 28.5, 58.2)  # min lon, min lat, max lon, max lat
# A same-kind outline counts as an enclave when this share of it lies inside another.
ENCLAVE_SHARE = 0.9


class AreaError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _kind_of(code: str) -> str:
    number = int(code[2:])
    if number >= 800:
        return "sea"
    if number < 10:
        return "region"
    return "municipality"


def _hash(geometry: dict[str, Any], name: str) -> str:
    return hashlib.sha256(json.dumps([geometry, name], sort_keys=True).encode()).hexdigest()


def builtin_features() -> list[dict[str, Any]]:
    folder = resources.files("sargs.areas") / "data" / "emma"
    features = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".geojson"):
            features.append(json.loads(entry.read_text(encoding="utf-8")))
    return features


def sync_builtin_areas(session: Session) -> int:
    """Insert or update the shipped outlines; return how many rows changed."""
    existing = {area.code: area for area in session.scalars(select(Area).where(Area.builtin))}
    changed = 0
    for feature in builtin_features():
        code = feature["properties"]["code"]
        name = feature["properties"]["name"]
        digest = _hash(feature["geometry"], name)
        area = existing.get(code)
        if area is not None and area.content_hash == digest:
            continue
        if area is None:
            area = Area(code=code, builtin=True)
            session.add(area)
        area.name = name
        area.kind = _kind_of(code)
        area.geometry = feature["geometry"]
        area.source = EMMA_SOURCE
        area.content_hash = digest
        area.updated_at = clock.now()
        changed += 1
    session.flush()
    return changed


# --- shapes --------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    area: Area
    outline: BaseGeometry
    effective: BaseGeometry
    prepared: PreparedGeometry


_cache: dict[tuple[tuple[int, str], ...], list[Shape]] = {}


def _shapes(session: Session) -> list[Shape]:
    areas = list(session.scalars(select(Area).order_by(Area.code)))
    key = tuple((area.id, area.content_hash) for area in areas)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    outlines = {area.id: make_valid(shape(area.geometry)) for area in areas}
    shapes = []
    for area in areas:
        effective = outlines[area.id]
        for other in areas:
            if other.id == area.id or other.kind != area.kind:
                continue
            inner = outlines[other.id]
            if inner.area and inner.intersection(outlines[area.id]).area / inner.area >= ENCLAVE_SHARE:
                if inner.area < outlines[area.id].area:
                    effective = effective.difference(inner)
        shapes.append(Shape(area, outlines[area.id], effective, prep(effective)))
    _cache.clear()
    _cache[key] = shapes
    return shapes


def parse_cap_polygon(text: str) -> Polygon:
    """A CAP ``<polygon>`` ("lat,lon lat,lon …", first = last) as a shapely Polygon."""
    points = []
    for pair in text.split():
        lat, _, lon = pair.partition(",")
        points.append((float(lon), float(lat)))
    if len(points) < 4:
        raise AreaError("polygon", "a polygon needs at least four points")
    return Polygon(points)


def geometry_from_geojson(data: dict[str, Any]) -> BaseGeometry:
    if data.get("type") == "Feature":
        data = data.get("geometry") or {}
    if data.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaError("geometry", "a Polygon or MultiPolygon is expected")
    try:
        geometry = shape(data)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise AreaError("geometry", f"not a valid outline ({exc})") from None
    if geometry.is_empty or not geometry.is_valid or geometry.area == 0:
        raise AreaError("geometry", "the outline crosses itself or has no area")
    return geometry


# --- questions -----------------------------------------------------------


def get_area(session: Session, code: str) -> Area | None:
    return session.scalar(select(Area).where(Area.code == code.upper()))


def list_areas(session: Session, kind: str | None = None) -> list[Area]:
    query = select(Area).order_by(Area.kind, Area.code)
    if kind:
        query = query.where(Area.kind == kind)
    return list(session.scalars(query))


def areas_at_point(session: Session, lat: float, lon: float) -> list[Area]:
    """Every area whose effective shape holds the point (region, municipality, …)."""
    point = Point(lon, lat)
    return [item.area for item in _shapes(session) if item.prepared.contains(point)]


@dataclass(frozen=True)
class Overlap:
    area: Area
    iou: float  # intersection over union with the area's outline
    share_of_area: float  # how much of the area's effective shape the polygon covers
    share_of_polygon: float  # how much of the polygon lies in the area


def overlaps(session: Session, polygon: BaseGeometry) -> list[Overlap]:
    polygon = make_valid(polygon)
    if polygon.area == 0:
        return []
    found = []
    for item in _shapes(session):
        if not item.prepared.intersects(polygon) and not item.outline.intersects(polygon):
            continue
        inter_outline = item.outline.intersection(polygon).area
        union = item.outline.union(polygon).area
        inter_effective = item.effective.intersection(polygon).area
        found.append(
            Overlap(
                item.area,
                iou=inter_outline / union if union else 0.0,
                share_of_area=inter_effective / item.effective.area if item.effective.area else 0.0,
                share_of_polygon=inter_effective / polygon.area,
            )
        )
    return sorted(found, key=lambda overlap: overlap.iou, reverse=True)


def areas_in_polygon(session: Session, polygon: BaseGeometry, min_share: float = 0.5) -> list[Area]:
    """Areas the polygon covers substantially (at least ``min_share`` of each)."""
    return [o.area for o in overlaps(session, polygon) if o.share_of_area >= min_share]


def identify(session: Session, polygon: BaseGeometry, min_iou: float = 0.6) -> Overlap | None:
    """The known area this polygon *is*: best intersection over union, if good enough."""
    found = overlaps(session, polygon)
    if found and found[0].iou >= min_iou:
        return found[0]
    return None


# --- neighbourhoods --------------------------------------------------------


def create_neighbourhood(
    session: Session, code: str, name: str, geojson: dict[str, Any]
) -> Area:
    code = code.strip().upper()
    if not code or len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise AreaError("code", "letters, digits, - and _ only, at most 32")
    if get_area(session, code):
        raise AreaError("code", "an area with this code already exists")
    if not name.strip():
        raise AreaError("name", "a name is required")
    geometry = geometry_from_geojson(geojson)
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    lo_lon, lo_lat, hi_lon, hi_lat = LATVIA_BOUNDS
    if min_lon < lo_lon or max_lon > hi_lon or min_lat < lo_lat or max_lat > hi_lat:
        raise AreaError("geometry", "the outline lies outside Latvia")
    plain = mapping(geometry)
    plain = json.loads(json.dumps(plain))  # tuples to lists for JSON storage
    area = Area(
        code=code, name=name.strip(), kind="neighbourhood", builtin=False, geometry=plain,
        source="", content_hash=_hash(plain, name.strip()), updated_at=clock.now(),
    )
    session.add(area)
    session.flush()
    return area


def delete_neighbourhood(session: Session, area: Area) -> None:
    if area.builtin:
        raise AreaError("code", "shipped areas cannot be deleted")
    session.delete(area)
    session.flush()


def as_feature_collection(areas: list[Area]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": area.geometry,
                "properties": {"code": area.code, "name": area.name, "kind": area.kind},
            }
            for area in areas
        ],
    }
