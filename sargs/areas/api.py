"""Area lookup for integrations: which areas hold a point (scope areas:read)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from sargs.areas import service
from sargs.areas.schemas import PointQuery
from sargs.auth.access import api_scopes
from sargs.context import db_session
from sargs.extensions import csrf
from sargs.web.forms import InputError, validate

bp = Blueprint("areas_api", __name__, url_prefix="/api/v1/areas")
csrf.exempt(bp)


@bp.route("/lookup")
@api_scopes("areas:read")
def lookup() -> Any:
    try:
        point = validate(PointQuery, request.args.to_dict())
    except InputError as exc:
        return exc.as_response(422)
    areas = service.areas_at_point(db_session(), point.lat, point.lon)
    return jsonify({
        "lat": point.lat, "lon": point.lon,
        "areas": [{"code": a.code, "name": a.name, "kind": a.kind} for a in areas],
    })
