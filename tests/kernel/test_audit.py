"""The audit log: who changed what and from where, kept unchangeable."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import exc, select, text

from sargs.audit.models import AuditEntry
from sargs.audit.service import Actor, acting_as
from sargs.auth.models import User
from tests.kernel.helpers import post_form, rows

ADMIN_IP = "192.0.2.10"


def _entries(db, **where):
    return rows(db, select(AuditEntry).filter_by(**where).order_by(AuditEntry.id))


def _change_roles(client, user, roles):
    response = post_form(client, f"/admin/users/{user.id}",
                         {"display_name": user.display_name, "roles": roles, "active": "true"},
                         environ_base={"REMOTE_ADDR": ADMIN_IP})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _table_rows(page: str) -> list[list[str]]:
    """The cells of the audit table, one list per row."""
    body = page.split('data-testid="audit-table"', 1)[1].split("<tbody>", 1)[1]
    body = body.split("</tbody>", 1)[0]
    found = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in found]


@pytest.fixture
def role_change(client, users, db):
    """An admin moves olga from operator to commission through the admin page."""
    users.signed_in(client, "anna", "admin")
    olga = users.create("olga", "operator")
    _change_roles(client, olga, ["commission"])
    return olga


def test_a_role_change_is_recorded_with_before_after_actor_and_address(role_change, db):
    changes = [e for e in _entries(db, object_type="user_role") if e.actor_label == "anna"]
    removed = [e.before for e in changes if e.action == "delete"]
    added = [e.after for e in changes if e.action == "create"]
    assert len(removed) == len(added) == 1
    assert {"user_id": role_change.id, "role": "operator"}.items() <= removed[0].items()
    assert {"user_id": role_change.id, "role": "commission"}.items() <= added[0].items()
    assert all(e.origin == ADMIN_IP and e.actor_kind == "user" for e in changes)


def test_deleting_a_user_records_the_user_and_each_role_once(users, db):
    olga = users.create("olga", "operator", "trainer")
    with acting_as(Actor("system", None, "cli:root", "cli")):
        db.delete(db.get(User, olga.id))
        db.commit()
    deleted = _entries(db, action="delete")
    assert sorted(e.object_type for e in deleted) == ["user_account", "user_role", "user_role"]
    assert {e.before["role"] for e in deleted if e.object_type == "user_role"} == {
        "operator", "trainer"}
    assert all(e.actor_label == "cli:root" for e in deleted)


def test_a_sign_in_is_recorded_as_the_user_who_signed_in(client, users, db):
    users.signed_in(client, "olga", "operator")
    (login,) = _entries(db, action="login")
    assert (login.actor_label, login.actor_kind) == ("olga", "user")


def test_the_database_refuses_to_change_or_delete_audit_entries(role_change, db):
    assert _entries(db)
    for statement in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        with pytest.raises(exc.DBAPIError):
            db.execute(text(statement))
        db.rollback()
    assert all(e.action != "nothing" for e in _entries(db))


def test_the_audit_page_filters_by_action_and_object_type(role_change, client):
    page = client.get("/audit/?action=delete&object_type=user_role").get_data(as_text=True)
    shown = _table_rows(page)
    assert shown and all(row[3] == "delete" and row[4].startswith("user_role") for row in shown)
    everything = _table_rows(client.get("/audit/").get_data(as_text=True))
    assert len(everything) > len(shown)


def test_the_csv_export_holds_the_rows(role_change, client, db):
    response = client.get("/audit/export.csv?object_type=user_role")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    recorded = {e.id for e in _entries(db, object_type="user_role")}
    assert {int(line["id"]) for line in lines} == recorded
    assert any(line["actor"] == "anna" and '"commission"' in line["after"] for line in lines)
    assert _entries(db, action="export", object_type="audit_log")


def test_an_auditor_reads_the_log_but_changes_nothing(role_change, app, users, db):
    auditor = app.test_client()
    users.signed_in(auditor, "ivars", "auditor")
    assert auditor.get("/audit/").status_code == 200
    assert auditor.get("/admin/users").status_code == 200
    before = len(_entries(db))
    refused = [
        post_form(auditor, "/admin/users/new", {"username": "mallory"}),
        post_form(auditor, f"/admin/users/{role_change.id}", {"roles": ["admin"]}),
        post_form(auditor, "/admin/policies", {"totp_roles": []}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert len(_entries(db)) == before
