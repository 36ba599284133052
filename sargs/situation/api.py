"""The situation for integrations: ``GET /api/v1/situation[?lang=lv|en]`` (scope
situation:read) — the dashboard's snapshot as JSON, for the state's or a neighbouring
municipality's situation room. Exercise activity is left out, as on the dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from sargs.auth.access import api_scopes
from sargs.context import db_session, settings
from sargs.extensions import csrf
from sargs.situation import service

bp = Blueprint("situation_api", __name__, url_prefix="/api/v1/situation")
csrf.exempt(bp)
LANGUAGES = ("lv", "en")


@bp.route("")
@api_scopes("situation:read")
def situation() -> Any:
    language = request.args.get("lang", "lv")
    if language not in LANGUAGES:
        return jsonify({"errors": [{"field": "lang", "message": _(
            "Choose one of: %(choices)s.", choices=", ".join(LANGUAGES))}]}), 422
    return jsonify(service.snapshot_json(
        service.snapshot(db_session(), settings(), language=language)))
