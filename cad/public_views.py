"""The public "report a problem" page: a resident marks the place on the map (or types
an address), picks a category, describes the problem, adds up to three photos and, if
they wish, leaves a contact to be told the outcome.

No login; the POST is rate-limited per IP and carries a CSRF token; a hidden honeypot
field catches form-filling robots. Bad input re-renders the form (422) with the error
next to its field, and nothing is stored. Nothing here logs the reporter's contact.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sargs.auth.access import public
from sargs.cad import photos, service
from sargs.cad.schemas import ReportIn
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.web.forms import InputError, validate

bp = Blueprint("cad_public", __name__, template_folder="templates", url_prefix="/report")

POST_LIMIT = "5 per minute; 30 per hour"
HONEYPOT = "website"
SESSION_KEY = "cad_report_number"
TEXT_FIELDS = ("category", "description", "address", "lat", "lon", "reporter_name",
               "reporter_phone", "reporter_email", "feedback_channel")
CONTACT_FIELDS = ("reporter_name", "reporter_phone", "reporter_email")
FEEDBACK_CHANNELS = {"email": _l("E-mail"), "sms": _l("SMS")}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in ("lv", "en") else "lv"


def _values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in TEXT_FIELDS}
    values["feedback_wanted"] = bool(request.form.get("feedback_wanted"))
    values["consent"] = bool(request.form.get("consent"))
    return values


def _page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
          status: int = 200) -> Any:
    language = _language()
    return render_template(
        "cad/public_report.html", errors=errors or {}, values=values or {},
        categories=service.categories(db_session()), language=language,
        feedback_channels=FEEDBACK_CHANNELS, honeypot=HONEYPOT,
        retention_days=settings().cad_retention_days, max_photos=photos.MAX_PER_REPORT,
        max_mb=photos.MAX_BYTES // (1024 * 1024),
    ), status


def _uploads() -> list[bytes]:
    """The photos sent, each read to one byte past the limit (so a huge one is refused
    without reading it whole)."""
    found = []
    for upload in request.files.getlist("photos"):
        data = upload.stream.read(photos.MAX_BYTES + 1)
        if data or upload.filename:
            found.append(data)
    return found


def _checked(values: dict[str, Any], cleaned: list[photos.CleanPhoto]) -> ReportIn:
    """The form as a report; a photo's location places it when no point was chosen."""
    data = {name: values[name] for name in TEXT_FIELDS}
    if not values["lat"] and not values["lon"]:
        located = next((p.location for p in cleaned if p.location), None)
        if located is not None:
            data["lat"], data["lon"] = located
            values["lat"], values["lon"] = (f"{located[0]:.6f}", f"{located[1]:.6f}")
    channel = values["feedback_channel"]
    if not values["feedback_wanted"]:
        data["feedback_channel"] = ""  # the radio's default means nothing without the box
    elif channel and channel not in FEEDBACK_CHANNELS:
        raise InputError({"feedback_channel": _("Choose e-mail or SMS.")})
    if any(values[name] for name in CONTACT_FIELDS) and not values["consent"]:
        raise InputError({"consent": _(
            "We can keep your contact data only with your consent; or leave it out.")})
    return validate(ReportIn, {**data, "channel": "web", "language": _language(),
                               "feedback_wanted": values["feedback_wanted"]})


@bp.route("/", methods=["GET", "POST"])
@public
@limiter.limit(POST_LIMIT, methods=["POST"])
def report() -> Any:
    if request.method == "GET":
        return _page()
    values = _values()
    if request.form.get(HONEYPOT):  # a robot: answer as if received, store nothing
        session.pop(SESSION_KEY, None)
        return redirect(url_for("cad_public.sent"), 303)
    errors: dict[str, str] = {}
    cleaned: list[photos.CleanPhoto] = []
    try:
        cleaned = photos.clean_all(_uploads())
    except photos.PhotoError as exc:
        errors[exc.field] = exc.message
    try:
        data = _checked(values, cleaned)
    except InputError as exc:
        return _page({**exc.errors, **errors}, values, 422)
    if errors:
        return _page(errors, values, 422)
    sess = db_session()
    try:
        created = service.create_report(sess, settings(), data,
                                         who=service.Who("reporter", _("Resident")))
        for photo in cleaned:
            photos.save(sess, created, photo)
    except service.ReportError as exc:
        sess.rollback()
        field = "lat" if exc.field in ("lat", "lon") else exc.field
        return _page({field: exc.message}, values, 422)
    sess.commit()
    session[SESSION_KEY] = created.id
    return redirect(url_for("cad_public.sent"), 303)


@bp.route("/sent")
@public
def sent() -> Any:
    """The report's number, for the resident to quote when calling 8787."""
    return render_template("cad/public_sent.html", number=session.get(SESSION_KEY))
