"""The volunteer register's JSON API, for the CREWS partners' common platform and the
coordinators' tools. Every call needs a bearer API token with the scope ``volunteers``.

``POST /api/v1/volunteers`` hands over one registration (the portal's ``VolunteerIn``,
the same checks): 201 ``{"id", "status": "pending", "phone_code_sent"}`` with its
Location; 409 ``{"errors": [{"field", "message"}]}`` for a person already registered;
422 with the field errors for bad input. The volunteer is pending until a coordinator
approves them, and approval needs a verified phone: when SMS is configured a code goes
to the phone after the registration is stored (best-effort: a provider failure never
loses the registration; the volunteer can verify later by signing in to the portal).

``GET /api/v1/volunteers`` lists the register with the coordinators' filters
(``SearchIn`` as query parameters, ``skills`` repeated or comma-separated) and
``limit`` / ``offset``; ``GET /api/v1/volunteers/<id>`` gives one. Neither ever
carries a birth date or a guardian's data; every read is audit-logged by the service.

Rate limit: :data:`TOKEN_LIMIT` per token (one integration, one budget, whatever
address it calls from), so one runaway or leaked token is refused with 429 and others
are not. A token that also holds the scope ``volunteers:bulk`` (a partner platform's
bulk hand-over after a disaster, the registration bench) is exempt; no setting is
needed, the admin grants the scope when making the token.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel, Field

from sargs.auth.access import api_scopes
from sargs.context import db_session, settings
from sargs.extensions import csrf, limiter
from sargs.volunteers import senders, service
from sargs.volunteers.models import Volunteer
from sargs.volunteers.schemas import SearchIn, VolunteerIn
from sargs.web.forms import InputError, json_body, validate

bp = Blueprint("volunteers_api", __name__, url_prefix="/api/v1/volunteers")
csrf.exempt(bp)
log = logging.getLogger(__name__)

SCOPE = "volunteers"
BULK_SCOPE = "volunteers:bulk"
# A partner platform forwarding what people type in its own form stays far below this.
TOKEN_LIMIT = "120 per minute; 3000 per hour"
MAX_PAGE = 500


class Page(BaseModel):
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


def _token_key() -> str:
    """The rate limit counts per token (api_scopes has checked it before the limit)."""
    token = getattr(g, "api_token", None)
    return f"token:{token.id}" if token is not None else f"address:{request.remote_addr}"


def _bulk_token() -> bool:
    token = getattr(g, "api_token", None)
    return token is not None and BULK_SCOPE in (token.scopes or [])


limited = limiter.limit(TOKEN_LIMIT, key_func=_token_key, exempt_when=_bulk_token)


def _staff() -> service.Staff:
    """A token acts for no one user: it sees the whole register (its reads are logged
    with the token as the actor)."""
    return service.Staff(None, frozenset())


def volunteer_json(volunteer: Volunteer) -> dict[str, Any]:
    """A volunteer as the API gives them: no birth date, no guardian."""
    return {
        "id": volunteer.id, "status": volunteer.status, "name": volunteer.name,
        "phone": volunteer.phone, "phone_verified": volunteer.phone_verified_at is not None,
        "email": volunteer.email, "email_confirmed": volunteer.email_confirmed_at is not None,
        "language": volunteer.language, "municipality": volunteer.municipality,
        "neighbourhood": volunteer.neighbourhood, "skills": volunteer.skills,
        "licence_categories": volunteer.licence_categories,
        "own_vehicle": volunteer.own_vehicle, "languages": volunteer.languages,
        "available_days": volunteer.available_days,
        "available_from": service.hhmm(volunteer.available_from),
        "available_to": service.hhmm(volunteer.available_to),
        "travel_km": volunteer.travel_km,
        "telegram_linked": volunteer.telegram_chat_id is not None,
        "certificates": [{"kind": c.kind, "title": c.title,
                          "issued_on": c.issued_on.isoformat(),
                          "expires_on": c.expires_on.isoformat() if c.expires_on else None,
                          "issued_by": c.issued_by} for c in volunteer.certificates],
        "shelter_id": volunteer.shelter_id, "source": volunteer.source,
        "registered_at": volunteer.created_at.isoformat(),
        "decided_at": volunteer.decided_at.isoformat() if volunteer.decided_at else None,
    }


def _send_phone_code(volunteer_id: int) -> bool:
    """After the registration is committed: the phone's verification code, if SMS is
    configured. A failure is logged without the number and leaves the volunteer as
    registered."""
    config = settings()
    if senders.missing(config, ["sms"]):
        return False
    sess = db_session()
    try:
        volunteer = sess.get(Volunteer, volunteer_id)
        assert volunteer is not None
        service.send_phone_code(sess, volunteer, secret=str(current_app.config["SECRET_KEY"]),
                                send=senders.sender(config))
        sess.commit()
    except Exception as error:  # the provider's reason may name the number: not logged
        sess.rollback()
        log.warning("volunteer %s: the phone code was not sent (%s)", volunteer_id,
                    type(error).__name__)
        return False
    return True


@bp.route("", methods=["POST"])
@api_scopes(SCOPE)
@limited
def register() -> Any:
    sess = db_session()
    try:
        data = json_body(VolunteerIn)
        volunteer = service.register(sess, data, source="api")
    except InputError as exc:
        sess.rollback()
        return exc.as_response(422)
    except service.DuplicateVolunteer as exc:
        sess.rollback()
        return InputError({exc.field: exc.message}).as_response(409)
    except service.VolunteerError as exc:
        sess.rollback()
        return InputError({exc.field: exc.message}).as_response(422)
    sess.commit()
    volunteer_id = volunteer.id
    sent = _send_phone_code(volunteer_id)
    response = jsonify({"id": volunteer_id, "status": "pending", "phone_code_sent": sent})
    response.status_code = 201
    response.headers["Location"] = url_for("volunteers_api.one", volunteer_id=volunteer_id)
    return response


@bp.route("", methods=["GET"])
@api_scopes(SCOPE)
@limited
def listing() -> Any:
    args: dict[str, Any] = request.args.to_dict()
    args["skills"] = [skill.strip() for value in request.args.getlist("skills")
                      for skill in value.split(",") if skill.strip()]
    try:
        filters = validate(SearchIn, args)
        page = validate(Page, {k: v for k, v in request.args.items()
                               if k in ("limit", "offset")})
    except InputError as exc:
        return exc.as_response(422)
    sess, staff = db_session(), _staff()
    total, found = service.search_page(sess, filters, staff, page.limit, page.offset)
    sess.commit()
    return jsonify({"total": total, "limit": page.limit, "offset": page.offset,
                    "volunteers": [volunteer_json(v) for v in found]})


@bp.route("/<int:volunteer_id>", methods=["GET"])
@api_scopes(SCOPE)
@limited
def one(volunteer_id: int) -> Any:
    sess = db_session()
    volunteer = service.visible(sess, _staff(), volunteer_id)
    if volunteer is None:
        return InputError({"id": _("There is no volunteer %(number)s.",
                                   number=volunteer_id)}).as_response(404)
    sess.commit()
    return jsonify(volunteer_json(volunteer))
