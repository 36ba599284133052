"""The shelter register's JSON APIs.

Public, no login, rate-limited per address: ``GET /api/v1/shelters`` (every place as
the public sees it), ``GET /api/v1/shelters.geojson`` (the same as a FeatureCollection)
and ``GET /api/v1/shelters/nearest?lat=…&lon=…&n=3`` (the ``n`` ≤ 20 nearest shelters
open with free places, nearest first; when none is open, the nearest registered places,
each with ``"open": false``). No contact people, phones or procedures ever leave here:
the rows are :func:`sargs.shelters.service.public_row`'s.

Staff, a bearer API token with the scope ``shelters``: ``POST /api/v1/shelters`` (a
place, as ``ShelterIn``; 201 with its id), ``POST /api/v1/shelters/<id>/open``
(``{"activation_id"}``), ``POST /api/v1/shelters/<id>/close`` and ``POST
/api/v1/shelters/<id>/occupancy`` (``{"delta": n}``: people checked in, or out when
negative). Bad input answers 422 ``{"errors": [{"field", "message"}]}``; a step the
place's state does not allow (opening an open one, counting in a closed one) 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, Field

from sargs import clock
from sargs.auth.access import api_scopes, public
from sargs.context import db_session
from sargs.extensions import csrf, limiter
from sargs.shelters import service
from sargs.shelters.models import Shelter
from sargs.shelters.schemas import OccupancyIn, ShelterIn
from sargs.web.forms import InputError, json_body, validate

bp = Blueprint("shelters_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Generous: a whole neighbourhood may share one address behind a mobile operator's NAT.
PUBLIC_LIMIT = "1200 per minute"
NEAREST_FIELDS = ("id", "name", "address", "lat", "lon", "distance_m", "capacity",
                  "occupancy", "free_places", "open")


class NearestQuery(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    n: int = Field(3, ge=1, le=20)


class OpenIn(BaseModel):
    activation_id: int


def public_rows(session: Any) -> list[dict[str, Any]]:
    """The public rows with how many minutes ago each open shelter's count changed
    (counted on the server's clock, so a phone with a wrong clock still reads right)."""
    now = clock.now()
    rows = service.public_shelters(session)
    for row in rows:
        updated = row["updated_at"]
        row["updated_minutes_ago"] = (
            int((now - datetime.fromisoformat(updated)).total_seconds() // 60)
            if updated else None)
    return rows


def nearest_rows(session: Any, lat: float, lon: float, n: int) -> list[dict[str, Any]]:
    found, _any_open = service.nearest(session, lat, lon, n)
    rows = []
    for near in found:
        row = {**service.public_row(near.shelter, open_=near.open),
               "distance_m": near.distance_m}
        rows.append({key: row[key] for key in NEAREST_FIELDS})
    return rows


def _error(status: int, field: str, message: str) -> Any:
    return InputError({field: message}).as_response(status)


def _shelter_or_404(shelter_id: int) -> Shelter | None:
    return service.get_shelter(db_session(), shelter_id)


def _missing(shelter_id: int) -> Any:
    return _error(404, "id", _("There is no place %(number)s in the register.",
                               number=shelter_id))


# --- public ------------------------------------------------------------------


@bp.route("/shelters", methods=["GET"])
@public
@limiter.limit(PUBLIC_LIMIT)
def shelters() -> Any:
    return jsonify(public_rows(db_session()))


@bp.route("/shelters.geojson")
@public
@limiter.limit(PUBLIC_LIMIT)
def shelters_geojson() -> Any:
    features = [{"type": "Feature", "id": row["id"],
                 "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                 "properties": row} for row in public_rows(db_session())]
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.mimetype = "application/geo+json"
    return response


@bp.route("/shelters/nearest")
@public
@limiter.limit(PUBLIC_LIMIT)
def nearest() -> Any:
    try:
        query = validate(NearestQuery, {k: v for k, v in request.args.items()
                                        if k in ("lat", "lon", "n")})
    except InputError as exc:
        return exc.as_response(422)
    return jsonify(nearest_rows(db_session(), query.lat, query.lon, query.n))


# --- staff -------------------------------------------------------------------


@bp.route("/shelters", methods=["POST"])
@api_scopes("shelters")
def create() -> Any:
    sess = db_session()
    try:
        data = json_body(ShelterIn)
        shelter = service.create_shelter(sess, data)
    except InputError as exc:
        sess.rollback()
        return exc.as_response(422)
    except service.ShelterError as exc:
        sess.rollback()
        return _error(422, exc.field, exc.message)
    sess.commit()
    return jsonify(service.public_row(shelter, open_=False)), 201


@bp.route("/shelters/<int:shelter_id>/open", methods=["POST"])
@api_scopes("shelters")
def open_(shelter_id: int) -> Any:
    sess = db_session()
    shelter = _shelter_or_404(shelter_id)
    if shelter is None:
        return _missing(shelter_id)
    try:
        body = json_body(OpenIn)
        opening = service.open_shelter(sess, shelter, body.activation_id)
    except InputError as exc:
        return exc.as_response(422)
    except service.ShelterError as exc:
        sess.rollback()
        if exc.field == "activation":
            return _error(422, "activation_id", exc.message)
        return _error(409, exc.field, exc.message)
    sess.commit()
    return jsonify({"id": shelter.id, "open": True, "opening_id": opening.id,
                    "activation_id": opening.activation_id,
                    "opened_at": opening.opened_at.isoformat()})


@bp.route("/shelters/<int:shelter_id>/close", methods=["POST"])
@api_scopes("shelters")
def close(shelter_id: int) -> Any:
    sess = db_session()
    shelter = _shelter_or_404(shelter_id)
    if shelter is None:
        return _missing(shelter_id)
    try:
        opening = service.close_shelter(sess, shelter)
    except service.ShelterError as exc:
        sess.rollback()
        return _error(409, exc.field, exc.message)
    sess.commit()
    assert opening.closed_at is not None
    return jsonify({"id": shelter.id, "open": False, "opening_id": opening.id,
                    "closed_at": opening.closed_at.isoformat(),
                    "peak_occupancy": opening.peak_occupancy})


def occupancy_json(shelter: Shelter, result: service.OccupancyResult) -> dict[str, Any]:
    return {"id": shelter.id, "occupancy": result.occupancy, "capacity": result.capacity,
            "free_places": max(result.capacity - result.occupancy, 0),
            "over_capacity": result.over_capacity}


@bp.route("/shelters/<int:shelter_id>/occupancy", methods=["POST"])
@api_scopes("shelters")
def occupancy(shelter_id: int) -> Any:
    sess = db_session()
    shelter = _shelter_or_404(shelter_id)
    if shelter is None:
        return _missing(shelter_id)
    try:
        body = json_body(OccupancyIn)
    except InputError as exc:
        return exc.as_response(422)
    if shelter.opening_id is None:
        return _error(409, "delta", _("This shelter is not open."))
    try:
        result = service.change_occupancy(sess, shelter, body.delta)
    except service.ShelterError as exc:
        sess.rollback()
        return _error(422, exc.field, exc.message)
    sess.commit()
    return jsonify(occupancy_json(shelter, result))
