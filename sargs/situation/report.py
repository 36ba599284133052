"""The situation report for the commission and the state.

One document, made on demand, of the situation as the dashboard's snapshot sees it
(:func:`sargs.situation.service.snapshot`) plus what only a report tells: the alerts sent
during the activation with how far they reached, the measures taken (the journal's
decisions and tasks) and the journal's last entries with the state of its hash chain.
Exercise activity stays out: an exercise activation cannot be chosen and exercise alerts
are left out the way the modules leave them out of their public output.

The document is HTML with its own print CSS and no scripts (the map and the charts are
SVG, :mod:`sargs.situation.svg`), printed to PDF by :func:`sargs.pdf.html_to_pdf`.
Every report made is recorded in the audit log, so it can be told later which report the
state received.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs.activations import journal
from sargs.activations.models import Activation, JournalEntry
from sargs.activations.service import exclude_exercises, get_activation, list_activations
from sargs.audit import service as audit
from sargs.channels.models import Alert
from sargs.settings import Settings
from sargs.situation import service as situation
from sargs.situation import svg

TEMPLATE = "situation/report/report.html"
# Without an activation the report covers the alerts of the last day.
WITHOUT_ACTIVATION = timedelta(hours=24)
JOURNAL_EXTRACT = 15
OPEN_TASK_STATES = ("open", "in_progress")


class ReportError(ValueError):
    """A rule of the report refused the request; ``field`` names what it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def chosen_activation(session: Session, activation_id: int | None) -> Activation | None:
    """The activation the report is about: the one asked for by id (an emergency
    activation, open or closed), else the most recently opened emergency activation still
    open, else None (the report then shows the situation without one)."""
    if activation_id is None:
        return next((a for a in list_activations(session, open_only=True)
                     if not a.is_exercise), None)
    found = get_activation(session, activation_id)
    if found is None:
        raise ReportError("activation", _("There is no activation %(id)s.", id=activation_id))
    if found.is_exercise:
        raise ReportError("activation", _("An exercise activation has no situation report."))
    return found


# --- the alerts sent and how far they reached ------------------------------------------------


def period(activation: Activation | None, now: datetime) -> tuple[datetime, datetime]:
    """The time the report covers: the activation's, or the last day without one."""
    if activation is None:
        return now - WITHOUT_ACTIVATION, now
    return activation.opened_at, activation.closed_at or now


def alerts_sent(session: Session, activation: Activation | None, now: datetime,
                language: str = "lv") -> list[situation.AlertItem]:
    """Real alerts (CAP status Actual, not of an exercise activation) going out in the
    report's period — started in it, or still sending when it began (a warning's alert
    sent before the commission opened the activation) — oldest first, each counted as the
    dashboard counts it."""
    start, end = period(activation, now)
    ended = func.coalesce(Alert.finished_at, Alert.cancelled_at)
    query = exclude_exercises(
        select(Alert).where(Alert.cap_status == "Actual", Alert.sending_at.is_not(None),
                            Alert.sending_at <= end,
                            (Alert.sending_at >= start) | ended.is_(None) | (ended >= start)),
        Alert.activation_id).order_by(Alert.sending_at, Alert.id)
    return [situation.alert_item(session, alert, language) for alert in session.scalars(query)]


def delivery_by_channel(alerts: list[situation.AlertItem]) -> list[tuple[str, int, int]]:
    """(channel, delivered, recipients) over all the alerts, channels that had recipients
    only: the delivery chart's rows."""
    totals: dict[str, list[int]] = {}
    for item in alerts:
        for row in item.channels:
            counted = totals.setdefault(row.channel, [0, 0])
            counted[0] += row.counts.get("delivered", 0)
            counted[1] += row.total
    return [(channel, delivered, recipients)
            for channel, (delivered, recipients) in totals.items() if recipients]


# --- the crisis journal ----------------------------------------------------------------------


@dataclass
class Measures:
    decisions: list[JournalEntry] = field(default_factory=list)
    tasks: list[journal.Task] = field(default_factory=list)
    extract: list[JournalEntry] = field(default_factory=list)  # the last entries, newest first
    entries: int = 0
    broken_at: int | None = None  # the seq where the hash chain breaks; None: it holds

    @property
    def open_tasks(self) -> list[journal.Task]:
        return [t for t in self.tasks if t.state in OPEN_TASK_STATES]


def measures(session: Session, activation: Activation | None,
             extract: int = JOURNAL_EXTRACT) -> Measures:
    """The activation's decisions, its tasks with their state, the last ``extract``
    entries of its journal and whether the journal's chain holds."""
    if activation is None:
        return Measures()
    newest = journal.entries(session, activation, newest_first=True)
    return Measures(decisions=[e for e in reversed(newest) if e.kind == "decision"],
                    tasks=journal.tasks(session, activation), extract=newest[:extract],
                    entries=len(newest), broken_at=journal.verify(session, activation))


# --- the whole report ------------------------------------------------------------------------


@dataclass
class Report:
    activation: Activation | None
    made_at: datetime
    language: str
    situation: situation.Situation
    alerts: list[situation.AlertItem]
    measures: Measures
    drawing: svg.Drawing | None
    delivery_chart: list[svg.Bar]
    occupancy_chart: list[svg.Bar]


def map_drawing(found: situation.Situation) -> svg.Drawing | None:
    """The map of the snapshot: home areas, warning areas, shelters sized by occupancy,
    open reports as dots."""
    home, warned = [], []
    for feature in found.map.warnings["features"]:
        properties = feature["properties"]
        if properties.get("role") == "home":
            home.append((feature["geometry"], properties.get("name", "")))
        else:
            warned.append((feature["geometry"], properties.get("level", ""),
                           properties.get("title", "")))
    shelters = [svg.ShelterMark(s.lon, s.lat, s.name, s.occupancy, s.capacity)
                for s in found.shelters.items]
    reports = [svg.ReportMark(*f["geometry"]["coordinates"][:2],
                              f["properties"].get("title", ""))
               for f in found.map.reports["features"]]
    return svg.draw_map(home, warned, shelters, reports)


def build(session: Session, settings: Settings, activation: Activation | None,
          language: str = "lv") -> Report:
    """The report now: the situation, the alerts of the period, the measures, the map
    and the charts."""
    found = situation.snapshot(session, settings, language=language)
    sent = alerts_sent(session, activation, found.taken_at, language)
    return Report(
        activation=activation, made_at=found.taken_at, language=language, situation=found,
        alerts=sent, measures=measures(session, activation), drawing=map_drawing(found),
        delivery_chart=svg.bars([(channel, delivered, total)
                                 for channel, delivered, total in delivery_by_channel(sent)]),
        occupancy_chart=svg.bars([(s.name, s.occupancy, s.capacity)
                                  for s in found.shelters.items]),
    )


def record_made(session: Session, report: Report, output: str) -> None:
    """The audit log's entry of a report made: which activation, when, in which language
    and form, and its key numbers, so "which report did the state get" has an answer."""
    found = report.situation
    audit.record(session, "situation_report", "activation",
                 report.activation.id if report.activation else None,
                 after={"output": output, "language": report.language,
                        "made_at": report.made_at,
                        "warnings": [w.id for w in found.warnings.items],
                        "alerts": [a.id for a in report.alerts],
                        "shelters_open": found.shelters.open,
                        "sheltered": found.shelters.occupancy,
                        "autonomy_days": found.reserves.days,
                        "journal_entries": report.measures.entries})


def render_html(report: Report, **labels: Any) -> str:
    """The report as one self-contained HTML document (its own print CSS, no scripts)."""
    return render_template(TEMPLATE, r=report, **labels)
