"""The phone-sized counter at /shelters/<id>/count: check-ins and check-outs through the
service, with and without htmx, below zero refused with a message, over capacity flagged,
and only the counting roles let in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sargs.shelters import service
from sargs.shelters.models import OccupancyChange, Shelter
from tests.kernel.helpers import page_token


@pytest.fixture
def open_shelter(db, make_shelter, activation):
    shelter = make_shelter(capacity=10)
    service.open_shelter(db, shelter, activation().id)
    db.commit()
    return shelter.id


def _number(page: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}">(-?\d+)<', page)
    assert match, f"no {testid} on the page"
    return int(match.group(1))


def _press(client, shelter_id, htmx=False, **form):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/shelters/{shelter_id}/count",
                       data={**form, "csrf_token": page_token(client)}, headers=headers)


def _stored(db, shelter_id):
    try:
        shelter = db.get(Shelter, shelter_id)
        db.refresh(shelter)
        return shelter.occupancy, [c.delta for c in db.scalars(
            select(OccupancyChange).order_by(OccupancyChange.id))]
    finally:
        db.rollback()


def test_staff_check_people_in_and_out(client, db, users, open_shelter, frozen_clock):
    users.signed_in(client, "ieva", "shelter_staff")
    page = client.get(f"/shelters/{open_shelter}/count").get_data(as_text=True)
    assert (_number(page, "occupancy"), _number(page, "capacity"),
            _number(page, "free-places")) == (0, 10, 10)
    answer = _press(client, open_shelter, delta="5")
    assert answer.status_code == 303  # post/redirect/get without JavaScript
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert (_number(page, "occupancy"), _number(page, "free-places")) == (5, 5)
    assert "data-testid=\"count-done\"" not in page  # the flash tells it instead
    assert _stored(db, open_shelter) == (5, [5])

    # With htmx the panel comes back at once, with the new numbers.
    answer = _press(client, open_shelter, htmx=True, delta="-1")
    panel = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert (_number(panel, "occupancy"), _number(panel, "free-places")) == (4, 6)
    _press(client, open_shelter, count="3", direction="out")
    assert _stored(db, open_shelter) == (1, [5, -1, -3])


def test_below_zero_is_refused_with_a_message(client, db, users, open_shelter):
    users.signed_in(client, "ieva", "shelter_staff")
    client.post("/lang/en", data={"csrf_token": page_token(client), "next": "/"})
    answer = _press(client, open_shelter, delta="-1")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Fewer people are checked in than that." in page
    assert _number(page, "occupancy") == 0
    htmx = _press(client, open_shelter, htmx=True, count="0", direction="in")
    assert "Give a number of people other than 0." in htmx.get_data(as_text=True)
    assert _stored(db, open_shelter) == (0, [])


def test_over_capacity_is_counted_and_flagged(client, db, users, open_shelter, frozen_clock):
    from datetime import timedelta

    users.signed_in(client, "ivars", "commission")
    _press(client, open_shelter, count="12", direction="in")
    frozen_clock.advance(timedelta(minutes=7))
    page = client.get(f"/shelters/{open_shelter}/count").get_data(as_text=True)
    assert (_number(page, "occupancy"), _number(page, "free-places")) == (12, 0)
    assert 'data-testid="over-capacity"' in page
    assert re.search(r'data-testid="updated">[^<]*7', page)
    assert _stored(db, open_shelter) == (12, [12])


def test_a_closed_shelter_is_not_counted(client, db, users, make_shelter):
    shelter = make_shelter()
    users.signed_in(client, "olga", "operator")
    page = client.get(f"/shelters/{shelter.id}/count").get_data(as_text=True)
    assert 'data-testid="not-open"' in page and 'data-testid="plus-5"' not in page
    assert _press(client, shelter.id, delta="5").status_code == 422
    assert _stored(db, shelter.id) == (0, [])


def test_only_the_counting_roles_open_the_counter(client, db, users, open_shelter):
    users.signed_in(client, "aija", "auditor")
    assert client.get(f"/shelters/{open_shelter}/count").status_code == 403
    assert _press(client, open_shelter, delta="5").status_code == 403
    assert _stored(db, open_shelter) == (0, [])
    anonymous = client.application.test_client()
    assert anonymous.get(f"/shelters/{open_shelter}/count").status_code == 302
