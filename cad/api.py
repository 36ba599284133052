"""The 8787 line's JSON APIs.

Staff tools: ``GET /api/v1/reports`` (the operators' search: ``q``, ``category``,
``partner``, ``state`` (comma list, or ``open``/``closed``), ``from``, ``to`` (dates),
``jurisdiction``, ``limit`` ≤ 500, ``offset``) and ``GET /api/v1/reports/<id>`` with its
timeline; a bearer API token with the scope ``reports:read``. Bad parameters give 422
``{"errors": [{"field", "message"}]}``. The reporter's contact data (name, phone,
e-mail, Telegram) is NOT in this API either: only operators see it, on the report's page,
so a token that leaks exposes no resident.

Partners: ``GET /api/v1/partner/reports`` (its open reports), ``GET
/api/v1/partner/reports/<id>`` and ``POST /api/v1/partner/reports/<id>/actions`` with
``{"action": "accept|reject|plan|resolve", "note", "planned_for"}``, authorised by the
partner's own token (``sargs cad partner-token``), which is not an API token with scopes:
see :func:`partner_api`. A report not with the token's partner is 404, whoever has it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator

from sargs import clock
from sargs.audit.service import Actor, set_actor
from sargs.auth.access import api_scopes, own_bearer
from sargs.cad import partner_tokens, service
from sargs.cad.models import CLOSED_STATES, OPEN_STATES, REPORT_STATES, CadPartner, CadReport
from sargs.cad.schemas import PartnerAction
from sargs.context import db_session, settings
from sargs.extensions import csrf, limiter
from sargs.web.forms import InputError, json_body, validate

bp = Blueprint("cad_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PARTNER_LIMIT = "120 per minute"
STATE_GROUPS = {"open": OPEN_STATES, "closed": CLOSED_STATES}
# Timeline data safe to hand out (a feedback entry also names the contact registered).
EVENT_DATA = ("channel", "category", "partner", "partner_name", "planned_for", "overdue")
# What a partner works on: sent to it and not yet finished.
PARTNER_OPEN = ("routed", "accepted")


class ReportQuery(BaseModel):
    q: str = Field("", max_length=200)
    category: str | None = Field(None, max_length=32)
    partner: str | None = Field(None, max_length=32)
    state: str | None = Field(None, max_length=200)
    date_from: date | None = Field(None, alias="from")
    date_to: date | None = Field(None, alias="to")
    jurisdiction: Literal["city", "municipality"] | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)

    @field_validator("category", "partner", "state", "date_from", "date_to", "jurisdiction",
                     mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    def states(self) -> tuple[str, ...]:
        chosen: tuple[str, ...] = ()
        for part in (p.strip() for p in (self.state or "").split(",") if p.strip()):
            if part not in (*REPORT_STATES, *STATE_GROUPS):
                raise InputError({"state": _("Choose one of: %(choices)s.", choices=", ".join(
                    (*REPORT_STATES, *STATE_GROUPS)))})
            chosen += STATE_GROUPS.get(part, (part,))
        return chosen


def _time(value: Any) -> str | None:
    return value.astimezone(settings().zone).isoformat(timespec="seconds") if value else None


def report_json(report: CadReport, *, partner_view: bool = False) -> dict[str, Any]:
    """A report without its reporter's contact data; for a partner also without the
    operators' bookkeeping (channel, jurisdiction, duplicates)."""
    category = report.category
    row: dict[str, Any] = {
        "id": report.id, "state": report.state,
        "category": {"code": category.code, "name_lv": category.name_lv,
                     "name_en": category.name_en} if category else None,
        "title": report.title, "description": report.description, "address": report.address,
        "lat": report.lat, "lon": report.lon,
        "received_at": _time(report.received_at), "routed_at": _time(report.routed_at),
        "accepted_at": _time(report.accepted_at),
        "planned_for": report.planned_for.isoformat() if report.planned_for else None,
        "closed_at": _time(report.closed_at), "response_due": _time(report.response_due),
        "resolution_due": _time(report.resolution_due),
        "overdue": service.overdue_kind(report, clock.now()),
        "status_note": report.status_note,
    }
    if not partner_view:
        row.update({
            "channel": report.channel, "jurisdiction": report.jurisdiction,
            "area_code": report.area_code,
            "partner": {"code": report.partner.code, "name": report.partner.name}
            if report.partner else None,
            "updated_at": _time(report.updated_at), "duplicate_of": report.duplicate_of_id,
            "feedback_wanted": report.feedback_wanted,
            "feedback_channel": report.feedback_channel, "imported": report.imported,
        })
    return row


