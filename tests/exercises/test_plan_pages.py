"""The continuity plan pages through the test client: the form with its rows (more rows
without JavaScript, every bad field marked at its row, typed values kept), the plan page,
the list and landing page with their due badges, the document, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.exercises.models import ContinuityPlan
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error

FORM = {"organisation": "Jelgavas pilsētas slimnīca", "organisation_kind": "institution",
        "title": "Slimnīcas nepārtrauktības plāns", "version": "3", "owner": "Galvenā māsa",
        "approved_on": "2026-03-01", "test_interval_days": "180",
        "services_rows": "3", "contacts_rows": "2",
        "services-0-name": "Neatliekamā palīdzība", "services-0-recovery_time_hours": "1",
        "services-0-minimum_staff": "6", "services-0-dependencies": ["power", "water", "staff"],
        "services-0-workarounds": "Dīzeļģenerators 72 h",
        # row 1 left blank: it is left out
        "services-2-name": "Laboratorija", "services-2-recovery_time_hours": "12",
        "contacts-0-name": "Laura Ozola", "contacts-0-role": "krīzes vadītāja",
        "contacts-0-phone": "29 000 001", "contacts-0-email": "laura@slimnica.lv"}


def _post(client: Any, path: str, data: dict[str, Any], **options: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/exercises/plans/")},
                       **options)


def _plans(db: Any) -> list[ContinuityPlan]:
    with Session(db.get_bind()) as session:
        found = list(session.scalars(select(ContinuityPlan).order_by(ContinuityPlan.id)))
        for plan in found:
            _loaded = (plan.services, plan.contacts)
        session.expunge_all()
    return found


def test_a_trainer_creates_a_plan_with_rows_and_sees_it(client, users, db):
    users.signed_in(client, "inese", "trainer")
    response = _post(client, "/exercises/plans/new", FORM)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    (plan,) = _plans(db)
    assert [(s.name, s.recovery_time_hours, s.minimum_staff, s.dependencies)
            for s in plan.services] == [("Neatliekamā palīdzība", 1, 6, ["power", "water", "staff"]),
                                        ("Laboratorija", 12, 1, [])]
    assert [(c.name, c.phone) for c in plan.contacts] == [("Laura Ozola", "+37129000001")]
    assert (plan.approved_on, plan.test_interval_days) == (date(2026, 3, 1), 180)
    page = client.get(f"/exercises/plans/{plan.id}").get_data(as_text=True)
    assert page.count('data-testid="service"') == 2
    assert 'data-hours="1"' in page and 'data-dependency="water"' in page
    assert 'data-met="none"' in page
    assert "Laura Ozola" in page and "+37129000001" in page
    assert 'data-testid="next-due" data-state="overdue"' in page  # never tested: due now


def test_more_rows_post_back_without_saving(client, users, db):
    users.signed_in(client, "inese", "trainer")
    response = _post(client, "/exercises/plans/new", {**FORM, "action": "add_service"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('data-testid="service-row"') == 4
    assert "Dīzeļģenerators 72 h" in page and 'value="Laboratorija"' in page
    response = _post(client, "/exercises/plans/new", {**FORM, "action": "add_contact"})
    assert response.get_data(as_text=True).count('data-testid="contact-row"') == 3
    assert _plans(db) == []


def test_bad_fields_are_marked_at_their_rows_and_nothing_is_saved(client, users, db):
    users.signed_in(client, "inese", "trainer")
    bad = {**FORM, "title": "", "services-2-recovery_time_hours": "0",
           "contacts-1-name": "", "contacts-1-role": "IT", "contacts-1-phone": "12",
           "contacts-1-email": "nav-epasts"}
    response = _post(client, "/exercises/plans/new", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("title", "services-2-recovery_time_hours", "contacts-1-name",
                 "contacts-1-phone", "contacts-1-email"):
        assert field_has_error(page, name), name
    assert not field_has_error(page, "services-0-name")
    assert 'value="Jelgavas pilsētas slimnīca"' in page and 'value="nav-epasts"' in page
    assert _plans(db) == []


def test_an_edit_replaces_the_lists(client, users, db, plan):
    users.signed_in(client, "inese", "trainer")
    form = client.get(f"/exercises/plans/{plan.id}/edit").get_data(as_text=True)
    heating_id = re.search(r'name="services-0-id" value="(\d+)"', form).group(1)
    assert int(heating_id) == plan.services[0].id
    data = {"organisation": plan.organisation, "organisation_kind": "institution",
            "title": plan.title, "version": "1.1",
            "owner": plan.owner, "services_rows": "2", "contacts_rows": "1",
            "services-0-id": heating_id, "services-0-name": "Apkure",
            "services-0-recovery_time_hours": "8", "services-0-dependencies": ["power"],
            "services-1-id": str(plan.services[1].id),  # cleared: removed
            "contacts-0-name": "Jānis", "contacts-0-role": "saimnieks"}
    response = _post(client, f"/exercises/plans/{plan.id}/edit", data)
    assert response.status_code == 302
    (stored,) = _plans(db)
    assert [(s.id, s.name, s.recovery_time_hours) for s in stored.services] == [
        (int(heating_id), "Apkure", 8)]
    assert [c.name for c in stored.contacts] == ["Jānis"] and stored.version == "1.1"


def test_the_list_and_landing_page_show_what_is_due(client, users, make_plan):
    today = date(2026, 11, 24)
    late = make_plan("Ūdens", last_tested_on=today - timedelta(days=400))
    never = make_plan("Slimnīca")
    soon = make_plan("Skola", last_tested_on=today - timedelta(days=350))
    fine = make_plan("Sakari", last_tested_on=today - timedelta(days=10))
    users.signed_in(client, "ilze", "commission")
    landing = client.get("/exercises/").get_data(as_text=True)
    overdue = landing.split('data-testid="overdue"')[1].split("</table>")[0]
    assert re.findall(r'data-testid="plan-row" data-id="(\d+)"', overdue) == [
        str(never.id), str(late.id)]
    due = landing.split('data-testid="due-soon"')[1].split("</table>")[0]
    assert re.findall(r'data-id="(\d+)"', due) == [str(soon.id)]
    assert 'data-testid="link-plans"' in landing
    listing = client.get("/exercises/plans/").get_data(as_text=True)
    states = dict(re.findall(r'data-id="(\d+)">.*?data-testid="next-due" data-state="([\w-]+)"',
                             listing, re.S))
    assert states == {str(late.id): "overdue", str(never.id): "overdue",
                      str(soon.id): "due-soon", str(fine.id): "ok"}
    assert 'data-days="35"' in listing
    assert 'data-testid="new-plan"' not in listing  # the commission reads


def test_the_document_is_uploaded_downloaded_and_a_wrong_one_refused(client, users, plan):
    users.signed_in(client, "inese", "trainer")
    path = f"/exercises/plans/{plan.id}/document"
    fake = _post(client, path, {"document": (io.BytesIO(b"MZ\x90\x00 exe"), "plāns.pdf")},
                 content_type="multipart/form-data")
    assert fake.status_code == 422
    assert field_has_error(fake.get_data(as_text=True), "document")
    assert client.get(path).status_code == 404
    good = _post(client, path, {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "plāns.pdf")},
                 content_type="multipart/form-data")
    assert good.status_code == 302
    page = client.get(f"/exercises/plans/{plan.id}").get_data(as_text=True)
    assert 'data-testid="document-link"' in page and "plāns.pdf" in page
    download = client.get(path)
    assert download.data == b"%PDF-1.4\n%%EOF\n"
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]


def test_auditors_read_without_contacts_and_cannot_post(client, users, plan):
    users.signed_in(client, "auditore", "auditor")
    assert client.get("/exercises/").status_code == 200
    page = client.get(f"/exercises/plans/{plan.id}").get_data(as_text=True)
    assert 'data-testid="services"' in page
    assert "Anna Bērziņa" not in page and "+37120000001" not in page
    assert 'data-testid="contacts-hidden" data-count="1"' in page
    assert 'data-testid="edit-plan"' not in page
    for path, data in ((f"/exercises/plans/{plan.id}/edit", {"title": "X"}),
                       ("/exercises/plans/new", FORM),
                       (f"/exercises/plans/{plan.id}/archive", {}),
                       (f"/exercises/plans/{plan.id}/document", {})):
        assert _post(client, path, data).status_code == 403, path
    assert client.get("/exercises/plans/new").status_code == 403


def test_the_commission_sees_contacts_but_cannot_change_a_plan(client, users, plan):
    users.signed_in(client, "ilze", "commission")
    page = client.get(f"/exercises/plans/{plan.id}").get_data(as_text=True)
    assert "Anna Bērziņa" in page and "+37120000001" in page
    assert _post(client, f"/exercises/plans/{plan.id}/archive", {}).status_code == 403


def test_others_are_kept_out(client, users, plan):
    users.signed_in(client, "olga", "operator")
    assert client.get("/exercises/").status_code == 403
    assert client.get(f"/exercises/plans/{plan.id}").status_code == 403
