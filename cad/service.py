"""The 8787 line's rules: registering a report, placing it in the city or the
municipality, routing it to a partner, the partner's work, closing, deadlines, duplicates,
the operator's queue and search, and the retention of reporters' contact data.

Plain functions on a session; the pages, the APIs (staff, partner, Open311), the CLI, the
scheduler and the e-mail intake all call these. Callers commit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.service import exclude_exercises
from sargs.areas import service as areas
from sargs.audit.service import current_actor
from sargs.cad import deadlines
from sargs.cad.models import (
    CLOSED_STATES,
    OPEN_STATES,
    CadCategory,
    CadPartner,
    CadReport,
    CadReportEvent,
    CadRoute,
)
from sargs.cad.schemas import PartnerAction, ReportIn
from sargs.settings import Settings

CITY = "LV022"
MUNICIPALITY = "LV023"
DUPLICATE_RADIUS_M = 150
DUPLICATE_HOURS = 48
EARTH_RADIUS_M = 6_371_000


class ReportError(ValueError):
    """A rule was broken; ``field`` names the input it is about (for the form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Who:
    """Who acts on a report, as its timeline shows it."""

    kind: str  # user, partner, reporter, system
    name: str
    user_id: int | None = None


def acting_user() -> Who:
    """The signed-in user or command-line actor of the current request or command."""
    actor = current_actor()
    if actor.kind == "user":
        return Who("user", actor.label, actor.id)
    return Who("system", actor.label)


# --- reference data ----------------------------------------------------------


def categories(session: Session, *, active_only: bool = True) -> list[CadCategory]:
    query = select(CadCategory).order_by(CadCategory.sort_order, CadCategory.code)
    if active_only:
        query = query.where(CadCategory.active.is_(True))
    return list(session.scalars(query))


def category_by_code(session: Session, code: str) -> CadCategory | None:
    return session.scalar(select(CadCategory).where(CadCategory.code == code))


def partners(session: Session, *, active_only: bool = True) -> list[CadPartner]:
    query = select(CadPartner).order_by(CadPartner.name)
    if active_only:
        query = query.where(CadPartner.active.is_(True))
    return list(session.scalars(query))


def get_report(session: Session, report_id: int) -> CadReport | None:
    return session.get(CadReport, report_id)


# --- placing and routing -----------------------------------------------------


def place(session: Session, lat: float, lon: float) -> tuple[str, str]:
    """(jurisdiction, most precise area code) of a point; outside Jelgava city and
    municipality is refused, since the 8787 line serves no one there."""
    found = areas.areas_at_point(session, lat, lon)
    codes = [ref.code for ref in found]
    if CITY in codes:
        neighbourhoods = [ref.code for ref in found if ref.kind == "neighbourhood"]
        return "city", (neighbourhoods[0] if neighbourhoods else CITY)
    if MUNICIPALITY in codes:
        return "municipality", MUNICIPALITY
    raise ReportError("lat", _("This place is outside Jelgava city and Jelgava municipality."))


class Routing:
    """The routing table read once (categories × areas → partner, and the municipality's
    partner), so a page listing many reports asks the database once, not per report."""

    def __init__(self, session: Session) -> None:
        active = {p.id: p for p in session.scalars(
            select(CadPartner).where(CadPartner.active.is_(True)))}
        self.municipality = next((p for p in sorted(active.values(), key=lambda p: p.id)
                                  if p.for_municipality), None)
        self.routes: dict[tuple[int, str | None], CadPartner] = {}
        for route in session.scalars(select(CadRoute)):
            partner = active.get(route.partner_id)
            if partner is not None:
                self.routes[(route.category_id, route.area_code)] = partner

    def partner_for(self, category: CadCategory | None, jurisdiction: str,
                    area_code: str | None) -> CadPartner | None:
        """The municipality's partner for a place outside the city, else the route of the
        category in the report's area, else the category's route anywhere."""
        if jurisdiction == "municipality" and self.municipality is not None:
            return self.municipality
        if category is None:
            return None
        return self.routes.get((category.id, area_code)) or self.routes.get((category.id, None))


def suggest_partner(session: Session, category: CadCategory | None, jurisdiction: str,
                    area_code: str | None) -> CadPartner | None:
    """The partner routing picks for one report."""
    return Routing(session).partner_for(category, jurisdiction, area_code)


def _deadlines(report: CadReport, category: CadCategory | None, settings: Settings) -> None:
    if category is None:
        report.response_due = report.resolution_due = None
        return
    report.response_due = deadlines.due_at(report.received_at, category.response_days,
                                           settings.zone)
    report.resolution_due = deadlines.due_at(report.received_at, category.resolution_days,
                                             settings.zone)


def _event(session: Session, report: CadReport, kind: str, who: Who, note: str = "",
           **data: Any) -> CadReportEvent:
    event = CadReportEvent(report_id=report.id, at=clock.now(), kind=kind,
                           actor_kind=who.kind, actor_name=who.name, note=note, data=data)
    session.add(event)
    report.updated_at = event.at
    return event


def _category(session: Session, code: str | None) -> CadCategory | None:
    if code is None:
        return None
    category = category_by_code(session, code)
    if category is None or not category.active:
        raise ReportError("category", _("Unknown category: %(code)s", code=code))
    return category


# --- intake ------------------------------------------------------------------


def create_report(session: Session, settings: Settings, data: ReportIn, *,
                  who: Who | None = None, activation_id: int | None = None,
                  received_at: datetime | None = None,
                  source_ref: str | None = None) -> CadReport:
    """Register a report. An e-mail without a category is a draft for an operator to
    classify; anything else is new, with its deadlines from its category."""
    who = who or acting_user()
    category = _category(session, data.category)
    if data.channel != "email" and category is None:
        raise ReportError("category", _("Choose a category."))
    if data.lat is not None and data.lon is not None:
        jurisdiction, area_code = place(session, data.lat, data.lon)
    else:
        jurisdiction = data.jurisdiction or "city"
        area_code = CITY if jurisdiction == "city" else MUNICIPALITY
    now = clock.now()
    report = CadReport(
        activation_id=activation_id, channel=data.channel,
        state="new" if category is not None else "draft",
        category_id=category.id if category else None, jurisdiction=jurisdiction,
        area_code=area_code, title=data.title, description=data.description,
        address=data.address, lat=data.lat, lon=data.lon, language=data.language,
        reporter_name=data.reporter_name, reporter_phone=data.reporter_phone,
        reporter_email=data.reporter_email, reporter_telegram=data.reporter_telegram,
        feedback_wanted=data.feedback_wanted, feedback_channel=data.feedback_channel,
        received_at=received_at or now, created_at=now, updated_at=now,
        created_by_id=who.user_id, source_ref=source_ref,
    )
    _deadlines(report, category, settings)
    session.add(report)
    session.flush()
    _event(session, report, "created", who, channel=data.channel)
    return report


def classify(session: Session, settings: Settings, report: CadReport, data: ReportIn, *,
             who: Who | None = None) -> CadReport:
    """Complete a draft (an e-mail) or correct a report not yet with a partner: category,
    place and text as the operator gives them."""
    who = who or acting_user()
    if report.state not in ("draft", "new", "returned"):
        raise ReportError("state", _("Only a report not yet with a partner can be edited."))
    category = _category(session, data.category)
    if category is None:
        raise ReportError("category", _("Choose a category."))
    if data.lat is not None and data.lon is not None:
        report.jurisdiction, report.area_code = place(session, data.lat, data.lon)
    elif data.jurisdiction:
        report.jurisdiction = data.jurisdiction
        report.area_code = CITY if data.jurisdiction == "city" else MUNICIPALITY
    was_draft = report.state == "draft"
    report.category_id = category.id
    report.category = category
    for name in ("title", "description", "address"):
        if getattr(data, name):
            setattr(report, name, getattr(data, name))
    if data.lat is not None and data.lon is not None:
        report.lat, report.lon = data.lat, data.lon
    if was_draft:
        report.state = "new"
    _deadlines(report, category, settings)
    _event(session, report, "classified" if was_draft else "edited", who,
           category=category.code)
    return report


def duplicates(session: Session, category_id: int | None, lat: float | None,
               lon: float | None, *, at: datetime | None = None,
               exclude_id: int | None = None) -> list[tuple[CadReport, int]]:
    """Reports of the same category within 150 m received in the 48 hours before ``at``,
    nearest first, each with its distance in metres."""
    if category_id is None or lat is None or lon is None:
        return []
    at = at or clock.now()
    dlat = math.degrees(DUPLICATE_RADIUS_M / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    query = select(CadReport).where(
        CadReport.category_id == category_id,
        CadReport.received_at >= at - timedelta(hours=DUPLICATE_HOURS),
        CadReport.received_at <= at,
        CadReport.lat.between(lat - dlat, lat + dlat),
        CadReport.lon.between(lon - dlon, lon + dlon),
        CadReport.state != "duplicate",
    )
    if exclude_id is not None:
        query = query.where(CadReport.id != exclude_id)
    found = []
    for report in session.scalars(query):
        distance = distance_m(lat, lon, report.lat or 0.0, report.lon or 0.0)
        if distance <= DUPLICATE_RADIUS_M:
            found.append((report, round(distance)))
    return sorted(found, key=lambda pair: pair[1])


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


# --- routing and the partner's work ------------------------------------------


def route(session: Session, settings: Settings, report: CadReport,
          partner_id: int | None = None, *, who: Who | None = None) -> CadReport:
    """Send a report to a partner: the one given (the operator's override) or the one
    routing suggests. The partner is e-mailed a signed link to act on it."""
    from sargs.cad import partner_mail

    who = who or acting_user()
    if report.state not in ("new", "returned", "routed"):
        raise ReportError("state", _("This report cannot be sent to a partner now."))
    if report.category_id is None:
        raise ReportError("category", _("Choose a category."))
    if partner_id is not None:
        partner = session.get(CadPartner, partner_id)
        if partner is None or not partner.active:
            raise ReportError("partner", _("Unknown partner."))
    else:
        partner = suggest_partner(session, report.category, report.jurisdiction,
                                  report.area_code)
        if partner is None:
            raise ReportError("partner", _("No partner is set for this category; choose one."))
    report.partner_id = partner.id
    report.partner = partner
    report.state = "routed"
    report.routed_at = clock.now()
    _event(session, report, "routed", who, partner=partner.code, partner_name=partner.name)
    partner_mail.send_assignment(session, settings, report)
    return report


def partner_act(session: Session, settings: Settings, report: CadReport,
                action: PartnerAction, *, partner: CadPartner) -> CadReport:
    """The partner accepts, rejects (with a reason), plans or resolves a report of its."""
    if report.partner_id != partner.id:
        raise ReportError("partner", _("This report is not with your organisation."))
    who = Who("partner", partner.name)
    now = clock.now()
    if action.action == "accept":
        if report.state != "routed":
            raise ReportError("action", _("Only a report waiting for you can be accepted."))
        report.state = "accepted"
        report.accepted_at = now
        if action.planned_for is not None:
            report.planned_for = action.planned_for
        _event(session, report, "accepted", who, action.note,
               planned_for=_iso(report.planned_for))
    elif action.action == "plan":
        if report.state not in ("routed", "accepted"):
            raise ReportError("action", _("This report is closed or no longer yours."))
        if report.state == "routed":
            report.state = "accepted"
            report.accepted_at = now
            _event(session, report, "accepted", who)
        report.planned_for = action.planned_for
        _event(session, report, "planned", who, action.note,
               planned_for=_iso(action.planned_for))
    elif action.action == "reject":
        if report.state not in ("routed", "accepted"):
            raise ReportError("action", _("This report is closed or no longer yours."))
        report.state = "returned"
        report.accepted_at = None
        report.planned_for = None
        _event(session, report, "rejected_by_partner", who, action.note)
    else:  # resolve
        if report.state not in ("routed", "accepted"):
            raise ReportError("action", _("This report is closed or no longer yours."))
        if report.accepted_at is None:
            report.accepted_at = now
        _close(session, settings, report, "resolved", who, action.note)
    return report


def close(session: Session, settings: Settings, report: CadReport, state: str, note: str,
          *, duplicate_of: int | None = None, who: Who | None = None) -> CadReport:
    """The operator closes a report without a partner's work: rejected (not a problem,
    not the city's) or a duplicate of another report."""
    who = who or acting_user()
    if report.state in CLOSED_STATES:
        raise ReportError("state", _("This report is already closed."))
    if state == "duplicate":
        original = session.get(CadReport, duplicate_of) if duplicate_of else None
        if original is None or original.id == report.id:
            raise ReportError("duplicate_of", _("Give the number of the original report."))
        report.duplicate_of_id = original.id
        note = note or _("Duplicate of report %(number)s.", number=original.id)
    elif state == "rejected":
        if not note.strip():
            raise ReportError("note", _("Say why the report is closed."))
    else:
        raise ReportError("state", _("Choose rejected or duplicate."))
    _close(session, settings, report, state, who, note)
    return report


def _close(session: Session, settings: Settings, report: CadReport, state: str, who: Who,
           note: str) -> None:
    from sargs.cad import feedback

    report.state = state
    report.closed_at = clock.now()
    report.status_note = note
    _event(session, report, state, who, note)
    feedback.tell_reporter(session, settings, report)


def reopen(session: Session, report: CadReport, note: str, *,
           who: Who | None = None) -> CadReport:
    """Back to the operator's queue: a report closed but not fixed."""
    who = who or acting_user()
    if report.state not in CLOSED_STATES:
        raise ReportError("state", _("Only a closed report can be reopened."))
    report.state = "new" if report.category_id is not None else "draft"
    report.closed_at = None
    report.duplicate_of_id = None
    report.feedback_sent_at = None
    _event(session, report, "reopened", who, note)
    return report


def add_note(session: Session, report: CadReport, note: str, *,
             who: Who | None = None) -> CadReportEvent:
    if not note.strip():
        raise ReportError("note", _("This field is required."))
    return _event(session, report, "note", who or acting_user(), note.strip())


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- deadlines ---------------------------------------------------------------


def overdue_kind(report: CadReport, now: datetime) -> str | None:
    """"response" when a partner has not accepted in time, "resolution" when the report
    is still open after its resolution time, else None."""
    if report.state in CLOSED_STATES:
        return None
    if report.resolution_due is not None and now > report.resolution_due:
        return "resolution"
    if (report.response_due is not None and now > report.response_due
            and report.state in ("new", "routed", "returned")):
        return "response"
    return None


def _overdue_clause(now: datetime) -> Any:
    return or_(
        CadReport.resolution_due < now,
        (CadReport.response_due < now) & CadReport.state.in_(("new", "routed", "returned")),
    )


def flag_overdue(session: Session, now: datetime | None = None) -> int:
    """Put newly overdue reports on the operator's queue (a timeline entry each, once);
    returns how many. Run by the scheduler tick."""
    now = now or clock.now()
    query = exclude_exercises(select(CadReport).where(
        CadReport.state.in_(OPEN_STATES), CadReport.overdue_flagged_at.is_(None),
        _overdue_clause(now)), CadReport.activation_id)
    flagged = 0
    for report in session.scalars(query):
        kind = overdue_kind(report, now)
        if kind is None:
            continue
        report.overdue_flagged_at = now
        _event(session, report, "overdue", Who("system", "Sargs"), overdue=kind,
               partner=report.partner.code if report.partner else None)
        flagged += 1
    return flagged


# --- work lists --------------------------------------------------------------


@dataclass
class ReportFilter:
    text: str = ""
    category: str | None = None
    partner: str | None = None
    states: Sequence[str] = ()
    date_from: date | None = None
    date_to: date | None = None
    jurisdiction: str | None = None
    area: str | None = None
    channel: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0
    with_exercises: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# The words of a report, as the PostgreSQL index ix_cad_report_words (migration 0007)
# holds them; the query must spell the expression exactly so the index serves it.
WORDS_SQL = ("to_tsvector('simple', coalesce(cad_report.title, '') || ' ' || "
             "coalesce(cad_report.description, '') || ' ' || coalesce(cad_report.address, ''))")
WORD = re.compile(r"\w+")


def _text_matches(session: Session, text: str) -> Any:
    """Reports whose title, description or address hold ``text``: on PostgreSQL every
    word as the start of a word (through the full-text index, so a search stays fast with
    years of reports), on SQLite as a piece of text anywhere (case-insensitive)."""
    if session.get_bind().dialect.name == "postgresql":
        words = WORD.findall(text.lower())
        if not words:
            return sql_text("false")
        query = " & ".join(f"{word}:*" for word in words)
        return sql_text(f"{WORDS_SQL} @@ to_tsquery('simple', :words)").bindparams(words=query)
    like = f"%{text.lower()}%"
    return or_(func.lower(CadReport.title).like(like),
               func.lower(CadReport.description).like(like),
               func.lower(CadReport.address).like(like))


def _filtered(session: Session, settings: Settings, flt: ReportFilter,
              now: datetime) -> Select[Any]:
    query = select(CadReport)
    if not flt.with_exercises:
        query = exclude_exercises(query, CadReport.activation_id)
    text = flt.text.strip()
    if text:
        number = text.lstrip("#")
        if number.isdigit():
            query = query.where(CadReport.id == int(number))
        else:
            query = query.where(_text_matches(session, text))
    if flt.category:
        query = query.join(CadCategory, CadCategory.id == CadReport.category_id).where(
            CadCategory.code == flt.category)
    if flt.partner:
        query = query.join(CadPartner, CadPartner.id == CadReport.partner_id).where(
            CadPartner.code == flt.partner)
    if flt.states:
        query = query.where(CadReport.state.in_(list(flt.states)))
    zone = settings.zone
    if flt.date_from:
        start = datetime.combine(flt.date_from, datetime.min.time(), zone)
        query = query.where(CadReport.received_at >= start)
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), datetime.min.time(), zone)
        query = query.where(CadReport.received_at < end)
    if flt.jurisdiction:
        query = query.where(CadReport.jurisdiction == flt.jurisdiction)
    if flt.area:
        query = query.where(CadReport.area_code == flt.area)
    if flt.channel:
        query = query.where(CadReport.channel == flt.channel)
    if flt.overdue:
        query = query.where(CadReport.state.in_(OPEN_STATES), _overdue_clause(now))
    return query


