"""The after-action report of an ended exercise.

Sargs drafts it on the first visit after the end: the summary (the scenario and what the
run measured — injects delivered, acknowledged, answered, missed), the strengths and the
improvements the evaluators wrote in their observations, and empty conclusions. The
trainer edits these four sections; everything measured (the objectives' ratings, the
timeline, the times per participant and per role) is computed from the run each time the
report is shown (:func:`contents`), so it always agrees with the ledger.

Finishing the report (:func:`finish`) records the exercise as a test of every continuity
plan whose critical service was an objective, per service whether it was back within its
recovery time objective — the trainer's choice, prefilled from the objective's rating.

The report is shown as a page, downloaded as a self-contained HTML file and printed as a
PDF with WeasyPrint, which is loaded only when a PDF is asked for: the app runs without
it (the PDF then answers 503).

Plain functions on a session; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.exercises import conduct, improvement, service
from sargs.exercises.models import (
    AfterActionReport,
    ContinuityPlan,
    CriticalService,
    Exercise,
    ImprovementAction,
    Objective,
    Observation,
)
from sargs.pdf import PdfUnavailable as PdfUnavailable  # what render_pdf raises
from sargs.pdf import html_to_pdf

SECTIONS = ("summary", "strengths", "improvements", "conclusions")
SECTION_LIMIT = 20_000
# An objective rated so met its service's recovery time objective (the finish form's default).
MET_RATINGS = frozenset({"without_challenges", "some_challenges"})
TEMPLATE = "exercises/report/report.html"


class ReportError(ValueError):
    """A rule of the report refused the request; ``field`` names what it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- the trainer's sections ------------------------------------------------------------------


def get(session: Session, exercise: Exercise) -> AfterActionReport | None:
    return session.scalar(select(AfterActionReport)
                          .where(AfterActionReport.exercise_id == exercise.id))


def _bullets(texts: list[str]) -> str:
    return "\n".join(f"- {text}" for text in dict.fromkeys(t.strip() for t in texts if t.strip()))


def drafted_sections(session: Session, exercise: Exercise) -> dict[str, str]:
    """The sections as Sargs prefills them from the run and the evaluators' observations."""
    measured = conduct.summary(session, exercise)
    happened = _(
        "%(delivered)s of %(injects)s injects were delivered, %(deliveries)s times to "
        "participants: %(acknowledged)s acknowledged, %(answered)s answered, "
        "%(missed)s missed.", **{k: measured[k] for k in (
            "delivered", "injects", "deliveries", "acknowledged", "answered", "missed")})
    summary = "\n\n".join(part for part in (exercise.scenario.strip(), happened) if part)
    noted = conduct.observations(session, exercise)
    return {"summary": summary,
            "strengths": _bullets([o.strength for o in noted]),
            "improvements": _bullets([o.improvement for o in noted]),
            "conclusions": ""}


def draft(session: Session, exercise: Exercise, by_user_id: int | None = None
          ) -> AfterActionReport:
    """The exercise's report, drafted now if it has none; only once the exercise ended."""
    if exercise.state != "ended":
        raise ReportError("exercise", _("The report is drafted once the exercise has ended."))
    report = get(session, exercise)
    if report is not None:
        return report
    now = clock.now()
    report = AfterActionReport(exercise_id=exercise.id,
                               sections=drafted_sections(session, exercise), drafted_at=now,
                               updated_at=now, updated_by_id=by_user_id)
    session.add(report)
    session.flush()
    return report


def update(session: Session, report: AfterActionReport, sections: dict[str, str],
           by_user_id: int | None) -> AfterActionReport:
    """The trainer's text for the sections named (the others keep theirs)."""
    for name, text in sections.items():
        if name not in SECTIONS:
            raise ReportError(name, _("The report has no section %(name)s.", name=name))
        if len(text or "") > SECTION_LIMIT:
            raise ReportError(name, _("At most %(n)s characters.", n=SECTION_LIMIT))
    report.sections = {**(report.sections or {}),
                       **{name: (text or "").strip() for name, text in sections.items()}}
    report.updated_at = clock.now()
    report.updated_by_id = by_user_id
    session.flush()
    return report


# --- what the report shows -------------------------------------------------------------------


@dataclass
class ObjectiveRow:
    objective: Objective
    rating: str | None
    observations: list[Observation]
    service: CriticalService | None


@dataclass
class Measured:
    """The measured times of one participant or one role (seconds; None: nothing)."""

    name: str
    role: str
    deliveries: int
    acknowledged: int
    answered: int
    median_ack_s: float | None
    median_answer_s: float | None


@dataclass
class Contents:
    exercise: Exercise
    report: AfterActionReport | None
    day: date
    objectives: list[ObjectiveRow]
    timeline: list[conduct.Line]
    summary: dict[str, Any]
    by_participant: list[Measured]
    by_role: list[Measured]
    sections: dict[str, str]
    actions: list[ImprovementAction]
    chart: list[dict[str, Any]] = field(default_factory=list)


def exercise_day(exercise: Exercise) -> date:
    """The exercise's date (Riga): the day it started, or was scheduled for."""
    return clock.local(exercise.started_at or exercise.scheduled_at).date()


