"""The audit log page for admins and auditors: filter, read, export CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Response, render_template, request

from sargs.audit import service
from sargs.audit.schemas import AuditFilter
from sargs.auth.access import roles
from sargs.context import db_session, settings
from sargs.web.forms import InputError, validate

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/audit")


def _filter() -> tuple[AuditFilter, dict[str, str]]:
    try:
        return validate(AuditFilter, request.args.to_dict()), {}
    except InputError as exc:
        return AuditFilter(), exc.errors


@bp.route("/")
@roles("admin", "auditor")
def index() -> Any:
    query, errors = _filter()
    session = db_session()
    entries, total = service.search(session, query, settings().timezone)
    return render_template(
        "audit/index.html", entries=entries, total=total, query=query, errors=errors,
        object_types=service.object_types(session), actions=service.actions(session),
    ), (400 if errors else 200)


@bp.route("/export.csv")
@roles("admin", "auditor")
def export_csv() -> Any:
    query, errors = _filter()
    if errors:
        return InputError(errors).as_response(400)
    session = db_session()
    entries, _total = service.search(session, query, settings().timezone, limit=None)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at_utc", "actor_kind", "actor", "origin", "action",
                     "object_type", "object_id", "before", "after"])
    for entry in entries:
        writer.writerow([
            entry.id, entry.at.isoformat(), entry.actor_kind, entry.actor_label, entry.origin,
            entry.action, entry.object_type, entry.object_id or "",
            json.dumps(entry.before, ensure_ascii=False) if entry.before else "",
            json.dumps(entry.after, ensure_ascii=False) if entry.after else "",
        ])
    service.record(session, "export", "audit_log", after={"rows": len(entries)})
    session.commit()
    return Response(
        "\ufeff" + buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=sargs-audit.csv"},
    )
