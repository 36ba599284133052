"""The situation report's map and charts as plain SVG shapes.

WeasyPrint runs no JavaScript, so the report cannot use the Leaflet map: it draws the map
itself. An equirectangular projection around the middle of what is shown is exact enough
for a city and its surroundings (Jelgava spans a few kilometres), and keeps this module
free of any GIS dependency. The functions return numbers for the templates to draw;
nothing here knows about the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

LonLat = tuple[float, float]
WIDTH = 640
HEIGHT = 440
PADDING = 12
# Shelter circles: radius for an empty and for a full shelter (pixels).
SHELTER_MIN_R = 4.0
SHELTER_MAX_R = 14.0


def rings(geometry: dict[str, Any] | None) -> list[list[LonLat]]:
    """Every ring (outer and holes) of a GeoJSON Polygon, MultiPolygon or collection."""
    if not geometry:
        return []
    kind = geometry.get("type")
    if kind == "Polygon":
        return [[(float(x), float(y)) for x, y, *_ in ring] for ring in geometry["coordinates"]]
    if kind == "MultiPolygon":
        return [[(float(x), float(y)) for x, y, *_ in ring]
                for polygon in geometry["coordinates"] for ring in polygon]
    if kind == "GeometryCollection":
        return [ring for part in geometry.get("geometries", []) for ring in rings(part)]
    if kind == "Feature":
        return rings(geometry.get("geometry"))
    return []


@dataclass(frozen=True)
class Frame:
    """Lon/lat → SVG pixels for a bounding box, north up, the box fitted to the canvas."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    width: int = WIDTH
    height: int = HEIGHT

    @classmethod
    def around(cls, points: Iterable[LonLat], width: int = WIDTH, height: int = HEIGHT,
               margin: float = 0.05) -> Frame:
        """The box of ``points`` with a margin (a share of its size on each side)."""
        listed = list(points)
        if not listed:
            raise ValueError("a map needs at least one point")
        lons = [p[0] for p in listed]
        lats = [p[1] for p in listed]
        d_lon = (max(lons) - min(lons)) or 0.02
        d_lat = (max(lats) - min(lats)) or 0.01
        return cls(min(lons) - d_lon * margin, min(lats) - d_lat * margin,
                   max(lons) + d_lon * margin, max(lats) + d_lat * margin, width, height)

    @property
    def _shrink(self) -> float:
        # A degree of longitude is cos(latitude) as long as a degree of latitude.
        return math.cos(math.radians((self.min_lat + self.max_lat) / 2))

    @property
    def _scale(self) -> float:
        span_x = (self.max_lon - self.min_lon) * self._shrink
        span_y = self.max_lat - self.min_lat
        return min((self.width - 2 * PADDING) / span_x, (self.height - 2 * PADDING) / span_y)

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        scale = self._scale
        used_x = (self.max_lon - self.min_lon) * self._shrink * scale
        used_y = (self.max_lat - self.min_lat) * scale
        x = (self.width - used_x) / 2 + (lon - self.min_lon) * self._shrink * scale
        y = (self.height - used_y) / 2 + (self.max_lat - lat) * scale
        return round(x, 1), round(y, 1)

    def path(self, geometry: dict[str, Any] | None) -> str:
        """The geometry as an SVG path (even-odd fill keeps holes open)."""
        parts = []
        for ring in rings(geometry):
            points = [self.point(lon, lat) for lon, lat in ring]
            if len(points) >= 3:
                parts.append("M" + " L".join(f"{x},{y}" for x, y in points) + " Z")
        return " ".join(parts)


@dataclass(frozen=True)
class HomeArea:
    path: str
    label: str


@dataclass(frozen=True)
class WarningArea:
    path: str
    level: str
    label: str


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float
    label: str
    share: float  # occupancy / capacity, 0..1 (more when over capacity)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass
class Drawing:
    width: int
    height: int
    home: list[HomeArea] = field(default_factory=list)
    warnings: list[WarningArea] = field(default_factory=list)
    shelters: list[Circle] = field(default_factory=list)
    reports: list[Dot] = field(default_factory=list)


@dataclass(frozen=True)
class ShelterMark:
    lon: float
    lat: float
    label: str
    occupancy: int
    capacity: int


@dataclass(frozen=True)
class ReportMark:
    lon: float
    lat: float
    label: str


def shelter_radius(occupancy: int, capacity: int) -> float:
    """Bigger as the shelter fills: the area of the circle grows with its occupancy."""
    share = min(max(occupancy, 0) / capacity, 1.0) if capacity > 0 else 0.0
    return round(SHELTER_MIN_R + (SHELTER_MAX_R - SHELTER_MIN_R) * math.sqrt(share), 1)


def draw_map(home: Sequence[tuple[dict[str, Any], str]],
             warnings: Sequence[tuple[dict[str, Any], str, str]],
             shelters: Sequence[ShelterMark], reports: Sequence[ReportMark],
             width: int = WIDTH, height: int = HEIGHT) -> Drawing | None:
    """The map framed on the home areas (geometry, name); warnings (geometry, level,
    label) reaching beyond them are cut off by the canvas. Without home areas it frames
    the shelters and reports; with nothing to frame, None."""
    points = [p for geometry, _ in home for ring in rings(geometry) for p in ring]
    if not points:
        points = [(m.lon, m.lat) for m in (*shelters, *reports)]
    if not points:
        return None
    frame = Frame.around(points, width, height)
    drawing = Drawing(width, height)
    drawing.home = [HomeArea(frame.path(geometry), name) for geometry, name in home]
    drawing.warnings = [WarningArea(frame.path(geometry), level, label)
                        for geometry, level, label in warnings if rings(geometry)]
    for mark in shelters:
        x, y = frame.point(mark.lon, mark.lat)
        share = mark.occupancy / mark.capacity if mark.capacity > 0 else 0.0
        drawing.shelters.append(Circle(x, y, shelter_radius(mark.occupancy, mark.capacity),
                                       mark.label, round(share, 3)))
    for mark in reports:
        x, y = frame.point(mark.lon, mark.lat)
        drawing.reports.append(Dot(x, y, mark.label))
    return drawing


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    total: float  # what the value is a part of (0: no total, the bar is scaled to the longest)
    y: float
    width: float


def bars(rows: Sequence[tuple[str, float, float]], width: float = 300,
         row_height: float = 22) -> list[Bar]:
    """Horizontal bars for (label, value, total) rows: a bar's length is value / total of
    ``width`` when a total is given, else value relative to the largest value."""
    largest = max((value for _, value, _ in rows), default=0) or 1
    found = []
    for n, (label, value, total) in enumerate(rows):
        share = value / total if total else value / largest
        found.append(Bar(label, value, total, round(4 + n * row_height, 1),
                         round(width * min(max(share, 0.0), 1.0), 1)))
    return found
