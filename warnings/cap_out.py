"""Sargs' own alerts as CAP 1.2 documents, for the public feed (``cap_views``).

:func:`emit` writes a :class:`~sargs.warnings.cap.CapDocument` as CAP 1.2 XML in the
schema's element order; :func:`check_rules` holds it to the rules the OASIS schema cannot
express, and ``emit`` refuses a document that breaks one, so nothing invalid is published.
Every document ``check_rules`` accepts survives ``cap.parse(emit(doc)) == doc``.

:func:`alert_document` says what an :class:`~sargs.channels.models.Alert` is in CAP terms.
A published CAP message never changes: a correction is an Update and a cancel notice a
Cancel, each its own message referencing the earlier ones, because consumers keep a message
by its identifier and would never notice a document rewritten under the same one. So an
alert that was cancelled keeps msgType Alert; its Cancel notice withdraws it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.activations.models import Activation
from sargs.areas import service as areas
from sargs.channels.models import Alert
from sargs.settings import Settings
from sargs.warnings import cap
from sargs.warnings.cap import CAP_NS, Area, CapDocument, Info, Reference

CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
              "Transport", "Infra", "CBRNE", "Other")
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess",
                  "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# CAP 1.2 §3.2.1: identifier and sender carry no spaces, commas or restricted characters
# (they are joined with commas and spaces into <references>).
_IDENTITY_FORBIDDEN = re.compile(r"[\s,<&]")
# xs:language
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
# Characters XML 1.0 cannot carry, plus CR, which a parser turns into LF.
_NOT_CARRIED = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
# xs:dateTime offsets lie within ±14:00.
_MAX_OFFSET = timedelta(hours=14)

PUBLISHED_STATES = ("sending", "done", "cancelled")
DEFAULT_LIFETIME = timedelta(hours=24)
LANGUAGES = {"lv": "lv", "en": "en-GB"}  # alert text language → CAP <language>
SEVERITY_OF_LEVEL = {"yellow": "Moderate", "orange": "Severe", "red": "Extreme"}
AWARENESS_OF_LEVEL = {"yellow": 2, "orange": 3, "red": 4}
SENDER_NAMES = {"lv": "Jelgavas valstspilsētas pašvaldība",
                "en": "Jelgava State City Municipality"}
EVENTS = {
    "lv": {None: "Brīdinājums", "yellow": "Dzeltenais brīdinājums",
           "orange": "Oranžais brīdinājums", "red": "Sarkanais brīdinājums"},
    "en": {None: "Alert", "yellow": "Yellow warning", "orange": "Orange warning",
           "red": "Red warning"},
}
HEADLINE_MAX = 160  # CAP 1.2 §3.2.2 asks headlines to stay under 160 characters
# About 30 m: a neighbourhood's outline stays recognisable in a fraction of the points.
SIMPLIFY_DEGREES = 0.0003
COORDINATE_DECIMALS = 5


class CapRuleError(ValueError):
    """A document breaks a CAP 1.2 rule; ``field`` names where, ``reason`` says which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SourceDetails:
    """What the warnings module knows of the warning an alert came from, added to the
    alert's CAP document: the warning's own event names (CAP language → text), its onset,
    its awareness_type parameter ("1; Wind") and its areas (polygons as received)."""

    events: Mapping[str, str] = field(default_factory=dict)
    onset: datetime | None = None
    awareness_type: str | None = None
    areas: tuple[Area, ...] = ()


# --- rules ------------------------------------------------------------------------------


def check_rules(doc: CapDocument) -> None:
    """Raise :class:`CapRuleError` for what the CAP 1.2 schema cannot check itself."""
    _identity(doc.identifier, "identifier")
    _identity(doc.sender, "sender")
    _time(doc.sent, "sent")
    _enum(doc.status, cap.STATUSES, "status")
    _enum(doc.msg_type, cap.MSG_TYPES, "msgType")
    _enum(doc.scope, cap.SCOPES, "scope")
    if doc.msg_type in ("Update", "Cancel") and not doc.references:
        raise CapRuleError("references", f"an {doc.msg_type} names the messages it replaces")
    if doc.msg_type in ("Alert", "Update") and not doc.infos:
        raise CapRuleError("info", f"an {doc.msg_type} needs at least one <info>")
    for n, ref in enumerate(doc.references, 1):
        _identity(ref.sender, f"references {n} sender")
        _identity(ref.identifier, f"references {n} identifier")
        _time(ref.sent, f"references {n} sent")
    for n, info in enumerate(doc.infos, 1):
        _check_info(info, f"info {n}")


def _identity(value: str, where: str) -> None:
    _text(value, where)
    if _IDENTITY_FORBIDDEN.search(value):
        raise CapRuleError(where, "contains a space, comma, < or &")


