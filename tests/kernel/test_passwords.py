"""Passwords are kept as argon2 hashes only, and guessing them is throttled."""

from __future__ import annotations

import logging

from sqlalchemy import select, text

from sargs.audit.models import AuditEntry
from tests.conftest import PASSWORD
from tests.kernel.helpers import post_form, redirects_to

WRONG = "wrong-password-123"


def _sign_in(client, username, password, **options):
    return post_form(client, "/login", {"username": username, "password": password}, **options)


def test_the_database_holds_an_argon2_hash_not_the_password(users, db):
    user = users.create("olga", "operator")
    stored = db.execute(text("SELECT password_hash FROM user_account WHERE id = :id"),
                        {"id": user.id}).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_no_password_reaches_the_logs_or_the_audit_log(client, users, db, caplog):
    caplog.set_level(logging.DEBUG)
    users.create("olga", "operator")
    assert redirects_to(_sign_in(client, "olga", PASSWORD), "/")
    post_form(client, "/logout")
    assert _sign_in(client, "olga", WRONG).status_code == 401
    # Someone types the password into the user name field.
    assert _sign_in(client, WRONG, WRONG).status_code == 401
    audit = str(db.execute(text("SELECT actor_label, object_id, before, after FROM audit_log")).all())
    for secret in (PASSWORD, WRONG):
        assert secret not in caplog.text
        assert secret not in audit


def test_the_audit_log_hides_password_hashes(client, users, db):
    users.signed_in(client, "anna", "admin")
    olga = users.create("olga", "operator")
    response = post_form(client, f"/admin/users/{olga.id}/password",
                         {"password": "another-password-1", "password_again": "another-password-1"})
    assert response.status_code == 302
    entries = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "user_account")).all()
    created = [e for e in entries if e.action == "create" and e.after["username"] == "olga"]
    assert created, [(e.action, e.object_id, e.after) for e in entries]
    created = created[0]
    assert created.object_id == str(olga.id)
    changed = [e for e in entries if e.action == "update" and e.object_id == created.object_id
               and "password_hash" in e.after]
    assert changed, [(e.action, e.object_id, e.after) for e in entries]
    changed = changed[0]
    assert created.after["password_hash"] == "***"
    assert changed.before["password_hash"] == changed.after["password_hash"] == "***"
    raw = db.execute(text("SELECT before, after FROM audit_log")).all()
    assert "$argon2" not in str(raw)


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client, users, settings,
                                                                frozen_clock):
    users.create("olga", "operator")
    for _attempt in range(settings.login_lockout_failures):
        assert _sign_in(client, "olga", WRONG).status_code == 401
    assert _sign_in(client, "olga", PASSWORD).status_code == 401
    assert client.get("/profile").status_code == 302

    frozen_clock.advance(minutes=settings.login_lockout_minutes + 1)
    assert redirects_to(_sign_in(client, "olga", PASSWORD), "/")
    assert client.get("/profile").status_code == 200


def test_fewer_wrong_passwords_than_the_limit_do_not_lock(client, users, settings):
    users.create("olga", "operator")
    for _attempt in range(settings.login_lockout_failures - 1):
        _sign_in(client, "olga", WRONG)
    assert redirects_to(_sign_in(client, "olga", PASSWORD), "/")


def test_sign_in_attempts_are_limited_per_address(make_app):
    client = make_app(login_rate_limit="3 per minute").test_client()
    statuses = [_sign_in(client, "nobody", WRONG).status_code for _attempt in range(4)]
    assert statuses == [401, 401, 401, 429]
    elsewhere = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    assert _sign_in(client, "nobody", WRONG, **elsewhere).status_code == 401


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(app, users):
    olga_client, admin_client = app.test_client(), app.test_client()
    olga = users.signed_in(olga_client, "olga", "operator")
    users.signed_in(admin_client, "anna", "admin")
    response = post_form(admin_client, f"/admin/users/{olga.id}",
                         {"display_name": "Olga", "roles": ["operator"]})
    assert response.status_code == 302
    assert redirects_to(olga_client.get("/profile"), "/login")
    assert _sign_in(olga_client, "olga", PASSWORD).status_code == 401