def search(session: Session, settings: Settings, flt: ReportFilter,
           now: datetime | None = None, *, count_up_to: int | None = None,
           ) -> tuple[list[CadReport], int]:
    """Reports matching ``flt``, newest first, one page of them, and how many match —
    counted only up to ``count_up_to`` + 1 when given (a person paging through results
    needs "more than N", and counting every match of a common word costs the most)."""
    now = now or clock.now()
    query = _filtered(session, settings, flt, now)
    to_count = query.with_only_columns(CadReport.id)
    if count_up_to is not None:
        to_count = to_count.limit(count_up_to + 1)
    total = session.scalar(select(func.count()).select_from(to_count.subquery()))
    rows = session.scalars(query.order_by(CadReport.received_at.desc(), CadReport.id.desc())
                           .limit(flt.limit).offset(flt.offset)).unique().all()
    return list(rows), int(total or 0)


QUEUES = {
    "new": ("draft", "new", "returned"),
    "waiting": ("routed", "accepted"),
}


def queue(session: Session, settings: Settings, which: str, *, limit: int = 100,
          now: datetime | None = None) -> tuple[list[CadReport], int]:
    """The operator's queue: "new" (to classify, route or reroute), "waiting" (with a
    partner) or "overdue"; oldest first, since the oldest waited longest."""
    now = now or clock.now()
    if which == "overdue":
        flt = ReportFilter(overdue=True)
    else:
        flt = ReportFilter(states=QUEUES[which])
    query = _filtered(session, settings, flt, now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.order_by(CadReport.received_at, CadReport.id)
                           .limit(limit)).unique().all()
    return list(rows), int(total or 0)


