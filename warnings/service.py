"""Warnings: CAP documents reconciled into one current state per warning.

Every version is kept (raw bytes included) and chained by ``references`` —
LVĢMC's Updates reference only the version before, so the chain is followed
one link at a time. The newest version (by ``sent``) sets the warning's state:
``active``; ``ended`` by a Cancel, an Update with responseType AllClear, a
downgrade to green, or (LVĢMC's list) by leaving the list of warnings in force;
``expired`` once ``expires`` passed. Expiry is a state, never a deletion.

Where a warning applies is decided by shape, not by name: each polygon is the
known area it overlaps best (intersection over union), so LVĢMC's outline of
Jelgava municipality (LV023, which surrounds the city) is never taken for the
city (LV022). A polygon that matches no area affects a home area when it
covers a substantial part of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas import service as areas
from sargs.warnings.cap import LEVEL_COLOURS, Area, CapDocument, Info
from sargs.warnings.cap_out import LANGUAGES as CAP_LANGUAGES
from sargs.warnings.cap_out import SourceDetails
from sargs.warnings.models import (
    RejectedDocument,
    WarningVersion,
    WeatherWarning,
)

# CAP severity stands in for the awareness level only when the member sent none
# (Meteoalarm's rule: the level parameter first, the Atom title's colour next).
SEVERITY_LEVELS = {"Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}
LEVEL_RANK = {"yellow": 2, "orange": 3, "red": 4}
# An unidentified polygon affects a home area when it covers this share of it.
HOME_SHARE = 0.25


@dataclass(frozen=True)
class Outcome:
    """What one document did: ``new`` / ``updated`` / ``ended`` / ``unchanged``."""

    result: str
    warning: WeatherWarning | None = None
    version: WarningVersion | None = None
    previous_level: str | None = None
    previous_state: str | None = None
    superseded: bool = False  # an older version arrived late: stored, state untouched


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reject(session: Session, source_url: str, reason: str, *, data: bytes | None = None,
           identifier: str | None = None) -> None:
    session.add(RejectedDocument(
        source_url=source_url[:500], identifier=identifier, reason=reason[:300],
        size=len(data) if data is not None else None,
        sha256=digest(data) if data is not None else None, received_at=clock.now(),
    ))


# --- reading one document -------------------------------------------------------------


def level_of(info: Info) -> int | None:
    if info.awareness_level is not None:
        return info.awareness_level
    return SEVERITY_LEVELS.get(info.severity)


def short_language(tag: str) -> str:
    """"en-GB" → "en", "lv" → "lv": alerts and pages speak of languages, not locales."""
    return tag.split("-", 1)[0].lower()


def _texts(doc: CapDocument) -> dict[str, dict[str, Any]]:
    texts: dict[str, dict[str, Any]] = {}
    for info in doc.infos:
        language = short_language(info.language)
        if language in texts:
            continue  # the first block of a language wins (en-GB before en-US)
        texts[language] = {
            "event": info.event, "headline": info.headline, "description": info.description,
            "instruction": info.instruction,
            "area_desc": ", ".join(area.area_desc for area in info.areas),
        }
    return texts


@dataclass(frozen=True)
class Place:
    """Where a document applies, as Sargs' areas see it."""

    areas: list[str]  # identified area codes
    home: list[str]  # the home areas it affects
    geometry: dict[str, Any] | None  # the CAP polygons as GeoJSON (lon/lat)


def _region_covers(index: areas.AreaIndex, region_code: str, home_code: str) -> bool:
    """A region-wide warning (Zemgale, LV003) covers the home areas lying in it."""
    if not any(ref.code == region_code and ref.kind == "region" for ref in index.areas):
        return False
    region, home = index.outline_of(region_code), index.outline_of(home_code)
    if region is None or home is None or home.area == 0:
        return False
    return region.intersection(home).area >= 0.5 * home.area


