"""What a fetched warning source says: which CAP documents exist and where to get them.

Four kinds of source, told apart by their content (servers mislabel: LVĢMC's list.php may
well answer as text/html): Meteoalarm's Atom feed, Meteoalarm's JSON list, LVĢMC's
list.php (a JSON array of paths to every warning in force), and a single CAP document.

Atom is read with defusedxml's ElementTree, not feedparser. The bytes must pass defusedxml
anyway (no DTD, entities or external references — feedparser's own parser would expand
them), and feedparser then loses data: `cap:geocode` is flattened to `valuename`/`value`
on the entry with the last geocode winning, and `entry.link` is the geocode web page, not
the CAP link. With the namespaces read directly every geocode and polygon is kept.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from sargs.warnings import cap
from sargs.warnings.cap import CapDocument, CapRejected
from sargs.warnings.cap_json import to_cap_xml
from sargs.warnings.fetch import Fetched

log = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = "{" + ATOM_NS + "}"
_C = "{" + cap.CAP_NS + "}"
CAP_MEDIA_TYPE = "application/cap+xml"
# The Atom does not carry the CAP <sender>; the stub names who published the entries.
ATOM_SENDER = "meteoalarm.org"
# Fields every Atom entry must have for its stub to stand for a CAP document.
ATOM_REQUIRED = ("identifier", "sent", "status", "message_type", "scope", "event", "urgency",
                 "severity", "certainty", "expires", "areaDesc")
_LEVELS = {colour: level for level, colour in cap.LEVEL_COLOURS.items()}
# Title type words ("Low-temperature", "Snow-ice", "Coastalevent") compared without case
# and hyphens with the canonical names.
_TYPES = {name.replace("-", ""): code for code, name in cap.TYPE_CODES.items()}
_TITLE = re.compile(r"(\S+)\s+(.+?)\s+Warning\b")
_HTML = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SourceItem:
    # The CAP identifier. A list.php source names only documents' addresses, so there it is
    # the document URL until the document itself is read.
    identifier: str
    cap_url: str | None  # where the full CAP document is (Atom link / list.php path)
    cap_bytes: bytes | None  # the CAP XML when the source carried it (JSON, single CAP)
    # Atom only: the entries naming the document. The stub is built from them when first
    # asked for — only when the document itself cannot be fetched, so a poll of a feed
    # of known warnings builds none.
    entries: tuple[Element, ...] = field(default=(), repr=False, compare=False)

    @cached_property
    def _stub(self) -> tuple[CapDocument | None, str | None]:
        if not self.entries:
            return None, None
        doc, problem = _atom_stub(self.identifier, list(self.entries))
        if problem:
            log.warning("Atom entries left without a stub: %s", problem)
        return doc, problem

    @property
    def stub(self) -> CapDocument | None:
        """The document as far as its Atom entries tell it (None: not Atom, or unusable)."""
        return self._stub[0]

    @property
    def stub_problem(self) -> str | None:
        """Why the Atom entries make no stub, when they do not."""
        return self._stub[1]


@dataclass(frozen=True)
class SourceRead:
    kind: str  # "atom", "json", "lvgmc-list", "cap"
    items: tuple[SourceItem, ...]
    lists_all_in_force: bool  # True for LVĢMC list.php: an absent warning has ended
    problems: tuple[str, ...] = ()  # why parts of the source were left out (also logged)


class SourceRejected(ValueError):
    """The source as a whole is unusable; `reason` is short, specific English."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_source(fetched: Fetched, *, max_bytes: int) -> SourceRead:
    if fetched.not_modified:
        raise SourceRejected("not modified: there is no body to read")
    if len(fetched.body) > max_bytes:
        raise SourceRejected(f"larger than {max_bytes} bytes")
    head = fetched.body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"[") or head.startswith(b"null"):
        return _read_json(fetched, _json(head))
    if head.startswith(b"<") and not _HTML.match(head[:2048]):
        return _read_xml(fetched)
    media = fetched.content_type
    if _HTML.match(head[:2048]):
        raise SourceRejected("wrong content type text/html" if media in (None, "text/html")
                             else f"an HTML page served as {media}")
    raise SourceRejected(f"wrong content type {media}" if media else "neither XML nor JSON")


