"""``GET /healthz``: the database and scheduler state as JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from sargs import __version__, migrate, scheduler
from sargs.auth.access import public
from sargs.context import db_session, settings
from sargs.extensions import limiter

bp = Blueprint("health", __name__)


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
    except Exception as exc:  # the point of a health check is to report, not to crash
        report["database"] = {"ok": False, "error": type(exc).__name__}
        report["status"] = "down"
        return jsonify(report), 503
    healthy = report["database"]["ok"] and report["scheduler"].get("state") == "running"
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if report["database"]["ok"] else 503
