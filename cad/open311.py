"""Open311 GeoReport v2 for the 8787 line: categories as services, reports as service
requests, in JSON and XML (http://wiki.open311.org/GeoReport_v2).

What leaves here is public: a request never carries the reporter's name, phone, e-mail
or Telegram, only what the city's app and web map show on a map. Drafts (e-mails not yet
classified) and exercise reports are never requests. The web layer is
:mod:`sargs.cad.open311_api`; the rules stay in :mod:`sargs.cad.service`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from sargs.cad import service
from sargs.cad.models import CLOSED_STATES, OPEN_STATES, CadCategory, CadReport
from sargs.cad.schemas import ReportIn
from sargs.settings import Settings
from sargs.web.forms import InputError, validate

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (discovery's changeset).
CHANGESET = "2026-12-05T00:00:00+02:00"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000
MAX_IDS = 100
MAX_ID_DIGITS = 12  # more cannot be a report number (and would overflow the column)
DEFAULT_DAYS = 90
MEDIA_URL_MAX = 1000
# Drafts are e-mails no one has classified yet: not public.
PUBLIC_STATES = tuple(s for s in (*OPEN_STATES, *CLOSED_STATES) if s != "draft")
STATUS_STATES = {"open": tuple(s for s in OPEN_STATES if s != "draft"), "closed": CLOSED_STATES}
# Our field names as an Open311 client knows them (for errors naming the field).
FIELD_NAMES = {"category": "service_code", "lon": "long", "address": "address_string",
               "reporter_email": "email", "reporter_phone": "phone",
               "reporter_name": "first_name"}
# XML: the element each item of a list is written as.
ITEMS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
         "values": "value"}


class Open311Error(Exception):
    """An answer in the Open311 error format: ``status`` and one description per problem."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def rows(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def bad_field(field: str, message: str) -> Open311Error:
    return Open311Error(400, f"{FIELD_NAMES.get(field, field)}: {message}")


# --- output ------------------------------------------------------------------


