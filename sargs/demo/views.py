"""The demo's pages (demo and test mode only): what every phone, chat, inbox and IP phone
received from the simulators running in this process (``sargs demo`` puts them in the
app's state under :data:`phones.SIMULATORS`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from sargs.auth.access import signed_in
from sargs.context import db_session, settings
from sargs.demo import phones

bp = Blueprint("demo", __name__, template_folder="templates", url_prefix="/demo")
DEMO_MODES = ("demo", "test")
REFRESH_S = 5


@bp.before_request
def _demo_only() -> None:
    if settings().mode not in DEMO_MODES:
        abort(404)


@bp.get("/phones")
@signed_in
def phone_page() -> Any:
    """Everyone who received something, newest first; ``?who=resident`` (volunteer,
    staff, unknown) shows one kind of person."""
    who = request.args.get("who") or None
    if who not in (None, *phones.KINDS):
        who = None
    simulators = current_app.extensions["sargs"].extra.get(phones.SIMULATORS)
    people = phones.people(db_session(), simulators, who) if simulators else []
    return render_template("demo/phones.html", people=people, who=who, kinds=phones.KINDS,
                           running=simulators is not None, refresh_s=REFRESH_S)
