"""JSON API of activations for integrations (Bearer token, scope activations:read)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from sargs.activations import service
from sargs.activations.schemas import ActivationOut
from sargs.auth.access import api_scopes
from sargs.context import db_session
from sargs.extensions import csrf

bp = Blueprint("activations_api", __name__, url_prefix="/api/v1/activations")
csrf.exempt(bp)


@bp.route("")
@api_scopes("activations:read")
def list_() -> Any:
    items = service.list_activations(db_session())
    return jsonify([ActivationOut.model_validate(a).model_dump(mode="json") for a in items])


@bp.route("/<int:activation_id>")
@api_scopes("activations:read")
def detail(activation_id: int) -> Any:
    activation = service.get_activation(db_session(), activation_id)
    if activation is None:
        abort(404)
    return jsonify(ActivationOut.model_validate(activation).model_dump(mode="json"))
