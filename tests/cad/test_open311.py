"""Open311 GeoReport v2 at /open311/v2: every endpoint in JSON and XML, the error format,
bad input, api_key, and that no reporter's contact data ever leaves."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.auth.service import create_token
from sargs.cad import service
from sargs.cad.models import CadReport
from sargs.cad.reference import CATEGORIES
from sargs.cad.schemas import ReportIn
from tests.cad.conftest import CITY_POINT, MUNICIPALITY_POINT, RIGA_POINT

BASE = "/open311/v2"
CONTACT = {"email": "ilze.berzina@example.lv", "phone": "+37120001234",
           "first_name": "Ilze", "last_name": "Bērziņa"}


@pytest.fixture
def api_key(db):
    _token, plaintext = create_token(db, "city app", ["open311:write"])
    db.commit()
    return plaintext


def _xml(response: Any) -> ET.Element:
    assert response.content_type.startswith("text/xml")
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def _errors_xml(response: Any) -> list[tuple[str, str]]:
    root = _xml(response)
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


def _post(client: Any, fmt: str = "json", **fields: Any) -> Any:
    form = {"service_code": "streets", "lat": str(CITY_POINT[0]), "long": str(CITY_POINT[1]),
            "description": "Bedre pie krustojuma", "address_string": "Lielā iela 5"}
    form.update({k: v for k, v in fields.items() if v is not None})
    for name in [k for k, v in fields.items() if v is None]:
        form.pop(name, None)
    return client.post(f"{BASE}/requests.{fmt}", data=form)


SNAPSHOT = ("id", "channel", "state", "address", "lat", "jurisdiction", "reporter_name",
            "reporter_email", "reporter_phone", "feedback_wanted", "feedback_channel")


def _reports(db) -> list[SimpleNamespace]:
    """The reports as stored now, read in a transaction ended at once (on SQLite an open
    one would hold the lock the app's requests wait for)."""
    try:
        db.expire_all()
        return [SimpleNamespace(**{name: getattr(r, name) for name in SNAPSHOT},
                                category=r.category.code if r.category else None,
                                events=[(e.kind, e.actor_kind, e.actor_name, e.note)
                                        for e in r.events])
                for r in db.scalars(select(CadReport).order_by(CadReport.id))]
    finally:
        db.rollback()


# --- discovery and services --------------------------------------------------


def test_discovery_names_the_v2_endpoint_in_both_formats(client):
    found = client.get(f"{BASE}/discovery.json").get_json()
    (endpoint,) = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = _xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == endpoint["specification"]
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml", "application/json"]


def test_services_are_the_categories_in_the_asked_language(client):
    latvian = client.get(f"{BASE}/services.json").get_json()
    streets = next(s for s in latvian if s["service_code"] == "streets")
    assert streets["service_name"] == "Ielas un ietves"
    assert (streets["metadata"], streets["type"]) == (False, "realtime")
    assert "bedre" in streets["keywords"] and "group" in streets
    assert len(latvian) == len(CATEGORIES)
    english = client.get(f"{BASE}/services.json?locale=en").get_json()
    assert next(s for s in english if s["service_code"] == "streets")[
        "service_name"] == "Streets and sidewalks"
    root = _xml(client.get(f"{BASE}/services.xml", headers={"Accept-Language": "en-GB,en"}))
    assert root.tag == "services"
    rows = {s.findtext("service_code"): s for s in root.findall("service")}
    assert len(rows) == len(CATEGORIES)
    assert rows["animals"].findtext("service_name") == "Stray, lost or injured animals"
    assert rows["animals"].findtext("metadata") == "false"


def test_a_service_definition_has_no_attributes_and_an_unknown_one_is_404(client):
    assert client.get(f"{BASE}/services/snow-ice.json").get_json() == {
        "service_code": "snow-ice", "attributes": []}
    root = _xml(client.get(f"{BASE}/services/snow-ice.xml"))
    assert (root.tag, root.findtext("service_code")) == ("service_definition", "snow-ice")
    assert root.find("attributes") is not None and len(root.find("attributes")) == 0
    missing = client.get(f"{BASE}/services/potholes.json")
    assert missing.status_code == 404
    assert missing.get_json()[0]["code"] == 404 and "potholes" in missing.get_json()[0][
        "description"]
    missing_xml = client.get(f"{BASE}/services/potholes.xml")
    assert missing_xml.status_code == 404
    assert _errors_xml(missing_xml)[0][0] == "404"


# --- submitting --------------------------------------------------------------


def test_a_request_posted_by_the_app_is_stored_and_read_back_without_contact(
        client, db, api_key):
    response = _post(client, api_key=api_key, **CONTACT)
    assert response.status_code == 200, response.get_data(as_text=True)
    (created,) = response.get_json()
    (report,) = _reports(db)
    assert created["service_request_id"] == report.id
    assert (report.channel, report.state, report.category) == ("app", "new", "streets")
    assert (report.reporter_email, report.reporter_phone, report.reporter_name) == (
        "ilze.berzina@example.lv", "+37120001234", "Ilze Bērziņa")
    assert (report.feedback_wanted, report.feedback_channel) == (True, "email")
    assert report.events == [("created", "reporter", "city app", "")]

    outputs = [client.get(f"{BASE}/requests.{f}") for f in ("json", "xml")]
    outputs += [client.get(f"{BASE}/requests/{report.id}.{f}") for f in ("json", "xml")]
    outputs += [client.get(f"{BASE}/requests.{f}?service_request_id={report.id}")
                for f in ("json", "xml")]
    for output in outputs:
        text = output.get_data(as_text=True)
        assert output.status_code == 200 and str(report.id) in text
        for value in ("ilze", "berzina", "Bērziņa", "20001234", "example.lv"):
            assert value.lower() not in text.lower(), (output.request.path, value)

    (row,) = client.get(f"{BASE}/requests/{report.id}.json").get_json()
    assert row["status"] == "open" and row["service_code"] == "streets"
    assert row["service_name"] == "Ielas un ietves"
    assert row["description"] == "Bedre pie krustojuma"
    assert (row["lat"], row["long"]) == CITY_POINT
    assert row["requested_datetime"] == "2026-11-24T12:00:00+02:00"
    assert row["expected_datetime"].endswith("+02:00")
    assert set(row) >= {"service_request_id", "status_notes", "agency_responsible",
                        "service_notice", "updated_datetime", "address"}


def test_only_texts_residents_published_themselves_are_public(client, make_report):
    """A phone call typed by an operator may name people: its text stays inside."""
    phoned = make_report(channel="phone", description="Zvana Jānis no Lielās 5, kaimiņš")
    mapped = make_report(channel="web", description="Bedre pie krustojuma")
    rows = {row["service_request_id"]: row
            for row in client.get(f"{BASE}/requests.json").get_json()}
    assert rows[phoned.id]["description"] == ""
    assert rows[phoned.id]["service_code"] == "streets" and rows[phoned.id]["address"]
    assert rows[mapped.id]["description"] == "Bedre pie krustojuma"
    assert "Jānis" not in client.get(f"{BASE}/requests/{phoned.id}.xml").get_data(as_text=True)


def test_a_request_posted_for_xml_answers_in_xml_and_without_email_reads_status(
        client, db, api_key):
    response = _post(client, "xml", api_key=api_key, lat=None, long=None,
                     address_string="Pasta iela 37")
    root = _xml(response)
    assert root.tag == "service_requests"
    (report,) = _reports(db)
    assert root.findtext("request/service_request_id") == str(report.id)
    assert (report.lat, report.jurisdiction, report.address) == (None, "city", "Pasta iela 37")
    assert (report.feedback_wanted, report.feedback_channel) == (True, "open311")
    assert report.reporter_email is None


def test_a_media_url_is_kept_as_a_note_for_the_operator(client, db, api_key):
    url = "https://app.jelgava.lv/photos/123.jpg"
    assert _post(client, api_key=api_key, media_url=url).status_code == 200
    (report,) = _reports(db)
    assert [e[3] for e in report.events if e[0] == "note"] == [f"media_url: {url}"]
    assert client.get(f"{BASE}/requests/{report.id}.json").get_json()[0]["media_url"] == ""


def test_the_api_key_is_required_and_must_hold_open311_write(client, db, api_key):
    missing = _post(client)
    assert missing.status_code == 400
    assert missing.get_json()[0]["description"].startswith("api_key:")
    wrong = _post(client, api_key="sargs_0000_nottherightsecret")
    assert wrong.status_code == 403 and wrong.get_json()[0]["code"] == 403
    _token, reader = create_token(db, "reader", ["reports:read"])
    db.commit()
    assert _post(client, api_key=reader).status_code == 403
    forbidden_xml = _post(client, "xml", api_key="nonsense")
    assert forbidden_xml.status_code == 403
    assert _errors_xml(forbidden_xml)[0][0] == "403"
    assert _reports(db) == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"service_code": "potholes"}, "service_code"),
    ({"service_code": ""}, "service_code"),
    ({"lat": None, "long": None, "address_string": None}, "address_string"),
    ({"lat": str(RIGA_POINT[0]), "long": str(RIGA_POINT[1])}, "lat"),
    ({"long": None}, "long"),
    ({"lat": "north"}, "lat"),
    ({"description": ""}, "description"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(
        client, db, api_key, fields, field):
    for fmt in ("json", "xml"):
        response = _post(client, fmt, api_key=api_key, **fields)
        assert response.status_code == 400, response.get_data(as_text=True)
        if fmt == "json":
            descriptions = [e["description"] for e in response.get_json()
                            if e["code"] == 400]
        else:
            descriptions = [d for code, d in _errors_xml(response) if code == "400"]
        assert any(d.startswith(f"{field}: ") for d in descriptions), descriptions
    assert _reports(db) == []


def test_errors_speak_the_asked_language(client, api_key):
    english = client.post(f"{BASE}/requests.json?locale=en", data={
        "api_key": api_key, "service_code": "streets", "description": "x"})
    assert english.get_json() == [{"code": 400, "description":
                                   "address_string: Give an address or choose the place on "
                                   "the map."}]


def test_a_point_in_the_municipality_is_accepted(client, db, api_key):
    assert _post(client, api_key=api_key, lat=str(MUNICIPALITY_POINT[0]),
                 long=str(MUNICIPALITY_POINT[1])).status_code == 200
    assert _reports(db)[0].jurisdiction == "municipality"


# --- reading requests --------------------------------------------------------


def test_requests_are_filtered_as_the_spec_says(client, db, app, make_report, frozen_clock):
    settings = app.extensions["sargs"].settings
    old = service.create_report(db, settings, ReportIn(
        category="streets", description="Sena bedre", address="Akadēmijas iela 1"),
        received_at=clock.now() - timedelta(days=120))
    db.commit()
    frozen_clock.advance(hours=1)
    light = make_report(category="lighting", description="Nedeg laterna")
    frozen_clock.advance(hours=1)
    street = make_report(description="Bedre")
    service.route(db, settings, street)
    service.close(db, settings, light, "rejected", "Nav pašvaldības īpašums")
    db.commit()

    def ids(query: str = "", fmt: str = "json") -> list[int]:
        response = client.get(f"{BASE}/requests.{fmt}{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        if fmt == "xml":
            return [int(r.findtext("service_request_id"))
                    for r in _xml(response).findall("request")]
        return [row["service_request_id"] for row in response.get_json()]

    assert ids() == [street.id, light.id]  # the last 90 days, newest first
    assert ids(fmt="xml") == [street.id, light.id]
    assert ids("?service_code=lighting") == [light.id]
    assert ids("?status=closed") == [light.id]
    assert ids("?status=open") == [street.id]
    assert ids("?status=open,closed") == [street.id, light.id]
    assert ids("?start_date=2026-07-01T00:00:00Z") == [street.id, light.id, old.id]
    assert ids("?start_date=2026-11-24T12:30:00%2B02:00") == [street.id, light.id]
    assert ids("?start_date=2026-11-24T10:30:00Z&end_date=2026-11-24T11:30:00Z") == [light.id]
    assert ids(f"?service_request_id={old.id},{light.id},9999&status=open") == [old.id,
                                                                                  light.id]

    closed = client.get(f"{BASE}/requests/{light.id}.json").get_json()[0]
    assert (closed["status"], closed["status_notes"]) == ("closed", "Nav pašvaldības īpašums")
    routed = _xml(client.get(f"{BASE}/requests/{street.id}.xml"))
    assert routed.findtext("request/agency_responsible") == 'JVPI "Pilsētsaimniecība"'
    assert routed.findtext("request/status") == "open"


@pytest.mark.parametrize(("query", "field"), [
    ("?start_date=yesterday", "start_date"),
    ("?end_date=2026-13-01T00:00:00Z", "end_date"),
    ("?start_date=2026-11-20T00:00:00Z&end_date=2026-11-10T00:00:00Z", "end_date"),
    ("?status=pending", "status"),
    ("?service_code=potholes", "service_code"),
    ("?service_request_id=1,abc", "service_request_id"),
])
def test_bad_filters_are_400_naming_the_field(client, query, field):
    response = client.get(f"{BASE}/requests.json{query}")
    assert response.status_code == 400
    assert response.get_json()[0]["description"].startswith(f"{field}: ")
    assert _errors_xml(client.get(f"{BASE}/requests.xml{query}"))[0][1].startswith(f"{field}: ")


def test_exercise_reports_and_drafts_are_never_requests(client, db, app, make_report):
    settings = app.extensions["sargs"].settings
    exercise = open_activation(db, ActivationOpen(title="Plūdu mācības", kind="exercise"), None)
    drill = service.create_report(db, settings, ReportIn(
        category="hydro", description="Mācību ziņojums", address="Lielupes krastmala"),
        activation_id=exercise.id)
    draft = service.create_report(db, settings, ReportIn(
        channel="email", description="Sveiki, pie mājas ir bedre"))
    db.commit()
    real = make_report()
    listed = client.get(f"{BASE}/requests.json").get_json()
    assert [row["service_request_id"] for row in listed] == [real.id]
    for hidden in (drill, draft):
        for fmt in ("json", "xml"):
            assert client.get(f"{BASE}/requests/{hidden.id}.{fmt}").status_code == 404
        assert client.get(
            f"{BASE}/requests.json?service_request_id={hidden.id}").get_json() == []
    unknown = client.get(f"{BASE}/requests/4242.xml")
    assert unknown.status_code == 404 and _errors_xml(unknown)[0][0] == "404"
    assert client.get(f"{BASE}/requests/99999999999999999999.json").status_code == 404


def test_submitting_is_rate_limited_with_an_open311_error(client, db):
    for _attempt in range(30):
        assert _post(client, "xml").status_code == 400  # no api_key
    limited = _post(client, "xml")
    assert limited.status_code == 429
    assert _errors_xml(limited)[0][0] == "429"
    assert client.get(f"{BASE}/services.json").status_code == 200  # reading goes on
