"""CAP 1.2 documents (LVĢMC via Meteoalarm, or any member) read into immutable records.

Feeds are untrusted: the size is checked before a byte is parsed, and defusedxml refuses
DTDs, entity declarations and external references outright, so billion-laughs, quadratic
blow-up and XXE documents never expand. Any broken rule rejects the whole document with
`CapRejected(reason)` — a half-read warning is worse than a reported rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as safe_xml

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_Q = "{" + CAP_NS + "}"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")

# Meteoalarm's awareness_level numbers; 1 (green) means "no warning" and is kept so the
# ingester can drop it knowingly rather than mistake it for unknown.
LEVEL_COLOURS = {1: "green", 2: "yellow", 3: "orange", 4: "red"}
# Meteoalarm's awareness_type numbers (11 is reserved). Members spell the labels
# differently ("Snow-Ice", "coastalevent"), so only the number is trusted.
TYPE_CODES = {
    1: "wind", 2: "snow-ice", 3: "thunderstorm", 4: "fog", 5: "high-temperature",
    6: "low-temperature", 7: "coastal-event", 8: "forest-fire", 9: "avalanches",
    10: "rain", 12: "flooding", 13: "rain-flood",
}


class CapRejected(ValueError):
    """The document is refused as a whole; `reason` is short, specific English."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Area:
    area_desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...]  # rings of (lat, lon), closed
    geocodes: tuple[tuple[str, str], ...]  # (valueName, value), e.g. ("EMMA_ID", "LV801")


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: tuple[str, ...]
    effective: datetime | None
    onset: datetime | None
    expires: datetime
    sender_name: str | None
    headline: str | None
    description: str | None
    instruction: str | None
    web: str | None
    contact: str | None
    awareness_level: int | None  # 1..4, None when the member sent no awareness_level
    awareness_colour: str | None  # green / yellow / orange / red
    awareness_type: int | None  # the code as sent, also when not in TYPE_CODES
    awareness_type_name: str | None  # TYPE_CODES name, None for an unknown code
    parameters: tuple[tuple[str, str], ...]
    areas: tuple[Area, ...]

    @property
    def category(self) -> str:
        return self.categories[0]

    @property
    def response_type(self) -> str | None:
        return self.response_types[0] if self.response_types else None


@dataclass(frozen=True)
class CapDocument:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[Reference, ...]
    infos: tuple[Info, ...]


def parse(data: bytes, *, max_bytes: int = 2_000_000) -> CapDocument:
    # Size first: an oversize body is refused before the parser sees it.
    if len(data) > max_bytes:
        raise CapRejected(f"document larger than {max_bytes} bytes")
    root = xml_root(data)
    if root.tag != _Q + "alert":
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else "none"
        raise CapRejected(f"not a CAP 1.2 document (namespace {ns}, root {root.tag.split('}')[-1]})")
    msg_type = _enum(root, "msgType", MSG_TYPES, "alert")
    infos = tuple(_info(el, n) for n, el in enumerate(root.findall(_Q + "info"), 1))
    # A Cancel/Ack/Error may legitimately carry no <info>; an Alert or Update without one
    # says nothing a resident could be told.
    if not infos and msg_type in ("Alert", "Update"):
        raise CapRejected(f"no <info> in a {msg_type} message")
    return CapDocument(
        identifier=_required(root, "identifier", "alert"),
        sender=_required(root, "sender", "alert"),
        sent=_time(_required(root, "sent", "alert"), "sent"),
        status=_enum(root, "status", STATUSES, "alert"),
        msg_type=msg_type,
        scope=_enum(root, "scope", SCOPES, "alert"),
        references=_references(_optional(root, "references")),
        infos=infos,
    )


def info_for_language(doc: CapDocument, language: str = "lv") -> Info | None:
    """The info block to show: the wanted language, else English (en-GB first), else the first."""
    def lang(info: Info) -> str:
        return info.language.lower()

    wanted = language.lower()
    for match in (
        lambda i: lang(i) == wanted or lang(i).startswith(wanted + "-"),
        lambda i: lang(i) == "en-gb",
        lambda i: lang(i) == "en" or lang(i).startswith("en-"),
    ):
        for info in doc.infos:
            if match(info):
                return info
    return doc.infos[0] if doc.infos else None


