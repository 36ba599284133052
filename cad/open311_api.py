"""``/open311/v2``: the Open311 GeoReport v2 endpoints the city's app and web map use.

Reading is open to anyone (declared ``public``), as Open311 intends; submitting needs an
``api_key`` — an API token with the scope ``open311:write`` — sent in the form, as the
spec has it, rather than an Authorization header, so it is checked here. Every endpoint
answers in JSON or XML by its extension, errors too, in the Open311 error format, in the
language of ``?locale=`` or Accept-Language (Latvian by default). Rate-limited per IP;
CSRF-exempt, being an API. Mapping and rules: :mod:`sargs.cad.open311`,
:mod:`sargs.cad.service`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, json, request
from flask_babel import force_locale
from flask_babel import gettext as _

from sargs import clock
from sargs.audit.service import Actor, set_actor
from sargs.auth.access import public
from sargs.auth.service import touch_token, verify_token
from sargs.cad import open311, service
from sargs.cad.open311 import FORMATS, Open311Error
from sargs.context import db_session, settings
from sargs.extensions import csrf, limiter

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)

READ_LIMIT = "300 per minute"
POST_LIMIT = "30 per minute; 500 per hour"
SCOPE = "open311:write"


def _language() -> str:
    languages = settings().languages
    asked = (request.args.get("locale") or "").replace("_", "-").split("-")[0].lower()
    if asked in languages:
        return asked
    return request.accept_languages.best_match(languages) or languages[0]


def _answer(fmt: str, root: str, value: Any, item: str | None = None,
            status: int = 200) -> Response:
    if fmt == "xml":
        body = open311.to_xml(root, value, item)
    else:
        body = json.dumps(value).encode()
    return Response(body, status=status, content_type=FORMATS[fmt])


def _errors(fmt: str, error: Open311Error) -> Response:
    return _answer(fmt, "errors", error.rows(), "error", error.status)


def _open311(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer in the asked format and language; an Open311Error becomes the error
    document, with nothing half-written in the database."""

    @functools.wraps(view)
    def wrapper(*args: Any, fmt: str, **kwargs: Any) -> Any:
        language = _language()
        with force_locale(language):
            if fmt not in FORMATS:
                return _errors("json", Open311Error(404, _("Use .json or .xml.")))
            try:
                return view(*args, fmt=fmt, language=language, **kwargs)
            except Open311Error as exc:
                db_session().rollback()
                return _errors(fmt, exc)

    return wrapper


@bp.errorhandler(429)
def _too_many(error: Exception) -> Response:
    """The rate limit, answered in the Open311 error format too."""
    fmt = (request.view_args or {}).get("fmt")
    with force_locale(_language()):
        return _errors(fmt if fmt in FORMATS else "json", Open311Error(
            429, _("Too many requests; try again in a minute.")))


@bp.route("/discovery.<fmt>")
@public
@limiter.limit(READ_LIMIT)
@_open311
def discovery(fmt: str, language: str) -> Any:
    return _answer(fmt, "discovery", open311.discovery(settings()))


@bp.route("/services.<fmt>")
@public
@limiter.limit(READ_LIMIT)
@_open311
def services(fmt: str, language: str) -> Any:
    rows = [open311.service_row(c, language) for c in service.categories(db_session())]
    return _answer(fmt, "services", rows, "service")


@bp.route("/services/<code>.<fmt>")
@public
@limiter.limit(READ_LIMIT)
@_open311
def service_definition(code: str, fmt: str, language: str) -> Any:
    category = service.category_by_code(db_session(), code)
    if category is None or not category.active:
        raise Open311Error(404, _("Unknown category: %(code)s", code=code))
    return _answer(fmt, "service_definition", open311.service_definition(category))


@bp.route("/requests.<fmt>", methods=["GET", "POST"])
@public
@limiter.limit(READ_LIMIT, methods=["GET"])
@limiter.limit(POST_LIMIT, methods=["POST"])
@_open311
def requests(fmt: str, language: str) -> Any:
    if request.method == "POST":
        return _submit(fmt, language)
    sess, conf = db_session(), settings()
    query = open311.request_query(sess, request.args, clock.now(), conf.zone)
    rows = [open311.request_row(r, conf.zone, language)
            for r in open311.find_requests(sess, conf, query)]
    return _answer(fmt, "service_requests", rows, "request")


@bp.route("/requests/<number>.<fmt>")
@public
@limiter.limit(READ_LIMIT)
@_open311
def one_request(number: str, fmt: str, language: str) -> Any:
    conf = settings()
    found = (open311.public_report(db_session(), conf, int(number))
             if number.isdigit() and len(number) <= open311.MAX_ID_DIGITS else None)
    if found is None:
        raise Open311Error(404, _("There is no request %(number)s.", number=number))
    return _answer(fmt, "service_requests", [open311.request_row(found, conf.zone, language)],
                   "request")


def _submit(fmt: str, language: str) -> Any:
    sess, conf = db_session(), settings()
    key = (request.form.get("api_key") or "").strip()
    if not key:
        raise open311.bad_field("api_key", _("This field is required."))
    token = verify_token(sess, key)
    if token is None or SCOPE not in token.scopes:
        raise Open311Error(403, _("api_key: this key may not submit requests."))
    touch_token(sess, token)
    set_actor(Actor("token", token.id, f"token:{token.name}", request.remote_addr or "?"))
    data = open311.report_in(request.form, language)
    media_url = open311.media_url(request.form)
    who = service.Who("reporter", token.name)
    try:
        report = service.create_report(sess, conf, data, who=who)
    except service.ReportError as exc:
        raise open311.bad_field(exc.field, exc.message) from None
    if media_url:
        service.add_note(sess, report, f"media_url: {media_url}", who=who)
    sess.commit()
    return _answer(fmt, "service_requests", [open311.created_row(report)], "request")
