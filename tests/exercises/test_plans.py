"""Continuity plans on the service: validation naming every bad field, a plan saved with
its services and contacts together or not at all, edits that keep the services they name,
the test due dates and the overdue list on the frozen clock, record_test, and documents
judged by their content."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from sargs.audit.models import AuditEntry
from sargs.exercises import service
from sargs.exercises.models import ContinuityPlan, CriticalService, PlanContact
from sargs.exercises.schemas import PlanIn
from sargs.web.forms import InputError, validate
from tests.exercises.conftest import CONTACTS, SERVICES

TODAY = date(2026, 11, 24)  # the frozen clock's day
GOOD = {"organisation": "SIA Jelgavas ūdens", "organisation_kind": "company",
        "title": "Ūdensapgādes nepārtrauktība", "version": "2.1", "owner": "Valdes loceklis",
        "services": SERVICES, "contacts": CONTACTS}


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_every_bad_field_is_named(app):
    bad = {**GOOD, "organisation": " ", "title": "", "test_interval_days": "0",
           "services": [{**SERVICES[0], "recovery_time_hours": "0"},
                        {**SERVICES[1], "name": "", "dependencies": ["power", "magic"],
                         "minimum_staff": "-1"}],
           "contacts": [{"name": "", "role": "IT", "phone": "12", "email": "anna-at-lv"}]}
    with app.test_request_context(), pytest.raises(InputError) as caught:
        validate(PlanIn, bad)
    errors = caught.value.errors
    assert set(errors) == {
        "organisation", "title", "test_interval_days", "services.0.recovery_time_hours",
        "services.1.name", "services.1.dependencies", "services.1.minimum_staff",
        "contacts.0.name", "contacts.0.phone", "contacts.0.email"}
    assert "1" in errors["services.0.recovery_time_hours"]  # at least 1 hour


def test_a_plan_is_saved_with_its_services_and_contacts_normalised(db):
    data = PlanIn(**{**GOOD, "contacts": [{"name": "Jānis", "role": "IT",
                                           "phone": "2000 0002", "email": "Janis@Udens.LV"}]})
    plan = service.create_plan(db, data)
    db.commit()
    assert [(s.position, s.name, s.recovery_time_hours, s.dependencies) for s in plan.services] \
        == [(0, SERVICES[0]["name"], 4, ["power", "heating"]),
            (1, SERVICES[1]["name"], 24, ["water", "suppliers"])]
    (contact,) = plan.contacts
    assert (contact.phone, contact.email) == ("+37120000002", "janis@udens.lv")
    assert plan.test_interval_days == 365
    # the contacts' details stay out of the append-only audit log
    logged = " ".join(str(e.after) for e in db.scalars(select(AuditEntry)))
    assert "Jānis" not in logged and "+37120000002" not in logged


def test_nothing_is_half_written(db, plan):
    before = (_count(db, ContinuityPlan), _count(db, CriticalService), _count(db, PlanContact))
    with pytest.raises(service.PlanError) as caught:
        service.create_plan(db, PlanIn(**{**GOOD, "approved_on": TODAY + timedelta(days=1)}))
    assert caught.value.field == "approved_on"
    db.rollback()
    unknown = PlanIn(**{**GOOD, "services": [{**SERVICES[0], "id": 999_999}]})
    with pytest.raises(service.PlanError) as caught:
        service.update_plan(db, plan, unknown)
    assert caught.value.field == "services.0.name"
    db.rollback()
    after = (_count(db, ContinuityPlan), _count(db, CriticalService), _count(db, PlanContact))
    assert after == before
    db.refresh(plan)
    assert plan.organisation == "Jelgavas 4. vidusskola" and len(plan.services) == 2


def test_an_edit_keeps_the_services_it_names_and_replaces_the_contacts(db, plan):
    heating, meals = plan.services
    service.record_test(db, plan, TODAY, {heating.id: True})
    db.commit()
    edited = PlanIn(**{**GOOD, "services": [
        {**SERVICES[0], "id": heating.id, "recovery_time_hours": 6},
        {"name": "Attālinātās mācības", "recovery_time_hours": 48, "dependencies": ["it"]}],
        "contacts": [{"name": "Pēteris", "role": "vietnieks", "phone": "+37120000003"}]})
    service.update_plan(db, plan, edited)
    db.commit()
    db.expire_all()
    plan = db.get(ContinuityPlan, plan.id)
    assert [(s.name, s.recovery_time_hours) for s in plan.services] == [
        (SERVICES[0]["name"], 6), ("Attālinātās mācības", 48)]
    assert plan.services[0].id == heating.id and plan.services[0].met_objective is True
    assert db.get(CriticalService, meals.id) is None
    assert [c.name for c in plan.contacts] == ["Pēteris"]
    assert _count(db, PlanContact) == 1


def test_due_dates_and_the_overdue_list_follow_the_clock(db, make_plan, frozen_clock):
    never = make_plan("Pilsētas slimnīca")
    long_ago = make_plan("Ūdens", last_tested_on=TODAY - timedelta(days=400))
    lately = make_plan("Siltums", last_tested_on=TODAY - timedelta(days=370))
    fresh = make_plan("Skola", last_tested_on=TODAY - timedelta(days=350))
    monthly = make_plan("Sakari", last_tested_on=TODAY - timedelta(days=20),
                        test_interval_days=30)
    assert service.next_test_due(never) is None
    assert service.next_test_due(long_ago) == TODAY - timedelta(days=35)
    assert service.days_overdue(lately) == 5
    assert service.days_overdue(fresh) is None
    assert [p.id for p in service.overdue_plans(db)] == [never.id, long_ago.id, lately.id]
    assert [p.id for p in service.due_soon(db)] == [monthly.id, fresh.id]
    # a plan is due on its day, overdue the day after
    frozen_clock.advance(days=10)
    assert service.days_overdue(monthly) == 0 and not service.is_overdue(monthly)
    frozen_clock.advance(days=1)
    assert service.is_overdue(monthly)
    assert [p.id for p in service.overdue_plans(db)] == [
        never.id, long_ago.id, lately.id, monthly.id]
    service.archive_plan(db, never)
    db.commit()
    assert never.id not in [p.id for p in service.overdue_plans(db)]


def test_record_test_sets_the_plan_and_each_service(db, plan):
    heating, meals = plan.services
    service.record_test(db, plan, TODAY - timedelta(days=2), {heating.id: True, meals.id: False})
    db.commit()
    assert plan.last_tested_on == TODAY - timedelta(days=2)
    assert (heating.last_tested_on, heating.met_objective) == (TODAY - timedelta(days=2), True)
    assert (meals.last_tested_on, meals.met_objective) == (TODAY - timedelta(days=2), False)
    assert service.next_test_due(plan) == TODAY + timedelta(days=363)
    assert plan not in service.overdue_plans(db)
    # a later test of one service leaves the other's result; an older one moves nothing back
    service.record_test(db, plan, TODAY, {meals.id: True})
    service.record_test(db, plan, TODAY - timedelta(days=30), {heating.id: False})
    db.commit()
    assert plan.last_tested_on == TODAY
    assert (heating.last_tested_on, heating.met_objective) == (TODAY - timedelta(days=2), True)
    assert (meals.last_tested_on, meals.met_objective) == (TODAY, True)


def test_record_test_refuses_a_future_day_and_a_foreign_service(db, plan, make_plan):
    other = make_plan("Cita iestāde")
    with pytest.raises(service.PlanError) as caught:
        service.record_test(db, plan, TODAY + timedelta(days=1), {})
    assert caught.value.field == "tested_on"
    with pytest.raises(service.PlanError) as caught:
        service.record_test(db, plan, TODAY, {other.services[0].id: True})
    assert caught.value.field == "results"
    db.rollback()
    assert plan.last_tested_on is None


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_documents_are_judged_by_their_content(app):
    odt = _zip({"mimetype": service.ODT.encode(), "content.xml": b"<x/>"})
    docx = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"})
    assert service.document_type(b"%PDF-1.7\n") == "application/pdf"
    assert service.document_type(odt) == service.ODT
    assert service.document_type(docx) == service.DOCX
    assert service.document_type(_zip({"a.txt": b"hi"})) is None
    assert service.document_type(b"PK\x03\x04 broken") is None
    assert service.document_type(b"MZ\x90\x00") is None


def test_a_document_is_stored_and_a_wrong_one_refused(db, plan):
    with pytest.raises(service.PlanError) as caught:
        service.store_document(db, plan, "plans.pdf", b"MZ\x90\x00 not a pdf")
    assert caught.value.field == "document"
    with pytest.raises(service.PlanError):
        service.store_document(db, plan, "big.pdf", b"%PDF-" + b"0" * service.MAX_DOCUMENT_BYTES)
    service.store_document(db, plan, "C:\\plāni\\plāns.pdf", b"%PDF-1.4\n%%EOF\n")
    db.commit()
    assert (plan.document_name, plan.document_type) == ("plāns.pdf", "application/pdf")
