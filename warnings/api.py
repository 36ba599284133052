"""Warnings for integrations: ``GET /api/v1/warnings[?state=…]`` (scope warnings:read),
the same objects as ``sargs warnings list --json``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from sargs.auth.access import api_scopes
from sargs.context import db_session
from sargs.extensions import csrf
from sargs.warnings import service
from sargs.warnings.models import WARNING_STATES

bp = Blueprint("warnings_api", __name__, url_prefix="/api/v1/warnings")
csrf.exempt(bp)


@bp.route("")
@api_scopes("warnings:read")
def list_warnings() -> Any:
    state = request.args.get("state", "active")
    if state not in (*WARNING_STATES, "all"):
        return jsonify({"errors": [{"field": "state", "message": _(
            "Choose one of: %(choices)s.", choices=", ".join((*WARNING_STATES, "all")))}]}), 422
    zone = current_app.extensions["sargs"].settings.zone
    return jsonify([service.as_json(w, zone) for w in service.list_warnings(db_session(), state)])
