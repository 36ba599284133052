"""The strip of links on every page of one exercise: to each of its pages the user may
open — the builder, the controller's page, their own page as a participant, the
evaluation, the after-action report — so nobody is sent to a page that answers 403."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from sargs.exercises import conduct
from sargs.exercises.models import Exercise

READERS = frozenset({"commission", "auditor"})  # read the builder page and the report


def may_read_report(exercise: Exercise, user: Any) -> bool:
    return bool({"manager", "controller", "evaluator"} & conduct.parts(exercise, user)
                or READERS & set(getattr(user, "role_names", ()) or ()))


def links(exercise: Exercise, user: Any) -> list[tuple[str, Any, str]]:
    """(url, label, test id) of each page of the exercise the user may open."""
    parts = conduct.parts(exercise, user)
    found = []
    if "manager" in parts or READERS & set(getattr(user, "role_names", ()) or ()):
        found.append((url_for("exercise_builder.page", exercise_id=exercise.id),
                      _l("Plan (builder)"), "link-builder"))
    if exercise.state != "draft":
        if conduct.may_control(exercise, user):
            found.append((url_for("exercise_run.page", exercise_id=exercise.id),
                          _l("Control"), "link-control"))
        if conduct.player(exercise, user) is not None:
            found.append((url_for("exercise_play.page", exercise_id=exercise.id),
                          _l("My injects and log"), "link-play"))
        if conduct.may_evaluate(exercise, user) and exercise.state != "ready":
            found.append((url_for("exercise_play.evaluate", exercise_id=exercise.id),
                          _l("Evaluation"), "link-evaluate"))
    if exercise.state == "ended" and may_read_report(exercise, user):
        found.append((url_for("exercise_report.page", exercise_id=exercise.id),
                      _l("After-action report"), "link-report"))
    return found
