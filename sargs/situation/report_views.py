"""The situation report, as HTML and PDF."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("situation_report", __name__, template_folder="templates", url_prefix="/situation/report")
