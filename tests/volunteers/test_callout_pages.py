"""The coordinators' call-out pages: the form asks the matching volunteers, bad input
is shown at its field, the SMS preview counts the brief, the detail page shows live
progress and the roster, unclear replies are settled there, check-in and check-out log
the hours, a volunteer who never answers is flagged, and who may do what."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.audit.models import AuditEntry
from sargs.volunteers import callouts
from sargs.volunteers.models import CallOut, CallOutAsk, Volunteer
from sargs.volunteers.schemas import CallOutIn
from tests.kernel.helpers import field_has_error, post_form, redirects_to

BASE = "/volunteers/callouts"


@pytest.fixture
def activation_id(db) -> int:
    found = open_activation(db, ActivationOpen(title="Plūdi Lielupē", kind="emergency"),
                            by_user_id=None)
    db.commit()
    return found.id


@pytest.fixture
def crew(make_volunteer, db) -> dict[str, int]:
    people = {}
    for key, name, phone in (("anna", "Anna Bērziņa", "+37120000401"),
                             ("cilda", "Cilda Ozola", "+37120000402"),
                             ("ginta", "Ginta Kalna", "+37120000403")):
        people[key] = make_volunteer("active", name=name, phone=phone, email=None,
                                     skills=["first_aid"], licence_categories=[]).id
    make_volunteer("active", name="Dace Bez", phone="+37120000404", email=None,
                   skills=["cooking"], licence_categories=[])
    db.commit()
    return people


def form(activation_id: int, **fields: Any) -> dict[str, Any]:
    """The form as a coordinator fills it: Riga time, Tuesday 14:00–18:00."""
    return {"activation_id": str(activation_id), "link_kind": "none", "link_ref": "",
            "title": "Smilšu maisi", "place": "Pasta sala", "brief": "Ņemiet cimdus",
            "skills": ["first_aid"], "area_code": "LV022", "starts_at": "2026-11-24T14:00",
            "ends_at": "2026-11-24T18:00", "needed": "1", **fields}


def create(db, settings, activation_id: int, **fields: Any) -> CallOut:
    """A call-out made in the test's session; no channel is configured, so the
    questions wait in the ledger."""
    start = clock.now() + timedelta(hours=2)
    values = {"activation_id": activation_id, "title": "Smilšu maisi", "place": "Pasta sala",
              "skills": ["first_aid"], "starts_at": start, "ends_at": start + timedelta(hours=4),
              "needed": 1, **fields}
    callout = callouts.create(db, CallOutIn(**values), None, settings=settings)
    db.commit()
    return callout


def roster(page: str) -> dict[str, str]:
    """Volunteer id → the state the roster shows."""
    return dict(re.findall(r'data-testid="roster-row" data-volunteer="(\d+)" data-state="(\w+)"',
                           page))


def test_the_form_creates_a_call_out_that_asks_the_matching_volunteers(
        client, users, activation_id, crew):
    users.signed_in(client, "koord", "coordinator")
    page = client.get(f"{BASE}/new").get_data(as_text=True)
    assert "Plūdi Lielupē" in page and 'name="skills" value="first_aid"' in page
    assert 'hx-post="/volunteers/callouts/preview"' in page

    response = post_form(client, f"{BASE}/new", form(activation_id))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Izsaukums A" in page and "A1 — nāku, A2 — nevaru" in page
    # needed 1 → the first wave asks two: the first two first-aiders, never Dace.
    assert roster(page) == {str(crew["anna"]): "asked", str(crew["cilda"]): "asked"}
    assert 'data-yes="0" data-no="0" data-waiting="2" data-needed="1"' in page
    assert 'hx-trigger="every 5s"' in page

    listing = client.get(f"{BASE}/").get_data(as_text=True)
    assert 'data-testid="callout-row"' in listing and "Smilšu maisi" in listing


def test_bad_input_is_shown_at_its_field(client, users, activation_id, crew, db):
    users.signed_in(client, "koord", "coordinator")
    response = post_form(client, f"{BASE}/new", form(activation_id, ends_at="2026-11-24T13:00"))
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "ends_at")
    response = post_form(client, f"{BASE}/new", form(activation_id, area_code="LV999"))
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "area_code")
    response = post_form(client, f"{BASE}/new", form(activation_id, link_kind="alert",
                                                      link_ref="77"))
    assert response.status_code == 422
    assert "Paziņojuma ar šādu numuru nav." in response.get_data(as_text=True)
    response = post_form(client, f"{BASE}/new", form(activation_id, title=""))
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "title")
    assert db.scalars(select(CallOut)).all() == []


def test_the_preview_shows_the_sms_and_counts_the_brief(client, users, activation_id):
    users.signed_in(client, "koord", "coordinator")
    page = post_form(client, f"{BASE}/preview", form(activation_id)).get_data(as_text=True)
    assert 'data-testid="brief-length" data-length="13"' in page
    assert ("Izsaukums A: Smilšu maisi, Pasta sala, 24.11. 14:00–18:00. Ņemiet cimdus. "
            "Atbildiet A1 — nāku, A2 — nevaru.") in page
    assert 'data-testid="preview-lv" data-segments="2"' in page


def test_the_coordinator_settles_an_unclear_reply_and_logs_hours(
        client, users, activation_id, crew, db, settings, frozen_clock):
    callout = create(db, settings, activation_id)
    anna = db.get(Volunteer, crew["anna"])
    assert callouts.answer_text(db, anna, "sms", "varbūt?").startswith("Atbildi nesapratām")
    db.commit()
    callout_id = callout.id
    users.signed_in(client, "koord", "coordinator")
    page = client.get(f"{BASE}/{callout_id}").get_data(as_text=True)
    [reply_id] = re.findall(r'data-testid="unclear-reply" data-id="(\d+)"', page)
    assert "varbūt?" in page and "nav izsaukuma koda" in page

    response = post_form(client, f"{BASE}/{callout_id}/replies/{reply_id}/settle",
                         {"decision": "yes"})
    assert redirects_to(response, f"{BASE}/{callout_id}")
    page = client.get(f"{BASE}/{callout_id}").get_data(as_text=True)
    assert 'data-testid="unclear-reply"' not in page
    assert roster(page)[str(crew["anna"])] == "yes"
    assert roster(page)[str(crew["cilda"])] == "released"  # the quota of one is filled
    assert 'data-state="filled"' in page

    ask_id = db.scalar(select(CallOutAsk.id).where(CallOutAsk.volunteer_id == crew["anna"]))
    db.commit()
    assert 'data-testid="withdraw"' in client.get(f"{BASE}/{callout_id}/live").get_data(
        as_text=True)  # she could be taken off the roster until she checks in
    assert post_form(client, f"{BASE}/{callout_id}/asks/{ask_id}/check-in").status_code == 302
    post_form(client, f"{BASE}/{callout_id}/asks/{ask_id}/withdraw")
    page = client.get(f"{BASE}/{callout_id}").get_data(as_text=True)
    assert roster(page)[str(crew["anna"])] == "yes"  # checked in: not taken off
    frozen_clock.advance(hours=2, minutes=15)
    assert post_form(client, f"{BASE}/{callout_id}/asks/{ask_id}/check-out").status_code == 302
    live = client.get(f"{BASE}/{callout_id}/live").get_data(as_text=True)
    assert re.search(r'data-testid="hours">2.25<', live)
    assert 'data-testid="total-hours">2.25<' in live
    # Checking out twice is refused with a message, nothing changes.
    post_form(client, f"{BASE}/{callout_id}/asks/{ask_id}/check-out")
    assert "Aiziešana jau ir reģistrēta." in client.get(f"{BASE}/{callout_id}").get_data(
        as_text=True)

    # Reading the roster is audit-logged with the volunteers' ids only.
    entries = db.scalars(select(AuditEntry).where(
        AuditEntry.action == "callout.roster_viewed")).all()
    assert entries and "Anna" not in str(entries[-1].after)
    db.commit()

    assert post_form(client, f"{BASE}/{callout_id}/close").status_code == 302
    db.expire_all()
    assert db.get(CallOut, callout_id).state == "closed"
    db.commit()


def test_the_roster_flags_a_volunteer_who_does_not_answer(
        client, users, activation_id, crew, db, settings):
    for _ in range(callouts.UNRESPONSIVE_AFTER):
        callout = create(db, settings, activation_id, needed=3)
        callouts.close(db, callout)
        db.commit()
    callout = create(db, settings, activation_id, needed=3)
    callout_id = callout.id
    db.commit()
    users.signed_in(client, "koord", "coordinator")
    page = client.get(f"{BASE}/{callout_id}").get_data(as_text=True)
    assert page.count('data-flagged="yes"') == 3
    assert 'data-testid="flagged-note"' in page


def test_cancelling_from_the_page(client, users, activation_id, crew, db, settings):
    callout_id = create(db, settings, activation_id).id
    users.signed_in(client, "koord", "coordinator")
    assert post_form(client, f"{BASE}/{callout_id}/cancel").status_code == 302
    page = client.get(f"{BASE}/{callout_id}").get_data(as_text=True)
    assert 'data-state="cancelled"' in page and 'data-testid="cancel"' not in page
    assert "hx-trigger" not in page.split('id="callout-live"')[1].split(">")[0]


def test_who_may_see_and_run_call_outs(app, users, activation_id, crew, db, settings):
    callout_id = create(db, settings, activation_id).id
    auditor, keeper, anonymous = app.test_client(), app.test_client(), app.test_client()
    users.signed_in(auditor, "aina", "auditor")
    users.signed_in(keeper, "vilis", "warehouse")
    assert auditor.get(f"{BASE}/{callout_id}").status_code == 200
    assert 'data-testid="close"' not in auditor.get(f"{BASE}/{callout_id}").get_data(
        as_text=True)
    assert post_form(auditor, f"{BASE}/{callout_id}/close").status_code == 403
    assert keeper.get(f"{BASE}/").status_code == 403
    assert anonymous.get(f"{BASE}/").status_code == 302
    db.expire_all()
    assert db.get(CallOut, callout_id).state == "open"
    db.commit()
