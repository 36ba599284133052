"""The public "report a problem" page: a resident's report with a photo placed by its
EXIF location; bad input names its field and stores nothing; CSRF is required."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from sargs.cad.models import CadPhoto, CadReport
from tests.cad.conftest import CITY_POINT, RIGA_POINT
from tests.cad.test_photos import jpeg_with_gps, png
from tests.kernel.helpers import count, field_has_error, page_token, post_form


def _english(client):
    client.post("/lang/en", data={"csrf_token": page_token(client), "next": "/report/"})


def _send(client, photos=(), **fields):
    data = {"category": "streets", "description": "Dziļa bedre ietvē",
            "address": "Lielā iela 11", **fields}
    data["photos"] = [(io.BytesIO(content), name, kind) for content, name, kind in photos]
    return post_form(client, "/report/", data, content_type="multipart/form-data")


def test_the_page_offers_the_categories_the_map_and_the_consent_text(client, app):
    _english(client)
    page = client.get("/report/").get_data(as_text=True)
    assert 'value="streets"' in page and 'value="waste"' in page
    assert 'id="report-map"' in page and "cad_public.js" in page
    consent = re.search(r'data-testid="consent-text">(.*?)</p>', page, re.S).group(1)
    assert str(app.extensions["sargs"].settings.cad_retention_days) in consent
    assert 'name="photos"' in page and 'enctype="multipart/form-data"' in page


def test_a_report_with_a_photo_is_placed_where_the_photo_was_taken(client, db):
    response = _send(client, photos=[(jpeg_with_gps(), "IMG_0001.JPG", "image/jpeg")],
                     reporter_email="Ilze@Example.lv", feedback_wanted="on",
                     feedback_channel="email", consent="on")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    number = re.search(r'data-testid="report-number">(\d+)<', page).group(1)

    report = db.get(CadReport, int(number))
    assert (report.channel, report.state, report.category.code) == ("web", "new", "streets")
    assert (report.lat, report.lon) == pytest.approx(CITY_POINT, abs=1e-5)
    assert (report.jurisdiction, report.language) == ("city", "lv")
    assert (report.reporter_email, report.feedback_wanted, report.feedback_channel) == (
        "ilze@example.lv", True, "email")
    assert report.resolution_due is not None
    photo, = db.scalars(select(CadPhoto).where(CadPhoto.report_id == report.id))
    assert photo.kind == "report" and photo.content_type == "image/jpeg"
    assert dict(Image.open(io.BytesIO(photo.data)).getexif()) == {}
    assert b"PhoneMaker" not in photo.data
    assert [e.kind for e in report.events] == ["created"]
    assert report.events[0].actor_kind == "reporter"


def test_a_point_clicked_on_the_map_wins_over_the_photos(client, db):
    clicked = (56.6530, 23.7300)
    response = _send(client, photos=[(jpeg_with_gps(), "a.jpg", "image/jpeg")],
                     lat=str(clicked[0]), lon=str(clicked[1]))
    assert response.status_code == 303
    report = db.scalar(select(CadReport))
    assert (report.lat, report.lon) == pytest.approx(clicked)


def _refused(client, db, response, field):
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, field), page[:2000]
    assert count(db, CadReport) == 0
    assert count(db, CadPhoto) == 0
    return page


def test_no_category_is_refused_on_the_category_field(client, db):
    response = _send(client, category="", photos=[(png(), "a.png", "image/png")])
    page = _refused(client, db, response, "category")
    assert "Dziļa bedre ietvē" in page  # what was typed comes back


def test_a_place_outside_jelgava_is_refused_on_the_map_field(client, db):
    _english(client)
    response = _send(client, lat=str(RIGA_POINT[0]), lon=str(RIGA_POINT[1]))
    page = _refused(client, db, response, "lat")
    assert "outside Jelgava" in page


def test_a_photo_from_riga_places_the_report_outside_and_is_refused(client, db):
    response = _send(client, address="", photos=[
        (jpeg_with_gps(*RIGA_POINT), "riga.jpg", "image/jpeg")])
    _refused(client, db, response, "lat")


def test_a_text_file_named_jpg_is_refused_on_the_photos_field(client, db):
    response = _send(client, photos=[(b"just some text\n", "photo.jpg", "image/jpeg")])
    _refused(client, db, response, "photos")


def test_more_than_three_photos_are_refused(client, db):
    response = _send(client, photos=[(png(), f"{i}.png", "image/png") for i in range(4)])
    _refused(client, db, response, "photos")


def test_a_contact_without_consent_is_refused(client, db):
    response = _send(client, reporter_phone="+371 20000000")
    _refused(client, db, response, "consent")


def test_the_outcome_by_sms_needs_a_phone(client, db):
    response = _send(client, feedback_wanted="on", feedback_channel="sms",
                     reporter_email="a@example.lv", consent="on")
    _refused(client, db, response, "reporter_phone")


def test_without_a_place_the_address_field_asks_for_one(client, db):
    response = _send(client, address="")
    _refused(client, db, response, "address")


def test_the_form_needs_its_csrf_token(client, db):
    response = client.post("/report/", data={"category": "streets", "description": "Bedre",
                                             "address": "Lielā iela 1"})
    assert response.status_code == 400
    assert count(db, CadReport) == 0


def test_the_honeypot_stores_nothing(client, db):
    response = _send(client, website="http://spam.example")
    assert response.status_code == 303
    assert count(db, CadReport) == 0


def test_sending_is_rate_limited(client, db):
    for _ in range(5):
        assert _send(client).status_code == 303
    assert _send(client).status_code == 429
    assert count(db, CadReport) == 5
