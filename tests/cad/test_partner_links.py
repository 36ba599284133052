"""The partner's signed link: it sees the report without the reporter's data, accepts,
plans and marks it done with a photo, or rejects it with a reason; an expired, forged or
rerouted link does nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select

from sargs.cad import partner_mail, service
from sargs.cad.models import CadPartner, CadPhoto, CadReport
from tests.cad.test_photos import jpeg_with_gps, png
from tests.kernel.helpers import count, field_has_error, page_token, post_form


def _settings(app):
    return app.extensions["sargs"].settings


def _routed(app, db, make_report, **fields):
    report = make_report(reporter_name="Ilze Bērziņa", reporter_phone="+37120000111",
                         reporter_email="ilze@example.lv", **fields)
    service.route(db, _settings(app), report)
    report_id, partner_id = report.id, report.partner_id
    db.commit()
    token = partner_mail.link_token(_settings(app), report_id, partner_id)
    return report_id, f"/cad/partner/{token}"


@dataclass
class Seen:
    state: str
    planned_for: str | None
    status_note: str
    partner: str
    events: list[tuple[str, str, str]]  # kind, actor kind, note (partner e-mails left out)


def _report(db, report_id):
    """The report as stored now, read in a transaction ended at once (on SQLite an
    open one would hold the lock the app's requests wait for)."""
    try:
        db.expire_all()
        report = db.get(CadReport, report_id)
        return Seen(report.state, report.planned_for.isoformat() if report.planned_for else None,
                    report.status_note, report.partner.code if report.partner else "",
                    [(e.kind, e.actor_kind, e.note) for e in report.events
                     if e.kind != "partner_mail"])
    finally:
        db.rollback()


def test_the_partner_sees_the_report_but_not_the_reporter(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    response = client.get(link)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"{report_id}" in page and "Bedre brauktuvē" in page and "Lielā iela 11" in page
    assert 'id="partner-map"' in page and 'data-testid="accept-form"' in page
    for personal in ("Ilze", "20000111", "ilze@example.lv"):
        assert personal not in page


def test_the_mails_link_opens_the_page(app, db, client, make_report):
    report_id, _ = _routed(app, db, make_report)
    url = partner_mail.link(_settings(app), db.get(CadReport, report_id))
    db.rollback()
    assert url.startswith(_settings(app).base_url + partner_mail.LINK_PATH)
    assert client.get(url.removeprefix(_settings(app).base_url)).status_code == 200


def test_accept_plan_and_done_with_a_photo(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)

    response = post_form(client, link, {"action": "accept", "planned_for": "2026-12-10"})
    assert response.status_code == 303 and response.headers["Location"].endswith(link)
    report = _report(db, report_id)
    assert (report.state, report.planned_for) == ("accepted", "2026-12-10")

    post_form(client, link, {"action": "plan", "planned_for": "2026-12-14"})
    assert _report(db, report_id).planned_for == "2026-12-14"

    response = post_form(client, link, {
        "action": "resolve", "note": "Bedre aizlāpīta",
        "photo": (io.BytesIO(jpeg_with_gps()), "done.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    report = _report(db, report_id)
    assert (report.state, report.status_note) == ("resolved", "Bedre aizlāpīta")
    photo, = db.scalars(select(CadPhoto).where(CadPhoto.report_id == report_id))
    photo_id, photo_kind, photo_data = photo.id, photo.kind, photo.data
    db.rollback()
    assert photo_kind == "resolution" and b"Exif" not in photo_data
    assert [kind for kind, _, _ in report.events] == [
        "created", "routed", "accepted", "planned", "resolved"]
    assert {actor for _, actor, _ in report.events[2:]} == {"partner"}

    page = client.get(link).get_data(as_text=True)
    assert 'data-testid="closed"' in page and "Bedre aizlāpīta" in page
    assert "2026-12-14" in page
    photo_url = f"{link}/photos/{photo_id}"
    assert photo_url in page
    shown = client.get(photo_url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert shown.data == photo_data


def test_reject_needs_a_reason(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    response = post_form(client, link, {"action": "reject", "note": " "})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "note")
    assert _report(db, report_id).state == "routed"

    response = post_form(client, link, {"action": "reject", "note": "Tā ir privāta teritorija"})
    assert response.status_code == 303
    report = _report(db, report_id)
    assert report.state == "returned"
    assert report.events[-1] == ("rejected_by_partner", "partner", "Tā ir privāta teritorija")


def test_a_bad_photo_on_done_changes_nothing(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    response = post_form(client, link, {
        "action": "resolve", "note": "Izdarīts",
        "photo": (io.BytesIO(b"text, not a photo"), "done.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "photo")
    assert _report(db, report_id).state == "routed"
    assert count(db, CadPhoto) == 0


def test_every_form_needs_its_csrf_token(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    assert client.post(link, data={"action": "accept"}).status_code == 400
    assert _report(db, report_id).state == "routed"


def test_an_expired_link_is_refused(app, db, client, make_report, frozen_clock):
    report_id, link = _routed(app, db, make_report)
    frozen_clock.advance(days=_settings(app).cad_partner_link_days, seconds=1)
    response = client.get(link)
    assert response.status_code == 410
    assert 'data-testid="refused"' in response.get_data(as_text=True)
    response = client.post(link, data={"action": "accept", "csrf_token": page_token(client)})
    assert response.status_code == 410
    assert _report(db, report_id).state == "routed"


def test_a_link_inside_its_validity_still_works(app, db, client, make_report, frozen_clock):
    _, link = _routed(app, db, make_report)
    frozen_clock.advance(timedelta(days=_settings(app).cad_partner_link_days - 1))
    assert client.get(link).status_code == 200


def test_a_forged_link_is_refused(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    other = partner_mail.link_token(_settings(app).model_copy(
        update={"secret_key": SecretStr("another-secret")}), report_id, 1)
    for forged in (link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"),
                   f"/cad/partner/{other}", "/cad/partner/garbage"):
        response = client.get(forged)
        # 404 like any unknown link (a public page never answers 403: tests/kernel).
        assert response.status_code == 404, forged
        assert 'data-testid="refused"' in response.get_data(as_text=True)


def test_a_rerouted_report_is_no_longer_the_old_partners(app, db, client, make_report):
    report_id, link = _routed(app, db, make_report)
    police = db.scalar(select(CadPartner).where(CadPartner.code == "police"))
    service.route(db, _settings(app), db.get(CadReport, report_id), police.id)
    db.commit()
    police_id = police.id

    response = client.get(link)
    assert response.status_code == 410
    assert f"{report_id}" in response.get_data(as_text=True)
    response = post_form(client, link, {"action": "accept"})
    assert response.status_code == 410
    report = _report(db, report_id)
    assert (report.state, report.partner) == ("routed", "police")
    new_link = "/cad/partner/" + partner_mail.link_token(_settings(app), report_id, police_id)
    assert client.get(new_link).status_code == 200


def test_photos_are_not_public(app, db, client, users, make_report):
    report_id, link = _routed(app, db, make_report)
    from sargs.cad import photos

    with app.test_request_context():
        photo = photos.store_photo(db, db.get(CadReport, report_id), png())
    db.commit()
    photo_id = photo.id
    _, other_link = _routed(app, db, make_report, description="Cita bedre")

    assert client.get(f"/cad/photos/{photo_id}").status_code == 302  # to the login page
    assert client.get(f"{other_link}/photos/{photo_id}").status_code == 404
    assert client.get(f"{link}/photos/{photo_id}").status_code == 200
    users.signed_in(client, "olga", "operator")
    response = client.get(f"/cad/photos/{photo_id}")
    assert response.status_code == 200 and response.mimetype == "image/png"
