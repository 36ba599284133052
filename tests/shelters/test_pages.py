"""The staff pages of the shelter register through the test client: the register form
with its validation, who may change what, opening and closing in the audit log, an
inspection's defects moving the readiness, the overdue list and document uploads."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.audit.models import AuditEntry
from sargs.shelters.models import Shelter, ShelterDocument
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error
from tests.shelters.conftest import CENTRE

FORM = {"name": "Jelgavas 4. vidusskola", "address": "Sporta iela 4", "lat": "56.6441",
        "lon": "23.7071", "kind": "shelter", "capacity": "450", "capacity_night": "200",
        "responsible_name": "Anna Bērziņa", "responsible_phone": "+37120000000",
        "facilities": ["water", "toilets"], "step_free": "yes", "sign_placed_on": "2026-05-04",
        "inspection_interval_days": "365"}


def _post(client: Any, path: str, data: dict[str, Any], **options: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/shelters/")},
                       **options)


def _english(client: Any) -> None:
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/shelters/"),
                                  "next": "/shelters/"})


def _stored(db: Any) -> list[Shelter]:
    with Session(db.get_bind()) as session:
        found = list(session.scalars(select(Shelter).order_by(Shelter.id)))
        session.expunge_all()
    return found


def _readiness(page: str) -> str:
    return re.search(r'data-testid="readiness" data-readiness="(\w+)"', page).group(1)


def test_a_place_is_created_edited_and_refused_with_the_field_named(client, users, db):
    users.signed_in(client, "ilze", "commission")
    response = _post(client, "/shelters/new", FORM)
    assert response.status_code == 302
    (shelter,) = _stored(db)
    assert (shelter.capacity, shelter.capacity_night, shelter.facilities, shelter.step_free,
            shelter.lift) == (450, 200, ["water", "toilets"], True, False)
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert "Anna Bērziņa" in page and "+37120000000" in page and "04.05.2026" in page
    assert 'data-facility="water" data-present="yes"' in page
    assert 'data-facility="heating" data-present="no"' in page

    for changes, field in (({"capacity": "-1"}, "capacity"),
                           ({"lat": "54.6872", "lon": "25.2797"}, "lat"),  # Vilnius
                           ({"facilities": ["water", "sauna"]}, "facilities")):
        response = _post(client, f"/shelters/{shelter.id}/edit", {**FORM, **changes})
        assert response.status_code == 422
        assert field_has_error(response.get_data(as_text=True), field)
    response = _post(client, "/shelters/new", {**FORM, "name": "", "capacity": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "name") and field_has_error(page, "capacity")
    assert [s.capacity for s in _stored(db)] == [450]

    response = _post(client, f"/shelters/{shelter.id}/edit", {**FORM, "capacity": "480",
                                                               "facilities": []})
    assert response.status_code == 302
    assert [(s.capacity, s.facilities, s.step_free) for s in _stored(db)] == [(480, [], True)]
    listing = client.get("/shelters/").get_data(as_text=True)
    assert 'data-testid="capacity">480' in listing


def test_readers_see_the_register_but_cannot_change_it(client, users, make_shelter,
                                                       activation):
    shelter = make_shelter(responsible_name="Anna Bērziņa")
    act = activation()
    users.signed_in(client, "auditore", "auditor")
    for path in ("/shelters/", f"/shelters/{shelter.id}", "/shelters/inspections",
                 "/shelters/export.csv"):
        assert client.get(path).status_code == 200
    assert 'data-testid="open-form"' not in client.get(f"/shelters/{shelter.id}").get_data(
        as_text=True)
    for path, data in (("/shelters/new", FORM), (f"/shelters/{shelter.id}/edit", FORM),
                       (f"/shelters/{shelter.id}/open", {"activation_id": act.id}),
                       (f"/shelters/{shelter.id}/close", {}),
                       (f"/shelters/{shelter.id}/inspections/new", {})):
        assert _post(client, path, data).status_code == 403
    client.get("/logout")
    for role in ("shelter_staff", "operator", "warehouse", "coordinator"):
        other = client.application.test_client()
        users.signed_in(other, f"u_{role}", role)
        assert other.get("/shelters/").status_code == 200
        assert _post(other, f"/shelters/{shelter.id}/open",
                     {"activation_id": act.id}).status_code == 403


def test_opening_and_closing_from_the_page_is_in_the_audit_log(client, users, db,
                                                               make_shelter, activation,
                                                               frozen_clock):
    shelter = make_shelter()
    act = activation()
    users.signed_in(client, "ilze", "commission")
    _english(client)
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert "Vētra Zemgalē" in page
    assert _post(client, f"/shelters/{shelter.id}/open", {"activation_id": act.id}).status_code == 302
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert 'data-state="open"' in page and "updated 0 min ago" in page
    frozen_clock.advance(timedelta(minutes=75))
    listing = client.get("/shelters/?open=yes").get_data(as_text=True)
    assert listing.count('data-testid="shelter-row"') == 1
    assert "updated 75 min ago" in listing and 'data-testid="stale"' in listing
    assert client.get("/shelters/?open=no").get_data(as_text=True).count(
        'data-testid="shelter-row"') == 0
    # Opening twice is refused on the page, naming why.
    again = _post(client, f"/shelters/{shelter.id}/open", {"activation_id": act.id})
    assert again.status_code == 422
    assert _post(client, f"/shelters/{shelter.id}/close", {}).status_code == 302
    assert 'data-state="closed"' in client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    with Session(db.get_bind()) as session:
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.object_type.in_(("shelter_opening", "shelter")))))
    assert ("shelter_opening", "create", "ilze") in {
        (e.object_type, e.action, e.actor_label) for e in entries}
    assert any(e.object_type == "shelter_opening" and e.action == "update"
               and (e.after or {}).get("closed_at") for e in entries)


def test_an_inspection_defect_moves_readiness_until_it_is_fixed(client, users, make_shelter,
                                                                frozen_clock):
    shelter = make_shelter()
    users.signed_in(client, "ilze", "admin")
    form = {"inspected_on": "2026-11-20", "inspector": "VUGD Zemgale", "check_water": "yes",
            "check_ventilation": "no", "defect_0_description": "Ventilācija nedarbojas",
            "defect_0_severity": "major", "defect_0_owner": "JNĪP",
            "defect_0_due_on": "2026-12-20", "defect_1_description": "Nav norādes",
            "defect_1_severity": "minor"}
    bad = _post(client, f"/shelters/{shelter.id}/inspections/new",
                {**form, "inspector": "", "defect_1_due_on": "someday"})
    assert bad.status_code == 422
    assert field_has_error(bad.get_data(as_text=True), "inspector")
    assert field_has_error(bad.get_data(as_text=True), "defect_1_due_on")
    assert _post(client, f"/shelters/{shelter.id}/inspections/new", form).status_code == 302
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert _readiness(page) == "red"
    assert 'data-item="ventilation" data-passed="no"' in page and "JNĪP" in page
    assert "20.12.2026" in page
    defects = re.findall(r'data-testid="defect" data-id="(\d+)" data-state="open"', page)
    assert len(defects) == 2
    major, minor = defects
    assert _post(client, f"/shelters/{shelter.id}/defects/{major}/fix",
                 {"note": "Salabota"}).status_code == 302
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert _readiness(page) == "amber" and "Salabota" in page
    assert _post(client, f"/shelters/{shelter.id}/defects/{minor}/fix", {}).status_code == 302
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    assert _readiness(page) == "green"
    assert f'data-testid="defect" data-id="{minor}" data-state="fixed"' in page
    assert _post(client, f"/shelters/{shelter.id}/defects/{minor}/fix", {}).status_code == 422


def test_the_overdue_list_names_places_never_or_long_ago_inspected(client, users, db,
                                                                   make_shelter, frozen_clock):
    never = make_shelter("Pārlielupes bibliotēka", CENTRE[0], CENTRE[1] + 0.04)
    fresh = make_shelter("Jelgavas kultūras nams")
    users.signed_in(client, "ilze", "commission")
    _post(client, f"/shelters/{fresh.id}/inspections/new",
          {"inspected_on": "2026-11-24", "inspector": "VUGD"})
    page = client.get("/shelters/inspections").get_data(as_text=True)
    assert re.findall(r'data-testid="overdue-row" data-id="(\d+)"', page) == [str(never.id)]
    frozen_clock.advance(timedelta(days=366))
    page = client.get("/shelters/inspections").get_data(as_text=True)
    assert re.findall(r'data-testid="overdue-row" data-id="(\d+)"', page) == [
        str(never.id), str(fresh.id)]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def test_documents_are_taken_by_their_content(client, users, db, make_shelter):
    shelter = make_shelter()
    users.signed_in(client, "ilze", "commission")
    path = f"/shelters/{shelter.id}/documents"
    fake = _post(client, path, {"document": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "plan.pdf",
                                             "application/pdf")},
                 content_type="multipart/form-data")
    assert fake.status_code == 422
    assert field_has_error(fake.get_data(as_text=True), "document")
    for data, name in ((b"%PDF-1.4\n%%EOF\n", "plāns.pdf"), (_png(), "ieeja.png")):
        response = _post(client, path, {"document": (io.BytesIO(data), name)},
                         content_type="multipart/form-data")
        assert response.status_code == 302
    with Session(db.get_bind()) as session:
        stored = [(d.kind, d.filename, d.content_type) for d in session.scalars(
            select(ShelterDocument).order_by(ShelterDocument.id))]
    assert stored == [("document", "plāns.pdf", "application/pdf"),
                      ("photo", "ieeja.png", "image/png")]
    page = client.get(f"/shelters/{shelter.id}").get_data(as_text=True)
    link = re.search(r'href="(/shelters/documents/\d+)">plāns.pdf', page).group(1)
    download = client.get(link)
    assert download.data == b"%PDF-1.4\n%%EOF\n"
    assert download.mimetype == "application/pdf"
