"""The public CAP 1.2 feed of Sargs' own Actual public alerts (no sign-in)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cap", __name__, url_prefix="/cap")
