"""Evacuees registered (optionally) at the shelter's counter page: registering checks the
household in, checking out counts it out, bad input names its field and stores nothing,
and closing the shelter removes the personal data, leaving counts and times."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sargs.audit.models import AuditEntry
from sargs.shelters import evacuees, service
from sargs.shelters.models import Evacuee, OccupancyChange, Shelter
from tests.kernel.helpers import page_token


@pytest.fixture
def open_shelter(db, make_shelter, activation):
    shelter = make_shelter(capacity=10)
    service.open_shelter(db, shelter, activation().id)
    db.commit()
    return shelter.id


def _occupancy(page: str) -> int:
    match = re.search(r'data-testid="occupancy">(\d+)<', page)
    assert match, "no occupancy on the page"
    return int(match.group(1))


def _register(client, shelter_id, **form):
    values = {"name": "", "phone": "", "household_size": "1", "notes": "", **form}
    return client.post(f"/shelters/{shelter_id}/count/register",
                       data={**values, "csrf_token": page_token(client)})


def _check_out(client, shelter_id, evacuee_id):
    return client.post(f"/shelters/{shelter_id}/count/people/{evacuee_id}/out",
                       data={"csrf_token": page_token(client)})


def _stored(db, shelter_id):
    """The shelter's count, its count changes, and the evacuees as stored."""
    try:
        shelter = db.get(Shelter, shelter_id)
        db.refresh(shelter)
        changes = [c.delta for c in db.scalars(select(OccupancyChange).order_by(
            OccupancyChange.id))]
        people = [(e.name, e.phone, e.household_size, e.notes, e.checked_out_at is not None,
                   e.anonymised_at is not None)
                  for e in db.scalars(select(Evacuee).order_by(Evacuee.id))]
        return shelter.occupancy, changes, people
    finally:
        db.rollback()


def _english(client):
    client.post("/lang/en", data={"csrf_token": page_token(client), "next": "/"})


def test_register_lists_the_person_and_counts_the_household(client, db, users, open_shelter):
    users.signed_in(client, "ieva", "shelter_staff")
    page = client.get(f"/shelters/{open_shelter}/count").get_data(as_text=True)
    assert 'data-testid="register-form"' in page and 'data-testid="evacuee"' not in page

    answer = _register(client, open_shelter, name="Anna Kalniņa", phone="29 123 456",
                       household_size="3", notes="insulīns")
    assert answer.status_code == 303  # post/redirect/get
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert _occupancy(page) == 3
    assert "Anna Kalniņa" in page and "+37129123456" in page and "insulīns" in page
    _register(client, open_shelter, household_size="2")  # no name: the household only
    assert _stored(db, open_shelter) == (5, [3, 2], [
        ("Anna Kalniņa", "+37129123456", 3, "insulīns", False, False),
        (None, None, 2, None, False, False)])


def test_check_out_lowers_the_count_once(client, db, users, open_shelter):
    users.signed_in(client, "ieva", "shelter_staff")
    _register(client, open_shelter, name="Jānis Bērziņš", household_size="4")
    _register(client, open_shelter, name="Pēteris Ozols", household_size="1")
    first = db.scalar(select(Evacuee.id).where(Evacuee.name == "Jānis Bērziņš"))
    db.rollback()

    answer = _check_out(client, open_shelter, first)
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert _occupancy(page) == 1
    assert "Jānis Bērziņš" not in page and "Pēteris Ozols" in page

    again = _check_out(client, open_shelter, first)
    assert again.status_code == 422
    assert _occupancy(again.get_data(as_text=True)) == 1
    occupancy, changes, people = _stored(db, open_shelter)
    assert (occupancy, changes) == (1, [4, 1, -4])
    assert [p[4] for p in people] == [True, False]


