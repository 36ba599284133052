"""The area lookup API for integrations: bearer token with scope areas:read."""

from __future__ import annotations

import pytest

from sargs.auth.service import create_token


@pytest.fixture
def bearer(db):
    def make(*scopes: str) -> dict[str, str]:
        _token, plaintext = create_token(db, "gis", list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def test_lookup_answers_with_the_areas_at_a_point(client, bearer):
    response = client.get("/api/v1/areas/lookup?lat=56.6511&lon=23.7214", headers=bearer("areas:read"))
    body = response.get_json()
    assert response.status_code == 200
    assert (body["lat"], body["lon"]) == (56.6511, 23.7214)
    assert [(a["code"], a["kind"]) for a in body["areas"]] == [("LV003", "region"),
                                                              ("LV022", "municipality")]
    riga = client.get("/api/v1/areas/lookup?lat=56.9496&lon=24.1052", headers=bearer("areas:read"))
    assert [a["code"] for a in riga.get_json()["areas"]] == ["LV001", "LV039"]


def test_lookup_needs_a_token_with_the_scope(client, bearer):
    assert client.get("/api/v1/areas/lookup?lat=56.65&lon=23.72").status_code == 401
    wrong = client.get("/api/v1/areas/lookup?lat=56.65&lon=23.72",
                       headers={"Authorization": "Bearer sargs_nope_nope"})
    assert wrong.status_code == 401
    other = client.get("/api/v1/areas/lookup?lat=56.65&lon=23.72", headers=bearer("audit:read"))
    assert other.status_code == 403


@pytest.mark.parametrize(("query", "fields"), [
    ("lat=200&lon=23.72", ["lat"]),
    ("lat=abc&lon=23.72", ["lat"]),
    ("lat=56.65&lon=-181", ["lon"]),
    ("lat=56.65", ["lon"]),
])
def test_lookup_refuses_bad_points_naming_the_field(client, bearer, query, fields):
    response = client.get(f"/api/v1/areas/lookup?{query}", headers=bearer("areas:read"))
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == fields
