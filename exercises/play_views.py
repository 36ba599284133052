"""The run as the people in it see it: "My exercises" (the signed-in user's exercises and
their part in each), the participant's page (the scenario, the exercise clock, the
injects sent to them, acknowledging and answering them, their decision log — their own
entries only) with a feed the page polls so a new inject appears without reloading, and
the evaluator's page (the objectives, their ratings and the observations so far).

Access is per exercise (:mod:`sargs.exercises.conduct`): any signed-in user may open
these pages, and each page checks the user's part in that exercise. Every rule is
conduct's; these read forms and render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.auth.access import signed_in
from sargs.context import db_session, get_or_404
from sargs.exercises import conduct, run
from sargs.exercises.builder_schemas import offset_text
from sargs.exercises.builder_views import KIND_LABELS, PARTICIPANT_LABELS, STATE_LABELS
from sargs.exercises.models import RATINGS, Exercise, Inject, Objective, Participant
from sargs.exercises.play_schemas import AnswerIn, DecisionIn, ObservationIn
from sargs.web.forms import InputError, validate

bp = Blueprint("exercise_play", __name__, template_folder="templates",
               url_prefix="/exercises/my")

RATING_LABELS = {"without_challenges": _l("Performed without challenges"),
                 "some_challenges": _l("Performed with some challenges"),
                 "major_challenges": _l("Performed with major challenges"),
                 "unable": _l("Unable to be performed")}
RESPONSE_LABELS = {"acknowledgement": _l("acknowledged"), "answer": _l("answer"),
                   "decision": _l("decision")}
PART_LABELS = {**PARTICIPANT_LABELS, "manager": _l("trainer")}
# How often the participant's page asks for new injects.
POLL_MS = 5000


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "kind_labels": KIND_LABELS,
            "part_labels": PART_LABELS, "rating_labels": RATING_LABELS,
            "response_labels": RESPONSE_LABELS, "offset_text": offset_text,
            "rating_options": [(r, str(RATING_LABELS[r])) for r in RATINGS]}


def _player_or_403(exercise: Exercise) -> Participant:
    participant = conduct.player(exercise, current_user)
    if participant is None:
        abort(403)
    return participant


def _evaluator_or_403(exercise: Exercise) -> None:
    if not conduct.may_evaluate(exercise, current_user):
        abort(403)


def _form() -> dict[str, Any]:
    return {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}


# --- my exercises ---------------------------------------------------------------------------


@bp.route("/")
@signed_in
def index() -> Any:
    found = conduct.exercises_of(db_session(), current_user.id)
    return render_template("exercises/play/index.html", exercises=[
        (exercise, sorted(conduct.parts(exercise, current_user))) for exercise in found])


# --- the participant's page ------------------------------------------------------------------


def _inject_context(exercise: Exercise, participant: Participant, failed: str = "",
                    values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the page and each inject on it are drawn from; ``failed`` names the form
    whose ``values`` and ``errors`` are shown."""
    log = conduct.own_log(db_session(), participant)
    return {"exercise": exercise, "participant": participant, "failed": failed,
            "values": values or {}, "errors": errors or {}, "log": log,
            "acknowledged": {r.inject_id for r in log if r.kind == "acknowledgement"},
            "answerable": exercise.state in ("running", "paused")}


