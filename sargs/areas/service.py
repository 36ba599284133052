"""Which areas a point or a polygon belongs to, and which known area a polygon is.

The Meteoalarm EMMA_ID outlines shipped in ``data/emma`` (see its
``SOURCES.md``) are synchronised into the ``area`` table when the app starts;
admins add neighbourhoods. Three kinds of shipped areas exist — the four
historic *regions* (LV001–LV004), the 43 *municipalities* (LV010–LV052) and
four *sea* areas (LV801–LV804) — and one kind drawn by admins,
*neighbourhood*.

**Outline and effective shape.** An area's *outline* is its polygon as
shipped. Its *effective* shape is the part of Latvia that belongs to it: for
municipalities, the outline minus any other municipality lying inside it
(an enclave). LV023 (Jelgava municipality) surrounds LV022 (Jelgava city),
so a point in the city belongs to LV022, not to LV023; the same holds for
Daugavpils (LV017 in LV013) and Rēzekne (LV037 in LV038). Regions, sea
areas and neighbourhoods are never cut: a point in a neighbourhood of the
city belongs to the neighbourhood, to LV022 and to the region LV003.

**Questions.** :func:`areas_at_point` — which areas hold a point;
:func:`overlaps` — how a polygon overlaps each area; :func:`areas_in_polygon`
— which areas a polygon concerns; :func:`identify` — which known area a
polygon *is* (best intersection over union with the outline, so a CAP
polygon of LV022 is LV022, not LV023 whose outline also covers it).
All return :class:`AreaRef` values, plain and free of any session.

**Speed.** Shapes are kept prepared in memory, keyed on the list of
``(id, content_hash)`` of all areas, which one light query re-reads on
every call, so a change made by any process is seen at once. GEOS prepared
geometries are not thread-safe, so each thread keeps its own
:class:`AreaIndex`; the expensive part (parsing, repairing, cutting enclaves)
is shared. Callers that ask many questions in a row (a feed ingest) take the
index once with :func:`area_index` and skip the query.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from flask_babel import lazy_gettext as _l
from shapely import STRtree, make_valid
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas.models import AREA_KINDS, Area, content_hash

if TYPE_CHECKING:
    from sargs.settings import Settings

log = logging.getLogger(__name__)

EMMA_SOURCE = "Meteoalarm / EUMETNET EMMA_ID (CC0-1.0)"
# Longitude/latitude box around Latvia with a margin; a quick first check.
LATVIA_BOUNDS = (20.0, 55.5, 28.5, 58.2)  # min lon, min lat, max lon, max lat
# A municipality counts as an enclave of another when this share of it lies inside.
ENCLAVE_SHARE = 0.9
# A neighbourhood must lie at least this much inside Latvia (land and sea areas).
TERRITORY_SHARE = 0.9
# identify(): the least intersection over union that counts as "this polygon is that area".
MIN_IOU = 0.6
# areas_in_polygon(): the least share that makes an area concerned by a polygon.
MIN_SHARE = 0.5
# Codes shaped like Meteoalarm's (two letters, three digits) are reserved for shipped areas.
EMMA_CODE = re.compile(r"^[A-Z]{2}\d{3}$")
NEIGHBOURHOOD_CODE = re.compile(r"^[A-Z0-9_-]{2,32}$")


class AreaError(ValueError):
    """A rule refused the input; ``field`` names the input at fault and
    ``message`` says why, in the user's language when shown."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


class UnknownAreaError(LookupError):
    """Settings name area codes that are not known."""

    def __init__(self, codes: Sequence[str], setting: str = "SARGS_HOME_AREAS") -> None:
        self.codes = list(codes)
        super().__init__(
            f"{setting} names unknown area code(s) {', '.join(self.codes)}; "
            "use Meteoalarm EMMA_ID codes (LV001–LV804) or neighbourhood codes"
        )


# --- shipped outlines ------------------------------------------------------


def _kind_of(code: str) -> str:
    number = int(code[2:])
    if number >= 800:
        return "sea"
    if number < 10:
        return "region"
    return "municipality"


def builtin_features() -> list[dict[str, Any]]:
    """The shipped GeoJSON Features, one per EMMA_ID area, ordered by code."""
    folder = resources.files("sargs.areas") / "data" / "emma"
    features = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".geojson"):
            features.append(json.loads(entry.read_text(encoding="utf-8")))
    return features


