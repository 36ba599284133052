"""Sign-in with the second factor, the own profile, and user, role-policy and
token administration."""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from sargs.audit.service import Actor, set_actor
from sargs.auth import schemas, service
from sargs.auth.access import public, roles, signed_in
from sargs.auth.models import ApiToken, User
from sargs.auth.roles import ROLES, SCOPES
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.web.forms import InputError, form_data
from sargs.web.shell import _safe_target

bp = Blueprint("auth", __name__, template_folder="templates")

LOGIN_REASONS = {
    "bad_credentials": lambda: _("Wrong user name or password."),
    "locked": lambda: _("Too many failed attempts. The account is locked for a while."),
    "inactive": lambda: _("This account is disabled."),
    "bad_code": lambda: _("The code is not valid."),
}


def _login_limit() -> str:
    return settings().login_rate_limit


def _finish_login(user: User, second_factor: bool) -> Any:
    language = session.get("lang")
    target = session.get("login_next")
    session.clear()
    if language:
        session["lang"] = language
    session["totp_ok"] = second_factor
    login_user(user)
    set_actor(Actor("user", user.id, user.username, request.remote_addr or "?"))
    sess = db_session()
    service.mark_logged_in(sess, user)
    sess.commit()
    return redirect(_safe_target(target))


def _user_awaiting_second_factor() -> User | None:
    if current_user.is_authenticated:
        return current_user
    user_id = session.get("pending_uid")
    return service.get_user(db_session(), user_id) if user_id else None


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = form_data(schemas.LoginForm)
        except InputError as exc:
            return render_template("auth/login.html", errors=exc.errors), 422
        sess = db_session()
        cfg = settings()
        result = service.authenticate(
            sess, data.username, data.password, cfg.login_lockout_failures, cfg.login_lockout_minutes
        )
        sess.commit()
        if result.user is None:
            errors["password"] = LOGIN_REASONS[result.reason or "bad_credentials"]()
            return render_template("auth/login.html", errors=errors, username=data.username), 401
        session["login_next"] = request.args.get("next")
        if service.needs_totp(sess, result.user):
            session["pending_uid"] = result.user.id
            return redirect(url_for("auth.totp"))
        return _finish_login(result.user, second_factor=False)
    if current_user.is_authenticated:
        return redirect(url_for("shell.home"))
    return render_template("auth/login.html", errors=errors)


@bp.route("/login/totp", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def totp() -> Any:
    user = _user_awaiting_second_factor()
    if user is None:
        return redirect(url_for("auth.login"))
    if not user.totp_secret:
        return redirect(url_for("auth.totp_enrol"))
    if request.method == "POST":
        try:
            data = form_data(schemas.TotpForm)
        except InputError as exc:
            return render_template("auth/totp.html", errors=exc.errors), 422
        sess = db_session()
        cfg = settings()
        result = service.verify_totp(sess, user, data.code, cfg.login_lockout_failures,
                                     cfg.login_lockout_minutes)
        sess.commit()
        if result.user is not None:
            return _finish_login(user, second_factor=True)
        return render_template("auth/totp.html", errors={"code": LOGIN_REASONS[result.reason]()}), 401
    return render_template("auth/totp.html", errors={})


@bp.route("/login/totp/enrol", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def totp_enrol() -> Any:
    user = _user_awaiting_second_factor()
    if user is None:
        return redirect(url_for("auth.login"))
    if user.totp_secret and not current_user.is_authenticated:
        return redirect(url_for("auth.totp"))
    if user.totp_secret and not session.get("totp_ok"):
        return redirect(url_for("auth.totp"))
    secret = session.get("totp_enrol_secret") or service.start_totp_enrolment(user)
    session["totp_enrol_secret"] = secret
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = form_data(schemas.TotpForm)
            sess = db_session()
            service.confirm_totp_enrolment(sess, user, secret, data.code)
            sess.commit()
        except InputError as exc:
            errors = exc.errors
        except service.AuthError:
            errors = {"code": _("The code does not match. Check the time on your phone.")}
        else:
            session.pop("totp_enrol_secret", None)
            flash(_("The second factor is set up."), "success")
            if current_user.is_authenticated:
                session["totp_ok"] = True
                return redirect(url_for("auth.profile"))
            return _finish_login(user, second_factor=True)
    uri = service.totp_uri(user, secret)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4))
    status = 422 if errors else 200
    return render_template("auth/totp_enrol.html", errors=errors, secret=secret, qr=qr), status


