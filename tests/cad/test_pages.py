"""The operators' pages of the 8787 line through the test client: intake, routing from the
report, the partner's work on the timeline, who may see and change what, bad input,
duplicates, bulk actions, search and the map's data."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.cad import photos, service
from sargs.cad.models import CadPartner, CadReport
from sargs.cad.schemas import PartnerAction
from tests.cad.conftest import CITY_POINT, RIGA_POINT
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error

# About 50 m north-east of CITY_POINT: the same place for the duplicate rule (150 m).
NEAR_POINT = (CITY_POINT[0] + 0.0003, CITY_POINT[1] + 0.0004)


def _settings(app: Any) -> Any:
    return app.extensions["sargs"].settings


def _post(client: Any, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/cad/")})


def _look(db: Any, report_id: int, *names: str) -> Any:
    """Attributes of a report as stored now ("partner.code" follows the relation), read in
    a session of its own that ends at once: on SQLite it would hold the app's write lock."""
    with Session(db.get_bind()) as session:
        report = session.get(CadReport, report_id)
        values = []
        for name in names:
            value: Any = report
            for part in name.split("."):
                value = getattr(value, part) if value is not None else None
            values.append(value)
    return values[0] if len(values) == 1 else tuple(values)


def _stored_ids(db: Any) -> list[int]:
    try:
        return list(db.scalars(select(CadReport.id).order_by(CadReport.id)))
    finally:
        db.rollback()


def _kinds(page: str) -> list[str]:
    return re.findall(r'data-testid="event" data-kind="([a-z_]+)"', page)


def _ids(page: str, testid: str = "report-row") -> list[int]:
    return [int(n) for n in re.findall(rf'data-testid="{testid}" data-id="(\d+)"', page)]


@pytest.fixture
def operator(client: Any, users: Any) -> Any:
    return users.signed_in(client, "ilze", "operator")


INTAKE = {"category": "streets", "description": "Dziļa bedre pie krustojuma",
          "address": "Lielā iela 11", "lat": str(CITY_POINT[0]), "lon": str(CITY_POINT[1]),
          "reporter_name": "Jānis Bērziņš", "reporter_phone": "+371 29111222",
          "feedback_wanted": "on", "channel": "phone"}


def test_the_operator_registers_routes_and_sees_the_partners_work_on_the_timeline(
        app, client, db, operator, frozen_clock):
    form = client.get("/cad/new").get_data(as_text=True)
    assert 'id="f-category-search"' in form and "autofocus" in form
    assert 'value="phone" selected' in form  # a phone call unless the operator says otherwise

    response = _post(client, "/cad/new", INTAKE)
    assert response.status_code == 302
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _look(db, report_id, "state", "channel", "category.code", "reporter_phone",
                 "feedback_channel") == ("new", "phone", "streets", "+371 29111222", "sms")

    page = client.get(f"/cad/{report_id}").get_data(as_text=True)
    assert "Dziļa bedre pie krustojuma" in page and "+371 29111222" in page
    # The suggested partner is preselected; the operator could pick another.
    suggested = db.scalar(select(CadPartner.id).where(CadPartner.code == "jvpi"))
    db.rollback()
    assert re.search(rf'<option value="{suggested}" selected>', page)
    assert "24.11.2026 12:00" in page  # received 10:00 UTC, shown in Riga time

    assert _post(client, f"/cad/{report_id}/route",
                 {"partner_id": str(suggested)}).status_code == 302
    assert _look(db, report_id, "state", "partner.code") == ("routed", "jvpi")

    report = db.get(CadReport, report_id)
    service.partner_act(db, _settings(app), report,
                        PartnerAction(action="accept", planned_for=date(2026, 11, 27)),
                        partner=report.partner)
    db.commit()

    page = client.get(f"/cad/{report_id}").get_data(as_text=True)
    kinds = [k for k in _kinds(page) if k != "partner_mail"]
    assert kinds == ["created", "routed", "accepted"]  # newest last
    assert 'data-state="accepted"' in page
    actors = dict(re.findall(
        r'data-kind="([a-z_]+)">.*?data-testid="actor">([^<]*)<', page, re.S))
    assert "ilze" in actors["created"] and "ilze" in actors["routed"]
    assert "Pilsētsaimniecība" in actors["accepted"]
    assert 'JVPI "Pilsētsaimniecība"'.replace('"', "&#34;") in page
    assert "27.11.2026" in page

    queue = client.get("/cad/?tab=waiting").get_data(as_text=True)
    assert _ids(queue) == [report_id]


def test_the_auditor_reads_with_contact_data_masked_and_cannot_change(
        app, client, db, users, make_report):
    report = make_report(reporter_name="Jānis Bērziņš", reporter_phone="+371 29111222",
                         reporter_email="janis@example.lv")
    users.signed_in(client, "auditors", "auditor")
    page = client.get(f"/cad/{report.id}").get_data(as_text=True)
    assert 'data-masked="yes"' in page
    for secret in ("29111222", "janis@example.lv", "Bērziņš"):
        assert secret not in page
    assert 'data-testid="route-form"' not in page  # nothing to press
    assert client.get("/cad/").status_code == 200
    assert client.get("/cad/search").status_code == 200

    token = csrf_token(client, "/cad/")
    for path in ("/cad/new", f"/cad/{report.id}/route", f"/cad/{report.id}/close",
                 f"/cad/{report.id}/note", "/cad/bulk"):
        assert client.post(path, data={"csrf_token": token, "note": "x", "ids": report.id,
                                       "action": "route"}).status_code == 403, path
    assert _look(db, report.id, "state") == "new"