# -- XML: Atom feed or one CAP document ---------------------------------------------------


def _read_xml(fetched: Fetched) -> SourceRead:
    try:
        # cap's parser is the package's one way into untrusted XML (defusedxml, no DTD).
        root = cap.xml_root(fetched.body)
    except CapRejected as exc:
        raise SourceRejected(exc.reason) from None
    if root.tag == _A + "feed":
        return _read_atom(fetched, root)
    if root.tag == _C + "alert":
        identifier = _text(root, _C + "identifier")
        if identifier is None:
            raise SourceRejected("CAP document without <identifier>")
        return SourceRead("cap", (SourceItem(identifier, fetched.url, fetched.body),),
                          lists_all_in_force=False)
    raise SourceRejected(f"neither an Atom feed nor a CAP 1.2 document (root {root.tag})")


def _read_atom(fetched: Fetched, feed: Element) -> SourceRead:
    problems: list[str] = []
    by_identifier: dict[str, list[Element]] = {}
    for n, entry in enumerate(feed.iter(_A + "entry"), 1):
        identifier = _text(entry, _C + "identifier")
        if identifier is None:
            problems.append(f"entry {n} has no cap:identifier")
            continue
        by_identifier.setdefault(identifier, []).append(entry)
    items = [SourceItem(identifier, _cap_link(fetched.url, entries), None, tuple(entries))
             for identifier, entries in by_identifier.items()]
    return _source_read(fetched, "atom", items, problems)


def _cap_link(base: str, entries: list[Element]) -> str | None:
    for entry in entries:
        for link in entry.iter(_A + "link"):
            if link.get("type") == CAP_MEDIA_TYPE and link.get("href"):
                return urljoin(base, link.get("href", ""))
    return None


def _atom_stub(identifier: str, entries: list[Element]) -> tuple[CapDocument | None, str | None]:
    """The document as far as its entries tell it, or None and why not."""
    for n, entry in enumerate(entries, 1):
        missing = [name for name in ATOM_REQUIRED if _text(entry, _C + name) is None]
        if missing:
            return None, f"{identifier}: entry {n} has no cap:{missing[0]}"
    # The entries are written out as the CAP document they came from, so cap.parse checks
    # times, enumerations and polygons exactly as for a fetched document.
    try:
        doc = cap.parse(to_cap_xml(_atom_alert(identifier, entries)))
    except (CapRejected, ValueError) as exc:
        return None, f"{identifier}: {getattr(exc, 'reason', exc)}"
    # The awareness parameters were made up from the title above; the Atom carried none.
    info = dataclasses.replace(doc.infos[0], parameters=())
    return dataclasses.replace(doc, infos=(info,)), None


def _atom_alert(identifier: str, entries: list[Element]) -> dict[str, Any]:
    first = entries[0]

    def value(name: str) -> str | None:
        return _text(first, _C + name)

    areas: dict[str, dict[str, list[Any]]] = {}
    for entry in entries:
        area = areas.setdefault(_text(entry, _C + "areaDesc") or "",
                                {"polygon": [], "geocode": []})
        _add_new(area["polygon"], _all_text(entry, _C + "polygon"))
        _add_new(area["geocode"], _geocodes(entry))
    info = {
        "language": "en-GB",  # Meteoalarm's Atom carries only the English info block
        "category": ["Met"],
        **{name: value(name) for name in ("event", "urgency", "severity", "certainty",
                                          "effective", "onset", "expires")},
        "parameter": _awareness(_text(first, _A + "title") or ""),
        "area": [{"areaDesc": desc, **values} for desc, values in areas.items()],
    }
    return {"identifier": identifier, "sender": ATOM_SENDER, "sent": value("sent"),
            "status": value("status"), "msgType": value("message_type"),
            "scope": value("scope"), "info": [info]}


