"""Forms refuse posts without a CSRF token and name every wrong field."""

from __future__ import annotations

import pytest

from sargs.activations.models import Activation
from sargs.audit.models import AuditEntry
from sargs.auth.models import User
from tests.conftest import PASSWORD
from tests.kernel.helpers import count, field_has_error, post_form

NEW_USER = {"username": "olga", "display_name": "Olga", "roles": ["operator"],
            "password": "long-enough-pw", "password_again": "long-enough-pw"}
FORGED = [
    (None, "/login", {"username": "anna", "password": PASSWORD}),
    ("commission", "/activations/", {"title": "Flood", "kind": "emergency"}),
    ("admin", "/admin/users/new", NEW_USER),
]


@pytest.mark.parametrize(("role", "path", "data"), FORGED)
def test_a_post_without_csrf_token_is_refused_and_writes_nothing(client, users, db,
                                                                 role, path, data):
    if role:
        users.signed_in(client, "anna", role)
    else:
        users.create("anna", "operator")
    before = {model: count(db, model) for model in (User, Activation, AuditEntry)}
    assert client.post(path, data=data).status_code == 400
    assert {model: count(db, model) for model in before} == before


def test_the_user_form_names_every_wrong_field(client, users, db):
    users.signed_in(client, "anna", "admin")
    before = count(db, User), count(db, AuditEntry)
    response = post_form(client, "/admin/users/new", {
        **NEW_USER, "username": "A B", "password_again": "something-else",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "username")
    assert field_has_error(page, "password_again")
    assert not field_has_error(page, "display_name")
    assert (count(db, User), count(db, AuditEntry)) == before


def test_mismatched_passwords_alone_are_named_at_the_second_field(client, users):
    users.signed_in(client, "anna", "admin")
    response = post_form(client, "/admin/users/new", {**NEW_USER, "password_again": "other-pw-123"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "password_again")


def test_a_valid_user_form_creates_the_user(client, users, db):
    users.signed_in(client, "anna", "admin")
    assert post_form(client, "/admin/users/new", NEW_USER).status_code == 302
    assert count(db, User) == 2
