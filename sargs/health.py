"""``GET /healthz``: the database and scheduler state as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.orm import Session

from sargs import __version__, migrate, scheduler
from sargs.auth.access import public
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.settings import Settings

bp = Blueprint("health", __name__)
# Domains add their part of the report here (registered in sargs.blueprints).
CONTRIBUTORS: dict[str, Callable[[Session, Settings], dict[str, Any]]] = {}


def contribute(name: str, report: Callable[[Session, Settings], dict[str, Any]]) -> None:
    CONTRIBUTORS[name] = report


@bp.route("/healthz")
@public
@limiter.exempt
def healthz() -> Any:
    session = db_session()
    report: dict[str, Any] = {"version": __version__}
    try:
        session.execute(text("SELECT 1"))
        engine = session.get_bind()
        current = migrate.current_revision(session.connection())
        head = migrate.head_revision(engine)
        report["database"] = {
            "ok": current == head,
            "dialect": engine.dialect.name,
            "revision": current,
            "head": head,
        }
        report["scheduler"] = scheduler.state_of(session, settings().tick_seconds)
        for name, contributor in CONTRIBUTORS.items():
            report[name] = contributor(session, settings())
    except Exception as exc:  # the point of a health check is to report, not to crash
        report["database"] = {"ok": False, "error": type(exc).__name__}
        report["status"] = "down"
        return jsonify(report), 503
    healthy = report["database"]["ok"] and report["scheduler"].get("state") == "running"
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if report["database"]["ok"] else 503
