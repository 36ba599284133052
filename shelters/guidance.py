"""One line of "nearest open shelter" guidance for an alert's text.

"Tuvākās atvērtās patvertnes: X (Y iela 1, 120 brīvas vietas), …; karte: <url>" —
the shelters open in a real activation with free places, nearest first to a point,
or, for an alert over areas, those inside the areas with the most free places
first; None when nothing is open, so the alert says nothing of shelters. It reads
what the public map shows (exercise openings never appear) and names the public
map page, so a resident reading the alert finds the same places there.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from sargs.areas.service import areas_at_point
from sargs.shelters import service

MAP_PATH = "/public/shelters"
SHOWN = 3
LANGUAGES = ("lv", "en")
HEAD = {"lv": {"point": "Tuvākās atvērtās patvertnes", "areas": "Atvērtās patvertnes"},
        "en": {"point": "Nearest open shelters", "areas": "Open shelters"}}
FREE = {"lv": "{n} brīvas vietas", "en": "{n} free places"}
MAP = {"lv": "karte", "en": "map"}


def _entry(name: str, address: str, free: int, language: str) -> str:
    return f"{name} ({address}, {FREE[language].format(n=free)})"


def _open_in_areas(session: Session, codes: Sequence[str]) -> list[tuple[str, str, int]]:
    """(name, address, free places) of the open places with room inside the areas."""
    wanted = set(codes)
    rows = [row for row in service.public_shelters(session)
            if row["open"] and row["free_places"]]
    inside = [row for row in rows if wanted & {
        ref.code for ref in areas_at_point(session, row["lat"], row["lon"])}]
    inside.sort(key=lambda row: (-row["free_places"], row["name"]))
    return [(row["name"], row["address"], row["free_places"]) for row in inside[:SHOWN]]


def nearest_open_guidance(session: Session, language: str,
                          where: Sequence[str] | tuple[float, float], *,
                          base_url: str = "") -> str | None:
    """The guidance line in ``language`` for ``where`` — home area codes, or a
    (lat, lon) point; ``base_url`` makes the map link absolute."""
    language = language if language in LANGUAGES else "lv"
    if isinstance(where, tuple) and len(where) == 2 and not isinstance(where[0], str):
        found, any_open = service.nearest(session, float(where[0]), float(where[1]), SHOWN)
        if not any_open:
            return None
        places = [(near.shelter.name, near.shelter.address, service.free_places(near.shelter))
                  for near in found]
        head = HEAD[language]["point"]
    else:
        places = _open_in_areas(session, [str(code) for code in where])
        head = HEAD[language]["areas"]
    if not places:
        return None
    listed = ", ".join(_entry(name, address, free, language) for name, address, free in places)
    return f"{head}: {listed}; {MAP[language]}: {base_url.rstrip('/')}{MAP_PATH}"


def shelter_hint(session: Session, codes: Sequence[str], *,
                 base_url: str = "") -> dict[str, str] | None:
    """Language → guidance for an alert over the areas ``codes``; None when nothing is
    open there (the form :func:`sargs.warnings.alert_texts.warning_texts` takes)."""
    hint = {language: nearest_open_guidance(session, language, list(codes), base_url=base_url)
            for language in LANGUAGES}
    return {k: v for k, v in hint.items() if v} or None
