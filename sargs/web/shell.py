"""The shell around every page: navigation, language switch, home page, errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from sargs.auth.access import access_of, public, signed_in
from sargs.context import settings

bp = Blueprint("shell", __name__)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any
    description: Any


# The order of the navigation. Each entry shows only to users its view admits.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem("situation.index", _l("Situation"), _l("The whole situation on one screen")),
    NavItem("warnings.index", _l("Warnings"), _l("LVĢMC weather warnings and their escalation")),
    NavItem("channels.index", _l("Alerts"), _l("Alert campaigns, approval and delivery ledger")),
    NavItem("replies.index", _l("Replies"), _l("Replies to alerts that wait for an operator")),
    NavItem("contacts.index", _l("Contacts"), _l("Staff, institutions and paging groups alerts reach")),
    NavItem("cad.index", _l("Reports"), _l("Resident reports of the 8787 line and their routing")),
    NavItem("shelters.index", _l("Shelters"), _l("Shelter register, occupancy and public map")),
    NavItem("reserves.index", _l("Reserves"), _l("Material reserve stock")),
    NavItem("volunteers.index", _l("Volunteers"), _l("The CREWS volunteers: approval, teams, search")),
    NavItem("callouts.index", _l("Call-outs"), _l("Volunteers called out, their answers and hours")),
    NavItem("training.index", _l("Training"), _l("Courses, sessions, enrolment and attendance")),
    NavItem("training.teaching", _l("My sessions"), _l("The training sessions I teach")),
    NavItem("exercises.index", _l("Exercises"), _l("Continuity plans and tabletop exercises")),
    NavItem("exercise_play.index", _l("My exercises"), _l("The exercises I take part in")),
    NavItem("activations.index", _l("Activations"), _l("Emergencies and exercises")),
    NavItem("areas.index", _l("Areas"), _l("Warning areas and neighbourhoods")),
    NavItem("audit.index", _l("Audit log"), _l("Who changed what, when")),
    NavItem("auth.users", _l("Users"), _l("Staff accounts, roles and tokens")),
)


def current_item(items: list[NavItem], endpoint: str | None) -> str | None:
    """The endpoint of the navigation entry the page belongs to: the page's own entry,
    else the first entry of the page's blueprint (a blueprint may have two entries, as
    training has for an instructor's sessions)."""
    if not endpoint:
        return None
    if any(item.endpoint == endpoint for item in items):
        return endpoint
    blueprint = endpoint.split(".")[0]
    return next((item.endpoint for item in items
                 if item.endpoint.split(".")[0] == blueprint), None)


def navigation_for(user: Any) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    held = user.role_names
    items = []
    for item in NAVIGATION:
        view = current_app.view_functions.get(item.endpoint)
        access = access_of(view) if view else None
        if access and access.allows(held):
            items.append(item)
    return items


def select_locale() -> str:
    languages = settings().languages
    if not has_request_context():  # a CLI command or a job: the first language
        return languages[0]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    user_language = getattr(current_user, "language", None) if current_user else None
    if user_language in languages:
        return user_language
    return languages[0]


def _safe_target(target: str | None) -> str:
    """Only redirect back within this site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.route("/")
@signed_in
def home() -> str:
    return render_template("shell/home.html", modules=navigation_for(current_user))


@bp.route("/lang/<code>", methods=["POST"])
@public
def switch_language(code: str) -> Any:
    if code in settings().languages:
        session["lang"] = code
    return redirect(_safe_target(request.form.get("next")))


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz")) or (
        request.accept_mimetypes.best == "application/json"
    )


def handle_http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if _wants_json():
        response = jsonify({"error": error.name, "description": error.description})
        response.status_code = status
        return response
    return render_template("shell/error.html", error=error, status=status), status


def handle_unexpected(error: Exception) -> Any:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    from werkzeug.exceptions import InternalServerError

    return handle_http_error(InternalServerError())


def template_globals() -> dict[str, Any]:
    return {
        "navigation": navigation_for(current_user),
        "current_nav": current_item,
        "current_locale": str(get_locale()),
        "languages": settings().languages,
    }


def home_outlines() -> dict[str, Any]:
    """The home areas' outlines (SARGS_HOME_AREAS) as GeoJSON, for maps that show places
    in the city; read once per request."""
    if "home_outlines" not in g:
        from sargs.areas import service as areas
        from sargs.context import db_session

        g.home_outlines = areas.as_feature_collection(
            areas.home_areas(db_session(), settings()), home=settings().home_areas)
    return g.home_outlines


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(template_globals)
    cfg = app.extensions["sargs"].settings
    # A global, not a context variable, so imported macros (the map) see it too.
    app.jinja_env.globals["map_config"] = {
        "tiles": cfg.tile_url,
        "attribution": cfg.tile_attribution,
        "center": cfg.map_center,
    }
    app.jinja_env.globals["home_outlines"] = home_outlines
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