@bp.route("/logout", methods=["POST"])
@public  # also for a user still owing the second factor, who must be able to leave
def logout() -> Any:
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@signed_in
def profile() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        sess = db_session()
        try:
            data = form_data(schemas.PasswordChangeForm)
            if not service.authenticate(sess, current_user.username, data.current_password,
                                        settings().login_lockout_failures,
                                        settings().login_lockout_minutes).user:
                sess.commit()
                raise InputError({"current_password": _("Wrong password.")})
            service.set_password(sess, current_user, data.password)
            sess.commit()
        except InputError as exc:
            errors = exc.errors
        else:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", errors=errors, role_labels=ROLES,
        needs_totp=service.needs_totp(db_session(), current_user),
    ), (422 if errors else 200)


# --- administration ------------------------------------------------------


def _user_or_404(user_id: int) -> User:
    user = service.get_user(db_session(), user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/users")
@roles("admin", read=["auditor"])
def users() -> str:
    sess = db_session()
    return render_template(
        "auth/users.html", users=service.list_users(sess), role_labels=ROLES,
        policies=service.role_policies(sess), tokens=service.list_tokens(sess), scopes=SCOPES,
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles("admin")
def user_new() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        values["roles"] = request.form.getlist("roles")
        sess = db_session()
        try:
            data = form_data(schemas.UserCreateForm)
            user = service.create_user(sess, data.username, data.password, data.roles,
                                       data.display_name, data.email)
            sess.commit()
        except InputError as exc:
            errors = exc.errors
        except service.AuthError as exc:
            sess.rollback()
            errors = {exc.field: _("A user with this name already exists.")}
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", errors=errors, values=values, user=None,
                           role_labels=ROLES), (422 if errors else 200)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles("admin", read=["auditor"])
def user_edit(user_id: int) -> Any:
    user = _user_or_404(user_id)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "display_name": user.display_name, "email": user.email or "",
        "roles": sorted(user.role_names), "active": user.active,
    }
    if request.method == "POST":
        values = request.form.to_dict()
        values["roles"] = request.form.getlist("roles")
        sess = db_session()
        try:
            data = form_data(schemas.UserEditForm)
            if user.id == current_user.id and ("admin" not in data.roles or not data.active):
                raise InputError({"roles": _("You cannot remove your own administrator rights.")})
            user.display_name = data.display_name
            user.email = data.email
            service.set_roles(sess, user, data.roles)
            service.set_active(sess, user, data.active)
            sess.commit()
        except InputError as exc:
            sess.rollback()
            errors = exc.errors
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", errors=errors, values=values, user=user,
                           role_labels=ROLES), (422 if errors else 200)


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@roles("admin")
def user_password(user_id: int) -> Any:
    user = _user_or_404(user_id)
    sess = db_session()
    try:
        data = form_data(schemas.PasswordFields)
    except InputError as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    service.set_password(sess, user, data.password)
    sess.commit()
    flash(_("Password set for %(name)s.", name=user.username), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/totp-reset", methods=["POST"])
@roles("admin")
def user_totp_reset(user_id: int) -> Any:
    user = _user_or_404(user_id)
    sess = db_session()
    service.reset_totp(sess, user)
    sess.commit()
    flash(_("The second factor of %(name)s was reset; they set it up again at the next sign-in.",
            name=user.username), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/policies", methods=["POST"])
@roles("admin")
def policies() -> Any:
    sess = db_session()
    try:
        data = form_data(schemas.RolePolicyForm)
    except InputError as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("auth.users")), 303
    for role in ROLES:
        service.set_totp_required(sess, role, role in data.totp_roles)
    sess.commit()
    flash(_("Second-factor policy saved."), "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/tokens", methods=["POST"])
@roles("admin")
def token_new() -> Any:
    sess = db_session()
    try:
        data = form_data(schemas.TokenForm)
    except InputError as exc:
        for field, message in exc.errors.items():
            flash(f"{field}: {message}", "error")
        return redirect(url_for("auth.users"))
    token, plaintext = service.create_token(sess, data.name, data.scopes, current_user)
    sess.commit()
    return render_template("auth/token_created.html", token=token, plaintext=plaintext)


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@roles("admin")
def token_revoke(token_id: int) -> Any:
    sess = db_session()
    token = sess.get(ApiToken, token_id)
    if token is None:
        abort(404)
    service.revoke_token(sess, token)
    sess.commit()
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for("auth.users"))
