"""The public map of shelters: no login, Latvian first, usable on a phone.

Open shelters (in a real activation: exercise openings never show) with their free
places, otherwise every registered place; a list under the map; and "find the nearest
open shelter" from the browser's location, through ``/api/v1/shelters/nearest``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from sargs.auth.access import public
from sargs.context import db_session
from sargs.extensions import limiter
from sargs.shelters.api import public_rows

bp = Blueprint("shelters_public", __name__, template_folder="templates", url_prefix="/public")

PAGE_LIMIT = "120 per minute"


@bp.route("/shelters")
@public
@limiter.limit(PAGE_LIMIT)
def map_page() -> Any:
    rows = public_rows(db_session())
    # Open shelters first (those with free places before full ones), then by name.
    rows.sort(key=lambda r: (not r["open"], not (r["free_places"] or 0), r["name"]))
    return render_template("shelters/public_map.html", rows=rows,
                           any_open=any(r["open"] for r in rows))