def sync_builtin_areas(session: Session) -> int:
    """Insert or update the shipped outlines; return how many rows changed.

    Idempotent: a restart with the same package changes nothing.
    """
    existing = {area.code: area for area in session.scalars(select(Area))}
    changed = 0
    for feature in builtin_features():
        code = feature["properties"]["code"]
        name = feature["properties"]["name"]
        kind = _kind_of(code)
        geometry = feature["geometry"]
        area = existing.get(code)
        if area is not None and not area.builtin:
            raise RuntimeError(f"area {code} exists as a neighbourhood; rename it to ship {code}")
        if area is not None and area.content_hash == content_hash(
            code, name, kind, EMMA_SOURCE, geometry
        ):
            continue
        if area is None:
            area = Area(code=code, builtin=True)
            session.add(area)
        area.name = name
        area.kind = kind
        area.geometry = geometry
        area.source = EMMA_SOURCE
        area.stamp()
        area.updated_at = clock.now()
        changed += 1
    session.flush()
    return changed


# --- geometry input --------------------------------------------------------


def _polygonal(geometry: BaseGeometry) -> Polygon | MultiPolygon:
    """``geometry`` made valid, keeping only its polygon parts."""
    if not geometry.is_valid:
        geometry = make_valid(geometry)
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    parts: list[Polygon] = []
    for part in getattr(geometry, "geoms", ()):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def parse_cap_polygon(text: str) -> Polygon | MultiPolygon:
    """A CAP 1.2 ``<polygon>`` as a valid shapely geometry in lon/lat order.

    The text is whitespace-separated ``lat,lon`` pairs (WGS 84), the first
    pair repeated at the end; an unclosed ring is closed. A ring that
    crosses itself is repaired (a bow-tie becomes a MultiPolygon of its two
    loops). Raises :class:`AreaError` (field ``polygon``) when a pair is not
    two numbers in range, fewer than three corners remain, or the ring
    encloses no area.
    """
    points: list[tuple[float, float]] = []
    for pair in text.split():
        lat_text, comma, lon_text = pair.partition(",")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            lat = lon = math.nan
        if not comma or not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
            raise AreaError("polygon", _l("%(pair)s is not a latitude,longitude pair.", pair=pair[:40]))
        points.append((lat, lon))
    return polygon_from_points(points)


def polygon_from_points(points: Sequence[tuple[float, float]]) -> Polygon | MultiPolygon:
    """A valid shapely geometry (lon/lat) from a ring of ``(lat, lon)`` points already
    read and checked (a parsed CAP polygon); closed and repaired as
    :func:`parse_cap_polygon` does. Raises :class:`AreaError` for a ring without area."""
    ring = [(lon, lat) for lat, lon in points]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(set(ring)) < 3:
        raise AreaError("polygon", _l("A polygon needs at least three corners."))
    polygon = _polygonal(Polygon(ring))
    if polygon.is_empty or polygon.area == 0:
        raise AreaError("polygon", _l("The outline crosses itself or has no area."))
    return polygon


def geometry_from_geojson(data: dict[str, Any]) -> Polygon | MultiPolygon:
    """A valid outline from a GeoJSON Polygon, MultiPolygon or Feature of one.

    Raises :class:`AreaError` (field ``geometry``) for other types, broken
    coordinates, a self-crossing ring or an outline without area.
    """
    if data.get("type") == "Feature":
        data = data.get("geometry") or {}
    if data.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaError("geometry", _l("Draw a closed outline (a polygon)."))
    try:
        geometry = shape(data)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError):
        raise AreaError("geometry", _l("The outline's coordinates cannot be read.")) from None
    if geometry.is_empty or not geometry.is_valid or geometry.area == 0:
        raise AreaError("geometry", _l("The outline crosses itself or has no area."))
    return geometry


# --- the index ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AreaRef:
    """A known area as plain values, safe to keep after the session closes."""

    id: int
    code: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Overlap:
    """How a polygon overlaps one area."""

    area: AreaRef
    iou: float  # intersection over union of the polygon with the area's outline
    share_of_area: float  # the share of the area's effective shape the polygon covers
    share_of_polygon: float  # the share of the polygon lying in the area's effective shape


Key = tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class _Blueprint:
    """What every thread's index is built from: plain values and WKB."""

    key: Key
    areas: tuple[AreaRef, ...]  # ordered by kind (AREA_KINDS), then code
    outlines: tuple[bytes, ...]
    effective: tuple[bytes | None, ...]  # None: the outline itself
    territory: bytes  # Latvia: the union of regions and sea areas


def _kind_rank(kind: str) -> int:
    return AREA_KINDS.index(kind) if kind in AREA_KINDS else len(AREA_KINDS)


