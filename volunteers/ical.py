"""iCalendar (RFC 5545) files of training sessions, written by hand: the format is
small, and the events need no more than a few properties, so no library is added.

What calendar programs trip over is handled here once: lines end in CRLF and are
folded at 75 octets (never inside a UTF-8 character), TEXT values escape backslash,
semicolon, comma and line breaks, and every time is UTC (``…Z``), so no VTIMEZONE
is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//Sargs//Volunteer training//LV"
LINE_OCTETS = 75
MIME = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    url: str = ""
    cancelled: bool = False


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def utc(moment: datetime) -> str:
    """A DATE-TIME in UTC form (``20261201T080000Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line, folded: at most 75 octets per physical line, continuation
    lines starting with a space, a multi-byte character never split."""
    pieces: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, LINE_OCTETS - 1  # the leading space counts
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _event_lines(event: Event, stamp: datetime) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{escape(event.uid)}", f"DTSTAMP:{utc(stamp)}",
             f"DTSTART:{utc(event.start)}", f"DTEND:{utc(event.end)}",
             f"SUMMARY:{escape(event.summary)}"]
    if event.location:
        lines.append(f"LOCATION:{escape(event.location)}")
    if event.lat is not None and event.lon is not None:
        lines.append(f"GEO:{event.lat:.6f};{event.lon:.6f}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    lines.append("STATUS:CANCELLED" if event.cancelled else "STATUS:CONFIRMED")
    lines.append("END:VEVENT")
    return lines


def calendar(events: Iterable[Event], *, stamp: datetime, name: str = "") -> str:
    """A VCALENDAR holding ``events``; ``stamp`` is when it was made (DTSTAMP)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape(name)}")
    for event in events:
        lines.extend(_event_lines(event, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
