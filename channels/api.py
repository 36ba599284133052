"""Alerts for integrations: ``GET /api/v1/alerts[/<id>]`` (scope alerts:read)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator

from sargs.auth.access import api_scopes
from sargs.channels.alert_json import DEFAULT_LIMIT, alert_json, recent_alerts
from sargs.channels.models import ALERT_STATES, Alert
from sargs.context import db_session
from sargs.extensions import csrf
from sargs.web.forms import InputError, validate

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1/alerts")
csrf.exempt(bp)

MAX_LIMIT = 500


class AlertListQuery(BaseModel):
    state: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str | None) -> str | None:
        if value is not None and value not in ALERT_STATES:
            raise ValueError(_("Choose one of: %(choices)s.", choices=", ".join(ALERT_STATES)))
        return value


@bp.route("")
@api_scopes("alerts:read")
def list_alerts() -> Any:
    try:
        query = validate(AlertListQuery, request.args.to_dict())
    except InputError as exc:
        return exc.as_response(422)
    session = db_session()
    found = recent_alerts(session, query.state, query.limit)
    return jsonify({"alerts": [alert_json(session, alert) for alert in found]})


@bp.route("/<int:alert_id>")
@api_scopes("alerts:read")
def show_alert(alert_id: int) -> Any:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None:
        response = jsonify({"error": _("No alert %(id)s.", id=alert_id)})
        response.status_code = 404
        return response
    return jsonify(alert_json(session, alert, milestones=True))
