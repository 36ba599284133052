"""Historic 8787 reports from a CSV file (``sargs cad import FILE.csv``), so the annual
statistics and the year-on-year comparison reach back before Sargs.

The file: UTF-8 (with or without the byte-order mark Excel writes), fields separated by
``,`` or ``;`` (Latvian Excel writes ``;``), a header row naming the columns, in any
order:

========================  ========  =====================================================
column                    needed    value
========================  ========  =====================================================
``received_at``           yes       when the report came in: ISO 8601 (with an offset, or
                                    local time), ``YYYY-MM-DD HH:MM``, ``DD.MM.YYYY HH:MM``
                                    or a date alone (local time, Europe/Riga)
``channel``               yes       phone, web, app, email or other
``category``              yes       a category code (``sargs cad`` categories: streets …)
``partner``               no        a partner code (jvpi, police …)
``jurisdiction``          no        city or municipality (default: from the point, else
                                    city)
``address``               no        text
``lat``, ``lon``          no        both or neither; the point must lie in Jelgava city or
                                    municipality
``description``           no        text
``state``                 no        resolved (default), rejected or open
``accepted_at``           no        when the partner accepted it (as ``received_at``)
``closed_at``             no        when it was closed (not for open reports)
========================  ========  =====================================================

All or nothing: every bad line is named with its line number, field and reason, and
nothing is stored unless every line is good. Imported reports are marked ``imported``,
get a "created" entry on their timeline by the import, and no partner is e-mailed.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas import service as areas
from sargs.cad import service
from sargs.cad.models import REPORT_CHANNELS, CadCategory, CadPartner, CadReport, CadReportEvent
from sargs.csv_import import ImportRefused, Problem, decode, delimiter
from sargs.settings import Settings

COLUMNS = ("received_at", "channel", "category", "partner", "jurisdiction", "address", "lat",
           "lon", "description", "state", "accepted_at", "closed_at")
REQUIRED = ("received_at", "channel", "category")
STATES = ("resolved", "rejected", "open")
LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
                 "%d.%m.%Y", "%Y-%m-%d")
MAX_TEXT = {"address": 300, "description": 20_000}


def parse_time(text: str, settings: Settings) -> datetime:
    """An aware datetime from ISO 8601 or a local ``YYYY-MM-DD HH:MM`` / ``DD.MM.YYYY``."""
    text = text.strip()
    value = None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        for fmt in LOCAL_FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise ValueError("not a date and time (use ISO 8601 or YYYY-MM-DD HH:MM)")
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.zone)
    return value


def import_csv(session: Session, settings: Settings, data: bytes, *,
               source: str = "CSV") -> int:
    """Store every report of the file, or none; returns how many were stored."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise ImportRefused([Problem(1, "file", "empty file")]) from None
    problems = [Problem(1, name or "header", "unknown column") for name in header
                if name not in COLUMNS]
    problems += [Problem(1, name, "column missing") for name in REQUIRED if name not in header]
    if len(set(header)) != len(header):
        problems.append(Problem(1, "header", "a column is named twice"))
    if problems:
        raise ImportRefused(problems)
    categories = {c.code: c for c in session.scalars(select(CadCategory))}
    partners = {p.code: p for p in session.scalars(select(CadPartner))}
    rows: list[tuple[int, dict[str, Any]]] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(Problem(line, "line", f"{len(values)} fields, the header has "
                                                  f"{len(header)}"))
            continue
        record = {name: value.strip() for name, value in zip(header, values, strict=True)}
        report = _report(session, settings, record, line, categories, partners, problems)
        if report is not None:
            rows.append((line, report))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([Problem(2, "file", "no reports in the file")])
    return _store(session, rows, source)


