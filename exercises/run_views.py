"""The controller's pages of a running exercise: the clock and its buttons, the timeline
of injects per recipient, the measured summary, the communications check, and the
exercise's own delivery ledger. Every rule is in :mod:`sargs.exercises.run`,
:mod:`sargs.exercises.conduct` and :mod:`sargs.exercises.checks`; these read forms and
render.

Trainers and admins control every exercise; a user assigned as a controller controls
that exercise only. Everybody else gets 403, also evaluators and participants of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import select

from sargs.auth.access import signed_in
from sargs.channels.models import Alert, Delivery
from sargs.context import db_session, get_or_404, settings
from sargs.exercises import checks, conduct, links, run
from sargs.exercises.builder_schemas import offset_text
from sargs.exercises.builder_views import CHANNEL_LABELS, PARTICIPANT_LABELS, STATE_LABELS
from sargs.exercises.models import Exercise, Inject
from sargs.web.forms import InputError, validate

bp = Blueprint("exercise_run", __name__, template_folder="templates",
               url_prefix="/exercises/run")

LINE_LABELS = {"waiting": _l("waiting"), "delivered": _l("delivered"),
               "acknowledged": _l("acknowledged"), "answered": _l("answered"),
               "missed": _l("missed"), "unreached": _l("unreached")}
REACH_LABELS = {"acknowledged": _l("acknowledged"), "reached": _l("reached"),
                "waiting": _l("waiting"), "unreachable": _l("unreachable")}


class SpeedIn(BaseModel):
    speed: float = 1.0


def hms(seconds: float) -> str:
    """Exercise time as H:MM:SS (hours may pass 24)."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _controlled(exercise_id: int) -> Exercise:
    exercise = get_or_404(Exercise, exercise_id)
    if not conduct.may_control(exercise, current_user):
        abort(403)
    return exercise


def _clock(exercise: Exercise) -> dict[str, Any]:
    seconds = run.elapsed(exercise)
    return {"state": exercise.state, "elapsed_s": round(seconds, 1), "elapsed": hms(seconds),
            "speed": exercise.speed}


def _line(line: conduct.Line) -> dict[str, Any]:
    def at(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {"inject": line.inject.number,
            "participant": line.participant.id if line.participant else None,
            "state": line.state, "delivered_at": at(line.delivered_at),
            "acknowledged_at": at(line.acknowledged_at), "answered_at": at(line.answered_at)}


@bp.app_context_processor
def _exercise_links() -> dict[str, Any]:
    return {"exercise_links": links.links}


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "channel_labels": CHANNEL_LABELS,
            "participant_labels": PARTICIPANT_LABELS, "line_labels": LINE_LABELS,
            "reach_labels": REACH_LABELS, "offset_text": offset_text}


def _page(exercise: Exercise, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    check = checks.latest_check(session, exercise)
    return render_template(
        "exercises/run/page.html", exercise=exercise, clock=_clock(exercise),
        lines=conduct.timeline(session, exercise), summary=conduct.summary(session, exercise),
        check=check, reach=checks.check_results(session, check) if check else [],
        errors=errors or {}), status


@bp.route("/<int:exercise_id>")
@signed_in
def page(exercise_id: int) -> Any:
    return _page(_controlled(exercise_id))


@bp.route("/<int:exercise_id>/status.json")
@signed_in
def status(exercise_id: int) -> Any:
    """The clock, the timeline's states and the summary, for the page's live refresh."""
    exercise = _controlled(exercise_id)
    session = db_session()
    return jsonify({"clock": _clock(exercise),
                    "lines": [_line(x) for x in conduct.timeline(session, exercise)],
                    "summary": conduct.summary(session, exercise)})


def _act(exercise: Exercise, do: Callable[[], Any], done: str) -> Any:
    """One control: done and back to the page, or the page again (422) with the rule's
    message, nothing changed."""
    session = db_session()
    try:
        do()
        session.commit()
    except InputError as exc:
        session.rollback()
        return _page(exercise, exc.errors, 422)
    except (run.RunError, conduct.ConductError) as exc:
        session.rollback()
        return _page(exercise, {exc.field: exc.message}, 422)
    flash(done, "success")
    return redirect(url_for("exercise_run.page", exercise_id=exercise.id))


def _speed() -> float:
    return validate(SpeedIn, {k: v for k, v in request.form.items() if k == "speed"}).speed


@bp.route("/<int:exercise_id>/start", methods=["POST"])
@signed_in
def start(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.start(db_session(), exercise, current_user.id,
                                            speed=_speed()), _("The exercise has started."))


@bp.route("/<int:exercise_id>/pause", methods=["POST"])
@signed_in
def pause(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.pause(db_session(), exercise), _("Paused."))


@bp.route("/<int:exercise_id>/resume", methods=["POST"])
@signed_in
def resume(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.resume(db_session(), exercise), _("Resumed."))


@bp.route("/<int:exercise_id>/speed", methods=["POST"])
@signed_in
def speed(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.set_speed(db_session(), exercise, _speed()),
                _("The speed is changed."))


@bp.route("/<int:exercise_id>/next", methods=["POST"])
@signed_in
def jump(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.jump_to_next(db_session(), exercise),
                _("The exercise time moved on to the next inject."))


@bp.route("/<int:exercise_id>/end", methods=["POST"])
@signed_in
def end(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: run.end(db_session(), exercise, current_user.id),
                _("The exercise has ended."))


@bp.route("/<int:exercise_id>/injects/<int:inject_id>/release", methods=["POST"])
@signed_in
def release(exercise_id: int, inject_id: int) -> Any:
    exercise = _controlled(exercise_id)
    inject = db_session().get(Inject, inject_id)
    if inject is None or inject.exercise_id != exercise.id:
        abort(404)
    return _act(exercise, lambda: run.release(db_session(), inject, current_user.id,
                                              settings()), _("The inject is sent."))


@bp.route("/<int:exercise_id>/check", methods=["POST"])
@signed_in
def check(exercise_id: int) -> Any:
    exercise = _controlled(exercise_id)
    return _act(exercise, lambda: checks.communications_check(
        db_session(), exercise, current_user.id, settings()),
        _("The communications check is sent."))


@bp.route("/<int:exercise_id>/ledger")
@signed_in
def ledger(exercise_id: int) -> Any:
    """The deliveries of the exercise's own alerts (its activation's), nothing else."""
    exercise = _controlled(exercise_id)
    rows: list[Any] = []
    if exercise.activation_id is not None:
        rows = list(db_session().execute(
            select(Delivery, Alert).join(Alert, Alert.id == Delivery.alert_id)
            .where(Alert.activation_id == exercise.activation_id)
            .order_by(Delivery.created_at, Delivery.id)))
    names = {p.contact_id: p.name for p in exercise.participants if p.contact_id is not None}
    injects = {f"exercise_inject:{i.id}": i.number for i in exercise.injects}
    return render_template("exercises/run/ledger.html", exercise=exercise, rows=rows,
                           names=names, injects=injects)
