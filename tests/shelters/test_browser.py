"""The shelters in a real browser: the public map shows an open shelter with its free
places and finds the nearest from the phone's location; a staff member on a phone-sized
screen checks 5 people in on the counter page; the public map's free places drop by 5."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from sargs.shelters import service
from tests.areas.test_browser import live_url  # noqa: F401 (the live server)
from tests.cad.test_browser import sign_in
from tests.shelters.conftest import CENTRE

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SARGS_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.fixture
def phone(chromium: Any, live_url: str) -> Iterator[Any]:  # noqa: F811
    """A phone-sized tab that shares its location (a few hundred metres from the centre)."""
    context = chromium.new_context(viewport=PHONE, base_url=live_url, is_mobile=True,
                                   has_touch=True, permissions=["geolocation"],
                                   geolocation={"latitude": CENTRE[0] - 0.003,
                                                "longitude": CENTRE[1]})
    tab = context.new_page()
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()


def _free_places(page: Any, shelter_id: int) -> int:
    row = page.locator(f'#shelters-list [data-id="{shelter_id}"] [data-testid=free-places]')
    return int(row.inner_text())


def test_checking_people_in_drops_the_public_free_places(phone, users, db, make_shelter,
                                                          activation):
    school = make_shelter(capacity=60)
    far = make_shelter("Jelgavas Spīdolas ģimnāzija", CENTRE[0] + 0.02, CENTRE[1],
                       capacity=30)
    make_shelter("Kultūras nams", CENTRE[0] - 0.005, CENTRE[1])  # nearest, but not open
    emergency = activation().id
    for shelter in (school, far):
        service.open_shelter(db, shelter, emergency)
    service.change_occupancy(db, school, 12)
    db.commit()
    school_id = school.id
    db.close()

    phone.goto("/public/shelters")
    phone.wait_for_selector(f'#shelters-map [data-testid=pin-free][data-id="{school_id}"]')
    assert phone.locator(f'[data-testid=pin-free][data-id="{school_id}"]').inner_text() == "48"
    assert _free_places(phone, school_id) == 48
    phone.click("[data-testid=find-nearest]")
    nearest = phone.locator("[data-testid=nearest-item]")
    nearest.first.wait_for()
    # The open shelters with free places, nearest first; the closed place is not among them.
    assert [nearest.nth(i).get_attribute("data-id") for i in range(nearest.count())] == [
        str(school_id), str(far.id)]
    link = nearest.first.locator("a").first.get_attribute("href")
    assert link.startswith(f"https://www.openstreetmap.org/?mlat={CENTRE[0]}")
    _shot(phone, "shelters-public.png")

    sign_in(phone, users.create("ieva", "shelter_staff"))
    phone.goto(f"/shelters/{school_id}/count")
    assert phone.locator("[data-testid=occupancy]").inner_text() == "12"
    box = phone.locator("[data-testid=plus-5]").bounding_box()
    assert box["height"] >= 48 and box["x"] + box["width"] <= PHONE["width"]
    phone.click("[data-testid=plus-5]")
    phone.wait_for_selector("[data-testid=count-done]")  # swapped in place by htmx
    assert phone.locator("[data-testid=occupancy]").inner_text() == "17"
    assert phone.locator("[data-testid=free-places]").inner_text() == "43"
    _shot(phone, "shelters-counter.png")

    phone.goto("/public/shelters")
    phone.wait_for_selector(f'#shelters-map [data-testid=pin-free][data-id="{school_id}"]')
    assert _free_places(phone, school_id) == 43
    assert phone.locator(f'[data-testid=pin-free][data-id="{school_id}"]').inner_text() == "43"
    assert phone.page_errors == []