def _by_participant(lines: list[conduct.Line]) -> list[Measured]:
    people: dict[int, tuple[Any, list[conduct.Line]]] = {}
    for line in lines:
        if line.participant is not None and line.delivered_at is not None:
            people.setdefault(line.participant.id, (line.participant, []))[1].append(line)
    rows = []
    for person, own in people.values():
        acks = [x.ack_s for x in own if x.ack_s is not None]
        answers = [x.answer_s for x in own if x.answer_s is not None]
        rows.append(Measured(person.name, person.role, len(own), len(acks), len(answers),
                             conduct._median(acks), conduct._median(answers)))
    return sorted(rows, key=lambda row: (row.role, row.name))


def _by_role(summary: dict[str, Any], lines: list[conduct.Line]) -> list[Measured]:
    answered: dict[str, int] = {}
    for line in lines:
        if line.participant is not None and line.answered_at is not None:
            role = line.participant.role or line.participant.name
            answered[role] = answered.get(role, 0) + 1
    return [Measured(role, role, e["deliveries"], e["acknowledged"], answered.get(role, 0),
                     e["median_ack_s"], e["median_answer_s"])
            for role, e in summary["by_role"].items()]


def chart_bars(rows: list[Measured], width: int = 360) -> list[dict[str, Any]]:
    """The bars of the median acknowledgement time per role, scaled to ``width`` pixels."""
    longest = max((row.median_ack_s or 0 for row in rows), default=0) or 1
    return [{"label": row.role, "value": row.median_ack_s, "y": 8 + n * 28,
             "width": round(width * (row.median_ack_s or 0) / longest, 1)}
            for n, row in enumerate(rows)]


def contents(session: Session, exercise: Exercise,
             report: AfterActionReport | None) -> Contents:
    """Everything the report shows, computed from the run now."""
    rated = conduct.ratings(session, exercise)
    noted = conduct.observations(session, exercise)
    objectives = [ObjectiveRow(o, rated.get(o.id), [n for n in noted if n.objective_id == o.id],
                               session.get(CriticalService, o.service_id)
                               if o.service_id else None)
                  for o in exercise.objectives]
    lines = conduct.timeline(session, exercise)
    measured = conduct.summary(session, exercise)
    by_role = _by_role(measured, lines)
    return Contents(
        exercise=exercise, report=report, day=exercise_day(exercise), objectives=objectives,
        timeline=lines, summary=measured, by_participant=_by_participant(lines),
        by_role=by_role, sections={name: (report.sections or {}).get(name, "") if report else ""
                                   for name in SECTIONS},
        actions=improvement.actions(session, exercise), chart=chart_bars(by_role))


def render_html(found: Contents) -> str:
    """The report as one self-contained HTML document (its own print CSS, no scripts)."""
    return render_template(TEMPLATE, c=found, sections=SECTIONS)


def render_pdf(html: str, base_url: str) -> bytes:
    """The report's HTML printed to PDF (:func:`sargs.pdf.html_to_pdf`)."""
    return html_to_pdf(html, base_url)


# --- finishing -------------------------------------------------------------------------------


def tested_services(session: Session, exercise: Exercise) -> dict[int, bool]:
    """Service id → whether it met its recovery time objective, as the finish form
    prefills it: met when every rated objective on it was rated without or with some
    challenges (and at least one was rated)."""
    rated = conduct.ratings(session, exercise)
    found: dict[int, list[str | None]] = {}
    for objective in exercise.objectives:
        if objective.service_id is not None:
            found.setdefault(objective.service_id, []).append(rated.get(objective.id))
    return {service_id: any(given) and all(r in MET_RATINGS for r in given if r)
            for service_id, given in found.items()}


def finish(session: Session, report: AfterActionReport, by_user_id: int | None,
           results: dict[int, bool]) -> AfterActionReport:
    """Finish the report: each continuity plan whose critical service is an objective is
    recorded as tested on the exercise's date, each such service with the trainer's
    ``results`` (service id → met its recovery time objective; missing ones take the
    prefilled choice)."""
    if report.finished_at is not None:
        raise ReportError("report", _("The report is finished already."))
    exercise = session.get(Exercise, report.exercise_id)
    assert exercise is not None
    defaults = tested_services(session, exercise)
    unknown = sorted(set(results) - set(defaults))
    if unknown:
        raise ReportError("results", _("These services are not objectives of the exercise: "
                                       "%(ids)s", ids=", ".join(str(i) for i in unknown)))
    chosen = {**defaults, **{k: bool(v) for k, v in results.items()}}
    per_plan: dict[int, dict[int, bool]] = {}
    for service_id, met in chosen.items():
        found = session.get(CriticalService, service_id)
        if found is not None:
            per_plan.setdefault(found.plan_id, {})[service_id] = met
    day = exercise_day(exercise)
    for plan_id, plan_results in sorted(per_plan.items()):
        plan = session.get(ContinuityPlan, plan_id)
        assert plan is not None
        try:
            service.record_test(session, plan, day, plan_results)
        except service.PlanError as error:
            raise ReportError(error.field, error.message) from error
    report.finished_at = clock.now()
    report.updated_at = report.finished_at
    report.updated_by_id = by_user_id
    session.flush()
    return report