def timeline_json(report: CadReport) -> list[dict[str, Any]]:
    return [{"at": _time(e.at), "kind": e.kind, "actor_kind": e.actor_kind,
             "actor_name": e.actor_name, "note": e.note,
             "data": {k: v for k, v in e.data.items() if k in EVENT_DATA}}
            for e in report.events]


def _errors(status: int, field: str, message: str) -> Any:
    return InputError({field: message}).as_response(status)


# --- staff tools -------------------------------------------------------------


@bp.route("/reports")
@api_scopes("reports:read")
def reports() -> Any:
    sess = db_session()
    try:
        query = validate(ReportQuery, request.args)
        states = query.states()
        if query.category and service.category_by_code(sess, query.category) is None:
            raise InputError({"category": _("Unknown category: %(code)s", code=query.category)})
        if query.partner and query.partner not in {p.code for p in service.partners(
                sess, active_only=False)}:
            raise InputError({"partner": _("Unknown partner.")})
    except InputError as exc:
        return exc.as_response(422)
    flt = service.ReportFilter(
        text=query.q, category=query.category, partner=query.partner, states=states,
        date_from=query.date_from, date_to=query.date_to, jurisdiction=query.jurisdiction,
        limit=query.limit, offset=query.offset)
    rows, total = service.search(sess, settings(), flt)
    return jsonify({"total": total, "limit": query.limit, "offset": query.offset,
                    "reports": [report_json(r) for r in rows]})


@bp.route("/reports/<int:report_id>")
@api_scopes("reports:read")
def report(report_id: int) -> Any:
    found = service.get_report(db_session(), report_id)
    if found is None:
        return _errors(404, "id", _("There is no report %(number)s.", number=report_id))
    return jsonify({**report_json(found), "timeline": timeline_json(found)})


# --- partners ----------------------------------------------------------------


def _unauthorised(message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="sargs-partner"'
    return response


def partner_api(view: Callable[..., Any]) -> Callable[..., Any]:
    """The partner's token in ``Authorization: Bearer …``; the view gets the partner.

    Not :func:`sargs.auth.access.api_scopes`: a partner has no API token with scopes,
    its token is a property of the partner (one per organisation, rotated by the CLI),
    so the check is here and the view is declared with ``own_bearer``.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _sep, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return _unauthorised("a partner token is required")
        partner = partner_tokens.partner_for(db_session(), presented.strip())
        if partner is None:
            return _unauthorised("the token is invalid or revoked")
        set_actor(Actor("token", None, f"partner:{partner.code}", request.remote_addr or "?"))
        return view(partner, *args, **kwargs)

    return own_bearer(wrapper)


def _partners_report(partner: CadPartner, report_id: int) -> CadReport | None:
    found = service.get_report(db_session(), report_id)
    return found if found is not None and found.partner_id == partner.id else None


@bp.route("/partner/reports")
@limiter.limit(PARTNER_LIMIT)
@partner_api
def partner_reports(partner: CadPartner) -> Any:
    rows, total = service.search(db_session(), settings(), service.ReportFilter(
        partner=partner.code, states=PARTNER_OPEN, limit=500))
    return jsonify({"total": total,
                    "reports": [report_json(r, partner_view=True) for r in rows]})


@bp.route("/partner/reports/<int:report_id>")
@limiter.limit(PARTNER_LIMIT)
@partner_api
def partner_report(partner: CadPartner, report_id: int) -> Any:
    found = _partners_report(partner, report_id)
    if found is None:
        return _errors(404, "id", _("Report %(number)s is not with your organisation.",
                                    number=report_id))
    return jsonify(report_json(found, partner_view=True))


@bp.route("/partner/reports/<int:report_id>/actions", methods=["POST"])
@limiter.limit(PARTNER_LIMIT)
@partner_api
def partner_action(partner: CadPartner, report_id: int) -> Any:
    sess = db_session()
    found = _partners_report(partner, report_id)
    if found is None:
        return _errors(404, "id", _("Report %(number)s is not with your organisation.",
                                    number=report_id))
    try:
        action = json_body(PartnerAction)
        service.partner_act(sess, settings(), found, action, partner=partner)
    except InputError as exc:
        sess.rollback()
        return exc.as_response(422)
    except service.ReportError as exc:
        sess.rollback()
        return _errors(409, exc.field, exc.message)
    sess.commit()
    return jsonify(report_json(found, partner_view=True))
