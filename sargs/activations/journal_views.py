"""The crisis journal of an activation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("journal", __name__, template_folder="templates", url_prefix="/activations")
