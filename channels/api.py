"""Alerts for integrations: ``GET /api/v1/alerts[/<id>]`` (scope alerts:read)."""

from __future__ import annotations

from flask import Blueprint

from sargs.extensions import csrf

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1/alerts")
csrf.exempt(bp)
