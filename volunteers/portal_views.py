"""The public volunteer portal: registration, verifying the phone and e-mail, one-time
sign-in, and the volunteer's own profile (edit, certificates, Telegram, download,
erasure).

Phone-first pages, no login of the staff kind: a volunteer signs in with a code or
one-time link (:mod:`sargs.volunteers.portal_session`). The public POSTs are
rate-limited per IP and carry a hidden honeypot field; every rule is in
:mod:`sargs.volunteers.service`. The sign-in form keeps the typed address in the
session cookie whether or not anyone is registered there, so neither the page nor the
cookie tells who is. Nothing here logs an address, a code or a token.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from sargs.areas.models import Area
from sargs.auth.access import public
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.volunteers import consent, portal_session, reference, senders, service
from sargs.volunteers.models import Volunteer
from sargs.volunteers.portal_session import volunteer_required
from sargs.volunteers.schemas import (
    ADULT,
    MINOR_WITH_GUARDIAN,
    CertificateIn,
    CodeIn,
    ProfileIn,
    SignInIn,
    VolunteerIn,
)
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("volunteer_portal", __name__, template_folder="templates", url_prefix="/volunteer")

REGISTER_LIMIT = "10 per hour;30 per day"
SIGNIN_LIMIT = "10 per hour;30 per day"
CODE_LIMIT = "30 per hour"
RESEND_LIMIT = "10 per hour"
HONEYPOT = "website"
CERTIFICATE_ROWS = 3
SIGNIN_KEY = "volunteer_signin"  # the typed address of a sign-in under way
NEXT_KEY = "volunteer_next"

STATUS_TEXTS = {
    "pending": _l("Waiting for a coordinator to check your registration."),
    "active": _l("Active: you can be called out."),
    "reserve": _l("In reserve: you are asked when the active volunteers are not enough."),
    "inactive": _l("Inactive: you are not asked at the moment."),
}
LANGUAGE_LABELS = {"lv": _l("Latvian"), "en": _l("English")}
ANSWER_TEXTS = {
    "asked": _l("asked, no answer"), "yes": _l("yes"), "no": _l("no"),
    "released": _l("not needed after all"), "withdrawn": _l("taken off the roster"),
}
ENROLMENT_TEXTS = {"enrolled": _l("enrolled"), "waiting": _l("on the waiting list"),
                   "cancelled": _l("cancelled")}
PROFILE_LISTS = ("skills", "licence_categories", "languages", "available_days")


class CodeForm(CodeIn):
    what: str = Field("phone", pattern="^(phone|email)$")


class AddressForm(SignInIn):
    website: str = ""  # the honeypot


class ResendForm(BaseModel):
    what: str = Field(pattern="^(phone|email)$")


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _send() -> service.Send:
    return senders.sender(settings())


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "lv"


def _places() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(municipalities with the home areas first, neighbourhoods) as (code, name)."""
    rows = db_session().execute(
        select(Area.code, Area.name, Area.kind)
        .where(Area.kind.in_(("municipality", "neighbourhood"))).order_by(Area.name)).all()
    home = {code: rank for rank, code in enumerate(settings().home_areas)}
    municipalities = sorted(((r.code, r.name) for r in rows if r.kind == "municipality"),
                            key=lambda item: (home.get(item[0], len(home)), item[1]))
    return municipalities, [(r.code, r.name) for r in rows if r.kind == "neighbourhood"]


def _choices() -> dict[str, Any]:
    """What the registration and profile forms offer, named in the page's language."""
    language = _language()
    municipalities, neighbourhoods = _places()
    return {
        "municipalities": municipalities, "neighbourhoods": neighbourhoods,
        "skills": [(code, reference.name_of(reference.SKILLS, code, language))
                   for code in reference.SKILLS],
        "licences": [(code, code) for code in reference.LICENCE_CATEGORIES],
        "languages": [(code, reference.name_of(reference.LANGUAGES, code, language))
                      for code in reference.LANGUAGES],
        "weekdays": [(day, reference.name_of(reference.WEEKDAYS, day, language))
                     for day in reference.WEEKDAYS],
        "language_labels": LANGUAGE_LABELS,
    }