def place_of(session: Session, info: Info, home_codes: list[str],
             index: areas.AreaIndex | None = None) -> Place:
    index = index or areas.area_index(session)
    known = {ref.code for ref in index.areas}
    home = set(home_codes)
    identified: list[str] = []
    affected: set[str] = set()
    rings: list[list[list[list[float]]]] = []
    for area in info.areas:
        for name, value in area.geocodes:
            code = value.strip().upper()
            if name.upper() == "EMMA_ID" and code in known:
                identified.append(code)
        for ring in area.polygons:
            rings.append([[[lon, lat] for lat, lon in ring]])
            polygon = areas.polygon_from_points(ring)
            match = index.identify(polygon)
            if match is not None:
                identified.append(match.area.code)
                continue
            for overlap in index.overlaps(polygon):
                if overlap.area.code in home and (
                        overlap.share_of_area >= HOME_SHARE or overlap.share_of_polygon >= 0.5):
                    affected.add(overlap.area.code)
    for code in identified:
        if code in home:
            affected.add(code)
        affected.update(h for h in home if _region_covers(index, code, h))
    geometry = {"type": "MultiPolygon", "coordinates": rings} if rings else None
    return Place(list(dict.fromkeys(identified)), sorted(affected), geometry)


# --- reconciling ----------------------------------------------------------------------


def _warning_of(session: Session, doc: CapDocument) -> WeatherWarning | None:
    """The warning a document continues: the first referenced version we hold."""
    for ref in reversed(doc.references):
        version = session.scalar(
            select(WarningVersion).where(WarningVersion.identifier == ref.identifier))
        if version is not None:
            return version.warning
    return None


def _state_of(doc: CapDocument, info: Info, level: int | None) -> tuple[str, str | None]:
    if doc.msg_type == "Cancel":
        return "ended", "cancel"
    if "AllClear" in info.response_types or level == 1:
        return "ended", "all_clear"
    if info.expires <= clock.now():
        return "expired", None
    return "active", None


def _main_info(doc: CapDocument) -> Info | None:
    """The English block (levels and times are the same in every language), else the first."""
    for info in doc.infos:
        if short_language(info.language) == "en":
            return info
    return doc.infos[0] if doc.infos else None


def _version(doc: CapDocument, info: Info | None, raw: bytes | None, document_url: str,
             incomplete: bool) -> WarningVersion:
    level_code = level_of(info) if info is not None else None
    return WarningVersion(
        identifier=doc.identifier, sender=doc.sender, sent=doc.sent, msg_type=doc.msg_type,
        status=doc.status, scope=doc.scope,
        references=" ".join(f"{r.sender},{r.identifier},{r.sent.isoformat()}"
                            for r in doc.references),
        response_type=info.response_type if info is not None else None,
        level=LEVEL_COLOURS.get(level_code) if level_code else None,
        expires=info.expires if info is not None else doc.sent,
        incomplete=incomplete, raw=raw, raw_sha256=digest(raw) if raw is not None else None,
        source_url=document_url[:500], received_at=clock.now(),
    )


