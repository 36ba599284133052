"""The exercise builder's pages: the list of exercises, the new-exercise form and one
exercise's builder page (details, objectives, participants, the inject list as a
timeline), an inject's edit form, the inject library, the CSV and JSON files. Every rule
is in :mod:`sargs.exercises.builder`; these read forms and render.

Trainers and admins build; the commission and auditors read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs import clock
from sargs.audit.service import record
from sargs.auth.access import roles
from sargs.context import db_session, get_or_404
from sargs.csv_import import ImportRefused
from sargs.exercises import builder
from sargs.exercises.builder_schemas import (
    ExerciseIn,
    FromLibraryIn,
    InjectIn,
    LibraryIn,
    ObjectiveIn,
    ParticipantIn,
    offset_text,
)
from sargs.exercises.models import (
    EXERCISE_KINDS,
    INJECT_CHANNELS,
    PARTICIPANT_ROLES,
    Exercise,
    Inject,
    Objective,
    Participant,
)
from sargs.web.forms import InputError, validate

bp = Blueprint("exercise_builder", __name__, template_folder="templates",
               url_prefix="/exercises/builder")

WRITERS = frozenset({"admin", "trainer"})
staff = roles(*sorted(WRITERS), read=["auditor", "commission"])

KIND_LABELS = {"tabletop": _l("tabletop"), "functional": _l("functional"),
               "full_scale": _l("full-scale"),
               "communications_check": _l("communications check")}
STATE_LABELS = {"draft": _l("draft"), "ready": _l("ready"), "running": _l("running"),
                "paused": _l("paused"), "ended": _l("ended")}
PARTICIPANT_LABELS = {"controller": _l("controller"), "evaluator": _l("evaluator"),
                      "participant": _l("participant")}
CHANNEL_LABELS = {"page": _l("exercise page"), "telegram": _l("Telegram"), "sms": _l("SMS"),
                  "email": _l("e-mail"), "voice": _l("voice call"), "pbx": _l("PBX paging"),
                  "warning": _l("LVĢMC warning (CAP)")}
# The forms of the builder page; an error re-renders the page with that form's values.
FORMS = ("details", "objective", "participant", "inject", "library", "csv")


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"may_write": may_write(), "kind_labels": KIND_LABELS, "state_labels": STATE_LABELS,
            "participant_labels": PARTICIPANT_LABELS, "channel_labels": CHANNEL_LABELS,
            "kinds": EXERCISE_KINDS, "channels": INJECT_CHANNELS,
            "kind_options": [(k, str(KIND_LABELS[k])) for k in EXERCISE_KINDS],
            "participant_kind_options": [(k, str(PARTICIPANT_LABELS[k]))
                                         for k in PARTICIPANT_ROLES],
            "offset_text": offset_text, "is_upcoming": builder.is_upcoming,
            "timeline": builder.timeline}


def _child_or_404(model: type, exercise: Exercise, child_id: int) -> Any:
    child = db_session().get(model, child_id)
    if child is None or child.exercise_id != exercise.id:
        abort(404)
    return child


def _local_input(moment: Any) -> str:
    """A stored UTC time as a datetime-local field's value (Riga time)."""
    return clock.local(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _details(exercise: Exercise) -> dict[str, Any]:
    return {"kind": exercise.kind, "title": exercise.title,
            "scheduled_at": _local_input(exercise.scheduled_at),
            "duration_minutes": exercise.duration_minutes, "scenario": exercise.scenario}


def _options(exercise: Exercise) -> dict[str, list[tuple[Any, str]]]:
    """The choices of an inject's selects."""
    return {"channels": [(c, str(CHANNEL_LABELS[c])) for c in INJECT_CHANNELS],
            "participants": [(p.id, " — ".join(x for x in (p.name, p.role, p.organisation) if x))
                             for p in exercise.participants],
            "objectives": [(o.id, f"{n}. {o.text}")
                           for n, o in enumerate(exercise.objectives, 1)]}


def _form() -> dict[str, Any]:
    return {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}


# --- the list and a new exercise --------------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    return render_template("exercises/builder/index.html",
                           exercises=builder.list_exercises(db_session()), now=clock.now())