def timestamp(value: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 with the Riga offset, to the second, as the spec asks."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def discovery(settings: Settings) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": _("Jelgava operational information centre, phone 8787"),
        "key_service": _("An api_key for submitting requests is issued by the city's "
                         "administrators on request."),
        "max_requests": MAX_REQUESTS,
        "endpoints": [{
            "specification": SPECIFICATION, "url": f"{settings.base_url}/open311/v2",
            "changeset": CHANGESET, "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }


def service_row(category: CadCategory, language: str) -> dict[str, Any]:
    other = "en" if language == "lv" else "lv"
    description = (getattr(category, f"description_{language}")
                   or getattr(category, f"description_{other}") or category.name(language))
    return {
        "service_code": category.code, "service_name": category.name(language),
        "description": description, "metadata": False, "type": "realtime",
        "keywords": ", ".join(category.keywords.split()), "group": "",
    }


def service_definition(category: CadCategory) -> dict[str, Any]:
    """No category asks for extra attributes: an empty list."""
    return {"service_code": category.code, "attributes": []}


# Residents who report on the web map or in the app write for the public; a phone call
# typed by an operator or a resident's e-mail may name people, so only its category, place
# and status are published.
PUBLIC_TEXT_CHANNELS = ("web", "app")


def request_row(report: CadReport, zone: tzinfo, language: str) -> dict[str, Any]:
    """A report as a service request: what anyone may see, no contact data."""
    category = report.category
    public_text = report.channel in PUBLIC_TEXT_CHANNELS
    return {
        "service_request_id": report.id,
        "status": "closed" if report.state in CLOSED_STATES else "open",
        "status_notes": report.status_note,
        "service_name": category.name(language) if category else "",
        "service_code": category.code if category else "",
        "description": (report.description or report.title) if public_text else "",
        "agency_responsible": report.partner.name if report.partner else "",
        "service_notice": "",
        "requested_datetime": timestamp(report.received_at, zone),
        "updated_datetime": timestamp(report.updated_at, zone),
        "expected_datetime": timestamp(report.resolution_due, zone),
        "address": report.address,
        "lat": report.lat,
        "long": report.lon,
        "media_url": "",
    }


def created_row(report: CadReport) -> dict[str, Any]:
    return {"service_request_id": report.id, "service_notice": "", "account_id": None}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(element, ITEMS.get(tag, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any, item: str | None = None) -> bytes:
    """``value`` (a dict, or a list written as ``item`` elements) under ``root``, with
    the UTF-8 declaration the spec requires."""
    element = ET.Element(root)
    if isinstance(value, list):
        for row in value:
            _append(element, item or "item", row)
    else:
        for key, child in value.items():
            _append(element, key, child)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


# --- reading requests --------------------------------------------------------


@dataclass
class RequestQuery:
    ids: list[int] | None
    category: str | None
    start: datetime | None
    end: datetime | None
    states: tuple[str, ...]


def parse_time(name: str, value: str, zone: tzinfo) -> datetime:
    """An ISO 8601 time; without an offset it is taken as Riga time."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_field(name, _("Must be a date and time in ISO 8601, e.g. "
                                "2026-11-24T10:00:00+02:00.")) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def request_query(session: Session, args: Mapping[str, str], now: datetime,
                  zone: tzinfo) -> RequestQuery:
    """The filters of ``GET requests``; service_request_id overrides all others, as the
    spec says. Without dates the last 90 days."""
    raw_ids = (args.get("service_request_id") or "").strip()
    if raw_ids:
        parts = [p.strip() for p in raw_ids.split(",") if p.strip()]
        if not all(p.isdigit() and len(p) <= MAX_ID_DIGITS for p in parts):
            raise bad_field("service_request_id", _("Give request numbers separated by commas."))
        if len(parts) > MAX_IDS:
            raise bad_field("service_request_id",
                            _("Ask for at most %(n)s requests at once.", n=MAX_IDS))
        return RequestQuery([int(p) for p in parts], None, None, None, PUBLIC_STATES)
    code = (args.get("service_code") or "").strip() or None
    if code is not None and service.category_by_code(session, code) is None:
        raise bad_field("service_code", _("Unknown category: %(code)s", code=code))
    start = parse_time("start_date", args["start_date"], zone) if args.get("start_date") else None
    end = parse_time("end_date", args["end_date"], zone) if args.get("end_date") else None
    if start and end and start > end:
        raise bad_field("end_date", _("The end is before the start."))
    if start is None:
        start = (end or now) - timedelta(days=DEFAULT_DAYS)
    states: tuple[str, ...] = ()
    for status in (s.strip() for s in (args.get("status") or "").split(",") if s.strip()):
        if status not in STATUS_STATES:
            raise bad_field("status", _("Choose one of: %(choices)s.", choices="open, closed"))
        states += STATUS_STATES[status]
    return RequestQuery(None, code, start, end, states or PUBLIC_STATES)


def find_requests(session: Session, settings: Settings, query: RequestQuery) -> list[CadReport]:
    """The public reports a query asks for, newest first, at most 1000; exercise reports
    are left out by the service's search."""
    if query.ids is not None:
        found = [public_report(session, settings, number) for number in query.ids]
        return [report for report in found if report is not None]
    zone = settings.zone
    flt = service.ReportFilter(
        category=query.category, states=query.states,
        date_from=query.start.astimezone(zone).date() if query.start else None,
        date_to=query.end.astimezone(zone).date() if query.end else None,
        limit=MAX_REQUESTS)
    rows, _total = service.search(session, settings, flt)
    # The search filters whole Riga days; the spec's bounds are instants.
    return [r for r in rows if (query.start is None or r.received_at >= query.start)
            and (query.end is None or r.received_at <= query.end)]


def public_report(session: Session, settings: Settings, number: int) -> CadReport | None:
    """One report as a request, or None for an unknown, draft or exercise report."""
    rows, _total = service.search(session, settings, service.ReportFilter(
        text=str(number), states=PUBLIC_STATES, limit=1))
    return rows[0] if rows else None


# --- submitting a request ----------------------------------------------------


def report_in(form: Mapping[str, str], language: str) -> ReportIn:
    """The form-encoded POST as a report from the app. A reporter who gives an e-mail
    is told the outcome by e-mail; others read the status in the app."""
    def value(name: str) -> str:
        return (form.get(name) or "").strip()

    email = value("email")
    name = " ".join(part for part in (value("first_name"), value("last_name")) if part)
    data = {
        "channel": "app", "category": value("service_code") or None,
        "description": value("description"), "address": value("address_string"),
        "lat": value("lat"), "lon": value("long"), "language": language,
        "reporter_name": name or None, "reporter_email": email or None,
        "reporter_phone": value("phone") or None,
        "feedback_wanted": True, "feedback_channel": "email" if email else "open311",
    }
    if not data["category"]:
        raise bad_field("service_code", _("This field is required."))
    try:
        return validate(ReportIn, data)
    except InputError as exc:
        raise Open311Error(400, *(f"{FIELD_NAMES.get(field, field)}: {message}"
                                  for field, message in exc.errors.items())) from None


def media_url(form: Mapping[str, str]) -> str | None:
    """The photo link an app may send: kept as a note for the operator, never fetched."""
    url = (form.get("media_url") or "").strip()
    if not url:
        return None
    if not url.startswith(("https://", "http://")) or len(url) > MEDIA_URL_MAX or any(
            c.isspace() for c in url):
        raise bad_field("media_url", _("Must be an http(s) address of at most %(n)s "
                                       "characters.", n=MEDIA_URL_MAX))
    return url