def _next_page() -> str:
    target = session.pop(NEXT_KEY, None)
    if isinstance(target, str) and target.startswith(bp.url_prefix + "/") \
            and not target.startswith("//"):
        return target
    return url_for("volunteer_portal.profile")


# --- the form's values --------------------------------------------------------------


def _form_values() -> dict[str, Any]:
    """What was typed, to show the form again."""
    form = request.form
    values: dict[str, Any] = {key: form.get(key, "") for key in form}
    for key in PROFILE_LISTS:
        values[key] = form.getlist(key)
    values["available_days"] = [int(d) for d in form.getlist("available_days") if d.isdigit()]
    for flag in ("own_vehicle", "consent", "guardian_consent"):
        values[flag] = bool(form.get(flag))
    values["certificates"] = [
        {name: form.get(f"certificates-{row}-{name}", "")
         for name in ("kind", "title", "issued_on", "expires_on")}
        for row in range(CERTIFICATE_ROWS)]
    return values


def _registration() -> VolunteerIn:
    """The submitted registration. Each certificate row is checked on its own, so its
    messages stand at the row typed in (rows left blank are skipped); every message
    of the form is raised together."""
    form = request.form
    data: MultiDict[str, Any] = MultiDict(
        [(k, v) for k, v in form.items(multi=True)
         if not k.startswith("certificates-") and k != HONEYPOT])
    errors: dict[str, str] = {}
    for row in range(CERTIFICATE_ROWS):
        cells = {name: form.get(f"certificates-{row}-{name}", "").strip()
                 for name in ("kind", "title", "issued_on", "expires_on")}
        if not any(cells[name] for name in ("title", "issued_on", "expires_on")):
            continue
        try:
            data.add("certificates", validate(CertificateIn, cells).model_dump())
        except InputError as exc:
            errors.update({f"certificates-{row}-{key}": message
                           for key, message in exc.errors.items()})
    try:
        registration = validate(VolunteerIn, data)
    except InputError as exc:
        raise InputError({**exc.errors, **errors}) from None
    if errors:
        raise InputError(errors)
    return registration


# --- registration -------------------------------------------------------------------


def _register_page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                   status: int = 200, duplicate: str | None = None,
                   unavailable: list[str] | None = None) -> Any:
    choices = _choices()
    if values is None:
        values = {"language": _language(), "available_from": "08:00", "available_to": "22:00",
                  "travel_km": "10", "certificates": [{}] * CERTIFICATE_ROWS,
                  "municipality": choices["municipalities"][0][0]
                  if choices["municipalities"] else ""}
    text = consent.consent_text(values.get("language") or _language())
    return render_template(
        "volunteers/portal/register.html", errors=errors or {}, values=values,
        duplicate=duplicate, unavailable=unavailable or [], consent=text,
        consent_version=consent.CONSENT_VERSION, honeypot=HONEYPOT, adult=ADULT,
        youngest=MINOR_WITH_GUARDIAN, signed_in=portal_session.current_volunteer(),
        rows=CERTIFICATE_ROWS, **choices,
    ), status


@bp.route("/", methods=["GET", "POST"])
@public
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
def register() -> Any:
    if request.method == "GET":
        return _register_page(unavailable=senders.missing(settings(), ["sms"]))
    values = _form_values()
    if request.form.get(HONEYPOT):  # a robot filled the hidden field: nothing is kept
        return redirect(url_for("volunteer_portal.signin"))
    try:
        registration = _registration()
    except InputError as exc:
        return _register_page(exc.errors, values, 422)
    needed = ["sms"] + (["email"] if registration.email else [])
    lacking = senders.missing(settings(), needed)
    if lacking:
        return _register_page({}, values, 503, unavailable=lacking)
    sess = db_session()
    try:
        volunteer = service.register(sess, registration, source="portal")
    except service.DuplicateVolunteer as exc:
        sess.rollback()
        return _register_page({exc.field: exc.message}, values, 409, duplicate=exc.field)
    except service.VolunteerError as exc:
        sess.rollback()
        return _register_page({exc.field: exc.message}, values, 422)
    sess.commit()
    portal_session.sign_in(volunteer)
    _send_codes(volunteer, ["phone", "email"] if volunteer.email else ["phone"])
    return redirect(url_for("volunteer_portal.verify"))


