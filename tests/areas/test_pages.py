"""The areas page: map, point lookup, neighbourhoods drawn by admins, GeoJSON."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from sargs.areas import service
from sargs.areas.models import Area
from tests.conftest import csrf_token

SQUARE = {"type": "Polygon", "coordinates": [[[23.716, 56.648], [23.726, 56.648], [23.726, 56.654],
                                              [23.716, 56.654], [23.716, 56.648]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[23.70, 56.64], [23.74, 56.66], [23.74, 56.64],
                                              [23.70, 56.66], [23.70, 56.64]]]}
VILNIUS = {"type": "Polygon", "coordinates": [[[25.25, 54.67], [25.30, 54.67], [25.30, 54.70],
                                               [25.25, 54.70], [25.25, 54.67]]]}


def neighbourhoods(db):
    """How many neighbourhoods are stored; ends the read so the app can write (SQLite)."""
    count = db.scalar(select(func.count()).select_from(Area).where(Area.kind == "neighbourhood"))
    db.rollback()
    return count


def post_neighbourhood(client, **fields):
    data = {"code": "CENTRS", "name": "Centrs", "geometry": json.dumps(SQUARE)}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/areas/")
    return client.post("/areas/", data={k: v for k, v in data.items() if v is not None})


def invalid_fields(page):
    return set(re.findall(r'id="f-(\w+)"[^>]*aria-invalid="true"', page))


def field_errors(page):
    return set(re.findall(r'<small id="e-(\w+)" class="field-error">', page))


def test_the_page_shows_the_map_lookup_and_drawing_form_to_an_admin(client, users):
    users.signed_in(client, "anna", "admin")
    response = client.get("/areas/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="areas-map"' in page and "data-map=" in page
    assert 'data-geojson="/areas/areas.geojson?kind=municipality&amp;kind=neighbourhood&amp;kind=sea"' in page
    assert "vendor/leaflet/leaflet.js" in page and "js/map.js" in page and "js/areas.js" in page
    assert 'id="neighbourhood-form"' in page and 'id="draw-outline"' in page
    assert page.count('<tr data-code="') == 51
    assert "<script>" not in page  # settings travel in data attributes, not inline code
    assert 'data-testid="unknown-home"' not in page


def test_the_static_scripts_are_served(client):
    assert client.get("/static/js/areas.js").status_code == 200
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_an_admin_adds_a_neighbourhood_and_lookups_find_it(client, users, db):
    users.signed_in(client, "anna", "admin")
    response = post_neighbourhood(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/areas/")
    page = client.get("/areas/").get_data(as_text=True)
    assert '<tr data-code="CENTRS">' in page
    area = service.get_area(db, "CENTRS")
    assert area.kind == "neighbourhood" and not area.builtin and area.name == "Centrs"
    assert [a.code for a in service.areas_at_point(db, 56.651, 23.721)] == ["LV003", "LV022", "CENTRS"]
    db.rollback()
    result = client.get("/areas/?lat=56.651&lon=23.721").get_data(as_text=True)
    shown = re.search(r'data-testid="lookup-result".*?</p>', result, re.S).group(0)
    assert "CENTRS" in shown and "LV022" in shown and "LV023" not in shown


@pytest.mark.parametrize(("fields", "field"), [
    ({"geometry": "{not json"}, "geometry"),
    ({"geometry": ""}, "geometry"),
    ({"geometry": json.dumps(BOWTIE)}, "geometry"),
    ({"geometry": json.dumps(VILNIUS)}, "geometry"),
    ({"geometry": json.dumps({"type": "Point", "coordinates": [23.72, 56.65]})}, "geometry"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"code": "LV022"}, "code"),
    ({"code": "bad code!"}, "code"),
])
def test_invalid_input_is_refused_next_to_its_field(client, users, db, fields, field):
    users.signed_in(client, "anna", "admin")
    response = post_neighbourhood(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert invalid_fields(page) == {field}
    assert field_errors(page) == {field}
    assert neighbourhoods(db) == 0


def test_a_duplicate_code_is_refused_next_to_the_code(client, users, db):
    users.signed_in(client, "anna", "admin")
    assert post_neighbourhood(client).status_code == 302
    response = post_neighbourhood(client, code="centrs", name="Other")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert invalid_fields(page) == {"code"} and field_errors(page) == {"code"}
    assert neighbourhoods(db) == 1
    assert 'value="centrs"' in page  # the form keeps what was typed


def test_an_operator_sees_the_page_but_cannot_change_areas(client, users, db):
    users.signed_in(client, "olga", "operator")
    response = client.get("/areas/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="areas-map"' in page
    assert 'id="neighbourhood-form"' not in page and "/delete" not in page
    token = csrf_token(client, "/areas/")
    refused = client.post("/areas/", data={"code": "CENTRS", "name": "Centrs",
                                           "geometry": json.dumps(SQUARE), "csrf_token": token})
    assert refused.status_code == 403
    assert client.post("/areas/LV022/delete", data={"csrf_token": token}).status_code == 403
    assert neighbourhoods(db) == 0


def test_a_signed_out_visitor_is_sent_to_the_login(client):
    response = client.get("/areas/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_deletes_a_neighbourhood_but_not_a_shipped_area(client, users, db):
    users.signed_in(client, "anna", "admin")
    assert post_neighbourhood(client).status_code == 302
    token = csrf_token(client, "/areas/")
    response = client.post("/areas/CENTRS/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert neighbourhoods(db) == 0
    assert service.areas_at_point(db, 56.651, 23.721)[-1].code == "LV022"
    db.rollback()
    response = client.post("/areas/LV022/delete", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/areas/").get_data(as_text=True)
    assert "flash-error" in page
    assert service.get_area(db, "LV022") is not None
    db.rollback()
    assert client.post("/areas/NOPE/delete", data={"csrf_token": token}).status_code == 404


def test_the_point_lookup_on_the_page(client, users):
    users.signed_in(client, "olga", "operator")
    page = client.get("/areas/?lat=56.6511&lon=23.7214").get_data(as_text=True)
    shown = re.search(r'data-testid="lookup-result".*?</p>', page, re.S).group(0)
    assert "LV022" in shown and "LV003" in shown and "LV023" not in shown
    assert 'data-lat="56.6511"' in shown
    response = client.get("/areas/?lat=200&lon=23.7")
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True)) == {"lat"}


def test_the_lookup_json_for_the_map(client, users):
    users.signed_in(client, "olga", "operator")
    body = client.get("/areas/lookup.json?lat=56.69&lon=23.79").get_json()
    assert [a["code"] for a in body["areas"]] == ["LV003", "LV023"]
    refused = client.get("/areas/lookup.json?lat=56.69")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["lon"]


def test_the_outlines_as_geojson(client, users):
    users.signed_in(client, "olga", "operator")
    response = client.get("/areas/areas.geojson")
    body = response.get_json()
    assert response.status_code == 200 and body["type"] == "FeatureCollection"
    props = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert len(props) == 47  # 43 municipalities and 4 sea areas; regions only on request
    assert props["LV022"]["home"] and props["LV023"]["home"] and not props["LV039"]["home"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in body["features"])
    regions = client.get("/areas/areas.geojson?kind=region").get_json()
    assert sorted(f["properties"]["code"] for f in regions["features"]) == [
        "LV001", "LV002", "LV003", "LV004"]
    again = client.get("/areas/areas.geojson", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_an_unknown_home_area_is_shown_on_the_page(app, client, users):
    state = app.extensions["sargs"]
    state.settings = state.settings.model_copy(update={"home_areas": ["LV022", "LV999"]})
    users.signed_in(client, "anna", "admin")
    page = client.get("/areas/").get_data(as_text=True)
    warning = re.search(r'data-testid="unknown-home">(.*?)</p>', page, re.S).group(1)
    assert "LV999" in warning and "LV022" not in warning
