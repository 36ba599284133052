"""The shelter APIs: the public list, GeoJSON and nearest open shelter (no personal data,
order by distance, free places only, the none-open case, exercises hidden, bad
parameters) and the staff API with a token of scope "shelters"."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sargs.auth.service import create_token
from sargs.shelters import service
from sargs.shelters.models import OccupancyChange, Shelter
from tests.shelters.conftest import CENTRE

CONTACT = {"responsible_name": "Jānis Ozoliņš", "responsible_phone": "+37129998877",
           "responsible_email": "janis.ozolins@example.lv", "key_holder_name": "Marta Kalniņa",
           "key_holder_phone": "+37126665544",
           "opening_procedure": "Atslēga pie dežuranta, kods 4321"}
PERSONAL = ("Ozoli", "29998877", "example.lv", "Kalni", "26665544", "4321", "dežuranta")
NEAREST_KEYS = {"id", "name", "address", "lat", "lon", "distance_m", "capacity", "occupancy",
                "free_places", "open"}
# Three places north of the centre, about 1, 2 and 3 km away, and one 500 m south.
NORTH_1, NORTH_2, NORTH_3 = ((CENTRE[0] + k * 0.009, CENTRE[1]) for k in (1, 2, 3))
SOUTH = (CENTRE[0] - 0.0045, CENTRE[1])


@pytest.fixture
def bearer(db):
    def make(*scopes: str) -> dict[str, str]:
        _token, plaintext = create_token(db, "shelters-app", list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def _open(db, shelter, activation_id, people=0):
    service.open_shelter(db, shelter, activation_id)
    if people:
        service.change_occupancy(db, shelter, people)
    db.commit()


def _nearest(client, lat=CENTRE[0], lon=CENTRE[1], n=3):
    answer = client.get(f"/api/v1/shelters/nearest?lat={lat}&lon={lon}&n={n}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_public_answers_carry_no_personal_data(client, db, make_shelter, activation):
    shelter = make_shelter(**CONTACT)
    make_shelter("Jelgavas Spīdolas ģimnāzija", *NORTH_1, **CONTACT)
    _open(db, shelter, activation().id, people=12)
    bodies = [client.get(path).get_data(as_text=True) for path in (
        "/api/v1/shelters", "/api/v1/shelters.geojson",
        f"/api/v1/shelters/nearest?lat={CENTRE[0]}&lon={CENTRE[1]}&n=5", "/public/shelters")]
    for body in bodies:
        assert "Jelgavas Valsts ģimnāzija" in body or "Jelgavas Valsts \\u0123imn" in body
        for fragment in PERSONAL:
            assert fragment not in body


def test_list_and_geojson_show_the_open_shelters_free_places(client, db, make_shelter,
                                                             activation):
    shelter = make_shelter(capacity=80)
    make_shelter("Kultūras nams", *NORTH_1, illustrative=True)
    _open(db, shelter, activation().id, people=30)
    rows = {r["name"]: r for r in client.get("/api/v1/shelters").get_json()}
    assert (rows["Jelgavas Valsts ģimnāzija"]["open"],
            rows["Jelgavas Valsts ģimnāzija"]["free_places"]) == (True, 50)
    assert rows["Jelgavas Valsts ģimnāzija"]["updated_minutes_ago"] == 0
    assert (rows["Kultūras nams"]["open"], rows["Kultūras nams"]["illustrative"]) == (False, True)
    answer = client.get("/api/v1/shelters.geojson")
    assert answer.mimetype == "application/geo+json"
    collection = answer.get_json()
    assert collection["type"] == "FeatureCollection"
    point = {f["properties"]["name"]: f["geometry"] for f in collection["features"]}
    assert point["Kultūras nams"] == {"type": "Point", "coordinates": [NORTH_1[1], NORTH_1[0]]}


def test_nearest_open_shelters_by_distance_with_free_places_only(client, db, make_shelter,
                                                                 activation):
    emergency = activation().id
    far, middle, near = (make_shelter(name, *point, capacity=50) for name, point in (
        ("Trešā", NORTH_3), ("Otrā", NORTH_2), ("Pirmā", NORTH_1)))
    full = make_shelter("Pilnā", *SOUTH, capacity=10)
    closed = make_shelter("Slēgtā", *CENTRE)
    for shelter in (far, middle, near):
        _open(db, shelter, emergency, people=5)
    _open(db, full, emergency, people=10)
    rows = _nearest(client)
    assert [r["name"] for r in rows] == ["Pirmā", "Otrā", "Trešā"]
    assert all(set(r) == NEAREST_KEYS for r in rows)
    assert [r["distance_m"] for r in rows] == sorted(r["distance_m"] for r in rows)
    assert 950 < rows[0]["distance_m"] < 1050
    assert (rows[0]["occupancy"], rows[0]["free_places"], rows[0]["open"]) == (5, 45, True)
    assert closed.id not in {r["id"] for r in rows} and full.id not in {r["id"] for r in rows}
    assert [r["name"] for r in _nearest(client, n=1)] == ["Pirmā"]


def test_when_none_is_open_the_nearest_registered_places(client, db, make_shelter, activation):
    make_shelter("Tālā", *NORTH_3)
    make_shelter("Tuvā", *SOUTH)
    exercise_only = make_shelter("Mācību", *NORTH_1)
    _open(db, exercise_only, activation(exercise=True).id, people=3)
    rows = _nearest(client, n=2)
    assert [(r["name"], r["open"], r["free_places"]) for r in rows] == [
        ("Tuvā", False, None), ("Mācību", False, None)]
    public = {r["name"]: r for r in client.get("/api/v1/shelters").get_json()}
    # The exercise opening never shows: not open, no count.
    assert (public["Mācību"]["open"], public["Mācību"]["occupancy"]) == (False, 0)


@pytest.mark.parametrize(("query", "field"), [
    ("lon=23.7", "lat"), ("lat=abc&lon=23.7", "lat"), ("lat=56.6&lon=200", "lon"),
    ("lat=56.6&lon=23.7&n=0", "n"), ("lat=56.6&lon=23.7&n=21", "n"),
    ("lat=56.6&lon=23.7&n=x", "n"),
])
def test_bad_nearest_parameters_name_the_field(client, query, field):
    answer = client.get(f"/api/v1/shelters/nearest?{query}")
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == [field]


def test_staff_api_needs_the_shelters_scope(client, bearer):
    body = {"name": "Skola", "address": "Iela 1", "lat": CENTRE[0], "lon": CENTRE[1],
            "capacity": 40}
    assert client.post("/api/v1/shelters", json=body).status_code == 401
    assert client.post("/api/v1/shelters", json=body,
                       headers=bearer("reports:read")).status_code == 403
    assert client.post("/api/v1/shelters/1/occupancy", json={"delta": 1},
                       headers=bearer("reports:read")).status_code == 403


def test_staff_api_creates_opens_counts_and_closes(client, db, bearer, activation):
    headers = bearer("shelters")
    body = {"name": "Jelgavas 4. vidusskola", "address": "Sporta iela 4", "lat": NORTH_1[0],
            "lon": NORTH_1[1], "capacity": 10, "responsible_phone": "+37129998877"}
    created = client.post("/api/v1/shelters", json=body, headers=headers)
    assert created.status_code == 201
    shelter_id = created.get_json()["id"]
    assert "29998877" not in created.get_data(as_text=True)
    stored = db.scalar(select(Shelter).where(Shelter.id == shelter_id))
    assert (stored.name, stored.capacity, stored.responsible_phone) == (
        "Jelgavas 4. vidusskola", 10, "+37129998877")
    db.rollback()

    path = f"/api/v1/shelters/{shelter_id}"
    assert client.post(f"{path}/occupancy", json={"delta": 1},
                       headers=headers).status_code == 409
    refused = client.post(f"{path}/open", json={"activation_id": 999}, headers=headers)
    assert (refused.status_code, refused.get_json()["errors"][0]["field"]) == (
        422, "activation_id")
    assert client.post(f"{path}/open", json={}, headers=headers).status_code == 422
    emergency = activation().id
    opened = client.post(f"{path}/open", json={"activation_id": emergency}, headers=headers)
    assert (opened.status_code, opened.get_json()["activation_id"]) == (200, emergency)
    assert client.post(f"{path}/open", json={"activation_id": emergency},
                       headers=headers).status_code == 409

    counted = client.post(f"{path}/occupancy", json={"delta": 8}, headers=headers)
    assert counted.get_json() == {"id": shelter_id, "occupancy": 8, "capacity": 10,
                                  "free_places": 2, "over_capacity": False}
    over = client.post(f"{path}/occupancy", json={"delta": 4}, headers=headers).get_json()
    assert (over["occupancy"], over["free_places"], over["over_capacity"]) == (12, 0, True)
    below = client.post(f"{path}/occupancy", json={"delta": -13}, headers=headers)
    assert below.status_code == 422
    assert below.get_json()["errors"][0]["field"] == "delta"
    zero = client.post(f"{path}/occupancy", data=json.dumps({"delta": 0}), headers=headers)
    assert zero.status_code == 422
    assert [c.occupancy_after for c in db.scalars(
        select(OccupancyChange).order_by(OccupancyChange.id))] == [8, 12]
    db.rollback()

    closed = client.post(f"{path}/close", headers=headers)
    assert (closed.status_code, closed.get_json()["peak_occupancy"]) == (200, 12)
    assert client.post(f"{path}/close", headers=headers).status_code == 409
    assert client.post("/api/v1/shelters/999/close", headers=headers).status_code == 404


def test_staff_api_refuses_bad_places_naming_the_field(client, db, bearer):
    headers = bearer("shelters")
    answer = client.post("/api/v1/shelters", json={"name": "Skola", "address": "Iela 1",
                                                   "lat": 54.6872, "lon": 25.2797,
                                                   "capacity": 5}, headers=headers)
    assert (answer.status_code, answer.get_json()["errors"][0]["field"]) == (422, "lat")
    answer = client.post("/api/v1/shelters", json={"name": "Skola", "address": "Iela 1",
                                                   "lat": CENTRE[0], "lon": CENTRE[1],
                                                   "capacity": -1}, headers=headers)
    assert (answer.status_code, answer.get_json()["errors"][0]["field"]) == (422, "capacity")
    assert db.scalar(select(Shelter.id)) is None