def test_a_resident_without_sign_in_is_sent_to_sign_in(client, make_report):
    report = make_report()
    for path in ("/cad/", "/cad/new", f"/cad/{report.id}", "/cad/search", "/cad/map.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize(("change", "field"), [
    ({"description": ""}, "description"),
    ({"category": ""}, "category"),
    ({"address": "", "lat": "", "lon": ""}, "address"),
    ({"reporter_phone": "call me"}, "reporter_phone"),
    ({"lat": str(RIGA_POINT[0]), "lon": str(RIGA_POINT[1])}, "lat"),
    ({"reporter_phone": "", "feedback_wanted": "on"}, "reporter_email"),
])
def test_bad_input_names_the_field_and_stores_nothing(client, db, operator, change, field):
    response = _post(client, "/cad/new", {**INTAKE, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_has_error(page, field)
    assert _stored_ids(db) == []
    # What was typed stays in the form.
    assert "Lielā iela 11" in page or "address" in change


def test_a_category_typed_by_its_name_counts_without_the_script(client, db, operator):
    data = {**INTAKE, "category": "", "category_search": "Atkritumi"}
    assert _post(client, "/cad/new", data).status_code == 302
    [report_id] = _stored_ids(db)
    assert _look(db, report_id, "category.code") == "waste"


def test_a_report_without_a_point_takes_city_or_municipality(client, db, operator):
    data = {**INTAKE, "lat": "", "lon": "", "jurisdiction": "municipality", "channel": "other"}
    assert _post(client, "/cad/new", data).status_code == 302
    [report_id] = _stored_ids(db)
    assert _look(db, report_id, "jurisdiction", "area_code",
                 "channel") == ("municipality", "LV023", "other")


def test_duplicates_lists_a_nearby_report_of_the_same_category(client, operator, make_report):
    nearby = make_report(category="streets")
    make_report(category="waste")  # same place, another category
    query = f"lat={NEAR_POINT[0]}&lon={NEAR_POINT[1]}"
    page = client.get(f"/cad/duplicates?category=streets&{query}").get_data(as_text=True)
    assert _ids(page, "duplicate") == [nearby.id]
    assert f'href="/cad/{nearby.id}"' in page
    page = client.get(f"/cad/duplicates?category=lighting&{query}").get_data(as_text=True)
    assert _ids(page, "duplicate") == [] and 'data-testid="no-duplicates"' in page
    assert client.get("/cad/duplicates?category=streets").status_code == 200  # no point yet


def test_bulk_route_sends_each_to_its_partner_and_names_the_ones_that_failed(
        client, db, operator, make_report):
    waste = make_report(category="waste")
    streets = make_report(category="streets")
    draft = make_report(category=None, channel="email", description="Kas ar ielu?")
    response = _post(client, "/cad/bulk", {"action": "route", "tab": "new",
                                            "ids": [waste.id, streets.id, draft.id]})
    assert response.status_code == 302
    assert [_look(db, r.id, "state", "partner.code") for r in (waste, streets, draft)] == [
        ("routed", "zemgale-eko"), ("routed", "jvpi"), ("draft", None)]
    page = client.get("/cad/?tab=new").get_data(as_text=True)
    error = re.search(r'class="flash flash-error"[^>]*>([^<]*)<', page).group(1)
    assert f"{draft.id}:" in error and f"{waste.id}" not in error
    assert _ids(page) == [draft.id]
    assert 'data-testid="count-waiting">2<' in page


def test_bulk_close_as_rejected_needs_a_reason(client, db, operator, make_report):
    one, two = make_report(), make_report(category="waste")
    _post(client, "/cad/bulk", {"action": "reject", "ids": [one.id, two.id], "reason": ""})
    assert _look(db, one.id, "state") == "new"
    _post(client, "/cad/bulk", {"action": "reject", "ids": [one.id, two.id],
                                "reason": "Nav pašvaldības kompetencē"})
    assert [_look(db, r.id, "state", "status_note") for r in (one, two)] == [
        ("rejected", "Nav pašvaldības kompetencē")] * 2


def test_close_reopen_and_note_from_the_report(client, db, operator, make_report):
    original = make_report()
    report = make_report()
    page = client.get(f"/cad/{report.id}").get_data(as_text=True)
    assert f'data-testid="duplicate" data-id="{original.id}"' in page  # suggested original

    response = _post(client, f"/cad/{report.id}/close", {"state": "rejected", "note": ""})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "note")
    response = _post(client, f"/cad/{report.id}/close",
                     {"state": "duplicate", "duplicate_of": str(report.id)})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "duplicate_of")
    assert _look(db, report.id, "state") == "new"

    _post(client, f"/cad/{report.id}/close", {"state": "duplicate",
                                               "duplicate_of": str(original.id)})
    assert _look(db, report.id, "state", "duplicate_of_id") == ("duplicate", original.id)
    _post(client, f"/cad/{report.id}/reopen", {"note": "Cita bedre"})
    _post(client, f"/cad/{report.id}/note", {"note": "Zvanīja vēlreiz"})
    page = client.get(f"/cad/{report.id}").get_data(as_text=True)
    assert _kinds(page) == ["created", "duplicate", "reopened", "note"]
    assert "Zvanīja vēlreiz" in page and 'data-state="new"' in page


