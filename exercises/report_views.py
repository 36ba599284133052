"""The after-action report's pages: the report (drafted on the trainer's first visit after
the end), its edit form, the HTML and PDF downloads, the improvement plan's forms and the
finish form. Every rule is in :mod:`sargs.exercises.report` and
:mod:`sargs.exercises.improvement`; these read forms and render.

Trainers and admins edit; the exercise's controllers and evaluators, the commission and
auditors read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.auth.access import signed_in
from sargs.context import db_session, get_or_404
from sargs.exercises import conduct, improvement, links, report
from sargs.exercises.models import CriticalService, Exercise, ImprovementAction
from sargs.exercises.report_schemas import ActionIn, SectionsIn, StatusIn
from sargs.pdf import PdfUnavailable
from sargs.web.forms import InputError, validate

bp = Blueprint("exercise_report", __name__, template_folder="templates",
               url_prefix="/exercises/report")

STATUS_LABELS = {"open": _l("open"), "in_progress": _l("in progress"), "done": _l("done")}


def _may_edit(exercise: Exercise) -> bool:
    return "manager" in conduct.parts(exercise, current_user)


def _readable(exercise_id: int) -> Exercise:
    """The exercise, if the user may read its report (403 otherwise)."""
    exercise = get_or_404(Exercise, exercise_id)
    if not links.may_read_report(exercise, current_user):
        abort(403)
    return exercise


def _editable(exercise_id: int) -> Exercise:
    exercise = _readable(exercise_id)
    if not _may_edit(exercise):
        abort(403)
    return exercise


def _report(exercise: Exercise) -> Any:
    """The report, drafted now when a trainer comes first after the end; None before."""
    session = db_session()
    found = report.get(session, exercise)
    if found is None and exercise.state == "ended" and _may_edit(exercise):
        found = report.draft(session, exercise, current_user.id)
        session.commit()
    return found


def _form() -> dict[str, Any]:
    return {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}


def _finish_choices(exercise: Exercise) -> list[dict[str, Any]]:
    session = db_session()
    return [{"service": session.get(CriticalService, service_id), "met": met}
            for service_id, met in report.tested_services(session, exercise).items()]


def _page(exercise: Exercise, failed: str = "", values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    found = report.get(session, exercise)
    c = report.contents(session, exercise, found) if exercise.state == "ended" else None
    return render_template(
        "exercises/report/page.html", exercise=exercise, c=c, sections=report.SECTIONS,
        may_edit=_may_edit(exercise), failed=failed, values=values or {},
        errors=errors or {}, finish_choices=_finish_choices(exercise),
        status_labels=STATUS_LABELS,
        objective_options=[(o.id, f"{n}. {o.text}")
                           for n, o in enumerate(exercise.objectives, 1)]), status


@bp.route("/<int:exercise_id>")
@signed_in
def page(exercise_id: int) -> Any:
    exercise = _readable(exercise_id)
    _report(exercise)
    return _page(exercise)


def _act(exercise: Exercise, failed: str, do: Callable[[dict[str, Any]], Any],
         done: str) -> Any:
    """One change: saved and back to the report, or the report again (422) with the
    form's values and the field's error."""
    session = db_session()
    values = _form()
    try:
        do(values)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _page(exercise, failed, values, exc.errors, 422)
    except (report.ReportError, improvement.ActionError) as exc:
        session.rollback()
        return _page(exercise, failed, values, {exc.field: exc.message}, 422)
    flash(done, "success")
    return redirect(url_for("exercise_report.page", exercise_id=exercise.id))


def _drafted(exercise: Exercise) -> Any:
    found = _report(exercise)
    if found is None:
        abort(409, _("The report is drafted once the exercise has ended."))
    return found


@bp.route("/<int:exercise_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(exercise_id: int) -> Any:
    exercise = _editable(exercise_id)
    found = _drafted(exercise)
    if request.method == "GET":
        return render_template("exercises/report/edit.html", exercise=exercise,
                               values=dict(found.sections or {}), errors={},
                               sections=report.SECTIONS)
    values = _form()
    session = db_session()
    try:
        data = validate(SectionsIn, values)
        report.update(session, found, data.model_dump(), current_user.id)
        session.commit()
    except InputError as exc:
        session.rollback()
        return render_template("exercises/report/edit.html", exercise=exercise, values=values,
                               errors=exc.errors, sections=report.SECTIONS), 422
    except report.ReportError as exc:
        session.rollback()
        return render_template("exercises/report/edit.html", exercise=exercise, values=values,
                               errors={exc.field: exc.message}, sections=report.SECTIONS), 422
    flash(_("Saved."), "success")
    return redirect(url_for("exercise_report.page", exercise_id=exercise.id))


def _document(exercise: Exercise) -> str:
    session = db_session()
    if exercise.state != "ended":
        abort(409, _("The report is drafted once the exercise has ended."))
    return report.render_html(report.contents(session, exercise, _report(exercise)))


@bp.route("/<int:exercise_id>.html")
@signed_in
def download_html(exercise_id: int) -> Any:
    exercise = _readable(exercise_id)
    return Response(_document(exercise), mimetype="text/html", headers={
        "Content-Disposition": f"attachment; filename=exercise-{exercise.id}-report.html"})


@bp.route("/<int:exercise_id>.pdf")
@signed_in
def download_pdf(exercise_id: int) -> Any:
    exercise = _readable(exercise_id)
    html = _document(exercise)
    try:
        pdf = report.render_pdf(html, request.url_root)
    except PdfUnavailable:
        return Response(_("The PDF cannot be made on this server: WeasyPrint or the libraries "
                          "it needs are not installed. Download the HTML report and print it "
                          "instead."), status=503, mimetype="text/plain")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=exercise-{exercise.id}-report.pdf"})


@bp.route("/<int:exercise_id>/actions", methods=["POST"])
@signed_in
def add_action(exercise_id: int) -> Any:
    exercise = _editable(exercise_id)
    _drafted(exercise)
    return _act(exercise, "action", lambda v: improvement.add(
        db_session(), exercise, validate(ActionIn, v)), _("Action added."))


@bp.route("/<int:exercise_id>/actions/<int:action_id>", methods=["POST"])
@signed_in
def action_status(exercise_id: int, action_id: int) -> Any:
    exercise = _editable(exercise_id)
    item = db_session().get(ImprovementAction, action_id)
    if item is None or item.exercise_id != exercise.id:
        abort(404)
    return _act(exercise, f"status-{item.id}", lambda v: improvement.set_status(
        db_session(), item, validate(StatusIn, v).status), _("Saved."))


def _results(exercise: Exercise, values: dict[str, Any]) -> dict[int, bool]:
    """The finish form's choice per service ("yes"/"no"), each bad one named."""
    chosen, errors = {}, {}
    for service_id in report.tested_services(db_session(), exercise):
        value = values.get(f"met_{service_id}", "")
        if value not in ("yes", "no"):
            errors[f"met_{service_id}"] = _("Choose yes or no.")
        chosen[service_id] = value == "yes"
    if errors:
        raise InputError(errors)
    return chosen


@bp.route("/<int:exercise_id>/finish", methods=["POST"])
@signed_in
def finish(exercise_id: int) -> Any:
    exercise = _editable(exercise_id)
    found = _drafted(exercise)
    return _act(exercise, "finish", lambda v: report.finish(
        db_session(), found, current_user.id, _results(exercise, v)),
        _("The report is finished; the continuity plans are marked tested."))
