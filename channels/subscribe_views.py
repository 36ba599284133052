"""Residents subscribe to alerts: the public phone-first pages, "my data", the
8787 operators' entry form, and the JSON API of the city's app.

The public pages need no login and are rate-limited per IP; a hidden honeypot
field catches form-filling robots. The Flask session keeps the id of the code
sent, never the phone number. Nothing here logs a phone number or a code.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from sargs import clock
from sargs.areas.service import home_areas
from sargs.auth.access import api_scopes, public, roles
from sargs.channels import email_subscriptions, subscriptions
from sargs.channels.consent import (
    CONSENT_VERSION,
    EMAIL_CONSENT_TEXTS,
    EMAIL_CONSENT_VERSION,
    consent_text,
)
from sargs.channels.ledger import configured_channels
from sargs.channels.models import SubscriptionCode
from sargs.channels.subscriptions import SubscriptionError
from sargs.context import db_session, settings
from sargs.extensions import csrf, limiter
from sargs.web.forms import InputError, form_data, json_body

bp = Blueprint("subscribe", __name__, template_folder="templates", url_prefix="/subscribe")
api_bp = Blueprint("subscribers_api", __name__, url_prefix="/api/v1/subscribers")
csrf.exempt(api_bp)

START_LIMIT = "10 per hour"
CODE_LIMIT = "30 per hour"
API_LIMIT = "600 per hour"
OPERATORS = ("operator", "admin")
# How long "my data" stays open after its code was entered.
MANAGE_OPEN = timedelta(minutes=15)
HONEYPOT = "website"

LEVEL_LABELS = {
    "all": _l("All warnings (yellow, orange and red)"),
    "orange_red": _l("Orange and red warnings"),
    "red": _l("Red warnings only"),
}
LANGUAGE_LABELS = {"lv": _l("Latvian"), "en": _l("English")}
CHANNEL_LABELS = {"sms": _l("SMS"), "voice": _l("Voice call")}
# SubscriptionError reasons → what the user reads.
REASONS = {
    "phone": _l("Enter a phone number, e.g. +371 20000000."),
    "too_many_codes": _l("At most 3 codes an hour can be sent to one number. "
                         "Please try again later."),
    "not_sent": _l("The code could not be sent. Please try again later or call 8787."),
    "language": _l("Choose Latvian or English."),
    "areas_missing": _l("Choose at least one area."),
    "areas_unknown": _l("Choose from the areas listed."),
    "levels": _l("Choose which warnings you want."),
    "consent": _l("We can send you alerts only with your consent."),
    "consent_version": _l("The consent text has changed; please read the current one."),
    "no_code": _l("No code waits for this number; ask for a new one."),
    "expired": _l("The code has expired; ask for a new one."),
    "too_many_attempts": _l("Too many wrong codes; ask for a new one."),
    "wrong_code": _l("The code is wrong."),
    "not_subscribed": _l("This number is not subscribed."),
    "channel": _l("Choose SMS or voice call."),
    "landline_sms": _l("A landline cannot receive SMS; choose a voice call."),
    "email": _l("Enter an e-mail address, e.g. vards@example.lv."),
    "too_many_mails": _l("At most 3 confirmation e-mails an hour can be sent to one address. "
                         "Please try again later."),
    "mail_not_sent": _l("The e-mail could not be sent. Please try again later or call 8787."),
    "token_unknown": _l("This link is not valid. Check that it was copied whole, or "
                        "subscribe again."),
    "email_not_subscribed": _l("This address is not subscribed (any more)."),
    "token_used": _l("This link was already used: the address is subscribed."),
    "token_expired": _l("This link has expired (it is valid for 24 hours). Please subscribe "
                        "again."),
}


class SubscribeForm(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    language: Literal["lv", "en"] = "lv"
    areas: list[str] = []
    levels: Literal["all", "orange_red", "red"] = "orange_red"
    consent: bool = False
    website: str = ""  # the honeypot: people never see it


class CodeForm(BaseModel):
    code: str = Field(min_length=1, max_length=12)


class PhoneForm(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    website: str = ""


class OperatorForm(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    channel: Literal["sms", "voice"] = "voice"
    language: Literal["lv", "en"] = "lv"
    areas: list[str] = []
    levels: Literal["all", "orange_red", "red"] = "orange_red"
    consent_by_phone: bool = False


class ApiSubscribe(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    language: Literal["lv", "en"]
    areas: list[str] = Field(min_length=1, max_length=10)
    levels: list[Literal["yellow", "orange", "red"]] = ["orange", "red"]
    consent: bool
    consent_version: str = Field(min_length=1, max_length=32)


class ApiConfirm(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    code: str = Field(min_length=1, max_length=12)


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _sender() -> subscriptions.SendCode | None:
    """The configured SMS adapter as a ``send_code``, or None when SMS is not configured."""
    config = settings()
    if "sms" not in configured_channels(config):
        return None
    from sargs.channels.sms import SmsAdapter

    return subscriptions.sms_sender(SmsAdapter(config))


def _area_codes() -> list[str]:
    return [area.code for area in _areas()]


def _areas() -> list[Any]:
    return home_areas(db_session(), settings())


def _error(exc: SubscriptionError) -> dict[str, str]:
    message = REASONS.get(exc.reason)
    return {exc.field: str(message) if message is not None else exc.message}


def _form_values() -> dict[str, Any]:
    return {"phone": request.form.get("phone", ""), "language": request.form.get("language"),
            "areas": request.form.getlist("areas"), "levels": request.form.get("levels"),
            "channel": request.form.get("channel"),
            "consent": bool(request.form.get("consent")),
            "consent_by_phone": bool(request.form.get("consent_by_phone"))}


def _start_page(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                status: int = 200, unavailable: bool = False) -> Any:
    language = (values or {}).get("language") or None
    chosen = values or {"areas": _area_codes(), "levels": subscriptions.DEFAULT_LEVELS}
    return render_template(
        "subscribe/start.html", errors=errors or {}, values=chosen, areas=_areas(),
        level_labels=LEVEL_LABELS, language_labels=LANGUAGE_LABELS,
        consent=consent_text(language or _page_language()), consent_version=CONSENT_VERSION,
        unavailable=unavailable, honeypot=HONEYPOT,
    ), status


def _page_language() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else "lv"


# --- subscribing ---------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@public
@limiter.limit(START_LIMIT, methods=["POST"])
def start() -> Any:
    if request.method == "GET":
        return _start_page(unavailable=_sender() is None)
    values = _form_values()
    try:
        data = form_data(SubscribeForm)
    except InputError as exc:
        return _start_page(exc.errors, values, 422)
    if data.website:  # a robot filled the hidden field: answer as if sent, send nothing
        session.pop("subscribe_code", None)
        return redirect(url_for("subscribe.confirm"))
    send = _sender()
    if send is None:
        return _start_page({}, values, 503, unavailable=True)
    sess = db_session()
    try:
        row = subscriptions.start_subscription(
            sess, data.phone, data.language, data.areas,
            subscriptions.levels_of(data.levels), data.consent, send_code=send,
            secret=_secret(), allowed_areas=_area_codes(), languages=settings().languages,
        )
    except SubscriptionError as exc:
        sess.rollback()
        return _start_page(_error(exc), values, 429 if exc.reason == "too_many_codes" else 422)
    sess.commit()
    session["subscribe_code"] = row.id
    return redirect(url_for("subscribe.confirm"))


def _pending(key: str) -> SubscriptionCode | None:
    code_id = session.get(key)
    return db_session().get(SubscriptionCode, code_id) if code_id else None


def _code_step(key: str, check: Any, purpose: str, again: str, success: Any) -> Any:
    """The page where a resident types the SMS code, for subscribing and for
    managing their data alike: ``check`` verifies it, ``success`` says where next."""
    pending = _pending(key)
    errors: dict[str, str] = {}
    if request.method == "POST":
        sess = db_session()
        try:
            data = form_data(CodeForm)
            if pending is None or pending.used_at is not None:
                raise SubscriptionError("code", "no_code", "no code")
            check(sess, pending.phone, data.code, secret=_secret())
        except InputError as exc:
            errors = exc.errors
        except SubscriptionError as exc:
            sess.commit()  # a wrong code counts an attempt; nothing else has changed
            errors = _error(exc)
        else:
            sess.commit()
            return success()
    return render_template("subscribe/code.html", errors=errors, purpose=purpose,
                           action=request.path, again=url_for(again),
                           waiting=pending is not None), 422 if errors else 200


@bp.route("/confirm", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def confirm() -> Any:
    def subscribed() -> Any:
        session.pop("subscribe_code", None)
        return redirect(url_for("subscribe.done"))

    return _code_step("subscribe_code", subscriptions.confirm, "subscribe", "subscribe.start",
                      subscribed)


@bp.route("/done")
@public
def done() -> Any:
    return render_template("subscribe/done.html")


# --- my data -------------------------------------------------------------------


def _managed_phone() -> str | None:
    """The number whose data this browser opened with a code, while it stays open."""
    row = _pending("manage_code")
    if row is None or row.used_at is None or row.purpose != "manage":
        return None
    if row.used_at + MANAGE_OPEN <= clock.now():
        return None
    return row.phone


@bp.route("/manage", methods=["GET", "POST"])
@public
@limiter.limit(START_LIMIT, methods=["POST"])
def manage() -> Any:
    errors: dict[str, str] = {}
    values = {"phone": request.form.get("phone", "")}
    if request.method == "POST":
        try:
            data = form_data(PhoneForm)
        except InputError as exc:
            errors = exc.errors
        else:
            if data.website:
                session.pop("manage_code", None)
                return redirect(url_for("subscribe.manage_code"))
            send = _sender()
            if send is None:
                return render_template("subscribe/manage.html", errors={}, values=values,
                                       unavailable=True, honeypot=HONEYPOT), 503
            sess = db_session()
            try:
                row = subscriptions.start_manage(sess, data.phone, send_code=send,
                                                 secret=_secret())
            except SubscriptionError as exc:
                sess.rollback()
                errors = _error(exc)
            else:
                sess.commit()
                if row is None:
                    session.pop("manage_code", None)
                else:
                    session["manage_code"] = row.id
                return redirect(url_for("subscribe.manage_code"))
    return render_template("subscribe/manage.html", errors=errors, values=values,
                           unavailable=False, honeypot=HONEYPOT), 422 if errors else 200


@bp.route("/manage/code", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def manage_code() -> Any:
    return _code_step("manage_code", subscriptions.confirm_manage, "manage", "subscribe.manage",
                      lambda: redirect(url_for("subscribe.my_data")))


@bp.route("/manage/data")
@public
def my_data() -> Any:
    phone = _managed_phone()
    if phone is None:
        return redirect(url_for("subscribe.manage"))
    try:
        data = subscriptions.export(db_session(), phone)
    except SubscriptionError:
        return redirect(url_for("subscribe.manage"))
    names = {area.code: area.name for area in _areas()}
    return render_template("subscribe/data.html", data=data, area_names=names,
                           level_label=LEVEL_LABELS.get(subscriptions.choice_of(data["levels"])
                                                        or "", ""),
                           language_labels=LANGUAGE_LABELS, channel_labels=CHANNEL_LABELS)


@bp.route("/manage/export")
@public
def export_data() -> Any:
    phone = _managed_phone()
    if phone is None:
        return redirect(url_for("subscribe.manage"))
    try:
        data = subscriptions.export(db_session(), phone)
    except SubscriptionError:
        return redirect(url_for("subscribe.manage"))
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="sargs-my-data.json"',
        "Cache-Control": "no-store"})


@bp.route("/manage/erase", methods=["POST"])
@public
@limiter.limit(CODE_LIMIT)
def erase_data() -> Any:
    phone = _managed_phone()
    if phone is None:
        return redirect(url_for("subscribe.manage"))
    sess = db_session()
    try:
        subscriptions.erase(sess, phone, secret=_secret())
    except SubscriptionError:
        sess.rollback()
        return redirect(url_for("subscribe.manage"))
    sess.commit()
    session.pop("manage_code", None)
    return render_template("subscribe/erased.html")


# --- e-mail: double opt-in by a button, "my data" by the link in every alert ------


class EmailSubscribeForm(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    language: Literal["lv", "en"] = "lv"
    areas: list[str] = []
    levels: Literal["all", "orange_red", "red"] = "orange_red"
    consent: bool = False
    website: str = ""  # the honeypot


def _mailer() -> email_subscriptions.SendMail | None:
    """The configured e-mail adapter as a ``send_mail``, or None without SMTP settings."""
    config = settings()
    if "email" not in configured_channels(config):
        return None
    from sargs.channels.email import EmailAdapter

    return email_subscriptions.mail_sender(EmailAdapter(config))


def _email_start_page(errors: dict[str, str] | None = None,
                      values: dict[str, Any] | None = None, status: int = 200,
                      unavailable: bool = False) -> Any:
    chosen = values or {"areas": _area_codes(), "levels": subscriptions.DEFAULT_LEVELS}
    return render_template(
        "subscribe/email_start.html", errors=errors or {}, values=chosen, areas=_areas(),
        level_labels=LEVEL_LABELS, language_labels=LANGUAGE_LABELS,
        consent=consent_text((values or {}).get("language") or _page_language(),
                             EMAIL_CONSENT_TEXTS),
        consent_version=EMAIL_CONSENT_VERSION, unavailable=unavailable, honeypot=HONEYPOT,
    ), status


@bp.route("/email", methods=["GET", "POST"])
@public
@limiter.limit(START_LIMIT, methods=["POST"])
def email_start() -> Any:
    if request.method == "GET":
        return _email_start_page(unavailable=_mailer() is None)
    values = {**_form_values(), "email": request.form.get("email", "")}
    try:
        data = form_data(EmailSubscribeForm)
    except InputError as exc:
        return _email_start_page(exc.errors, values, 422)
    if data.website:  # a robot: answer as if sent, send nothing
        return redirect(url_for("subscribe.email_sent"))
    send = _mailer()
    if send is None:
        return _email_start_page({}, values, 503, unavailable=True)
    sess = db_session()
    try:
        email_subscriptions.start(
            sess, data.email, data.language, data.areas, subscriptions.levels_of(data.levels),
            data.consent, send_mail=send, secret=_secret(), base_url=settings().base_url,
            allowed_areas=_area_codes(), languages=settings().languages,
        )
    except SubscriptionError as exc:
        sess.rollback()
        return _email_start_page(_error(exc), values,
                                 429 if exc.reason == "too_many_mails" else 422)
    sess.commit()
    return redirect(url_for("subscribe.email_sent"))


@bp.route("/email/sent")
@public
def email_sent() -> Any:
    return render_template("subscribe/email_sent.html", purpose="subscribe")


class EmailForm(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    website: str = ""


@bp.route("/email/manage", methods=["GET", "POST"])
@public
@limiter.limit(START_LIMIT, methods=["POST"])
def email_manage() -> Any:
    """Ask for the "my data" link again; the answer is the same for any address."""
    errors: dict[str, str] = {}
    values = {"email": request.form.get("email", "")}
    status = 200
    if request.method == "POST":
        try:
            data = form_data(EmailForm)
        except InputError as exc:
            errors, status = exc.errors, 422
        else:
            send = _mailer()
            if data.website or send is None:
                return render_template("subscribe/email_sent.html", purpose="manage")
            sess = db_session()
            try:
                email_subscriptions.start_manage(sess, data.email, send_mail=send,
                                                 secret=_secret(), base_url=settings().base_url)
            except SubscriptionError as exc:
                sess.rollback()
                errors = _error(exc)
                status = 429 if exc.reason == "too_many_mails" else 422
            else:
                sess.commit()
                return render_template("subscribe/email_sent.html", purpose="manage")
    return render_template("subscribe/email_manage.html", errors=errors, values=values,
                           honeypot=HONEYPOT), status


def _link_refused(exc: SubscriptionError) -> Any:
    status = 404 if exc.reason in ("token_unknown", "email_not_subscribed") else 410
    return render_template("subscribe/email_link.html", error=_error(exc)[exc.field]), status


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def email_confirm(token: str) -> Any:
    """GET shows the button and changes nothing (mail scanners open links); POST confirms."""
    sess = db_session()
    try:
        if request.method == "GET":
            row = email_subscriptions.pending(sess, token, secret=_secret())
            sess.rollback()
            names = {area.code: area.name for area in _areas()}
            return render_template(
                "subscribe/email_confirm.html", token=token, choices=row.choices,
                area_names=names, language_labels=LANGUAGE_LABELS,
                level_label=LEVEL_LABELS.get(subscriptions.choice_of(row.choices["levels"])
                                             or "", ""))
        email_subscriptions.confirm(sess, token, secret=_secret())
    except SubscriptionError as exc:
        sess.rollback()
        return _link_refused(exc)
    sess.commit()
    return render_template("subscribe/email_done.html")


@bp.route("/email/my/<token>", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def email_data(token: str) -> Any:
    if request.method == "POST":  # RFC 8058 one-click unsubscribe from the mail program
        return _one_click(token)
    sess = db_session()
    try:
        data = email_subscriptions.export(sess, token, secret=_secret())
    except SubscriptionError as exc:
        return _link_refused(exc)
    names = {area.code: area.name for area in _areas()}
    return render_template(
        "subscribe/email_data.html", data=data, token=token, area_names=names,
        level_label=LEVEL_LABELS.get(subscriptions.choice_of(data["levels"]) or "", ""),
        language_labels=LANGUAGE_LABELS)


def _one_click(token: str) -> Any:
    """The mail program's POST of ``List-Unsubscribe=One-Click`` to the header's link.
    It carries no CSRF token (it does not come from our page); the unguessable
    personal token in the link is what authorises it."""
    if request.form.get("List-Unsubscribe") != "One-Click":
        return Response("expected List-Unsubscribe=One-Click\n", status=400,
                        mimetype="text/plain")
    sess = db_session()
    try:
        email_subscriptions.unsubscribe(sess, token, secret=_secret())
    except SubscriptionError:
        sess.rollback()
        return Response("not subscribed\n", status=404, mimetype="text/plain")
    sess.commit()
    return Response("unsubscribed\n", mimetype="text/plain")


csrf.exempt(email_data)


@bp.route("/email/my/<token>/export")
@public
def email_export(token: str) -> Any:
    try:
        data = email_subscriptions.export(db_session(), token, secret=_secret())
    except SubscriptionError as exc:
        return _link_refused(exc)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="sargs-my-data.json"',
        "Cache-Control": "no-store"})


@bp.route("/email/my/<token>/erase", methods=["POST"])
@public
@limiter.limit(CODE_LIMIT)
def email_erase(token: str) -> Any:
    sess = db_session()
    try:
        email_subscriptions.unsubscribe(sess, token, secret=_secret())
    except SubscriptionError as exc:
        sess.rollback()
        return _link_refused(exc)
    sess.commit()
    return render_template("subscribe/erased.html")


# --- the 8787 operators ------------------------------------------------------------


@bp.route("/operator", methods=["GET", "POST"])
@roles(*OPERATORS)
def operator() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"channel": "voice", "language": "lv", "areas": _area_codes(),
                              "levels": subscriptions.DEFAULT_LEVELS}
    saved = False
    status = 200
    if request.method == "POST":
        values = _form_values()
        sess = db_session()
        try:
            data = form_data(OperatorForm)
            subscriptions.operator_register(
                sess, data.phone, data.channel, data.language, data.areas,
                subscriptions.levels_of(data.levels), consent_by_phone=data.consent_by_phone,
                operator=current_user, allowed_areas=_area_codes(),
                languages=settings().languages,
            )
        except InputError as exc:
            sess.rollback()
            errors, status = exc.errors, 422
        except SubscriptionError as exc:
            sess.rollback()
            errors, status = _error(exc), 422
        else:
            sess.commit()
            saved = True
            values = {"channel": "voice", "language": "lv", "areas": _area_codes(),
                      "levels": subscriptions.DEFAULT_LEVELS}
    return render_template(
        "subscribe/operator.html", errors=errors, values=values, saved=saved, areas=_areas(),
        level_labels=LEVEL_LABELS, language_labels=LANGUAGE_LABELS,
        channel_labels=CHANNEL_LABELS, consent=consent_text(_page_language()),
        consent_version=CONSENT_VERSION,
    ), status


# --- the city's app ------------------------------------------------------------------


def _api_refusal(exc: SubscriptionError) -> Any:
    status = 429 if exc.reason == "too_many_codes" else 422
    return InputError(_error(exc)).as_response(status)


@api_bp.route("", methods=["POST"])
@api_scopes("subscribers:write")
@limiter.limit(API_LIMIT)
def api_subscribe() -> Any:
    try:
        data = json_body(ApiSubscribe)
    except InputError as exc:
        return exc.as_response()
    send = _sender()
    if send is None:
        return jsonify({"error": _("SMS is not available at the moment.")}), 503
    sess = db_session()
    try:
        subscriptions.start_subscription(
            sess, data.phone, data.language, data.areas, data.levels, data.consent,
            send_code=send, secret=_secret(), consent_version=data.consent_version,
            allowed_areas=_area_codes(), languages=settings().languages,
        )
    except SubscriptionError as exc:
        sess.rollback()
        return _api_refusal(exc)
    sess.commit()
    return jsonify({"status": "code sent",
                    "expires_in_s": int(subscriptions.CODE_VALID.total_seconds())}), 202


@api_bp.route("/confirm", methods=["POST"])
@api_scopes("subscribers:write")
@limiter.limit(API_LIMIT)
def api_confirm() -> Any:
    try:
        data = json_body(ApiConfirm)
    except InputError as exc:
        return exc.as_response()
    sess = db_session()
    try:
        contact = subscriptions.confirm(sess, data.phone, data.code, secret=_secret())
    except SubscriptionError as exc:
        sess.commit()  # a wrong code counts an attempt; nothing else has changed
        return _api_refusal(exc)
    sess.commit()
    return jsonify({"status": "subscribed", "language": contact.language,
                    "areas": contact.areas, "levels": contact.levels,
                    "consent_version": contact.consent_version}), 201