def test_an_email_draft_is_classified_from_its_page(client, db, operator, make_report):
    draft = make_report(category=None, channel="email", lat=None, lon=None, address="",
                        description="Pie veikala izgāzti atkritumi")
    assert draft.state == "draft"
    response = _post(client, f"/cad/{draft.id}/classify", {"category": ""})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "category")
    _post(client, f"/cad/{draft.id}/classify", {"category": "waste", "address": "Rīgas iela 5",
                                                 "jurisdiction": "city"})
    assert _look(db, draft.id, "state", "category.code", "address") == (
        "new", "waste", "Rīgas iela 5")


def test_photos_are_shown_as_thumbnails_linking_to_the_photo(app, client, db, operator,
                                                             make_report):
    report = make_report()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "JPEG")
    photo = photos.store_photo(db, report, buffer.getvalue())
    db.commit()
    page = client.get(f"/cad/{report.id}").get_data(as_text=True)
    assert f'src="/cad/photos/{photo.id}"' in page
    assert client.get(f"/cad/photos/{photo.id}").mimetype == "image/jpeg"


def test_search_filters_stay_in_the_url_and_page(client, db, operator, make_report,
                                                 monkeypatch):
    from sargs.cad import views

    waste = make_report(category="waste", address="Pasta iela 1")
    streets = make_report(category="streets", channel="web")
    municipality = make_report(category="streets", lat=None, lon=None, jurisdiction="municipality",
                               address="Ozolnieki")

    page = client.get("/cad/search?category=waste").get_data(as_text=True)
    assert _ids(page) == [waste.id] and '<option value="waste" selected>' in page
    page = client.get("/cad/search?channel=web").get_data(as_text=True)
    assert _ids(page) == [streets.id]
    page = client.get("/cad/search?jurisdiction=municipality").get_data(as_text=True)
    assert _ids(page) == [municipality.id]
    page = client.get("/cad/search?q=pasta").get_data(as_text=True)
    assert _ids(page) == [waste.id]
    page = client.get(f"/cad/search?q={streets.id}").get_data(as_text=True)
    assert _ids(page) == [streets.id]
    page = client.get("/cad/search?date_from=2026-11-25").get_data(as_text=True)
    assert _ids(page) == []
    page = client.get("/cad/search?state=routed").get_data(as_text=True)
    assert _ids(page) == []
    response = client.get("/cad/search?date_from=yesterday")
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "date_from")

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    page = client.get("/cad/search?category=streets").get_data(as_text=True)
    assert _ids(page) == [municipality.id]  # newest first
    link = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "category=streets" in link and "page=2" in link
    page = client.get(link).get_data(as_text=True)
    assert _ids(page) == [streets.id] and 'rel="next"' not in page


def test_the_map_data_has_open_reports_and_no_contact_data(client, db, operator, make_report):
    shown = make_report(reporter_name="Jānis Bērziņš", reporter_phone="+371 29111222",
                        reporter_email="janis@example.lv")
    make_report(lat=None, lon=None)  # no point: not on the map
    response = client.get("/cad/map.json")
    data = response.get_json()
    assert [f["properties"]["id"] for f in data["features"]] == [shown.id]
    feature = data["features"][0]
    assert feature["geometry"]["coordinates"] == [CITY_POINT[1], CITY_POINT[0]]
    assert feature["properties"]["url"] == f"/cad/{shown.id}"
    text = response.get_data(as_text=True)
    for secret in ("29111222", "janis@example.lv", "Bērziņš", "Berzins", "reporter"):
        assert secret not in text
    assert client.get("/cad/map").status_code == 200


def test_the_queue_tabs_count_and_highlight_overdue_reports(app, client, db, operator,
                                                            make_report, frozen_clock):
    late = make_report(category="animals")  # two working days to resolve
    in_time = make_report(category="buildings")  # fifteen, accepted at once
    service.route(db, _settings(app), in_time)
    service.partner_act(db, _settings(app), in_time, PartnerAction(action="accept"),
                        partner=in_time.partner)
    db.commit()
    frozen_clock.advance(days=7)
    page = client.get("/cad/?tab=overdue").get_data(as_text=True)
    assert _ids(page) == [late.id]
    assert 'class="cad-row-overdue"' in page and 'data-overdue="resolution"' in page
    assert 'data-testid="count-new">1<' in page and 'data-testid="count-overdue">1<' in page
    assert 'data-testid="count-waiting">1<' in page
    page = client.get("/cad/search?overdue=1").get_data(as_text=True)
    assert _ids(page) == [late.id]