def _build_blueprint(rows: Sequence[Any]) -> _Blueprint:
    rows = sorted(rows, key=lambda row: (_kind_rank(row.kind), row.code))
    refs = tuple(AreaRef(row.id, row.code, row.name, row.kind) for row in rows)
    outlines = [_polygonal(shape(row.geometry)) for row in rows]
    sizes = [outline.area for outline in outlines]
    effective: list[BaseGeometry | None] = [None] * len(rows)
    municipal = [i for i, ref in enumerate(refs) if ref.kind == "municipality"]
    if municipal:
        tree = STRtree([outlines[i] for i in municipal])
        for i in municipal:
            holes = []
            for found in tree.query(outlines[i], predicate="intersects"):
                j = municipal[int(found)]
                if j == i or not sizes[j] or sizes[j] >= sizes[i]:
                    continue
                if outlines[j].intersection(outlines[i]).area / sizes[j] >= ENCLAVE_SHARE:
                    holes.append(outlines[j])
            if holes:
                effective[i] = _polygonal(outlines[i].difference(shapely.union_all(holes)))
    territory = shapely.union_all(
        [outline for outline, ref in zip(outlines, refs, strict=True) if ref.kind in ("region", "sea")]
    )
    return _Blueprint(
        key=tuple(sorted((row.id, row.content_hash) for row in rows)),
        areas=refs,
        outlines=tuple(shapely.to_wkb(outline) for outline in outlines),
        effective=tuple(None if shp is None else shapely.to_wkb(shp) for shp in effective),
        territory=shapely.to_wkb(territory),
    )


class AreaIndex:
    """Prepared shapes of every known area, answering the area questions.

    Use it only in the thread that made it (:func:`area_index`): GEOS
    prepared geometries are not safe to share between threads.
    """

    def __init__(self, blueprint: _Blueprint) -> None:
        self.key = blueprint.key
        self.areas = blueprint.areas
        self._outline = shapely.from_wkb(np.array(blueprint.outlines, dtype=object))
        self._cut = np.array([wkb is not None for wkb in blueprint.effective], dtype=bool)
        self._effective = self._outline.copy()
        for i in np.flatnonzero(self._cut):
            self._effective[i] = shapely.from_wkb(blueprint.effective[i])
        shapely.prepare(self._outline)
        shapely.prepare(self._effective)
        self._outline_area = shapely.area(self._outline)
        self._effective_area = shapely.area(self._effective)
        self._kind = np.array([ref.kind for ref in self.areas], dtype=object)
        self._tree = STRtree(self._outline)
        self._territory = shapely.from_wkb(blueprint.territory)
        shapely.prepare(self._territory)

    def at_point(self, lat: float, lon: float) -> list[AreaRef]:
        """Areas whose effective shape holds the point, widest kind first."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return []
        hits = shapely.intersects_xy(self._effective, lon, lat)
        return [self.areas[i] for i in np.flatnonzero(hits)]

    def _intersections(self, shapes: np.ndarray, polygon: BaseGeometry) -> np.ndarray:
        """Area of ``polygon`` ∩ each of ``shapes`` (prepared), sparing overlays."""
        result = np.zeros(len(shapes))
        inside = shapely.contains_properly(shapes, polygon)
        result[inside] = polygon.area
        crossing = ~inside & shapely.intersects(shapes, polygon)
        if crossing.any():
            result[crossing] = shapely.area(shapely.intersection(shapes[crossing], polygon))
        return result

    def _candidates(self, polygon: BaseGeometry, kinds: Iterable[str] | None) -> np.ndarray:
        """Indexes of the areas whose outline's box meets the polygon's, in order."""
        found = np.sort(self._tree.query(polygon))
        if kinds is not None:
            found = found[np.isin(self._kind[found], list(kinds))]
        return found

    def _measure(self, polygon: BaseGeometry, found: np.ndarray) -> list[Overlap]:
        """Overlaps of a valid polygon with the areas ``found``, best IoU first."""
        if not len(found):
            return []
        size = polygon.area
        on_outline = self._intersections(self._outline[found], polygon)
        on_effective = on_outline.copy()
        cut = self._cut[found]
        if cut.any():
            on_effective[cut] = self._intersections(self._effective[found[cut]], polygon)
        result = []
        for n, i in enumerate(found):
            if on_effective[n] <= 0:
                continue
            union = self._outline_area[i] + size - on_outline[n]
            result.append(Overlap(
                self.areas[i],
                iou=float(min(1.0, on_outline[n] / union)) if union > 0 else 0.0,
                share_of_area=float(min(1.0, on_effective[n] / self._effective_area[i])),
                share_of_polygon=float(min(1.0, on_effective[n] / size)),
            ))
        result.sort(key=lambda overlap: (-overlap.iou, -overlap.share_of_polygon))
        return result

    def overlaps(self, polygon: BaseGeometry, kinds: Iterable[str] | None = None) -> list[Overlap]:
        """Every area whose effective shape the polygon overlaps, best IoU first.

        ``polygon`` is in lon/lat (as from :func:`parse_cap_polygon`); it is
        made valid first. ``kinds`` limits the answer to those area kinds.
        """
        polygon = _polygonal(polygon)
        if polygon.is_empty or polygon.area == 0:
            return []
        return self._measure(polygon, self._candidates(polygon, kinds))

    def in_polygon(
        self, polygon: BaseGeometry, min_share: float = MIN_SHARE, kinds: Iterable[str] | None = None
    ) -> list[AreaRef]:
        """Areas a polygon concerns, widest kind first: those it covers for at
        least ``min_share`` of their effective shape, and those holding at
        least ``min_share`` of the polygon."""
        chosen = {
            overlap.area.id
            for overlap in self.overlaps(polygon, kinds)
            if overlap.share_of_area >= min_share or overlap.share_of_polygon >= min_share
        }
        return [ref for ref in self.areas if ref.id in chosen]

    def identify(
        self, polygon: BaseGeometry, min_iou: float = MIN_IOU, kinds: Iterable[str] | None = None
    ) -> Overlap | None:
        """The known area this polygon *is*: the best intersection over union
        with an outline, if at least ``min_iou``; else None."""
        polygon = _polygonal(polygon)
        size = polygon.area
        if polygon.is_empty or size == 0:
            return None
        found = self._candidates(polygon, kinds)
        # IoU can be no more than smaller / larger area: skip areas too big or too small.
        sizes = self._outline_area[found]
        found = found[np.minimum(sizes, size) >= min_iou * np.maximum(sizes, size)]
        best = self._measure(polygon, found)
        if best and best[0].iou >= min_iou:
            return best[0]
        return None

    def outline_of(self, code: str) -> BaseGeometry | None:
        """The outline of the area with ``code``, or None when it is not known."""
        for i, ref in enumerate(self.areas):
            if ref.code == code:
                return self._outline[i]
        return None

    def share_in_latvia(self, polygon: BaseGeometry) -> float:
        """The share of ``polygon`` lying in Latvia's regions and sea areas."""
        polygon = _polygonal(polygon)
        if polygon.is_empty or polygon.area == 0:
            return 0.0
        if shapely.contains_properly(self._territory, polygon):
            return 1.0
        return float(self._territory.intersection(polygon).area / polygon.area)