def _report(session: Session, settings: Settings, record: dict[str, str], line: int,
            categories: dict[str, CadCategory], partners: dict[str, CadPartner],
            problems: list[Problem]) -> dict[str, Any] | None:
    """The row's report as column values, or None after adding its problems."""
    found: list[Problem] = []

    def problem(field: str, message: str) -> None:
        found.append(Problem(line, field, message))

    def when(field: str) -> datetime | None:
        if not record.get(field):
            return None
        try:
            return parse_time(record[field], settings)
        except ValueError as exc:
            problem(field, str(exc))
            return None

    received = when("received_at")
    if not record.get("received_at"):
        problem("received_at", "required")
    elif received is not None and received > clock.now():
        problem("received_at", "in the future")
    channel = record.get("channel", "").lower()
    if channel not in REPORT_CHANNELS:
        problem("channel", f"must be one of {', '.join(REPORT_CHANNELS)}")
    category = categories.get(record.get("category", ""))
    if category is None:
        problem("category", f"unknown category code {record.get('category', '')!r}")
    partner = None
    if record.get("partner"):
        partner = partners.get(record["partner"])
        if partner is None:
            problem("partner", f"unknown partner code {record['partner']!r}")
    state = (record.get("state") or "resolved").lower()
    if state not in STATES:
        problem("state", f"must be one of {', '.join(STATES)}")
    accepted, closed = when("accepted_at"), when("closed_at")
    for field, moment in (("accepted_at", accepted), ("closed_at", closed)):
        if moment is not None and received is not None and moment < received:
            problem(field, "before received_at")
    if state == "open" and closed is not None:
        problem("closed_at", "an open report has no closing time")
    for field, limit in MAX_TEXT.items():
        if len(record.get(field, "")) > limit:
            problem(field, f"longer than {limit} characters")
    jurisdiction = (record.get("jurisdiction") or "").lower() or None
    if jurisdiction not in (None, "city", "municipality"):
        problem("jurisdiction", "must be city or municipality")
        jurisdiction = None
    lat = lon = None
    area_code = None
    if record.get("lat") or record.get("lon"):
        try:
            lat, lon = float(record.get("lat", "")), float(record.get("lon", ""))
        except ValueError:
            problem("lat" if not _is_number(record.get("lat", "")) else "lon",
                    "give both lat and lon as decimal degrees")
        else:
            # Asked first so that the service's refusal (translated for a request) is
            # never needed here: a command has no request, hence no language.
            codes = {ref.code for ref in areas.area_index(session).at_point(lat, lon)}
            if not codes & {service.CITY, service.MUNICIPALITY}:
                problem("lat", "the point is outside Jelgava city and municipality")
            else:
                placed, area_code = service.place(session, lat, lon)
                if jurisdiction not in (None, placed):
                    problem("jurisdiction", f"the point lies in the {placed}")
                jurisdiction = placed
    if found:
        problems.extend(found)
        return None
    assert received is not None and category is not None
    jurisdiction = jurisdiction or "city"
    if state == "open":
        stored_state = "new" if partner is None else ("accepted" if accepted else "routed")
    else:
        stored_state = state
    now = clock.now()
    values: dict[str, Any] = {
        "channel": channel, "state": stored_state, "category_id": category.id,
        "partner_id": partner.id if partner else None, "jurisdiction": jurisdiction,
        "area_code": area_code or (service.CITY if jurisdiction == "city"
                                   else service.MUNICIPALITY),
        "title": "", "description": record.get("description", ""),
        "address": record.get("address", ""), "lat": lat, "lon": lon, "language": "lv",
        "feedback_wanted": False, "received_at": received, "created_at": now,
        "updated_at": now, "routed_at": received if partner else None,
        "accepted_at": accepted, "closed_at": closed if state != "open" else None,
        "status_note": "", "imported": True, "generated": False,
    }
    holder = CadReport(received_at=received)
    service._deadlines(holder, category, settings)  # the category's deadlines, as intake
    values["response_due"], values["resolution_due"] = holder.response_due, holder.resolution_due
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _store(session: Session, rows: list[tuple[int, dict[str, Any]]], source: str) -> int:
    """Insert the reports and their "created" entries in bulk, in the file's order."""
    ids = session.scalars(insert(CadReport).returning(CadReport.id, sort_by_parameter_order=True),
                          [values for _line, values in rows]).all()
    now = clock.now()
    session.execute(insert(CadReportEvent), [
        {"report_id": report_id, "at": now, "kind": "created", "actor_kind": "system",
         "actor_name": "import", "note": f"{source}, line {line}",
         "data": {"imported": True, "channel": values["channel"]}}
        for report_id, (line, values) in zip(ids, rows, strict=True)])
    return len(ids)