def _send_codes(volunteer: Volunteer, which: list[str]) -> bool:
    """Send the phone and/or e-mail code, each in its own transaction; a refusal is
    flashed for the verify page."""
    sess = db_session()
    sent = True
    for what in which:
        issue = service.send_phone_code if what == "phone" else service.send_email_code
        try:
            issue(sess, volunteer, secret=_secret(), send=_send())
        except service.VolunteerError as exc:
            sess.rollback()
            flash(exc.message, "error")
            sent = False
        else:
            sess.commit()
    return sent


# --- verifying the phone and the e-mail ----------------------------------------------


def _verify_page(volunteer: Volunteer, errors: dict[str, str] | None = None,
                 what: str = "phone", status: int = 200) -> Any:
    return render_template("volunteers/portal/verify.html", volunteer=volunteer,
                           errors=errors or {}, what=what,
                           unavailable=senders.missing(settings(), ["sms", "email"])), status


@bp.route("/verify", methods=["GET", "POST"])
@volunteer_required
@limiter.limit(CODE_LIMIT, methods=["POST"])
def verify(volunteer: Volunteer) -> Any:
    if request.method == "GET":
        return _verify_page(volunteer)
    what = request.form.get("what", "phone")
    try:
        data = form_data(CodeForm)
    except InputError as exc:
        return _verify_page(volunteer, {"code": next(iter(exc.errors.values()))}, what, 422)
    sess = db_session()
    confirm = service.confirm_phone if data.what == "phone" else service.confirm_email
    try:
        confirm(sess, volunteer, data.code, secret=_secret())
    except service.VolunteerError as exc:
        sess.commit()  # a wrong code counts a try; nothing else has changed
        return _verify_page(volunteer, {"code": exc.message}, data.what, 422)
    sess.commit()
    flash(_("Your phone number is verified.") if data.what == "phone"
          else _("Your e-mail address is confirmed."), "success")
    if volunteer.phone_verified_at is not None and (
            volunteer.email is None or volunteer.email_confirmed_at is not None):
        return redirect(url_for("volunteer_portal.profile"))
    return redirect(url_for("volunteer_portal.verify"))


@bp.route("/verify/resend", methods=["POST"])
@volunteer_required
@limiter.limit(RESEND_LIMIT)
def resend(volunteer: Volunteer) -> Any:
    try:
        data = form_data(ResendForm)
    except InputError:
        return redirect(url_for("volunteer_portal.verify"))
    channel = "sms" if data.what == "phone" else "email"
    if senders.missing(settings(), [channel]):
        return _verify_page(volunteer, status=503)
    if _send_codes(volunteer, [data.what]):
        flash(_("A new code is on its way. It is valid for 10 minutes."), "success")
    return redirect(url_for("volunteer_portal.verify"))


# --- signing in -------------------------------------------------------------------------


def _signin_page(errors: dict[str, str] | None = None, address: str = "",
                 status: int = 200) -> Any:
    return render_template("volunteers/portal/signin.html", errors=errors or {},
                           address=address, honeypot=HONEYPOT), status


@bp.route("/signin", methods=["GET", "POST"])
@public
@limiter.limit(SIGNIN_LIMIT, methods=["POST"])
def signin() -> Any:
    if request.method == "GET":
        target = request.args.get("next")
        if target:
            session[NEXT_KEY] = target
        return _signin_page()
    typed = request.form.get("address", "")
    try:
        data = form_data(AddressForm)
    except InputError as exc:
        return _signin_page(exc.errors, typed, 422)
    if data.website:  # a robot: the same answer, nothing sent
        session[SIGNIN_KEY] = data.address
        return redirect(url_for("volunteer_portal.signin_code"))
    lacking = senders.missing(settings(), ["email" if "@" in data.address else "sms"])
    if lacking:
        return render_template("volunteers/portal/unavailable.html", channels=lacking), 503
    sess = db_session()
    try:
        service.start_signin(sess, data.address, secret=_secret(), send=_send(),
                             link=_link_of)
    except service.CodeError as exc:
        sess.rollback()  # too many codes (429), or the provider refused it (503)
        status = 503 if exc.__cause__ is not None else 429
        return _signin_page({"address": exc.message}, typed, status)
    except service.VolunteerError as exc:
        sess.rollback()
        return _signin_page({"address": exc.message}, typed, 422)
    sess.commit()
    session[SIGNIN_KEY] = data.address
    return redirect(url_for("volunteer_portal.signin_code"))


