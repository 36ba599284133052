"""The volunteers API with a token of scope "volunteers": a registration handed over
(201 with its id and Location, 409 for a person already registered, 422 naming the
fields), the phone's code sent after it through the SMS simulator (a provider failure
loses nothing), the list with the coordinators' filters and pages, one volunteer,
tokens without the scope refused, and the per-token rate limit with the bulk scope
exempt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from limits import parse_many
from pydantic import SecretStr
from sqlalchemy import select

from sargs.app import create_app
from sargs.audit.models import AuditEntry
from sargs.auth.service import create_token
from sargs.channels.simulators.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioSimulator
from sargs.volunteers import api
from sargs.volunteers.models import Volunteer
from tests.kernel.helpers import rows
from tests.volunteers.conftest import registration

URL = "/api/v1/volunteers"


def _json(**fields: Any) -> dict[str, Any]:
    """A registration as JSON (dates as text)."""
    body = registration(**fields)
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}


@pytest.fixture
def bearer(db):
    def make(*scopes: str, name: str = "crews-platform") -> dict[str, str]:
        _token, plaintext = create_token(db, name, list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def _fields(answer: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in answer.get_json()["errors"]}


def test_a_registration_handed_over_is_stored_pending_with_its_location(client, db, bearer):
    answer = client.post(URL, json=_json(certificates=[{
        "kind": "first_aid", "title": "Pirmā palīdzība", "issued_on": "2025-02-01",
        "expires_on": "2028-02-01"}]), headers=bearer("volunteers"))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["status"], body["phone_code_sent"]) == ("pending", False)  # no SMS set up
    assert answer.headers["Location"].endswith(f"{URL}/{body['id']}")
    (stored,) = rows(db, select(Volunteer))
    assert (stored.id, stored.status, stored.source, stored.phone) == (
        body["id"], "pending", "api", "+37126123456")
    assert [c.kind for c in stored.certificates] == ["first_aid"]


def test_the_same_person_again_is_a_conflict_naming_the_field(client, bearer):
    headers = bearer("volunteers")
    assert client.post(URL, json=_json(), headers=headers).status_code == 201
    again = client.post(URL, json=_json(email="cits@example.lv"), headers=headers)
    assert again.status_code == 409
    assert list(_fields(again)) == ["phone"]
    by_name = client.post(URL, json=_json(phone="+37129999999", email="cits@example.lv"),
                          headers=headers)
    assert by_name.status_code == 409 and list(_fields(by_name)) == ["name"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"phone": "12"}, "phone"),
    ({"consent": False}, "consent"),
    ({"birth_date": "2015-01-01"}, "birth_date"),
    ({"birth_date": "2009-06-01"}, "guardian_name"),  # 17: a guardian's consent
    ({"skills": ["juggling"]}, "skills"),
    ({"available_from": "20:00", "available_to": "08:00"}, "available_to"),
    ({"email": "not-an-address"}, "email"),
    ({"municipality": "XX999"}, "municipality"),  # the service's VolunteerError
])
def test_bad_input_answers_422_naming_the_field(client, db, bearer, fields, field):
    answer = client.post(URL, json=_json(**fields), headers=bearer("volunteers"))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert field in _fields(answer)
    assert rows(db, select(Volunteer)) == []


def test_a_body_that_is_not_json_answers_422(client, bearer):
    answer = client.post(URL, data="{name", headers={**bearer("volunteers"),
                                                    "Content-Type": "application/json"})
    assert answer.status_code == 422


def test_without_a_token_or_without_the_scope_nothing_is_read_or_stored(client, db, bearer):
    assert client.post(URL, json=_json()).status_code == 401
    assert client.get(URL).status_code == 401
    other = bearer("shelters")
    assert client.post(URL, json=_json(), headers=other).status_code == 403
    assert client.get(URL, headers=other).status_code == 403
    assert client.get(f"{URL}/1", headers=other).status_code == 403
    assert rows(db, select(Volunteer)) == []


def test_the_list_filters_pages_and_carries_no_birth_date_or_guardian(
        client, db, bearer, make_volunteer):
    medic = make_volunteer("active", certificates=[{
        "kind": "first_aid", "title": "PP", "issued_on": date(2025, 1, 1),
        "expires_on": date(2026, 1, 1)}])
    sawyer = make_volunteer(name="Pēteris Liepa", phone="+37129000001",
                            email="peteris@example.lv", municipality="LV023",
                            skills=["chainsaw"], licence_categories=[])
    minor = make_volunteer(name="Jānis Ozols", phone="+37129000002", email="janis@example.lv",
                           birth_date=date(2009, 6, 1), guardian_name="Inese Ozola",
                           guardian_phone="+37129000003", guardian_consent=True)
    headers = bearer("volunteers")
    everyone = client.get(URL, headers=headers).get_json()
    assert everyone["total"] == 3
    assert {v["id"] for v in everyone["volunteers"]} == {medic.id, sawyer.id, minor.id}
    text = str(everyone)
    assert "birth" not in text and "guardian" not in text and "Inese" not in text

    def ids(query: str) -> list[int]:
        answer = client.get(f"{URL}?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return sorted(v["id"] for v in answer.get_json()["volunteers"])

    assert ids("skills=chainsaw") == [sawyer.id]
    assert ids("skills=first_aid,driving") == sorted([medic.id, minor.id])
    assert ids("municipality=LV023") == [sawyer.id]
    assert ids("status=active") == [medic.id]
    assert ids("certificate=first_aid&valid_on=2025-06-01") == [medic.id]
    assert ids("certificate=first_aid&valid_on=2026-06-01") == []  # expired by then
    assert ids("weekday=6") == []
    page = client.get(f"{URL}?limit=2&offset=2", headers=headers).get_json()
    assert (page["total"], len(page["volunteers"]), page["offset"]) == (3, 1, 2)
    bad = client.get(f"{URL}?hour=30&limit=0", headers=headers)
    assert bad.status_code == 422 and "hour" in _fields(bad)


def test_one_volunteer_and_every_read_is_audit_logged(client, db, bearer, make_volunteer):
    volunteer = make_volunteer()
    headers = bearer("volunteers", name="coordinators-tool")
    one = client.get(f"{URL}/{volunteer.id}", headers=headers)
    assert one.status_code == 200
    assert (one.get_json()["name"], one.get_json()["phone_verified"]) == ("Ilze Kalniņa", False)
    assert "birth_date" not in one.get_json()
    assert client.get(f"{URL}/999", headers=headers).status_code == 404
    client.get(URL, headers=headers)
    entries = [tuple(row) for row in db.execute(select(
        AuditEntry.action, AuditEntry.actor_label).where(AuditEntry.action.like("volunteer.%")))]
    assert ("volunteer.viewed", "token:coordinators-tool") in entries
    assert ("volunteer.searched", "token:coordinators-tool") in entries


# --- the phone's code ------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[Any]:
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def sms_app(settings, sim, frozen_clock) -> Iterator[Any]:
    configured = settings.model_copy(update={
        "public_url": "https://sargs.example.lv", "twilio_api_url": sim.url,
        "twilio_account_sid": ACCOUNT_SID, "twilio_from_number": "+37166000000"})
    configured.twilio_auth_token = SecretStr(AUTH_TOKEN)
    application = create_app(configured)
    yield application
    application.extensions["sargs"].engine.dispose()


def test_with_sms_set_up_the_phone_gets_its_code_after_the_registration(sms_app, sim):
    session = sms_app.extensions["sargs"].sessionmaker()
    _token, plaintext = create_token(session, "crews", ["volunteers"])
    session.commit()
    client = sms_app.test_client()
    answer = client.post(URL, json=_json(language="en"),
                         headers={"Authorization": f"Bearer {plaintext}"})
    assert answer.status_code == 201 and answer.get_json()["phone_code_sent"] is True
    assert sim.phones.wait_for(1, "+37126123456")
    text = sim.phones.of("+37126123456")[-1]["body"]
    assert "phone confirmation code" in text and re.search(r"\b\d{6}\b", text)
    session.close()


def test_a_provider_failure_never_loses_the_registration(sms_app, sim):
    session = sms_app.extensions["sargs"].sessionmaker()
    _token, plaintext = create_token(session, "crews", ["volunteers"])
    session.commit()
    sim.fault("500", count=10)
    answer = sms_app.test_client().post(URL, json=_json(),
                                        headers={"Authorization": f"Bearer {plaintext}"})
    assert answer.status_code == 201 and answer.get_json()["phone_code_sent"] is False
    assert rows(session, select(Volunteer.status)) == ["pending"]
    session.close()


# --- the rate limit --------------------------------------------------------------------


def test_one_token_is_refused_past_its_limit_and_a_bulk_token_is_not(client, bearer):
    per_minute = next(item.amount for item in parse_many(api.TOKEN_LIMIT)
                      if item.get_expiry() == 60)
    abusive = bearer("volunteers", name="leaked")
    bulk = bearer("volunteers", "volunteers:bulk", name="crews-bulk")
    answers = [client.post(URL, json=_json(), headers=abusive).status_code
               for _ in range(per_minute + 2)]
    assert answers[0] == 201 and set(answers[1:per_minute]) == {409}
    assert answers[per_minute:] == [429, 429]
    more = [client.post(URL, json=_json(phone="+37129111111", email="x@example.lv",
                                        name="Cits Cilvēks"), headers=bulk).status_code
            for _ in range(per_minute + 2)]
    assert more[0] == 201 and set(more[1:]) == {409}  # never 429
    # Another token has its own budget; reading has a budget of its own too.
    other = bearer("volunteers", name="other")
    assert client.post(URL, json=_json(), headers=other).status_code == 409
    assert client.get(URL, headers=abusive).status_code == 200