def _new_page(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    return render_template("exercises/builder/new.html", values=values, errors=errors), status


@bp.route("/new", methods=["GET", "POST"])
@staff
def new() -> Any:
    if request.method == "GET":
        return _new_page({"kind": "tabletop", "duration_minutes": 120}, {})
    values = _form()
    session = db_session()
    try:
        exercise = builder.create_exercise(session, validate(ExerciseIn, values),
                                           current_user.id)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _new_page(values, exc.errors, 422)
    flash(_("%(title)s saved.", title=exercise.title), "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))


# --- the builder page ---------------------------------------------------------------------


def _page(exercise: Exercise, form: str = "", values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Any:
    """The builder page; ``form`` is the one whose ``values`` and ``errors`` are shown."""
    session = db_session()
    forms: dict[str, dict[str, Any]] = {
        "details": _details(exercise), "objective": {}, "participant": {"kind": "participant"},
        "inject": {"number": builder.next_number(exercise), "channel": "page"},
        "library": {}, "csv": {}}
    if form:
        forms[form] = values or {}
    return render_template(
        "exercises/builder/page.html", exercise=exercise, forms=forms, failed=form,
        errors=errors or {}, services=builder.service_choices(session),
        users=builder.user_choices(session),
        library_options=[(e.id, f"{e.title} ({CHANNEL_LABELS[e.channel]})")
                         for e in builder.library(session)],
        objective_label=lambda o: builder.objective_label(session, o),
        options=_options(exercise), participants={p.id: p for p in exercise.participants},
        objectives={o.id: o for o in exercise.objectives}), status


@bp.route("/<int:exercise_id>")
@staff
def page(exercise_id: int) -> Any:
    return _page(get_or_404(Exercise, exercise_id))


def _act(exercise: Exercise, form: str, do: Callable[[dict[str, Any]], Any], done: str,
         values: dict[str, Any] | None = None) -> Any:
    """Run one builder action: saved and back to the page, or the page again (422) with
    that form's values and the field's error, nothing changed."""
    session = db_session()
    values = _form() if values is None else values
    try:
        do(values)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _page(exercise, form, values, exc.errors, 422)
    except builder.BuilderError as exc:
        session.rollback()
        return _page(exercise, form, values, {exc.field: exc.message}, 422)
    flash(done, "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))


@bp.route("/<int:exercise_id>", methods=["POST"])
@staff
def save_details(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "details", lambda v: builder.update_exercise(
        db_session(), exercise, validate(ExerciseIn, v)), _("Saved."))


@bp.route("/<int:exercise_id>/ready", methods=["POST"])
@staff
def ready(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "details", lambda v: builder.mark_ready(db_session(), exercise),
                _("The exercise is ready."), values=_details(exercise))


@bp.route("/<int:exercise_id>/draft", methods=["POST"])
@staff
def draft(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "details", lambda v: builder.mark_draft(db_session(), exercise),
                _("The exercise is a draft again."), values=_details(exercise))


@bp.route("/<int:exercise_id>/objectives", methods=["POST"])
@staff
def add_objective(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "objective", lambda v: builder.add_objective(
        db_session(), exercise, validate(ObjectiveIn, v)), _("Objective added."))


@bp.route("/<int:exercise_id>/objectives/<int:objective_id>/delete", methods=["POST"])
@staff
def remove_objective(exercise_id: int, objective_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    objective = _child_or_404(Objective, exercise, objective_id)
    return _act(exercise, "", lambda v: builder.remove_objective(
        db_session(), exercise, objective), _("Objective removed."))


@bp.route("/<int:exercise_id>/participants", methods=["POST"])
@staff
def add_participant(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "participant", lambda v: builder.add_participant(
        db_session(), exercise, validate(ParticipantIn, v)), _("Participant added."))


@bp.route("/<int:exercise_id>/participants/<int:participant_id>/delete", methods=["POST"])
@staff
def remove_participant(exercise_id: int, participant_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    participant = _child_or_404(Participant, exercise, participant_id)
    return _act(exercise, "", lambda v: builder.remove_participant(
        db_session(), exercise, participant), _("Participant removed."))


def _inject_values() -> dict[str, Any]:
    """The inject form; an uploaded CAP file takes the place of pasted text."""
    values = _form()
    upload = request.files.get("cap_file")
    if upload is not None and upload.filename:
        values["cap_document"] = upload.read(2_000_001).decode("utf-8", "replace")
    return values


@bp.route("/<int:exercise_id>/injects", methods=["POST"])
@staff
def add_inject(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "inject", lambda v: builder.add_inject(
        db_session(), exercise, validate(InjectIn, v)), _("Inject added."),
        values=_inject_values())


def _inject_page(exercise: Exercise, inject: Inject, values: dict[str, Any],
                 errors: dict[str, str], status: int = 200) -> Any:
    return render_template(
        "exercises/builder/inject.html", exercise=exercise, inject=inject, values=values,
        errors=errors, options=_options(exercise)), status


@bp.route("/<int:exercise_id>/injects/<int:inject_id>", methods=["GET", "POST"])
@staff
def edit_inject(exercise_id: int, inject_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    inject = _child_or_404(Inject, exercise, inject_id)
    if request.method == "GET":
        return _inject_page(exercise, inject, builder.inject_values(inject), {})
    values = _inject_values()
    session = db_session()
    try:
        builder.update_inject(session, exercise, inject, validate(InjectIn, values))
        session.commit()
    except InputError as exc:
        session.rollback()
        return _inject_page(exercise, inject, values, exc.errors, 422)
    except builder.BuilderError as exc:
        session.rollback()
        return _inject_page(exercise, inject, values, {exc.field: exc.message}, 422)
    flash(_("Inject %(n)s saved.", n=inject.number), "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))


@bp.route("/<int:exercise_id>/injects/<int:inject_id>/delete", methods=["POST"])
@staff
def remove_inject(exercise_id: int, inject_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    inject = _child_or_404(Inject, exercise, inject_id)
    return _act(exercise, "", lambda v: builder.remove_inject(db_session(), exercise, inject),
                _("Inject removed."))


@bp.route("/<int:exercise_id>/injects/<int:inject_id>/library", methods=["POST"])
@staff
def save_to_library(exercise_id: int, inject_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    inject = _child_or_404(Inject, exercise, inject_id)
    session = db_session()
    values = _form()
    try:
        builder.save_to_library(session, inject, validate(LibraryIn, values))
        session.commit()
    except InputError as exc:
        session.rollback()
        return _inject_page(exercise, inject, builder.inject_values(inject),
                            {f"library_{k}": m for k, m in exc.errors.items()}, 422)
    flash(_("Inject %(n)s kept in the library.", n=inject.number), "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))


@bp.route("/<int:exercise_id>/library", methods=["POST"])
@staff
def add_from_library(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _act(exercise, "library", lambda v: builder.add_from_library(
        db_session(), exercise, validate(FromLibraryIn, v)), _("Inject added."))


# --- files ----------------------------------------------------------------------------------


@bp.route("/<int:exercise_id>/injects.csv")
@staff
def export_csv(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return Response("\ufeff" + builder.export_csv(exercise), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=exercise-{exercise.id}-injects.csv"})


@bp.route("/<int:exercise_id>/injects/import", methods=["POST"])
@staff
def import_csv(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    upload = request.files.get("file")
    session = db_session()
    if upload is None or not upload.filename:
        return _page(exercise, "csv", {}, {"file": _("Choose a CSV file.")}, 422)
    try:
        added = builder.import_csv(session, exercise, upload.read())
        session.commit()
    except ImportRefused as exc:
        session.rollback()
        return render_template("exercises/builder/import_refused.html", exercise=exercise,
                               problems=exc.problems), 422
    except builder.BuilderError as exc:
        session.rollback()
        return _page(exercise, "csv", {}, {"file": exc.message}, 422)
    flash(_("%(n)s injects imported.", n=added), "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))


@bp.route("/<int:exercise_id>/export.json")
@staff
def export_json(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    body = json.dumps(builder.export_json(db_session(), exercise), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=exercise-{exercise.id}.json"})


@bp.route("/import", methods=["POST"])
@staff
def import_json() -> Any:
    upload = request.files.get("file")
    session = db_session()
    try:
        if upload is None or not upload.filename:
            raise builder.BuilderError("file", _("Choose an exported exercise (JSON)."))
        exercise = builder.import_json(session, upload.read(), current_user.id)
        record(session, "import", "exercise", after={"title": exercise.title})
        session.commit()
    except builder.BuilderError as exc:
        session.rollback()
        return render_template("exercises/builder/index.html",
                               exercises=builder.list_exercises(session), now=clock.now(),
                               import_error=f"{exc.field}: {exc.message}"), 422
    flash(_("%(title)s imported.", title=exercise.title), "success")
    return redirect(url_for("exercise_builder.page", exercise_id=exercise.id))
