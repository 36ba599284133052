"""The check-in/check-out counter of an open shelter, sized for a phone at the door.

``/shelters/<id>/count``: big −1, +1, −5, +5 buttons and a number field; each press
POSTs (with its CSRF token) through :func:`sargs.shelters.service.change_occupancy`.
With htmx the counter panel is replaced in place; without JavaScript the POST redirects
back to the page (post/redirect/get), or re-renders it with the error (422).

Under the counter, staff may (optionally) register a household with minimal data and
mark it checked out again (:mod:`sargs.shelters.evacuees`); both go through the same
counter, so the number and the list agree.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sargs import clock
from sargs.auth.access import roles
from sargs.context import db_session
from sargs.shelters import evacuees, service
from sargs.shelters.models import Shelter
from sargs.shelters.schemas import OccupancyIn
from sargs.web.forms import InputError, validate

bp = Blueprint("shelters_count", __name__, template_folder="templates",
               url_prefix="/shelters")

COUNTERS = ("admin", "commission", "shelter_staff", "operator")


def _shelter(shelter_id: int) -> Shelter:
    shelter = service.get_shelter(db_session(), shelter_id)
    if shelter is None:
        abort(404)
    return shelter


def _delta() -> int:
    """The button's own delta, or the number field's count in its direction."""
    if request.form.get("delta"):
        return validate(OccupancyIn, {"delta": request.form["delta"]}).delta
    try:
        count = validate(OccupancyIn, {"delta": request.form.get("count", "")}).delta
    except InputError as exc:
        raise InputError({"count": exc.errors["delta"]}) from None
    if count < 0:
        raise InputError({"count": _("Must be at least %(n)s.", n=1)})
    return -count if request.form.get("direction") == "out" else count


def _page(shelter: Shelter, error: str = "", status: int = 200, done: str = "",
          errors: dict[str, str] | None = None, values: Any = None) -> Any:
    now = clock.now()
    return render_template(
        "shelters/count.html", shelter=shelter, error=error, done=done,
        errors=errors or {}, values=values or {},
        people=evacuees.present(db_session(), shelter),
        free=service.free_places(shelter), over=shelter.occupancy > shelter.capacity,
        minutes=service.minutes_since_update(shelter, now),
        stale=service.is_stale(shelter, now),
        exercise=service.is_exercise_opening(db_session(), shelter)), status


@bp.route("/<int:shelter_id>/count", methods=["GET", "POST"])
@roles(*COUNTERS)
def count(shelter_id: int) -> Any:
    shelter = _shelter(shelter_id)
    if request.method == "GET":
        return _page(shelter)
    htmx = request.headers.get("HX-Request") == "true"
    sess = db_session()
    try:
        delta = _delta()
        service.change_occupancy(sess, shelter, delta)
    except InputError as exc:
        # htmx swaps only 2xx answers: the error is shown in the panel all the same.
        return _page(shelter, next(iter(exc.errors.values())), 200 if htmx else 422)
    except service.ShelterError as exc:
        sess.rollback()
        sess.refresh(shelter)
        return _page(shelter, exc.message, 200 if htmx else 422)
    sess.commit()
    done = (_("Checked in: %(n)s", n=delta) if delta > 0
            else _("Checked out: %(n)s", n=-delta))
    if htmx:
        return _page(shelter, done=done)
    flash(done, "success")
    return redirect(url_for("shelters_count.count", shelter_id=shelter.id), 303)


@bp.route("/<int:shelter_id>/count/register", methods=["POST"])
@roles(*COUNTERS)
def register(shelter_id: int) -> Any:
    """Register a household (optional, minimal data) and check it in."""
    shelter = _shelter(shelter_id)
    sess = db_session()
    form = request.form
    try:
        evacuee = evacuees.register(sess, shelter, form.get("name"), form.get("phone"),
                                    form.get("household_size"), form.get("notes"))
    except InputError as exc:
        return _page(shelter, status=422, errors=exc.errors, values=form)
    except service.ShelterError as exc:
        sess.rollback()
        sess.refresh(shelter)
        return _page(shelter, exc.message, 422, values=form)
    sess.commit()
    flash(_("Checked in: %(n)s", n=evacuee.household_size), "success")
    return redirect(url_for("shelters_count.count", shelter_id=shelter.id), 303)


@bp.route("/<int:shelter_id>/count/people/<int:evacuee_id>/out", methods=["POST"])
@roles(*COUNTERS)
def check_out(shelter_id: int, evacuee_id: int) -> Any:
    """A registered household leaves: off the list and counted out."""
    shelter = _shelter(shelter_id)
    sess = db_session()
    evacuee = evacuees.get_evacuee(sess, evacuee_id)
    if evacuee is None or evacuee.opening_id != shelter.opening_id:
        abort(404)
    try:
        evacuees.check_out(sess, evacuee)
    except service.ShelterError as exc:
        sess.rollback()
        sess.refresh(shelter)
        return _page(shelter, exc.message, 422)
    sess.commit()
    flash(_("Checked out: %(n)s", n=evacuee.household_size), "success")
    return redirect(url_for("shelters_count.count", shelter_id=shelter.id), 303)
