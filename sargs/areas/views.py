"""Area pages: the map of known areas, point lookup and neighbourhood outlines."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sargs.areas import service
from sargs.areas.schemas import NeighbourhoodForm, PointQuery
from sargs.auth.access import roles
from sargs.context import db_session, settings
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("areas", __name__, template_folder="templates", url_prefix="/areas")

READERS = ("commission", "operator", "trainer", "auditor", "coordinator", "shelter_staff",
           "warehouse", "instructor")


@bp.route("/", methods=["GET", "POST"])
@roles("admin", read=READERS)
def index() -> Any:
    session = db_session()
    errors: dict[str, str] = {}
    values = request.form.to_dict()
    if request.method == "POST":
        try:
            data = form_data(NeighbourhoodForm)
            area = service.create_neighbourhood(session, data.code, data.name, data.geometry)
            session.commit()
        except InputError as exc:
            errors = exc.errors
        except service.AreaError as exc:
            session.rollback()
            errors = {exc.field: _area_message(exc)}
        else:
            flash(_("Neighbourhood %(name)s added.", name=area.name), "success")
            return redirect(url_for("areas.index"))
    lookup: dict[str, Any] | None = None
    if "lat" in request.args:
        try:
            point = validate(PointQuery, request.args.to_dict())
            lookup = {"point": point, "areas": service.areas_at_point(session, point.lat, point.lon)}
        except InputError as exc:
            errors.update(exc.errors)
    home = set(settings().home_areas)
    return render_template(
        "areas/index.html", areas=service.list_areas(session), home=home, errors=errors,
        values=values, lookup=lookup,
    ), (422 if errors else 200)


def _area_message(error: service.AreaError) -> str:
    messages = {
        "an area with this code already exists": _("An area with this code already exists."),
        "the outline lies outside Latvia": _("The outline lies outside Latvia."),
        "the outline crosses itself or has no area": _("The outline crosses itself or has no area."),
        "a Polygon or MultiPolygon is expected": _("Draw a closed outline (a polygon)."),
        "shipped areas cannot be deleted": _("Shipped areas cannot be deleted."),
    }
    return messages.get(error.message, error.message)


@bp.route("/areas.geojson")
@roles("admin", read=READERS)
def geojson() -> Any:
    session = db_session()
    kinds = request.args.getlist("kind") or ["municipality", "neighbourhood", "sea"]
    areas = [area for area in service.list_areas(session) if area.kind in kinds]
    return jsonify(service.as_feature_collection(areas))


@bp.route("/<code>/delete", methods=["POST"])
@roles("admin")
def delete(code: str) -> Any:
    session = db_session()
    area = service.get_area(session, code)
    if area is None:
        abort(404)
    try:
        service.delete_neighbourhood(session, area)
        session.commit()
    except service.AreaError as exc:
        flash(_area_message(exc), "error")
    else:
        flash(_("Neighbourhood %(name)s deleted.", name=area.name), "success")
    return redirect(url_for("areas.index"))
