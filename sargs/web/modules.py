"""The landing page every domain module starts with.

A domain's ``views.py`` calls :func:`module_blueprint` with the roles that
may open the module; later issues grow the module's own pages beside it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, render_template

from sargs.auth.access import roles


def module_blueprint(
    name: str, import_name: str, allowed: Iterable[str], read: Iterable[str] = ()
) -> Blueprint:
    bp = Blueprint(name, import_name, template_folder="templates", url_prefix=f"/{name}")

    @bp.route("/")
    @roles(*allowed, read=read)
    def index() -> str:
        return render_template("shell/module.html", module=name)

    return bp
