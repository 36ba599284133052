"""The second factor: who is asked for it, enrolment, and policy changes."""

from __future__ import annotations

import re

import pyotp

from sargs import clock
from sargs.auth.models import User
from tests.conftest import PASSWORD
from tests.kernel.helpers import post_form, redirects_to


def _password_step(client, user):
    return post_form(client, "/login", {"username": user.username, "password": PASSWORD})


def _require_totp_for(client, *roles):
    response = post_form(client, "/admin/policies", {"totp_roles": list(roles)})
    assert response.status_code in (302, 303)


def _is_signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def _wrong_code(user) -> str:
    return f"{(int(pyotp.TOTP(user.totp_secret).at(clock.now())) + 1) % 1000000:06d}"


def test_admin_and_commission_give_a_code_by_default(client, users):
    for name, role in (("anna", "admin"), ("karlis", "commission")):
        user = users.create(name, role)
        assert redirects_to(_password_step(client, user), "/login/totp")
        assert not _is_signed_in(client)
        assert users.login(client, user).status_code == 302
        assert _is_signed_in(client)
        post_form(client, "/logout")


def test_a_code_is_good_only_once(client, users, frozen_clock):
    admin = users.create("anna", "admin")
    assert users.login(client, admin).status_code == 302
    post_form(client, "/logout")
    # Same 30-second window: the code an onlooker saw cannot be replayed.
    assert users.login(client, admin).status_code == 401
    assert not _is_signed_in(client)
    frozen_clock.advance(seconds=30)
    assert users.login(client, admin).status_code == 302


def test_a_wrong_code_gives_no_session(client, users):
    admin = users.create("anna", "admin")
    _password_step(client, admin)
    response = post_form(client, "/login/totp", {"code": _wrong_code(admin)})
    assert response.status_code == 401
    assert not _is_signed_in(client)
    assert redirects_to(client.get("/admin/users"), "/login")


def test_wrong_codes_lock_the_account_even_across_new_password_steps(client, users, settings,
                                                                     frozen_clock):
    admin = users.create("anna", "admin")
    _password_step(client, admin)
    for _attempt in range(settings.login_lockout_failures - 1):
        assert post_form(client, "/login/totp", {"code": _wrong_code(admin)}).status_code == 401
    assert redirects_to(_password_step(client, admin), "/login/totp")
    assert post_form(client, "/login/totp", {"code": _wrong_code(admin)}).status_code == 401

    right = pyotp.TOTP(admin.totp_secret).at(clock.now())
    assert post_form(client, "/login/totp", {"code": right}).status_code == 401
    assert _password_step(client, admin).status_code == 401
    assert not _is_signed_in(client)

    frozen_clock.advance(minutes=settings.login_lockout_minutes + 1)
    assert users.login(client, admin).status_code == 302
    assert _is_signed_in(client)


def test_an_operator_is_not_asked_until_an_admin_requires_it(client, users, app):
    operator = users.create("olga", "operator")
    assert redirects_to(_password_step(client, operator), "/")
    post_form(client, "/logout")

    users.signed_in(client, "anna", "admin")
    _require_totp_for(client, "admin", "commission", "operator")
    post_form(client, "/logout")

    assert redirects_to(_password_step(client, operator), "/login/totp")
    assert redirects_to(client.get("/login/totp"), "/login/totp/enrol")
    assert not _is_signed_in(client)


def _enrol(client) -> str:
    """Read the key off the enrolment page and confirm it with a code."""
    page = client.get("/login/totp/enrol").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    code = pyotp.TOTP(secret).at(clock.now())
    response = post_form(client, "/login/totp/enrol", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return secret


def test_a_user_without_a_key_enrols_at_sign_in(client, users, db):
    user = users.create("anna", "admin", totp=False)
    assert redirects_to(_password_step(client, user), "/login/totp")
    assert redirects_to(client.get("/login/totp"), "/login/totp/enrol")
    secret = _enrol(client)
    assert _is_signed_in(client)
    stored = db.get(User, user.id)
    assert stored.totp_secret == secret and stored.totp_enabled_at == clock.now()


def test_a_wrong_enrolment_code_stores_no_key(client, users, db):
    user = users.create("anna", "admin", totp=False)
    _password_step(client, user)
    client.get("/login/totp/enrol")
    response = post_form(client, "/login/totp/enrol", {"code": "000000"})
    assert response.status_code == 422
    assert db.get(User, user.id).totp_secret is None
    assert not _is_signed_in(client)


def test_a_signed_in_user_whose_role_newly_needs_a_code_is_asked_for_it(app, users):
    operator_client, admin_client = app.test_client(), app.test_client()
    users.signed_in(operator_client, "olga", "operator")
    assert operator_client.get("/").status_code == 200

    users.signed_in(admin_client, "anna", "admin")
    _require_totp_for(admin_client, "admin", "operator")

    assert redirects_to(operator_client.get("/"), "/login/totp")
    assert operator_client.get("/activations/").status_code == 302
    _enrol(operator_client)
    assert operator_client.get("/activations/").status_code == 200


def test_a_user_owing_the_second_factor_can_still_sign_out(app, users):
    operator_client, admin_client = app.test_client(), app.test_client()
    users.signed_in(operator_client, "olga", "operator")
    users.signed_in(admin_client, "anna", "admin")
    _require_totp_for(admin_client, "admin", "operator")

    assert redirects_to(post_form(operator_client, "/logout"), "/login")
    assert redirects_to(operator_client.get("/profile"), "/login")