def queue_counts(session: Session, settings: Settings,
                 now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    counts = {}
    for which in ("new", "waiting", "overdue"):
        flt = ReportFilter(overdue=True) if which == "overdue" else ReportFilter(
            states=QUEUES[which])
        query = _filtered(session, settings, flt, now)
        counts[which] = int(session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    return counts


def open_reports_geojson(session: Session, settings: Settings, *, limit: int = 5000,
                         language: str = "lv", now: datetime | None = None) -> dict[str, Any]:
    """Open reports with a point, as GeoJSON for the operators' map (no contact data)."""
    now = now or clock.now()
    query = exclude_exercises(select(CadReport).where(
        CadReport.state.in_(OPEN_STATES), CadReport.lat.is_not(None)), CadReport.activation_id)
    features = []
    for report in session.scalars(query.order_by(CadReport.received_at.desc()).limit(limit)):
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [report.lon, report.lat]},
            "properties": {
                "id": report.id, "state": report.state,
                "category": report.category.name(language) if report.category else "",
                "title": report.title or report.description[:80],
                "address": report.address,
                "partner": report.partner.name if report.partner else "",
                "overdue": overdue_kind(report, now),
            },
        })
    return {"type": "FeatureCollection", "features": features}


# --- retention ---------------------------------------------------------------


