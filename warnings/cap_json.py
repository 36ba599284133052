"""Meteoalarm's JSON form of a CAP document turned back into CAP 1.2 XML.

Meteoalarm's JSON list (`{"warnings": [{"alert": {…}, "uuid": …}]}`) carries each CAP
document field for field. Rather than validate a second representation, the JSON is written
out as the XML it stands for and `cap.parse` judges it like any other document: a missing
field stays missing here and is rejected there, with cap.parse's reason.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from sargs.warnings.cap import CAP_NS

_Q = "{" + CAP_NS + "}"

# Shapes of the CAP 1.2 schema: a field is text once, text repeated, or repeated records.
# Each tuple lists a record's fields in the order the schema (CAP-v1.2.xsd) requires.
TEXT = "text"
TEXTS = "texts"
Fields = tuple[tuple[str, Any], ...]

_PAIR: Fields = (("valueName", TEXT), ("value", TEXT))
_RESOURCE: Fields = (
    ("resourceDesc", TEXT), ("mimeType", TEXT), ("size", TEXT), ("uri", TEXT),
    ("derefUri", TEXT), ("digest", TEXT),
)
_AREA: Fields = (
    ("areaDesc", TEXT), ("polygon", TEXTS), ("circle", TEXTS), ("geocode", _PAIR),
    ("altitude", TEXT), ("ceiling", TEXT),
)
_INFO: Fields = (
    ("language", TEXT), ("category", TEXTS), ("event", TEXT), ("responseType", TEXTS),
    ("urgency", TEXT), ("severity", TEXT), ("certainty", TEXT), ("audience", TEXT),
    ("eventCode", _PAIR), ("effective", TEXT), ("onset", TEXT), ("expires", TEXT),
    ("senderName", TEXT), ("headline", TEXT), ("description", TEXT), ("instruction", TEXT),
    ("web", TEXT), ("contact", TEXT), ("parameter", _PAIR), ("resource", _RESOURCE),
    ("area", _AREA),
)
_ALERT: Fields = (
    ("identifier", TEXT), ("sender", TEXT), ("sent", TEXT), ("status", TEXT),
    ("msgType", TEXT), ("source", TEXT), ("scope", TEXT), ("restriction", TEXT),
    ("addresses", TEXT), ("code", TEXTS), ("note", TEXT), ("references", TEXT),
    ("incidents", TEXT), ("info", _INFO),
)


def to_cap_xml(alert: dict) -> bytes:
    """One Meteoalarm JSON `alert` object as a CAP 1.2 XML document (UTF-8 bytes).

    Raises ValueError naming the field when a value has a type CAP cannot hold
    (an object where text belongs, a list of numbers for areas, …).
    """
    root = Element(_Q + "alert")
    _fill(root, _ALERT, alert, "alert")
    return tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)


def _fill(element: Element, fields: Fields, record: object, where: str) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"{where} is {_kind(record)}, not an object")
    for name, shape in fields:
        value = record.get(name)
        if value is None:
            continue  # absent stays absent: cap.parse decides whether it was required
        if shape == TEXT:
            SubElement(element, _Q + name).text = _text(value, f"{name} in {where}")
            continue
        for n, item in enumerate(_repeated(value, f"{name} in {where}"), 1):
            child = SubElement(element, _Q + name)
            if shape == TEXTS:
                child.text = _text(item, f"{name} {n} in {where}")
            else:
                _fill(child, shape, item, f"{name} {n} of {where}")


def _repeated(value: object, where: str) -> list[object]:
    # Repeatable CAP fields come as JSON arrays; a member sending a lone value means one.
    if isinstance(value, list):
        return value
    if isinstance(value, str | dict):
        return [value]
    raise ValueError(f"{where} is {_kind(value)}, not a list")


def _text(value: object, where: str) -> str:
    # bool is an int subclass, but true/false is never a CAP value.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{where} is {_kind(value)}, not text")


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", type(None): "null",
             int: "a number", float: "a number", str: "text"}
    return names.get(type(value), type(value).__name__)