def record(session: Session, doc: CapDocument, raw: bytes | None, *, source_url: str,
           home_codes: list[str], document_url: str | None = None, incomplete: bool = False,
           activation_id: int | None = None, index: areas.AreaIndex | None = None) -> Outcome:
    """Store one parsed document and bring its warning's current state up to date.

    ``source_url`` is the feed that named the document, ``document_url`` where the
    document itself came from; ``index`` (:func:`sargs.areas.service.area_index`) may be
    taken once for a batch of documents. The caller wraps the call in a savepoint: a document
    that fails here leaves nothing behind.
    """
    info = _main_info(doc)
    document_url = document_url or source_url
    existing = session.scalar(
        select(WarningVersion).where(WarningVersion.identifier == doc.identifier))
    if existing is not None:
        if not (existing.incomplete and not incomplete):
            return Outcome("unchanged", existing.warning, existing)
        # The full document of a version first raised from the Atom entry alone: the
        # version is completed in place (notices point at it), the warning refreshed.
        complete = _version(doc, info, raw, document_url, False)
        for column in ("sender", "references", "response_type", "level", "expires", "raw",
                       "raw_sha256", "source_url", "incomplete"):
            setattr(existing, column, getattr(complete, column))
        warning = existing.warning
        previous = (warning.level, warning.state)
        if warning.current_identifier == doc.identifier and info is not None:
            _apply(session, warning, doc, info, home_codes, source_url, False, index)
        session.flush()
        return Outcome("updated", warning, existing, *previous)
    warning = _warning_of(session, doc)
    if info is None:  # a Cancel without <info>
        if warning is None:
            return Outcome("unchanged")
        return _end(session, warning, doc, raw, document_url, incomplete, "cancel")
    level_code = level_of(info)
    if warning is None and (level_code is None or level_code < 2):
        return Outcome("unchanged")  # green or unknown: not a warning, nothing to follow
    version = _version(doc, info, raw, document_url, incomplete)
    is_new = warning is None
    if warning is None:
        now = clock.now()
        warning = WeatherWarning(identifier=doc.identifier, sender=doc.sender,
                                 first_sent=doc.sent, activation_id=activation_id,
                                 created_at=now, absent_polls=0)
        session.add(warning)
    previous_level = None if is_new else warning.level
    previous_state = None if is_new else warning.state
    version.warning = warning
    session.add(version)
    if not is_new and doc.sent < warning.sent:
        session.flush()
        return Outcome("updated", warning, version, previous_level, previous_state,
                       superseded=True)
    _apply(session, warning, doc, info, home_codes, source_url, incomplete, index)
    session.flush()
    if is_new:
        result = "new"
    elif warning.state == "ended" and previous_state != "ended":
        result = "ended"
    else:
        result = "updated"
    return Outcome(result, warning, version, previous_level, previous_state)


def _apply(session: Session, warning: WeatherWarning, doc: CapDocument, info: Info,
           home_codes: list[str], source_url: str, incomplete: bool,
           index: areas.AreaIndex | None = None) -> None:
    """The warning's current state from its newest version."""
    level_code = level_of(info)
    state, reason = _state_of(doc, info, level_code)
    with session.no_autoflush:  # the warning is not whole yet
        place = place_of(session, info, home_codes, index)
    now = clock.now()
    warning.current_identifier = doc.identifier
    warning.cap_status, warning.scope, warning.sent = doc.status, doc.scope, doc.sent
    if level_code is not None and level_code >= 2:
        warning.level = LEVEL_COLOURS[level_code]
    warning.awareness_type, warning.type_name = info.awareness_type, info.awareness_type_name
    warning.onset, warning.expires = info.onset or info.effective, info.expires
    warning.texts = _texts(doc)
    warning.areas, warning.home_areas = place.areas, place.home
    warning.affects_home = bool(place.home)
    warning.geometry = place.geometry
    warning.incomplete = incomplete
    warning.source_url = source_url[:500]
    warning.state, warning.end_reason = state, reason
    warning.ended_at = now if state == "ended" else None
    warning.absent_polls = 0
    warning.updated_at = now


def _end(session: Session, warning: WeatherWarning, doc: CapDocument, raw: bytes | None,
         document_url: str, incomplete: bool, reason: str) -> Outcome:
    version = _version(doc, None, raw, document_url, incomplete)
    version.expires = warning.expires
    version.warning = warning
    session.add(version)
    previous_state = warning.state
    now = clock.now()
    warning.current_identifier = doc.identifier
    warning.state, warning.end_reason, warning.ended_at = "ended", reason, now
    warning.updated_at = now
    session.flush()
    return Outcome("ended" if previous_state != "ended" else "unchanged", warning, version,
                   warning.level, previous_state)


