"""The coordinators' pages: the register's filters (skills, area, availability, a
certificate valid on a date), a coordinator sees only their volunteers, approval needs
a verified phone, the CSV download, notes, teams, shelters, coordinators' areas, the
audit log of every read, and ``sargs volunteers …``."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from sargs.audit.models import AuditEntry
from sargs.cli import cli
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from sargs.volunteers import service
from sargs.volunteers.models import Team, Volunteer
from sargs.volunteers.schemas import TeamIn
from tests.kernel.helpers import field_has_error, post_form, rows

FIRST_AID = {"kind": "first_aid", "title": "Pirmās palīdzības kurss",
             "issued_on": date(2025, 3, 1), "expires_on": date(2028, 3, 1)}
EXPIRED = {**FIRST_AID, "issued_on": date(2022, 1, 10), "expires_on": date(2026, 1, 10)}


def _shown(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-testid="volunteer-row" data-id="(\d+)"', page)}


def _list(client, query: str = "") -> str:
    answer = client.get(f"/volunteers/?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    return answer.get_data(as_text=True)


@pytest.fixture
def corps(make_volunteer):
    """Three volunteers: a first-aider in Jelgava city on weekdays, a chainsaw hand in
    Jelgava municipality at weekends, and a first-aider whose certificate has expired."""
    medic = make_volunteer("active", certificates=[FIRST_AID])
    sawyer = make_volunteer(
        "active", name="Pēteris Liepa", phone="+37129000001", email="peteris@example.lv",
        municipality="LV023", skills=["chainsaw"], licence_categories=[], own_vehicle=False,
        available_days=[5, 6], available_from="09:00", available_to="18:00")
    lapsed = make_volunteer(name="Anna Bērziņa", phone="+37129000002",
                            email="anna@example.lv", certificates=[EXPIRED])
    return medic, sawyer, lapsed


def test_the_register_filters_by_skills_area_availability_and_valid_certificates(
        client, users, corps):
    medic, sawyer, lapsed = corps
    users.signed_in(client, "dace", "coordinator", "admin")
    assert _shown(_list(client)) == {medic.id, sawyer.id, lapsed.id}
    assert _shown(_list(client, "skills=first_aid")) == {medic.id, lapsed.id}
    assert _shown(_list(client, "skills=first_aid&skills=driving")) == {medic.id, lapsed.id}
    assert _shown(_list(client, "skills=chainsaw")) == {sawyer.id}
    assert _shown(_list(client, "municipality=LV023")) == {sawyer.id}
    assert _shown(_list(client, "weekday=5&hour=10")) == {sawyer.id}
    assert _shown(_list(client, "weekday=0&hour=20")) == {medic.id, lapsed.id}
    assert _shown(_list(client, "weekday=5&hour=20")) == set()
    # The expired certificate does not count; before its expiry it did.
    assert _shown(_list(client, "certificate=first_aid&valid_on=2026-12-01")) == {medic.id}
    assert _shown(_list(client, "certificate=first_aid&valid_on=2025-06-01")) == {
        medic.id, lapsed.id}
    assert _shown(_list(client, "own_vehicle=false")) == {sawyer.id}
    assert _shown(_list(client, "licence=b&status=active")) == {medic.id}
    assert _shown(_list(client, "text=liepa")) == {sawyer.id}


def test_counts_per_status_put_the_waiting_approvals_first(client, users, corps):
    users.signed_in(client, "dace", "admin")
    page = _list(client)
    counts = re.findall(r'data-status="(\w+)" data-count="(\d+)"', page)
    assert counts[0] == ("pending", "1")
    assert dict(counts) == {"pending": "1", "active": "2", "reserve": "0", "inactive": "0"}
    assert 'data-testid="approvals-waiting"' in page


def test_a_bad_filter_is_named_at_its_field(client, users, corps):
    users.signed_in(client, "dace", "admin")
    answer = client.get("/volunteers/?hour=25")
    assert answer.status_code == 422
    assert 'data-testid="error-hour"' in answer.get_data(as_text=True)


def test_a_coordinator_sees_only_the_volunteers_of_their_municipalities(
        app, client, users, db, corps):
    medic, sawyer, lapsed = corps
    coordinator = users.signed_in(client, "ilona", "coordinator")
    page = _list(client)
    assert 'data-testid="no-areas"' in page and _shown(page) == set()
    service.set_areas(db, coordinator.id, ["LV022"])
    db.commit()
    page = _list(client)
    assert 'data-testid="no-areas"' not in page
    assert _shown(page) == {medic.id, lapsed.id}
    assert client.get(f"/volunteers/{sawyer.id}").status_code == 404
    assert post_form(client, f"/volunteers/{sawyer.id}/notes",
                     {"text": "x"}).status_code == 404
    assert client.get(f"/volunteers/{medic.id}").status_code == 200
    csv_text = client.get("/volunteers/export.csv").get_data(as_text=True)
    assert "Pēteris Liepa" not in csv_text and "Ilze Kalniņa" in csv_text
    # A team they lead brings its members in, wherever they live.
    team = service.create_team(db, TeamIn(name="Zāģeri", coordinator_id=coordinator.id))
    service.add_member(db, team, db.get(Volunteer, sawyer.id))
    db.commit()
    assert sawyer.id in _shown(_list(client))


def test_approving_needs_a_verified_phone_and_says_so_at_the_field(
        client, users, db, make_volunteer, outbox):
    waiting = make_volunteer()
    users.signed_in(client, "dace", "coordinator", "admin")
    page = client.get(f"/volunteers/{waiting.id}").get_data(as_text=True)
    assert 'data-verified="no"' in page
    refused = post_form(client, f"/volunteers/{waiting.id}/decision", {"status": "active"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert field_has_error(body, "status") and "nav apstiprinājis savu tālruņa numuru" in body
    assert rows(db, select(Volunteer.status).where(Volunteer.id == waiting.id)) == ["pending"]

    service.send_phone_code(db, db.get(Volunteer, waiting.id), secret="s", send=outbox)
    service.confirm_phone(db, db.get(Volunteer, waiting.id), outbox.last_code(), secret="s")
    db.commit()
    done = post_form(client, f"/volunteers/{waiting.id}/decision",
                     {"status": "active", "note": "Runā ar viņu par laivu."})
    assert done.status_code == 302
    page = client.get(f"/volunteers/{waiting.id}").get_data(as_text=True)
    assert 'data-status="active"' in page and 'data-verified="yes"' in page
    assert "Runā ar viņu par laivu." in page  # the decision's note
    db.expire_all()
    approved = db.get(Volunteer, waiting.id)
    assert approved.status == "active" and approved.decided_at is not None


def test_the_csv_download_holds_the_filtered_volunteers_and_is_audit_logged(
        client, users, db, corps):
    medic, sawyer, lapsed = corps
    user = users.signed_in(client, "dace", "admin")
    answer = client.get("/volunteers/export.csv?status=active")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=volunteers-")
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["name"] for r in table} == {"Ilze Kalniņa", "Pēteris Liepa"}
    medic_row = next(r for r in table if r["name"] == "Ilze Kalniņa")
    assert (medic_row["phone"], medic_row["skills"], medic_row["certificates"]) == (
        "+37126123456", "first_aid;driving", "first_aid:2028-03-01")
    (entry,) = rows(db, select(AuditEntry).where(AuditEntry.action == "volunteer.exported"))
    assert entry.after == {"volunteers": sorted([medic.id, sawyer.id])}
    assert (entry.actor_kind, entry.actor_id) == ("user", user.id)
    assert "Kalni" not in str(entry.after)  # ids only, no personal data


def test_every_page_that_shows_a_volunteer_is_audit_logged(client, users, db, corps):
    medic, _sawyer, _lapsed = corps
    user = users.signed_in(client, "dace", "admin")
    _list(client, "skills=chainsaw")
    client.get(f"/volunteers/{medic.id}")
    entries = rows(db, select(AuditEntry).where(AuditEntry.action.like("volunteer.%"))
                   .order_by(AuditEntry.id))
    actions = [(e.action, e.object_id, e.actor_id) for e in entries]
    assert ("volunteer.viewed", str(medic.id), user.id) in actions
    assert any(a == "volunteer.searched" and e.after == {"volunteers": [_sawyer.id]}
               for e, (a, _o, _u) in zip(entries, actions, strict=True))


def test_the_detail_page_shows_certificates_with_the_expired_ones_marked(
        client, users, make_volunteer):
    both = make_volunteer(certificates=[FIRST_AID, {**EXPIRED, "kind": "chainsaw",
                                                     "title": "Motorzāģa apliecība"}])
    users.signed_in(client, "dace", "commission")
    page = client.get(f"/volunteers/{both.id}").get_data(as_text=True)
    assert re.search(r'data-kind="first_aid" data-expired="no"', page)
    assert re.search(r'data-kind="chainsaw" data-expired="yes"', page)
    assert 'data-testid="decision-form"' not in page  # the commission reads only
    assert post_form(client, f"/volunteers/{both.id}/notes", {"text": "x"}).status_code == 403


def test_notes_are_added_and_shown_newest_first(client, users, make_volunteer, frozen_clock):
    volunteer = make_volunteer()
    users.signed_in(client, "dace", "coordinator", "admin")
    empty = post_form(client, f"/volunteers/{volunteer.id}/notes", {"text": ""})
    assert empty.status_code == 422 and field_has_error(empty.get_data(as_text=True), "text")
    assert post_form(client, f"/volunteers/{volunteer.id}/notes",
                     {"text": "Zvanīja, var braukt tikai vakaros."}).status_code == 302
    frozen_clock.advance(minutes=5)
    assert post_form(client, f"/volunteers/{volunteer.id}/notes",
                     {"text": "Apstiprināja dalību mācībās."}).status_code == 302
    page = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    notes = re.findall(r'data-testid="note">.*?<p class="pre-line">(.*?)</p>', page, re.S)
    assert notes == ["Apstiprināja dalību mācībās.", "Zvanīja, var braukt tikai vakaros."]


def test_teams_are_created_and_volunteers_added_and_removed(client, users, db,
                                                            make_volunteer):
    volunteer = make_volunteer("active")
    users.signed_in(client, "dace", "coordinator", "admin")
    created = post_form(client, "/volunteers/teams",
                        {"name": "Miezītes kaimiņi", "kind": "neighbourhood",
                         "area_code": "LV022"})
    assert created.status_code == 302
    again = post_form(client, "/volunteers/teams", {"name": "Miezītes kaimiņi",
                                                     "kind": "team"})
    assert again.status_code == 422 and field_has_error(again.get_data(as_text=True), "name")
    team = rows(db, select(Team))[0]
    assert (team.kind, team.area_code) == ("neighbourhood", "LV022")
    assert post_form(client, f"/volunteers/{volunteer.id}/teams",
                     {"team_id": str(team.id)}).status_code == 302
    members = client.get(f"/volunteers/teams/{team.id}").get_data(as_text=True)
    assert f'data-testid="member" data-id="{volunteer.id}"' in members
    detail = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    assert f'data-testid="team" data-id="{team.id}"' in detail
    assert _shown(_list(client, f"team_id={team.id}")) == {volunteer.id}
    assert post_form(client, f"/volunteers/{volunteer.id}/teams/{team.id}/remove"
                     ).status_code == 302
    members = client.get(f"/volunteers/teams/{team.id}").get_data(as_text=True)
    assert 'data-testid="member"' not in members


def test_a_volunteer_is_assigned_to_a_shelter_chosen_from_the_register(
        client, users, db, make_volunteer):
    volunteer = make_volunteer("active")
    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511,
        lon=23.7214, capacity=100))
    db.commit()
    vid, sid, contact_id = volunteer.id, shelter.id, volunteer.contact_id
    db.rollback()  # SQLite: a reading transaction holds the write lock the pages need
    users.signed_in(client, "dace", "coordinator", "admin")
    page = client.get(f"/volunteers/{vid}").get_data(as_text=True)
    assert "Jelgavas Valsts ģimnāzija" in page
    wrong = post_form(client, f"/volunteers/{vid}/shelter", {"shelter_id": "9999"})
    assert wrong.status_code == 422 and field_has_error(wrong.get_data(as_text=True),
                                                         "shelter_id")
    assert post_form(client, f"/volunteers/{vid}/shelter",
                     {"shelter_id": str(sid)}).status_code == 302
    assert service.shelter_contacts(db, sid) == [contact_id]
    db.rollback()
    assert post_form(client, f"/volunteers/{vid}/shelter",
                     {"shelter_id": ""}).status_code == 302
    db.expire_all()
    assert service.shelter_contacts(db, sid) == []


def test_an_admin_sets_a_coordinators_areas_and_the_coordinator_reads_them(
        app, client, users, db):
    coordinator = users.create("ilona", "coordinator")
    users.signed_in(client, "dace", "admin")
    page = client.get("/volunteers/areas").get_data(as_text=True)
    assert re.search(r'data-user="ilona".*?data-testid="areas"><strong>Pašvaldību vēl nav', page,
                     re.S)
    answer = post_form(client, "/volunteers/areas", {"user_id": str(coordinator.id),
                                                      "areas": ["LV022", "LV023", "XX999"]})
    assert answer.status_code == 302
    other = app.test_client()
    users.login(other, coordinator)
    page = other.get("/volunteers/areas").get_data(as_text=True)
    assert re.search(r'data-user="ilona".*?data-testid="areas">[^<]*Jelgava', page, re.S)
    assert 'data-testid="areas-form"' not in page
    assert post_form(other, "/volunteers/areas", {"user_id": str(coordinator.id),
                                                  "areas": ["LV024"]}).status_code == 403


def _sargs(app, *args: str):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_the_command_line_sets_areas_exports_and_approves(app, users, db, make_volunteer,
                                                          outbox):
    users.create("ilona", "coordinator")
    result = _sargs(app, "volunteers", "areas", "ilona", "LV022", "LV023")
    assert result.exit_code == 0, result.output
    assert "LV022, LV023" in result.output
    assert _sargs(app, "volunteers", "areas", "ilona", "LV999").exit_code != 0

    waiting = make_volunteer()
    refused = _sargs(app, "volunteers", "approve", str(waiting.id))
    assert (refused.exit_code != 0
            and "nav apstiprinājis savu tālruņa numuru" in refused.output)
    service.send_phone_code(db, db.get(Volunteer, waiting.id), secret="s", send=outbox)
    service.confirm_phone(db, db.get(Volunteer, waiting.id), outbox.last_code(), secret="s")
    db.commit()
    approved = _sargs(app, "volunteers", "approve", str(waiting.id))
    assert approved.exit_code == 0, approved.output

    exported = _sargs(app, "volunteers", "export", "--status", "active")
    assert exported.exit_code == 0, exported.output
    table = list(csv.DictReader(io.StringIO(exported.output)))
    assert [r["name"] for r in table] == ["Ilze Kalniņa"]
    entries = rows(db, select(AuditEntry.actor_label).where(
        AuditEntry.action == "volunteer.exported"))
    assert entries and entries[0].startswith("cli:")