def _text(value: str | None, where: str, *, optional: bool = False) -> None:
    # The parser strips text and reads an empty element as absent, so only trimmed,
    # non-empty text comes back as written.
    if value is None and optional:
        return
    if not value or value != value.strip():
        raise CapRuleError(where, "empty, or with spaces around it")
    if _NOT_CARRIED.search(value):
        raise CapRuleError(where, "contains a control character XML cannot carry")


def _time(value: datetime, where: str) -> None:
    offset = value.utcoffset()
    if offset is None:
        raise CapRuleError(where, "a time without an explicit offset")
    if offset.seconds % 60 or offset.microseconds or abs(offset) > _MAX_OFFSET:
        raise CapRuleError(where, "an offset that is not whole minutes within ±14:00")
    if value.microsecond:
        raise CapRuleError(where, "CAP times are whole seconds")


def _enum(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise CapRuleError(where, f"{value!r} is not one of {', '.join(allowed)}")


def _check_info(info: Info, where: str) -> None:
    if not _LANGUAGE.match(info.language):
        raise CapRuleError(f"{where} language", f"{info.language!r} is not a language code")
    if not info.categories:
        raise CapRuleError(f"{where} category", "at least one category is required")
    for value in info.categories:
        _enum(value, CATEGORIES, f"{where} category")
    for value in info.response_types:
        _enum(value, RESPONSE_TYPES, f"{where} responseType")
    _enum(info.urgency, URGENCIES, f"{where} urgency")
    _enum(info.severity, SEVERITIES, f"{where} severity")
    _enum(info.certainty, CERTAINTIES, f"{where} certainty")
    _text(info.event, f"{where} event")
    for name in ("sender_name", "headline", "description", "instruction", "web", "contact"):
        _text(getattr(info, name), f"{where} {name}", optional=True)
    for name in ("effective", "onset", "expires"):
        moment = getattr(info, name)
        if moment is not None:
            _time(moment, f"{where} {name}")
    for value_name, value in info.parameters:
        _text(value_name, f"{where} parameter")
        if value:
            _text(value, f"{where} parameter {value_name}")
    _check_awareness(info, where)
    for k, area in enumerate(info.areas, 1):
        _check_area(area, f"{where} area {k}")


def _check_awareness(info: Info, where: str) -> None:
    # The awareness fields are read from the parameters; they must say the same thing.
    try:
        level, colour = cap.awareness_level_of(_parameter(info, "awareness_level"), where)
        kind = cap.leading_number(_parameter(info, "awareness_type"), "awareness_type", where)
    except cap.CapRejected as exc:
        raise CapRuleError(f"{where} parameter", exc.reason) from None
    derived = (level, colour, kind, cap.TYPE_CODES.get(kind) if kind is not None else None)
    stated = (info.awareness_level, info.awareness_colour, info.awareness_type,
              info.awareness_type_name)
    if derived != stated:
        raise CapRuleError(f"{where} awareness", "disagrees with the awareness parameters")


def _parameter(info: Info, name: str) -> str | None:
    return dict(info.parameters).get(name)


def _check_area(area: Area, where: str) -> None:
    _text(area.area_desc, f"{where} areaDesc")
    for ring in area.polygons:
        if len(ring) < 4:
            raise CapRuleError(f"{where} polygon", "fewer than 4 points")
        if ring[0] != ring[-1]:
            raise CapRuleError(f"{where} polygon", "not closed (the first point is not the last)")
        for lat, lon in ring:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise CapRuleError(f"{where} polygon", f"point {lat},{lon} out of range")
    for value_name, value in area.geocodes:
        _text(value_name, f"{where} geocode")
        _text(value, f"{where} geocode {value_name}")


# --- writing ----------------------------------------------------------------------------


def emit(doc: CapDocument) -> bytes:
    """``doc`` as CAP 1.2 XML (UTF-8); :class:`CapRuleError` when it breaks a rule."""
    check_rules(doc)
    root = ElementTree.Element(_q("alert"))
    for name, value in (("identifier", doc.identifier), ("sender", doc.sender),
                        ("sent", cap_time(doc.sent)), ("status", doc.status),
                        ("msgType", doc.msg_type), ("scope", doc.scope)):
        _child(root, name, value)
    if doc.references:
        _child(root, "references", " ".join(
            f"{ref.sender},{ref.identifier},{cap_time(ref.sent)}" for ref in doc.references))
    for info in doc.infos:
        _write_info(ElementTree.SubElement(root, _q("info")), info)
    ElementTree.register_namespace("", CAP_NS)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def cap_time(moment: datetime) -> str:
    """ISO 8601 with its own offset, never "Z": CAP 1.2 writes UTC as "-00:00"."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def _q(name: str) -> str:
    return "{" + CAP_NS + "}" + name


def _child(parent: ElementTree.Element, name: str, text: str | None) -> None:
    if text is not None:
        ElementTree.SubElement(parent, _q(name)).text = text


def _value_pair(parent: ElementTree.Element, name: str, value_name: str, value: str) -> None:
    element = ElementTree.SubElement(parent, _q(name))
    _child(element, "valueName", value_name)
    _child(element, "value", value)


def _write_info(element: ElementTree.Element, info: Info) -> None:
    _child(element, "language", info.language)
    for category in info.categories:
        _child(element, "category", category)
    _child(element, "event", info.event)
    for response_type in info.response_types:
        _child(element, "responseType", response_type)
    for name in ("urgency", "severity", "certainty"):
        _child(element, name, getattr(info, name))
    for name in ("effective", "onset", "expires"):
        moment = getattr(info, name)
        _child(element, name, cap_time(moment) if moment is not None else None)
    for tag, name in (("senderName", "sender_name"), ("headline", "headline"),
                      ("description", "description"), ("instruction", "instruction"),
                      ("web", "web"), ("contact", "contact")):
        _child(element, tag, getattr(info, name))
    for value_name, value in info.parameters:
        _value_pair(element, "parameter", value_name, value)
    for area in info.areas:
        area_element = ElementTree.SubElement(element, _q("area"))
        _child(area_element, "areaDesc", area.area_desc)
        for ring in area.polygons:
            _child(area_element, "polygon", " ".join(
                f"{_coordinate(lat)},{_coordinate(lon)}" for lat, lon in ring))
        for value_name, value in area.geocodes:
            _value_pair(area_element, "geocode", value_name, value)


def _coordinate(value: float) -> str:
    # The shortest text that reads back as the same float, without an exponent.
    return format(Decimal(repr(value)), "f")


# --- Sargs alerts as CAP ----------------------------------------------------------------


def cap_identifier(settings: Settings, alert_id: int) -> str:
    return f"{settings.cap_sender}.{alert_id}"


def cap_sent(alert: Alert, settings: Settings) -> datetime:
    """When the alert went out, in local time with its offset, to the second."""
    moment = alert.sending_at or alert.approved_at or alert.created_at
    return moment.astimezone(settings.zone).replace(microsecond=0)


def _ancestors(session: Session, alert: Alert) -> list[Alert]:
    """The alerts ``alert`` follows up, the original first."""
    chain: list[Alert] = []
    current = alert
    while current.references_id is not None:
        earlier = session.get(Alert, current.references_id)
        if earlier is None or earlier in chain:
            break
        chain.insert(0, earlier)
        current = earlier
    return chain


def original_of(session: Session, alert: Alert) -> Alert:
    """The alert a chain of cancels and corrections started from (itself if none)."""
    chain = _ancestors(session, alert)
    return chain[0] if chain else alert


def public_area_codes(session: Session, alert: Alert) -> list[str]:
    """The public areas of the alert, or of the original a follow-up belongs to (a
    follow-up's own audience is "those told of the original")."""
    public = original_of(session, alert).audience.get("public") or {}
    return list(public.get("areas") or []) if isinstance(public, dict) else []


def alert_document(session: Session, alert: Alert, settings: Settings,
                   details: SourceDetails | None = None) -> CapDocument:
    """``alert`` as a CAP 1.2 message; ``details`` adds what the source warning said."""
    details = details or SourceDetails()
    sent = cap_sent(alert, settings)
    references = tuple(
        Reference(settings.cap_sender, cap_identifier(settings, earlier.id),
                  cap_sent(earlier, settings))
        for earlier in _ancestors(session, alert)
    )
    expires = (alert.expires_at.astimezone(settings.zone).replace(microsecond=0)
               if alert.expires_at is not None else sent + DEFAULT_LIFETIME)
    alert_areas = _alert_areas(session, alert) + details.areas
    infos = tuple(_alert_info(alert, text.language, text.body, sent, expires, alert_areas,
                              details) for text in alert.texts)
    return CapDocument(
        identifier=cap_identifier(settings, alert.id), sender=settings.cap_sender, sent=sent,
        status=alert.cap_status, msg_type=alert.msg_type, scope="Public",
        references=references, infos=infos,
    )


def _alert_info(alert: Alert, language: str, body: str, sent: datetime, expires: datetime,
                alert_areas: tuple[Area, ...], details: SourceDetails) -> Info:
    cap_language = LANGUAGES.get(language, language)
    base = language.split("-")[0]
    parameters: list[tuple[str, str]] = []
    if alert.level is not None:
        parameters.append(("awareness_level", f"{AWARENESS_OF_LEVEL[alert.level]}; "
                                              f"{alert.level}; {SEVERITY_OF_LEVEL[alert.level]}"))
    if details.awareness_type is not None:
        parameters.append(("awareness_type", details.awareness_type))
    events = EVENTS.get(base, EVENTS["en"])
    onset = details.onset.astimezone(sent.tzinfo).replace(microsecond=0) if details.onset else None
    level_number = AWARENESS_OF_LEVEL.get(alert.level or "")
    type_number = cap.leading_number(details.awareness_type, "awareness_type", "details")
    return Info(
        language=cap_language,
        categories=("Met",) if alert.source == "warning" else ("Safety",),
        event=details.events.get(cap_language) or events[alert.level],
        urgency="Expected" if onset is not None and onset > sent else "Immediate",
        severity=SEVERITY_OF_LEVEL.get(alert.level or "", "Unknown"),
        # A manual alert is written by someone who sees the danger; a warning is a forecast.
        certainty="Observed" if alert.source == "manual" else "Likely",
        response_types=(), effective=None, onset=onset, expires=expires,
        sender_name=SENDER_NAMES.get(base, SENDER_NAMES["en"]),
        headline=_headline(body), description=_carried(body),
        instruction=None, web=None, contact=None,
        awareness_level=level_number, awareness_colour=alert.level,
        awareness_type=type_number,
        awareness_type_name=cap.TYPE_CODES.get(type_number) if type_number is not None else None,
        parameters=tuple(parameters), areas=alert_areas,
    )


def _carried(body: str) -> str:
    # XML turns CR into LF on reading; writing LF keeps the document equal to its parse.
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def _headline(body: str) -> str:
    line = " ".join(next((ln for ln in body.splitlines() if ln.strip()), "").split())
    if len(line) <= HEADLINE_MAX:
        return line
    cut = line[:HEADLINE_MAX - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "…"


def _alert_areas(session: Session, alert: Alert) -> tuple[Area, ...]:
    found = []
    for code in public_area_codes(session, alert):
        area = areas.get_area(session, code)
        if area is None:  # a neighbourhood deleted since: its code still says where
            found.append(Area(area_desc=code, polygons=(), geocodes=()))
        elif area.builtin:
            found.append(Area(area_desc=area.name, polygons=(), geocodes=(("EMMA_ID", code),)))
        else:
            # Neighbourhood codes are Sargs' own, not EMMA_IDs: the outline says where.
            found.append(Area(area_desc=area.name, polygons=tuple(_rings(area.geometry)),
                              geocodes=(("SARGS_AREA", code),)))
    return tuple(found)


def _rings(geometry: dict[str, object]) -> Iterator[tuple[tuple[float, float], ...]]:
    shape = areas.geometry_from_geojson(geometry)
    parts = shape.geoms if isinstance(shape, MultiPolygon) else [shape]
    for part in parts:
        simple = part.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        if not isinstance(simple, Polygon) or simple.is_empty:
            simple = part
        points: list[tuple[float, float]] = []
        for lon, lat in simple.exterior.coords:
            point = (round(lat, COORDINATE_DECIMALS), round(lon, COORDINATE_DECIMALS))
            if not points or points[-1] != point:
                points.append(point)
        if points[0] != points[-1]:
            points.append(points[0])
        if len(points) >= 4:
            yield tuple(points)


# --- what is published ------------------------------------------------------------------


def _published_query():  # type: ignore[no-untyped-def]
    # Exercise and Test alerts, and anything of an exercise activation, never reach the
    # public feed; an alert cancelled before it went out was never public at all.
    return (
        select(Alert)
        .outerjoin(Activation, Activation.id == Alert.activation_id)
        .where(Alert.cap_status == "Actual", Alert.state.in_(PUBLISHED_STATES),
               Alert.sending_at.is_not(None), Activation.is_exercise.is_not(True))
    )


def _is_public(session: Session, alert: Alert) -> bool:
    return bool(original_of(session, alert).audience.get("public"))


def published_alerts(session: Session, limit: int = 50) -> list[Alert]:
    """The alerts of the public CAP feed, newest first."""
    found: list[Alert] = []
    rows = session.scalars(_published_query().order_by(Alert.sending_at.desc(),
                                                       Alert.id.desc()))
    for alert in rows:
        if _is_public(session, alert):
            found.append(alert)
            if len(found) >= limit:
                break
    return found


def published_alert(session: Session, alert_id: int) -> Alert | None:
    """The alert if it is in the public CAP feed, else None."""
    alert = session.scalar(_published_query().where(Alert.id == alert_id))
    return alert if alert is not None and _is_public(session, alert) else None