def xml_root(data: bytes) -> Element:
    """The root of untrusted XML, read the one safe way (the feed readers use it too);
    refused with :class:`CapRejected` when it is not well-formed or declares anything."""
    try:
        return safe_xml.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise CapRejected("DTD is not allowed") from None
    except EntitiesForbidden:
        raise CapRejected("entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise CapRejected("external references are not allowed") from None
    except ParseError as exc:
        raise CapRejected(f"not well-formed XML: {exc}") from None


def _optional(parent: Element, name: str) -> str | None:
    el = parent.find(_Q + name)
    text = (el.text or "").strip() if el is not None else ""
    return text or None  # an empty <instruction/> is the same as none


def _required(parent: Element, name: str, where: str) -> str:
    text = _optional(parent, name)
    if text is None:
        raise CapRejected(f"missing <{name}> in {where}")
    return text


def _all(parent: Element, name: str) -> tuple[str, ...]:
    return tuple(t for el in parent.findall(_Q + name) if (t := (el.text or "").strip()))


def _enum(parent: Element, name: str, allowed: tuple[str, ...], where: str) -> str:
    value = _required(parent, name, where)
    if value not in allowed:
        raise CapRejected(f"unknown <{name}> '{value}' in {where}")
    return value


def _time(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CapRejected(f"not a date-time: {field} '{text}'") from None
    # A bare local time is ambiguous around DST changes and across members' zones.
    if value.tzinfo is None:
        raise CapRejected(f"time without an offset: {field}")
    return value


def _references(text: str | None) -> tuple[Reference, ...]:
    refs = []
    for triple in (text or "").split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapRejected(f"reference is not sender,identifier,sent: '{triple}'")
        refs.append(Reference(parts[0], parts[1], _time(parts[2], "sent in references")))
    return tuple(refs)


def _info(el: Element, n: int) -> Info:
    where = f"info {n}"

    def time(name: str, required: bool = False) -> datetime | None:
        text = _required(el, name, where) if required else _optional(el, name)
        return _time(text, f"{name} in {where}") if text is not None else None

    categories = _all(el, "category")
    if not categories:
        raise CapRejected(f"missing <category> in {where}")
    params = tuple(
        (_required(p, "valueName", f"parameter of {where}"), _optional(p, "value") or "")
        for p in el.findall(_Q + "parameter")
    )
    level, colour = awareness_level_of(dict(params).get("awareness_level"), where)
    type_code = leading_number(dict(params).get("awareness_type"), "awareness_type", where)
    return Info(
        language=_optional(el, "language") or "en-US",  # CAP 1.2's stated default
        categories=categories,
        event=_required(el, "event", where),
        urgency=_required(el, "urgency", where),
        severity=_required(el, "severity", where),
        certainty=_required(el, "certainty", where),
        response_types=_all(el, "responseType"),
        effective=time("effective"),
        onset=time("onset"),
        # CAP makes expires optional, but a warning without an end would never expire here.
        expires=time("expires", required=True),
        sender_name=_optional(el, "senderName"),
        headline=_optional(el, "headline"),
        description=_optional(el, "description"),
        instruction=_optional(el, "instruction"),
        web=_optional(el, "web"),
        contact=_optional(el, "contact"),
        awareness_level=level,
        awareness_colour=colour,
        awareness_type=type_code,
        awareness_type_name=TYPE_CODES.get(type_code) if type_code is not None else None,
        parameters=params,
        areas=tuple(_area(a, f"{where} area {k}") for k, a in enumerate(el.findall(_Q + "area"), 1)),
    )


def leading_number(value: str | None, name: str, where: str) -> int | None:
    """The number an awareness parameter starts with: "2; yellow; Moderate" → 2,
    "1; Wind" → 1 (members spell the rest differently; only the number is stable)."""
    if value is None:
        return None
    head = value.split(";", 1)[0].strip()
    if not head.isdigit():
        raise CapRejected(f"{name} '{value}' does not start with a number in {where}")
    return int(head)


def awareness_level_of(value: str | None, where: str) -> tuple[int | None, str | None]:
    """The awareness_level parameter as (number, colour); unknown numbers are refused."""
    level = leading_number(value, "awareness_level", where)
    if level is None:
        return None, None
    # 0/white means "no data" on Meteoalarm; guessing a colour could under-warn.
    if level not in LEVEL_COLOURS:
        raise CapRejected(f"unknown awareness_level '{value}' in {where}")
    return level, LEVEL_COLOURS[level]


def _area(el: Element, where: str) -> Area:
    return Area(
        area_desc=_required(el, "areaDesc", where),
        polygons=tuple(_polygon(text, where) for text in _all(el, "polygon")),
        geocodes=tuple(
            (_required(g, "valueName", f"geocode of {where}"), _required(g, "value", f"geocode of {where}"))
            for g in el.findall(_Q + "geocode")
        ),
    )


def _polygon(text: str, where: str) -> tuple[tuple[float, float], ...]:
    pairs = text.split()
    try:
        # Municipality outlines run to hundreds of points per document: read them in one go,
        # and look for the culprit only when something is wrong.
        points = tuple(_pair(pair) for pair in pairs)
        in_range = all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in points)
    except ValueError:
        in_range = False
        for pair in pairs:
            try:
                _pair(pair)
            except ValueError:
                raise CapRejected(f"polygon point '{pair}' is not lat,lon in {where}") from None
    if not in_range:
        bad = next(pair for pair in pairs
                   if not (-90 <= _pair(pair)[0] <= 90 and -180 <= _pair(pair)[1] <= 180))
        raise CapRejected(f"polygon point '{bad}' out of range in {where}")
    # CAP 1.2 §3.2.4: at least four pairs, the first equal to the last.
    if len(points) < 4:
        raise CapRejected(f"polygon with fewer than 4 points in {where}")
    if points[0] != points[-1]:
        raise CapRejected(f"open polygon (first point is not the last) in {where}")
    return points


def _pair(text: str) -> tuple[float, float]:
    lat, comma, lon = text.partition(",")
    if not comma:
        raise ValueError(text)
    return float(lat), float(lon)