def test_bad_input_names_the_field_and_stores_nothing(client, db, users, open_shelter):
    users.signed_in(client, "ieva", "shelter_staff")
    _english(client)
    for form, field, message in [
        ({"household_size": "0"}, "household_size", "Must be at least 1."),
        ({"household_size": "31"}, "household_size", "Must be at most 30."),
        ({"household_size": ""}, "household_size", "Must be a whole number."),
        ({"phone": "call me"}, "phone", "A phone number has 6–20 digits"),
        ({"notes": "x" * 501}, "notes", "Must be at most 500 characters."),
        ({"name": "x" * 201}, "name", "Must be at most 200 characters."),
    ]:
        answer = _register(client, open_shelter, **form)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422, form
        error = re.search(rf'for="f-{field}"(?:(?!</label>).)*class="field-error">([^<]*)<',
                          page, re.DOTALL)
        assert error and message in error.group(1), (form, page[-3000:])
        assert "<details open" in page  # the form stays open with its values
    assert _stored(db, open_shelter) == (0, [], [])


def test_closing_the_shelter_anonymises_and_keeps_the_counts(db, users, open_shelter):
    shelter = db.get(Shelter, open_shelter)
    evacuees.register(db, shelter, "Anna Kalniņa", "+37129123456", 2, "ratiņkrēsls")
    left = evacuees.register(db, shelter, "Jānis Bērziņš", None, 1, None)
    evacuees.check_out(db, left)
    db.commit()
    opening_id = shelter.opening_id
    service.close_shelter(db, shelter)
    db.commit()

    stored = list(db.scalars(select(Evacuee).where(Evacuee.opening_id == opening_id)
                             .order_by(Evacuee.id)))
    assert [(e.name, e.phone, e.notes, e.household_size) for e in stored] == [
        (None, None, None, 2), (None, None, None, 1)]
    assert all(e.anonymised_at and e.checked_in_at and e.checked_out_at for e in stored)
    # The counts stay.
    assert [c.delta for c in db.scalars(select(OccupancyChange).where(
        OccupancyChange.opening_id == opening_id).order_by(OccupancyChange.id))] == [2, 1, -1]
    # The audit log only says that the personal fields changed, never what they held.
    audit = " ".join(f"{e.before} {e.after}" for e in db.scalars(select(AuditEntry)))
    assert "shelter_evacuee" in " ".join(db.scalars(select(AuditEntry.object_type)))
    assert "Kalniņa" not in audit and "29123456" not in audit and "ratiņkrēsls" not in audit
    db.rollback()


def test_a_closed_shelter_registers_nobody(client, db, users, make_shelter):
    shelter = make_shelter()
    with pytest.raises(service.ShelterError):
        evacuees.register(db, shelter, "Anna", None, 1, None)
    db.rollback()
    users.signed_in(client, "olga", "operator")
    page = client.get(f"/shelters/{shelter.id}/count").get_data(as_text=True)
    assert 'data-testid="register-form"' not in page
    answer = _register(client, shelter.id, name="Anna", household_size="2")
    assert answer.status_code == 422
    assert _stored(db, shelter.id) == (0, [], [])


def test_an_auditor_cannot_register_or_check_out(client, db, users, open_shelter):
    shelter = db.get(Shelter, open_shelter)
    someone = evacuees.register(db, shelter, "Anna", None, 2, None)
    db.commit()
    users.signed_in(client, "aija", "auditor")
    assert _register(client, open_shelter, name="Jānis", household_size="1").status_code == 403
    assert _check_out(client, open_shelter, someone.id).status_code == 403
    assert _stored(db, open_shelter) == (2, [2], [("Anna", None, 2, None, False, False)])


def test_evacuees_never_reach_the_public(client, db, open_shelter):
    shelter = db.get(Shelter, open_shelter)
    evacuees.register(db, shelter, "Anna Kalniņa", "+37129123456", 2, "insulīns")
    db.commit()
    for path in ("/api/v1/shelters", "/api/v1/shelters.geojson", "/public/shelters"):
        body = client.get(path).get_data(as_text=True)
        assert "Kalniņa" not in body and "29123456" not in body and "insulīns" not in body
    rows = client.get("/api/v1/shelters").get_json()
    assert [r["occupancy"] for r in rows] == [2]