CONTACT_FIELDS = ("reporter_name", "reporter_phone", "reporter_email", "reporter_telegram")


def erase_contact(session: Session, report: CadReport, *, who: Who | None = None,
                  settings: Settings | None = None) -> bool:
    """Remove the reporter's contact data from a report, and the contact registered to
    tell them the outcome (cad/feedback.py); the report stays."""
    from sargs.cad import feedback

    if report.contact_erased_at is not None:
        return False
    feedback.forget_reporter(session, settings, report)
    for name in CONTACT_FIELDS:
        setattr(report, name, None)
    report.contact_erased_at = clock.now()
    _event(session, report, "contact_erased", who or Who("system", "Sargs"))
    return True


def erase_expired_contacts(session: Session, settings: Settings,
                           now: datetime | None = None) -> int:
    """Erase the contact data of reports closed more than the retention period ago."""
    now = now or clock.now()
    cutoff = now - timedelta(days=settings.cad_retention_days)
    query = select(CadReport).where(
        CadReport.state.in_(CLOSED_STATES), CadReport.closed_at < cutoff,
        CadReport.contact_erased_at.is_(None),
        or_(*(getattr(CadReport, name).is_not(None) for name in CONTACT_FIELDS)))
    erased = 0
    for report in session.scalars(query.limit(1000)):
        erased += erase_contact(session, report, settings=settings)
    # Closed reports without contact data need no erasure, only the mark.
    session.execute(update(CadReport).where(
        CadReport.state.in_(CLOSED_STATES), CadReport.closed_at < cutoff,
        CadReport.contact_erased_at.is_(None),
        *(getattr(CadReport, name).is_(None) for name in CONTACT_FIELDS),
    ).values(contact_erased_at=now))
    return erased
