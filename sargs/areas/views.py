"""Area pages: the map of known areas, point lookup and neighbourhood outlines."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sargs.areas import service
from sargs.areas.schemas import NeighbourhoodForm, PointQuery
from sargs.auth.access import roles
from sargs.context import db_session, settings
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("areas", __name__, template_folder="templates", url_prefix="/areas")

READERS = ("commission", "operator", "trainer", "auditor", "coordinator", "shelter_staff",
           "warehouse", "instructor")
MAP_KINDS = ("municipality", "neighbourhood", "sea")
KIND_LABELS = {
    "region": _l("region"), "municipality": _l("municipality"),
    "neighbourhood": _l("neighbourhood"), "sea": _l("sea"),
}


def _home_codes() -> tuple[list[str], list[str]]:
    """The configured home area codes, and those of them that are unknown."""
    codes = list(settings().home_areas)
    try:
        service.home_areas(db_session(), settings())
    except service.UnknownAreaError as exc:
        return codes, exc.codes
    return codes, []


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
            errors = {exc.field: str(exc.message)}
        else:
            flash(_("Neighbourhood %(name)s added.", name=area.name), "success")
            return redirect(url_for("areas.index"))
    lookup: dict[str, Any] | None = None
    if "lat" in request.args or "lon" in request.args:
        try:
            point = validate(PointQuery, request.args.to_dict())
        except InputError as exc:
            errors.update(exc.errors)
        else:
            lookup = {"point": point, "areas": service.areas_at_point(session, point.lat, point.lon)}
    home, unknown_home = _home_codes()
    return render_template(
        "areas/index.html", areas=service.list_areas(session), home=home,
        unknown_home=unknown_home, errors=errors, values=values, lookup=lookup,
        map_kinds=MAP_KINDS, kind_labels=KIND_LABELS,
    ), (422 if errors else 200)


@bp.route("/lookup.json")
@roles("admin", read=READERS)
def lookup() -> Any:
    """The areas holding a point, for the map (the same answer as the API)."""
    try:
        point = validate(PointQuery, request.args.to_dict())
    except InputError as exc:
        return exc.as_response(422)
    found = service.areas_at_point(db_session(), point.lat, point.lon)
    return jsonify({
        "lat": point.lat, "lon": point.lon,
        "areas": [{"code": a.code, "name": a.name, "kind": a.kind} for a in found],
    })


@bp.route("/areas.geojson")
@roles("admin", read=READERS)
def geojson() -> Any:
    """Outlines as GeoJSON; ``?kind=`` (repeatable) picks the kinds shown."""
    kinds = request.args.getlist("kind") or list(MAP_KINDS)
    areas = [area for area in service.list_areas(db_session()) if area.kind in kinds]
    response = jsonify(service.as_feature_collection(areas, home=settings().home_areas))
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/<code>/delete", methods=["POST"])
@roles("admin")
def delete(code: str) -> Any:
    session = db_session()
    area = service.get_area(session, code)
    if area is None:
        abort(404)
    name = area.name
    try:
        service.delete_neighbourhood(session, area)
        session.commit()
    except service.AreaError as exc:
        session.rollback()
        flash(str(exc.message), "error")
    else:
        flash(_("Neighbourhood %(name)s deleted.", name=name), "success")
    return redirect(url_for("areas.index"))