def _link_of(token: str) -> str:
    return settings().base_url + url_for("volunteer_portal.signin_link", token=token)


@bp.route("/signin/code", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def signin_code() -> Any:
    typed = session.get(SIGNIN_KEY)
    if not typed:
        return redirect(url_for("volunteer_portal.signin"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        sess = db_session()
        try:
            data = form_data(CodeIn)
            volunteer = service.finish_signin(sess, typed, data.code, secret=_secret())
        except InputError as exc:
            errors = {"code": next(iter(exc.errors.values()))}
        except service.VolunteerError as exc:
            sess.commit()  # a wrong code counts a try
            errors = {"code": exc.message}
        else:
            sess.commit()
            session.pop(SIGNIN_KEY, None)
            portal_session.sign_in(volunteer)
            return redirect(_next_page())
    return render_template("volunteers/portal/signin_code.html", errors=errors), \
        422 if errors else 200


@bp.route("/signin/<token>", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def signin_link(token: str) -> Any:
    """GET shows a button and uses nothing (mail scanners and chat previews open
    links); the button's POST signs in, once."""
    if request.method == "GET":
        return render_template("volunteers/portal/signin_link.html", token=token, error=None)
    sess = db_session()
    try:
        volunteer = service.signin_by_link(sess, token, secret=_secret())
    except service.VolunteerError as exc:
        sess.rollback()
        return render_template("volunteers/portal/signin_link.html", token=None,
                               error=exc.message), 410
    sess.commit()
    portal_session.sign_in(volunteer)
    return redirect(_next_page())


@bp.route("/signout", methods=["POST"])
@public
def signout() -> Any:
    portal_session.sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("volunteer_portal.signin"))


# --- the profile -----------------------------------------------------------------------


def _profile_page(volunteer: Volunteer, cert_errors: dict[str, str] | None = None,
                  cert_values: dict[str, Any] | None = None, status: int = 200,
                  telegram: dict[str, str] | None = None) -> Any:
    sess = db_session()
    language = _language()
    exported = service.export(sess, volunteer)
    shelter = None
    if volunteer.shelter_id is not None:
        from sargs.shelters.service import get_shelter

        shelter = get_shelter(sess, volunteer.shelter_id)
    municipalities, neighbourhoods = _places()
    places = dict(municipalities + neighbourhoods)
    return render_template(
        "volunteers/portal/profile.html", volunteer=volunteer,
        status_text=STATUS_TEXTS.get(volunteer.status, volunteer.status), places=places,
        skills=[reference.name_of(reference.SKILLS, s, language) for s in volunteer.skills],
        languages=[reference.name_of(reference.LANGUAGES, s, language)
                   for s in volunteer.languages],
        weekdays=[reference.name_of(reference.WEEKDAYS, d, language)
                  for d in volunteer.available_days],
        hours=(exported["volunteer"]["available_from"], exported["volunteer"]["available_to"]),
        skill_names={code: reference.name_of(reference.SKILLS, code, language)
                     for code in reference.SKILLS},
        teams=exported["teams"], trainings=exported["trainings"],
        callouts=exported["callouts"], shelter=shelter, answer_texts=ANSWER_TEXTS,
        enrolment_texts=ENROLMENT_TEXTS, language_labels=LANGUAGE_LABELS,
        cert_errors=cert_errors or {}, cert_values=cert_values or {}, telegram=telegram,
        training_url=url_for("training.my_sessions")
        if "training.my_sessions" in current_app.view_functions else None,
    ), status


@bp.route("/profile")
@volunteer_required
def profile(volunteer: Volunteer) -> Any:
    return _profile_page(volunteer)


def _profile_values(volunteer: Volunteer) -> dict[str, Any]:
    exported = service.export(db_session(), volunteer)["volunteer"]
    values = {key: exported[key] for key in (
        "name", "email", "language", "municipality", "neighbourhood", "skills",
        "licence_categories", "own_vehicle", "languages", "available_days", "available_from",
        "available_to", "travel_km")}
    values["email"] = values["email"] or ""
    values["neighbourhood"] = values["neighbourhood"] or ""
    return values


@bp.route("/profile/edit", methods=["GET", "POST"])
@volunteer_required
def edit(volunteer: Volunteer) -> Any:
    errors: dict[str, str] = {}
    if request.method == "GET":
        values = _profile_values(volunteer)
    else:
        values = _form_values()
        sess = db_session()
        try:
            service.update_profile(sess, volunteer, form_data(ProfileIn))
        except InputError as exc:
            sess.rollback()
            errors = exc.errors
        except service.VolunteerError as exc:
            sess.rollback()
            errors = {exc.field: exc.message}
        else:
            sess.commit()
            flash(_("Your profile is saved."), "success")
            if volunteer.email and volunteer.email_confirmed_at is None:
                _send_codes(volunteer, ["email"])
                return redirect(url_for("volunteer_portal.verify"))
            return redirect(url_for("volunteer_portal.profile"))
    return render_template("volunteers/portal/edit.html", errors=errors, values=values,
                           **_choices()), 422 if errors else 200


@bp.route("/profile/certificates", methods=["POST"])
@volunteer_required
def add_certificate(volunteer: Volunteer) -> Any:
    values = {key: request.form.get(key, "") for key in
              ("kind", "title", "issued_on", "expires_on", "issued_by")}
    sess = db_session()
    try:
        service.add_certificate(sess, volunteer, form_data(CertificateIn))
    except InputError as exc:
        sess.rollback()
        return _profile_page(volunteer, exc.errors, values, 422)
    sess.commit()
    flash(_("The certificate is added."), "success")
    return redirect(url_for("volunteer_portal.profile") + "#certificates")


@bp.route("/profile/certificates/<int:certificate_id>/remove", methods=["POST"])
@volunteer_required
def remove_certificate(volunteer: Volunteer, certificate_id: int) -> Any:
    sess = db_session()
    try:
        service.remove_certificate(sess, volunteer, certificate_id)
    except service.VolunteerError:
        sess.rollback()
        return _profile_page(volunteer, status=404)
    sess.commit()
    flash(_("The certificate is removed."), "success")
    return redirect(url_for("volunteer_portal.profile") + "#certificates")


def _bot_username() -> str | None:
    """The bot's @name for the deep link, if the settings name it (the link then opens
    Telegram); without it the page shows what to type to the bot."""
    name = settings().telegram_bot_username
    return str(name).lstrip("@") if name else None


@bp.route("/profile/telegram", methods=["POST"])
@volunteer_required
def link_telegram(volunteer: Volunteer) -> Any:
    sess = db_session()
    payload = service.telegram_link_token(sess, volunteer, secret=_secret())
    sess.commit()
    username = _bot_username()
    telegram = {"payload": payload,
                "url": f"https://t.me/{username}?start={payload}" if username else ""}
    return _profile_page(volunteer, telegram=telegram)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@bp.route("/profile/export")
@volunteer_required
def export(volunteer: Volunteer) -> Any:
    body = json.dumps(service.export(db_session(), volunteer), ensure_ascii=False, indent=2,
                      default=_json_value)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="sargs-volunteer-data.json"',
        "Cache-Control": "no-store"})


@bp.route("/profile/erase", methods=["GET", "POST"])
@volunteer_required
def erase(volunteer: Volunteer) -> Any:
    if request.method == "GET":
        return render_template("volunteers/portal/erase.html", volunteer=volunteer,
                               kept_years=consent.KEPT_YEARS)
    sess = db_session()
    service.erase(sess, volunteer, secret=_secret())
    sess.commit()
    portal_session.sign_out()
    return render_template("volunteers/portal/erased.html", kept_years=consent.KEPT_YEARS)