_blueprints: dict[Key, _Blueprint] = {}
_blueprint_lock = threading.Lock()
_local = threading.local()
_KEEP_BLUEPRINTS = 4


def _current_key(session: Session) -> Key:
    rows = session.execute(select(Area.id, Area.content_hash).order_by(Area.id))
    return tuple((row.id, row.content_hash) for row in rows)


def area_index(session: Session) -> AreaIndex:
    """The index of all known areas as they are now in the database, for this thread.

    One light query checks that nothing changed; a changed area (by any
    process) rebuilds the index. Keep the result for a batch of questions;
    take a new one for the next batch.
    """
    key = _current_key(session)
    index: AreaIndex | None = getattr(_local, "index", None)
    if index is not None and index.key == key:
        return index
    blueprint = _blueprints.get(key)
    if blueprint is None:
        with _blueprint_lock:
            blueprint = _blueprints.get(key)
            if blueprint is None:
                rows = session.execute(
                    select(Area.id, Area.code, Area.name, Area.kind, Area.geometry, Area.content_hash)
                ).all()
                blueprint = _build_blueprint(rows)
                while len(_blueprints) >= _KEEP_BLUEPRINTS:
                    _blueprints.pop(next(iter(_blueprints)))
                _blueprints[blueprint.key] = blueprint
    index = AreaIndex(blueprint)
    _local.index = index
    return index


# --- questions ---------------------------------------------------------------


def get_area(session: Session, code: str) -> Area | None:
    """The area with this code (any case), or None."""
    return session.scalar(select(Area).where(Area.code == code.strip().upper()))


def list_areas(session: Session, kind: str | None = None) -> list[Area]:
    """All areas (or those of one kind), widest kind first, then by code."""
    query = select(Area)
    if kind:
        query = query.where(Area.kind == kind)
    return sorted(session.scalars(query), key=lambda area: (_kind_rank(area.kind), area.code))


