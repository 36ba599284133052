"""Warnings for integrations: ``GET /api/v1/warnings`` (scope warnings:read)."""

from __future__ import annotations

from flask import Blueprint

from sargs.extensions import csrf

bp = Blueprint("warnings_api", __name__, url_prefix="/api/v1/warnings")
csrf.exempt(bp)