def _geocodes(entry: Element) -> list[dict[str, str | None]]:
    # Meteoalarm writes <valueName>/<value> unprefixed, i.e. in the Atom namespace.
    def part(geocode: Element, name: str) -> str | None:
        return _text(geocode, _A + name) or _text(geocode, _C + name)

    return [{"valueName": part(g, "valueName"), "value": part(g, "value")}
            for g in entry.iter(_C + "geocode")]


def _awareness(title: str) -> list[dict[str, str]]:
    """awareness_level/type from "<Colour> <Type> Warning issued for …", the entry's only
    statement of the level; a type is given only when its word names exactly one code."""
    match = _TITLE.match(title.strip())
    if match is None:
        return []
    colour, type_word = match.group(1).lower(), match.group(2).lower().replace("-", "")
    params = []
    if colour in _LEVELS:
        params.append({"valueName": "awareness_level", "value": f"{_LEVELS[colour]}; {colour}"})
    code = _TYPES.get(type_word.replace(" ", ""))
    if code is not None:
        params.append({"valueName": "awareness_type", "value": f"{code}; {match.group(2)}"})
    return params


# -- JSON: Meteoalarm's warnings list or LVĢMC's list.php -----------------------------------


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SourceRejected(f"not valid JSON: {exc}") from None


def _read_json(fetched: Fetched, value: Any) -> SourceRead:
    if isinstance(value, dict) and "warnings" in value:
        return _read_meteoalarm_json(fetched, value["warnings"])
    if value is None or isinstance(value, list):
        return _read_lvgmc_list(fetched, value or [])
    raise SourceRejected("JSON is neither Meteoalarm's warnings list nor LVĢMC's list")


def _read_meteoalarm_json(fetched: Fetched, warnings: Any) -> SourceRead:
    if not isinstance(warnings, list):
        raise SourceRejected("'warnings' is not a list")
    items, problems = [], []
    for n, warning in enumerate(warnings, 1):
        alert = warning.get("alert") if isinstance(warning, dict) else None
        identifier = alert.get("identifier") if isinstance(alert, dict) else None
        if not isinstance(identifier, str) or not identifier.strip():
            problems.append(f"warning {n} has no alert identifier")
            continue
        try:
            items.append(SourceItem(identifier.strip(), None, to_cap_xml(alert)))
        except ValueError as exc:
            problems.append(f"{identifier}: {exc}")
    return _source_read(fetched, "json", items, problems)


def _read_lvgmc_list(fetched: Fetched, paths: list[Any]) -> SourceRead:
    # Absence from this list ends a warning, so a list with one unreadable entry is refused
    # whole: skipping the entry would end that warning by mistake.
    if not all(isinstance(path, str) and path.strip() for path in paths):
        raise SourceRejected("LVĢMC list has an entry that is not a path")
    urls = dict.fromkeys(urljoin(fetched.url, path.strip()) for path in paths)
    items = [SourceItem(url, url, None) for url in urls]
    return _source_read(fetched, "lvgmc-list", items, [], lists_all_in_force=True)


# -- helpers ------------------------------------------------------------------------------


def _source_read(fetched: Fetched, kind: str, items: list[SourceItem], problems: list[str],
                 *, lists_all_in_force: bool = False) -> SourceRead:
    for problem in problems:
        log.warning("source %s: %s", fetched.url, problem)
    return SourceRead(kind, tuple(items), lists_all_in_force, tuple(problems))


def _text(parent: Element, tag: str) -> str | None:
    element = parent.find(tag)
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def _all_text(parent: Element, tag: str) -> list[str]:
    return [text for el in parent.iter(tag) if (text := (el.text or "").strip())]


def _add_new(values: list[Any], new: Iterable[Any]) -> None:
    values.extend(value for value in new if value not in values)
