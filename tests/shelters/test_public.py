"""The public map page at /public/shelters: no login, open shelters with their free places
and "updated N min ago", the registered places when none is open, illustrative places
marked, exercise openings never shown."""

from __future__ import annotations

import re
from datetime import timedelta

from sargs.shelters import service
from tests.kernel.helpers import page_token
from tests.shelters.conftest import CENTRE


def _rows(page: str) -> dict[str, str]:
    """Each place's list entry, by name."""
    items = re.findall(r'<li class="shelter-row[^"]*"[^>]*>(.*?)</li>', page, re.S)
    return {re.search(r"<strong>(.*?)</strong>", item).group(1): item for item in items}


def test_the_map_shows_open_shelters_with_free_places(client, db, make_shelter, activation,
                                                      frozen_clock):
    client.post("/lang/en", data={"csrf_token": page_token(client), "next": "/"})
    school = make_shelter(capacity=120)
    full = make_shelter("Zinātņu māja", CENTRE[0] + 0.01, CENTRE[1], capacity=4)
    make_shelter("Kultūras nams", CENTRE[0] - 0.01, CENTRE[1], illustrative=True)
    emergency = activation().id
    for shelter, people in ((school, 20), (full, 4)):
        service.open_shelter(db, shelter, emergency)
        service.change_occupancy(db, shelter, people)
    db.commit()
    frozen_clock.advance(timedelta(minutes=12))

    answer = client.get("/public/shelters")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    rows = _rows(page)
    assert list(rows) == ["Jelgavas Valsts ģimnāzija", "Zinātņu māja", "Kultūras nams"]
    assert re.search(r'data-testid="free-places" data-free>100<', rows["Jelgavas Valsts ģimnāzija"])
    assert "updated 12 min ago" in rows["Jelgavas Valsts ģimnāzija"]
    assert 'data-testid="full"' in rows["Zinātņu māja"]
    assert 'data-testid="illustrative"' in rows["Kultūras nams"]
    assert "free places" not in rows["Kultūras nams"]
    assert 'data-testid="none-open"' not in page
    assert f"https://www.openstreetmap.org/?mlat={CENTRE[0]}&amp;mlon={CENTRE[1]}" in page


def test_without_open_shelters_every_place_shows_and_exercises_stay_hidden(
        client, db, make_shelter, activation):
    drill = make_shelter()
    make_shelter("Kultūras nams", CENTRE[0] - 0.01, CENTRE[1])
    service.open_shelter(db, drill, activation(exercise=True).id)
    service.change_occupancy(db, drill, 7)
    db.commit()
    page = client.get("/public/shelters").get_data(as_text=True)
    assert 'data-testid="none-open"' in page
    rows = _rows(page)
    assert set(rows) == {"Jelgavas Valsts ģimnāzija", "Kultūras nams"}
    assert all('data-testid="free-places"' not in item for item in rows.values())
    assert "93" not in rows["Jelgavas Valsts ģimnāzija"]