def _page(exercise: Exercise, participant: Participant, failed: str = "",
          values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Any:
    context = _inject_context(exercise, participant, failed, values, errors)
    injects = conduct.sent_to(exercise, participant)
    # Errors of a form the page does not show (the exercise ended, an inject not sent
    # to this person) are shown above it.
    forms = {"decision"} | {f"{kind}-{i.id}" for i in injects for kind in ("ack", "answer")}
    shown = context["answerable"] and failed in forms
    return render_template(
        "exercises/play/page.html", injects=injects, poll_ms=POLL_MS,
        elapsed=run.elapsed(exercise), numbers={i.id: i.number for i in injects},
        inject_options=[(i.id, _("Inject %(n)s", n=i.number)) for i in injects],
        top_errors={} if shown else (errors or {}), **context), status


@bp.route("/<int:exercise_id>")
@signed_in
def page(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    return _page(exercise, _player_or_403(exercise))


@bp.route("/<int:exercise_id>/feed.json")
@signed_in
def feed(exercise_id: int) -> Any:
    """The clock and the injects sent to the participant, each drawn as on the page."""
    exercise = get_or_404(Exercise, exercise_id)
    participant = _player_or_403(exercise)
    context = _inject_context(exercise, participant)
    return jsonify({
        "state": exercise.state, "state_label": str(STATE_LABELS[exercise.state]),
        "clock": offset_text(int(run.elapsed(exercise))),
        "injects": [{"id": i.id, "number": i.number,
                     "html": render_template("exercises/play/_inject.html", inject=i,
                                             **context)}
                    for i in conduct.sent_to(exercise, participant)]})


def _respond(exercise: Exercise, participant: Participant, form: str,
             do: Callable[[dict[str, Any]], Any], done: str, anchor: str) -> Any:
    """Record one entry and back to the page, or the page again (422) with the form's
    values and the field's error, nothing recorded."""
    session = db_session()
    values = _form()
    try:
        do(values)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _page(exercise, participant, form, values, exc.errors, 422)
    except conduct.ConductError as exc:
        session.rollback()
        return _page(exercise, participant, form, values, {exc.field: exc.message}, 422)
    flash(done, "success")
    return redirect(url_for("exercise_play.page", exercise_id=exercise.id, _anchor=anchor))


def _inject_or_404(exercise: Exercise, inject_id: int) -> Inject:
    inject = db_session().get(Inject, inject_id)
    if inject is None or inject.exercise_id != exercise.id:
        abort(404)
    return inject


@bp.route("/<int:exercise_id>/injects/<int:inject_id>/acknowledge", methods=["POST"])
@signed_in
def acknowledge(exercise_id: int, inject_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    participant = _player_or_403(exercise)
    inject = _inject_or_404(exercise, inject_id)
    return _respond(exercise, participant, f"ack-{inject.id}", lambda v: conduct.respond(
        db_session(), exercise, participant, "acknowledgement", inject=inject),
        _("Acknowledged."), f"inject-{inject.id}")


@bp.route("/<int:exercise_id>/injects/<int:inject_id>/answer", methods=["POST"])
@signed_in
def answer(exercise_id: int, inject_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    participant = _player_or_403(exercise)
    inject = _inject_or_404(exercise, inject_id)
    return _respond(exercise, participant, f"answer-{inject.id}", lambda v: conduct.respond(
        db_session(), exercise, participant, "answer", validate(AnswerIn, v).text,
        inject=inject), _("Your answer is recorded."), f"inject-{inject.id}")


@bp.route("/<int:exercise_id>/decisions", methods=["POST"])
@signed_in
def decide(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    participant = _player_or_403(exercise)

    def record(values: dict[str, Any]) -> Any:
        data = validate(DecisionIn, values)
        inject = db_session().get(Inject, data.inject) if data.inject is not None else None
        if data.inject is not None and inject is None:
            raise conduct.ConductError("inject", _("This inject was not sent to you."))
        return conduct.respond(db_session(), exercise, participant, "decision", data.text,
                               inject=inject)

    return _respond(exercise, participant, "decision", record, _("Your decision is logged."),
                    "log")


# --- the evaluator's page -------------------------------------------------------------------


def _evaluation(exercise: Exercise, failed: str = "", values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    return render_template(
        "exercises/play/evaluate.html", exercise=exercise, failed=failed,
        values=values or {}, errors=errors or {}, ratings=conduct.ratings(session, exercise),
        observations=conduct.observations(session, exercise),
        objectives={o.id: o for o in exercise.objectives},
        evaluators={p.id: p for p in exercise.participants}), status


@bp.route("/<int:exercise_id>/evaluate")
@signed_in
def evaluate(exercise_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    _evaluator_or_403(exercise)
    return _evaluation(exercise)


@bp.route("/<int:exercise_id>/evaluate/<int:objective_id>", methods=["POST"])
@signed_in
def observe(exercise_id: int, objective_id: int) -> Any:
    exercise = get_or_404(Exercise, exercise_id)
    _evaluator_or_403(exercise)
    objective = db_session().get(Objective, objective_id)
    if objective is None or objective.exercise_id != exercise.id:
        abort(404)
    session = db_session()
    values = _form()
    form = f"objective-{objective.id}"
    try:
        data = validate(ObservationIn, values)
        conduct.observe(session, exercise, objective, data.rating, data.text,
                        user_id=current_user.id, strength=data.strength,
                        improvement=data.improvement)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _evaluation(exercise, form, values, exc.errors, 422)
    except conduct.ConductError as exc:
        session.rollback()
        return _evaluation(exercise, form, values, {exc.field: exc.message}, 422)
    flash(_("Observation recorded."), "success")
    return redirect(url_for("exercise_play.evaluate", exercise_id=exercise.id,
                            _anchor=f"objective-{objective.id}"))
