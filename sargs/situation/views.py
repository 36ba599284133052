"""The situation dashboard."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("situation", __name__, template_folder="templates", url_prefix="/situation")