def end_unlisted(session: Session, source_url: str, listed_urls: set[str], polls: int) -> list[
        WeatherWarning]:
    """After a good poll of LVĢMC's list: warnings it no longer names, ``polls`` times
    in a row, have ended. Returns the warnings that ended now."""
    ended = []
    for warning in session.scalars(select(WeatherWarning).where(
            WeatherWarning.source_url == source_url[:500], WeatherWarning.state == "active")):
        if {v.source_url for v in warning.versions} & listed_urls:
            warning.absent_polls = 0
            continue
        warning.absent_polls += 1
        if warning.absent_polls >= polls:
            warning.state, warning.end_reason, warning.ended_at = "ended", "left_list", clock.now()
            warning.updated_at = clock.now()
            ended.append(warning)
    session.flush()
    return ended


def expire_due(session: Session) -> list[WeatherWarning]:
    """Active warnings whose ``expires`` passed become ``expired``."""
    now = clock.now()
    due = list(session.scalars(select(WeatherWarning).where(
        WeatherWarning.state == "active", WeatherWarning.expires <= now)))
    for warning in due:
        warning.state, warning.updated_at = "expired", now
    session.flush()
    return due


# --- reading ------------------------------------------------------------------------


def list_warnings(session: Session, state: str = "active", *, include_exercise: bool = False,
                  limit: int | None = None) -> list[WeatherWarning]:
    query = select(WeatherWarning).order_by(WeatherWarning.sent.desc())
    if state != "all":
        query = query.where(WeatherWarning.state == state)
    if not include_exercise:
        query = query.where(WeatherWarning.activation_id.is_(None))
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_warning(session: Session, warning_id: int) -> WeatherWarning | None:
    return session.get(WeatherWarning, warning_id)


def as_json(warning: WeatherWarning, zone: Any) -> dict[str, Any]:
    """The stable object of ``sargs warnings list --json`` and ``/api/v1/warnings``."""
    def when(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value is not None else None

    texts = warning.texts or {}
    return {
        "id": warning.id,
        "identifier": warning.identifier,
        "current_identifier": warning.current_identifier,
        "sender": warning.sender,
        "level": warning.level,
        "type": warning.type_name,
        "state": warning.state,
        "end_reason": warning.end_reason,
        "status": warning.cap_status,
        "sent": when(warning.sent),
        "onset": when(warning.onset),
        "expires": when(warning.expires),
        "affects_home": warning.affects_home,
        "home_areas": list(warning.home_areas or []),
        "areas": list(warning.areas or []),
        "headline_lv": _headline(texts.get("lv")),
        "headline_en": _headline(texts.get("en")),
        "incomplete": warning.incomplete,
        "versions": len(warning.versions),
    }


def warning_of_alert(session: Session, alert: Any) -> WeatherWarning | None:
    """The warning an alert was made from (``source_ref`` "warning:<id>"), if any."""
    kind, _, ref = (alert.source_ref or "").partition(":")
    if alert.source != "warning" or kind != "warning" or not ref.isdigit():
        return None
    return session.get(WeatherWarning, int(ref))


def cap_details(session: Session, alert: Any) -> SourceDetails | None:
    """What the source warning adds to the alert's own CAP message: LVĢMC's event names,
    the onset, the awareness type and the warning's polygons as received."""
    warning = warning_of_alert(session, alert)
    if warning is None:
        return None
    texts = warning.texts or {}
    events = {CAP_LANGUAGES.get(language, language): text["event"]
              for language, text in texts.items() if text.get("event")}
    polygons = tuple(
        tuple((lat, lon) for lon, lat in polygon[0])
        for polygon in (warning.geometry or {}).get("coordinates", [])
    )
    area_desc = (texts.get("en") or texts.get("lv") or {}).get("area_desc") or warning.identifier
    areas = (Area(area_desc=area_desc, polygons=polygons, geocodes=()),) if polygons else ()
    awareness = (f"{warning.awareness_type}; {warning.type_name}"
                 if warning.awareness_type is not None and warning.type_name else None)
    return SourceDetails(events=events, onset=warning.onset, awareness_type=awareness,
                         areas=areas)


def _headline(text: dict[str, Any] | None) -> str | None:
    if not text:
        return None
    return text.get("headline") or text.get("event")