def home_areas(session: Session, settings: Settings) -> list[Area]:
    """The Area rows of ``SARGS_HOME_AREAS``, in the order of the setting.

    Raises :class:`UnknownAreaError` naming every code that is not known.
    """
    codes = [code.strip().upper() for code in settings.home_areas]
    found = {area.code: area for area in session.scalars(select(Area).where(Area.code.in_(codes)))}
    missing = [code for code in codes if code not in found]
    if missing:
        raise UnknownAreaError(missing)
    return [found[code] for code in codes]


def areas_at_point(session: Session, lat: float, lon: float) -> list[AreaRef]:
    """Every area holding the point (WGS 84), widest kind first.

    A point in Jelgava city gives LV003 (Zemgale) and LV022, never LV023; a
    point in a neighbourhood adds the neighbourhood. A point on a border
    belongs to both sides; a point outside every area gives [].
    """
    return area_index(session).at_point(lat, lon)


def overlaps(
    session: Session, polygon: BaseGeometry, kinds: Iterable[str] | None = None
) -> list[Overlap]:
    """How the polygon (lon/lat) overlaps each area it touches, best IoU first.

    See :class:`Overlap` for the three measures. Areas whose effective shape
    the polygon does not reach are left out.
    """
    return area_index(session).overlaps(polygon, kinds)


def areas_in_polygon(
    session: Session,
    polygon: BaseGeometry,
    min_share: float = MIN_SHARE,
    kinds: Iterable[str] | None = None,
) -> list[AreaRef]:
    """The areas a polygon concerns, widest kind first.

    An area counts when the polygon covers at least ``min_share`` of its
    effective shape (a warning over most of a municipality), or when at
    least ``min_share`` of the polygon lies in it (a small polygon inside the
    city is in LV022 and LV003). Use it for a polygon :func:`identify` did
    not match.
    """
    return area_index(session).in_polygon(polygon, min_share, kinds)


def identify(
    session: Session,
    polygon: BaseGeometry,
    min_iou: float = MIN_IOU,
    kinds: Iterable[str] | None = None,
) -> Overlap | None:
    """The known area this polygon *is*, or None.

    The area whose outline has the best intersection over union with the
    polygon, if that is at least ``min_iou``. An LVĢMC polygon of Jelgava
    city is LV022 (IoU near 1) even though LV023's outline, which surrounds
    the city, covers it too (IoU about 0.04). A small polygon inside an area
    is not that area: it gives None.
    """
    return area_index(session).identify(polygon, min_iou, kinds)


# --- neighbourhoods ------------------------------------------------------------


def create_neighbourhood(session: Session, code: str, name: str, geojson: dict[str, Any]) -> Area:
    """Add a neighbourhood drawn by an admin; return the new row (flushed).

    Raises :class:`AreaError` naming the field: ``code`` (format, reserved
    for shipped areas, already used), ``name`` (empty), ``geometry`` (not a
    valid polygon, or not in Latvia).
    """
    code = code.strip().upper()
    name = name.strip()
    if not NEIGHBOURHOOD_CODE.match(code):
        raise AreaError("code", _l("Use 2 to 32 letters, digits, - or _."))
    if EMMA_CODE.match(code):
        raise AreaError("code", _l("Codes like LV022 are reserved for Meteoalarm areas."))
    if get_area(session, code):
        raise AreaError("code", _l("An area with this code already exists."))
    if not name:
        raise AreaError("name", _l("This field is required."))
    geometry = geometry_from_geojson(geojson)
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    lo_lon, lo_lat, hi_lon, hi_lat = LATVIA_BOUNDS
    outside_box = min_lon < lo_lon or max_lon > hi_lon or min_lat < lo_lat or max_lat > hi_lat
    if outside_box or area_index(session).share_in_latvia(geometry) < TERRITORY_SHARE:
        raise AreaError("geometry", _l("The outline lies outside Latvia."))
    plain = json.loads(json.dumps(mapping(geometry)))  # tuples to lists, as stored
    area = Area(
        code=code, name=name, kind="neighbourhood", builtin=False, geometry=plain,
        source="", updated_at=clock.now(),
    )
    area.stamp()
    session.add(area)
    session.flush()
    return area


def delete_neighbourhood(session: Session, area: Area) -> None:
    """Delete a neighbourhood; shipped areas raise :class:`AreaError`."""
    if area.builtin:
        raise AreaError("code", _l("Shipped areas cannot be deleted."))
    session.delete(area)
    session.flush()


def as_feature_collection(areas: Iterable[Area], home: Iterable[str] = ()) -> dict[str, Any]:
    """Areas as a GeoJSON FeatureCollection; ``home`` codes are flagged."""
    home_codes = set(home)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": area.geometry,
                "properties": {
                    "code": area.code, "name": area.name, "kind": area.kind,
                    "home": area.code in home_codes,
                },
            }
            for area in areas
        ],
    }
