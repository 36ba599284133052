"""The demo's pages (demo mode only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("demo", __name__, template_folder="templates", url_prefix="/demo")
