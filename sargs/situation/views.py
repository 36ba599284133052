"""The situation dashboard: every module's state on one screen for the commission, a wall
screen or a tablet. The board refreshes itself (htmx fetches the board fragment every few
seconds); each part says how fresh it is and turns stale when it is not refreshed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from sargs.auth.access import roles
from sargs.channels.views import CHANNEL_LABELS
from sargs.channels.views import STATE_LABELS as ALERT_STATE_LABELS
from sargs.context import db_session, settings
from sargs.situation import service
from sargs.warnings.views import LEVEL_LABELS, TYPE_LABELS

bp = Blueprint("situation", __name__, template_folder="templates", url_prefix="/situation")

VIEWERS = ("commission", "admin", "operator")
READERS = ("auditor",)
REFRESH_SECONDS = 10

CHAIN_LABELS = {"running": _l("calling"), "acknowledged": _l("acknowledged"),
                "finished": _l("nobody acknowledged"), "stopped": _l("stopped")}
OVERDUE_LABELS = {"response": _l("not accepted in time"),
                  "resolution": _l("not resolved in time")}


def _language() -> str:
    return str(get_locale() or "lv")


def _board_context() -> dict[str, Any]:
    situation = service.snapshot(db_session(), settings(), language=_language())
    return {
        "s": situation, "layers": service.snapshot_json(situation)["parts"]["map"],
        "refresh_seconds": REFRESH_SECONDS, "level_labels": LEVEL_LABELS,
        "type_labels": TYPE_LABELS, "alert_state_labels": ALERT_STATE_LABELS,
        "channel_labels": CHANNEL_LABELS, "chain_labels": CHAIN_LABELS,
        "overdue_labels": OVERDUE_LABELS,
    }


@bp.route("/")
@roles(*VIEWERS, read=READERS)
def index() -> Any:
    return render_template("situation/index.html", **_board_context())


@bp.route("/board")
@roles(*VIEWERS, read=READERS)
def board() -> Any:
    """The board alone, for the page's own refresh."""
    return render_template("situation/_board.html", **_board_context())


@bp.route("/data.json")
@roles(*VIEWERS, read=READERS)
def data() -> Any:
    situation = service.snapshot(db_session(), settings(), language=_language())
    return jsonify(service.snapshot_json(situation))
