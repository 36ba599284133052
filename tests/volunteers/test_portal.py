"""The public volunteer portal through its real pages: registration with every bad field
named at its place, the honeypot, the codes a phone (Twilio simulator) and an inbox
(SMTP simulator) received, one-time sign-in by code and by link, the profile,
the download and the erasure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sargs.app import create_app
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioSimulator
from sargs.volunteers import service
from sargs.volunteers.consent import CONSENT_VERSION, KEPT_YEARS
from sargs.volunteers.models import Volunteer
from sargs.volunteers.schemas import VolunteerIn
from tests.volunteers.conftest import registration

PHONE = "+37126123456"
EMAIL = "ilze@example.lv"


@pytest.fixture
def sim() -> Iterator[Any]:
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def mail() -> Iterator[Any]:
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def portal(settings, sim, mail, frozen_clock) -> Iterator[Any]:
    """The app with codes going by SMS to the Twilio simulator and by e-mail to the
    SMTP simulator (Twilio's status callbacks go nowhere)."""
    configured = settings.model_copy(update={
        "public_url": "https://sargs.example.lv", "twilio_api_url": sim.url,
        "twilio_account_sid": ACCOUNT_SID, "twilio_from_number": "+37166000000",
        "smtp_url": f"smtp://127.0.0.1:{mail.port}", "email_from": "sargs@jelgava.lv"})
    configured.twilio_auth_token = SecretStr(AUTH_TOKEN)
    application = create_app(configured)
    yield application
    application.extensions["sargs"].engine.dispose()


def english(app: Any) -> Any:
    """A browser whose pages are in English (the messages asserted are the source texts)."""
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    return client


def token_of(client: Any, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def form(client: Any, **changes: Any) -> dict[str, Any]:
    """A complete registration as the page posts it; ``None`` leaves a field out."""
    values: dict[str, Any] = {
        "name": "Ilze Kalniņa", "phone": "26 123 456", "email": EMAIL,
        "birth_date": "1990-04-12", "language": "lv", "municipality": "LV022",
        "neighbourhood": "", "skills": ["first_aid", "chainsaw"], "licence_categories": ["B"],
        "own_vehicle": "on", "languages": ["lv", "en"], "available_days": ["0", "5"],
        "available_from": "08:00", "available_to": "22:00", "travel_km": "15",
        "certificates-0-kind": "first_aid", "certificates-0-title": "Pirmās palīdzības kurss",
        "certificates-0-issued_on": "2025-03-01", "certificates-0-expires_on": "2028-03-01",
        "consent": "on", "consent_version": CONSENT_VERSION, "website": "",
        "csrf_token": token_of(client, "/volunteer/"),
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def error_at(page: str, field: str) -> str:
    """The message shown at a field of the form."""
    match = re.search(rf'<small id="e-{re.escape(field)}" class="field-error"[^>]*>([^<]*)<',
                      page)
    assert match, f"no message at {field}"
    return match.group(1)


def sms_code(sim: Any, phone: str = PHONE, count: int = 1) -> str:
    assert sim.phones.wait_for(count, phone), f"SMS number {count} did not arrive"
    found = re.search(r"\b(\d{6})\b", sim.phones.of(phone)[-1]["body"])
    assert found
    return found.group(1)


def mail_code(mail: Any, address: str = EMAIL) -> str:
    found = re.search(r"\b(\d{6})\b", mail.inboxes.of(address)[-1]["text"])
    assert found
    return found.group(1)


def volunteers(app: Any) -> list[Volunteer]:
    with app.extensions["sargs"].sessionmaker() as db:
        found = list(db.scalars(select(Volunteer)))
        db.expunge_all()
        return found


def post_code(client: Any, code: str, what: str = "phone") -> Any:
    return client.post("/volunteer/verify", data={
        "what": what, "code": code, "csrf_token": token_of(client, "/volunteer/verify")})


def registered(portal: Any, sim: Any, mail: Any) -> Any:
    """A client of a volunteer who registered and confirmed both codes."""
    client = english(portal)
    assert client.post("/volunteer/", data=form(client)).status_code == 302
    assert post_code(client, sms_code(sim)).status_code == 302
    assert post_code(client, mail_code(mail), "email").status_code == 302
    return client


# --- registration -------------------------------------------------------------------


def test_the_page_offers_every_field_and_the_consent_in_full(portal) -> None:
    page = portal.test_client().get("/volunteer/").get_data(as_text=True)
    for name in ("name", "phone", "email", "birth_date", "guardian_name", "guardian_phone",
                 "guardian_consent", "municipality", "neighbourhood", "skills",
                 "licence_categories", "own_vehicle", "languages", "available_days",
                 "available_from", "available_to", "travel_km", "certificates-2-expires_on",
                 "consent", "website"):
        assert f'name="{name}"' in page, name
    assert f'name="consent_version" value="{CONSENT_VERSION}"' in page
    assert "Pirmā palīdzība" in page and "Darbs ar motorzāģi" in page  # skills by name
    assert "Civilās aizsardzības un katastrofas pārvaldīšanas" in page  # the consent text
    municipalities = re.search(r'<select id="f-municipality".*?</select>', page, re.S)
    assert municipalities is not None
    options = re.findall(r'<option value="(LV\d+)"', municipalities.group(0))
    assert options[:2] == ["LV022", "LV023"] and len(options) > 10  # home areas first
    assert 'data-testid="become-volunteer"' in page  # the footer links here


def test_every_bad_field_is_named_at_its_place_and_what_was_typed_stays(
        portal, sim, frozen_clock) -> None:
    client = english(portal)
    refused = client.post("/volunteer/", data=form(client, phone="12-ab"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "6–20 digits" in error_at(page, "phone")
    assert 'value="Ilze Kalniņa"' in page and 'value="12-ab"' in page
    assert re.search(r'value="chainsaw"\s+checked', page)  # ticked boxes stay ticked

    page = client.post("/volunteer/", data=form(client, consent=None)).get_data(as_text=True)
    assert "consent" in error_at(page, "consent")

    today = frozen_clock.now().date()
    page = client.post("/volunteer/", data=form(
        client, birth_date=str(today.replace(year=today.year - 15)))).get_data(as_text=True)
    assert "at least 16" in error_at(page, "birth_date")

    seventeen = str(today.replace(year=today.year - 17))
    page = client.post("/volunteer/", data=form(client, birth_date=seventeen)) \
        .get_data(as_text=True)
    assert "guardian" in error_at(page, "guardian_name")

    page = client.post("/volunteer/", data=form(
        client, **{"certificates-1-kind": "chainsaw", "certificates-1-title": "Motorzāģis",
                   "certificates-1-issued_on": "2025-05-01",
                   "certificates-1-expires_on": "2024-01-01"})).get_data(as_text=True)
    assert "before the issue date" in error_at(page, "certificates-1-expires_on")
    assert volunteers(portal) == [] and sim.phones.of(PHONE) == []


def test_a_minor_registers_with_a_guardian(portal, sim, frozen_clock) -> None:
    client = english(portal)
    today = frozen_clock.now().date()
    response = client.post("/volunteer/", data=form(
        client, birth_date=str(today.replace(year=today.year - 17)), email="",
        guardian_name="Anna Kalniņa", guardian_phone="29 000 000", guardian_consent="on"))
    assert response.status_code == 302
    [volunteer] = volunteers(portal)
    assert volunteer.guardian_phone == "+37129000000" and volunteer.guardian_consent_at


def test_a_person_registers_once(portal, sim) -> None:
    with portal.extensions["sargs"].sessionmaker() as db:
        service.register(db, VolunteerIn(**registration()))
        db.commit()
    client = english(portal)
    response = client.post("/volunteer/", data=form(client, email="cita@example.lv"))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already registered" in error_at(page, "phone")
    assert 'href="/volunteer/signin"' in page
    page = client.post("/volunteer/", data=form(client, phone="26999999", email="",
                                                birth_date="1990-04-12")).get_data(as_text=True)
    assert "name and date of birth" in error_at(page, "name")
    assert len(volunteers(portal)) == 1


def test_a_robot_filling_the_honeypot_is_answered_and_nothing_kept(portal, sim) -> None:
    client = english(portal)
    response = client.post("/volunteer/", data=form(client, website="http://spam.example"))
    assert response.status_code == 302
    assert volunteers(portal) == [] and sim.phones.of(PHONE) == []


def test_registration_is_rate_limited_per_ip(portal, sim) -> None:
    client = english(portal)
    token = token_of(client, "/volunteer/")
    for _ in range(10):
        assert client.post("/volunteer/", data={"csrf_token": token}).status_code == 422
    assert client.post("/volunteer/", data={"csrf_token": token}).status_code == 429


def test_without_sms_a_registration_cannot_be_confirmed_and_says_so(app) -> None:
    client = english(app)
    assert 'data-testid="unavailable"' in client.get("/volunteer/").get_data(as_text=True)
    response = client.post("/volunteer/", data=form(client))
    assert response.status_code == 503
    assert 'value="Ilze Kalniņa"' in response.get_data(as_text=True)


# --- verifying the phone and e-mail ------------------------------------------------------


def test_the_phone_and_email_codes_confirm_them(portal, sim, mail) -> None:
    client = english(portal)
    response = client.post("/volunteer/", data=form(client))
    assert response.status_code == 302 and response.headers["Location"] == "/volunteer/verify"
    [volunteer] = volunteers(portal)
    assert volunteer.status == "pending" and volunteer.phone == PHONE
    assert volunteer.skills == ["first_aid", "chainsaw", "driving"]
    assert volunteer.available_days == [0, 5] and volunteer.available_to == 22 * 60
    assert [(c.kind, c.expires_on) for c in volunteer.certificates] == [
        ("first_aid", date(2028, 3, 1))]
    code = sms_code(sim)
    assert "Derīgs 10 minūtes" in sim.phones.of(PHONE)[-1]["body"]  # in Latvian, as chosen
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = post_code(client, wrong)
    assert refused.status_code == 422
    assert "wrong" in error_at(refused.get_data(as_text=True), "phone-code")
    assert post_code(client, code).status_code == 302
    page = client.get("/volunteer/verify").get_data(as_text=True)
    assert 'data-testid="phone-done"' in page and 'data-testid="email-code-form"' in page
    response = post_code(client, mail_code(mail), "email")
    assert response.headers["Location"] == "/volunteer/profile"
    [volunteer] = volunteers(portal)
    assert volunteer.phone_verified_at is not None and volunteer.email_confirmed_at is not None
    page = client.get("/volunteer/profile").get_data(as_text=True)
    assert "Waiting for a coordinator" in page
    assert 'data-testid="phone-verified"' in page and 'data-testid="email-confirmed"' in page


def test_an_expired_code_is_refused_and_a_new_one_works(portal, sim, mail, frozen_clock) -> None:
    client = english(portal)
    client.post("/volunteer/", data=form(client, email=""))
    code = sms_code(sim)
    frozen_clock.advance(minutes=11)
    refused = post_code(client, code)
    assert refused.status_code == 422
    assert "expired" in error_at(refused.get_data(as_text=True), "phone-code")
    response = client.post("/volunteer/verify/resend", data={
        "what": "phone", "csrf_token": token_of(client, "/volunteer/verify")})
    assert response.status_code == 302
    assert post_code(client, sms_code(sim, count=2)).status_code == 302
    assert volunteers(portal)[0].phone_verified_at is not None


# --- signing in ---------------------------------------------------------------------------


def sign_out(client: Any) -> None:
    token = token_of(client, "/volunteer/profile")
    assert client.post("/volunteer/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/volunteer/profile").status_code == 302


def ask_signin(client: Any, address: str) -> Any:
    return client.post("/volunteer/signin", data={
        "address": address, "csrf_token": token_of(client, "/volunteer/signin")})


def test_signing_in_by_code_and_by_a_one_time_link(portal, sim, mail) -> None:
    client = registered(portal, sim, mail)
    sign_out(client)
    assert client.get("/volunteer/profile").headers["Location"].startswith(
        "/volunteer/signin?next=")
    response = ask_signin(client, "26123456")
    assert response.headers["Location"] == "/volunteer/signin/code"
    code = sms_code(sim, count=2)
    response = client.post("/volunteer/signin/code", data={
        "code": code, "csrf_token": token_of(client, "/volunteer/signin/code")})
    assert response.status_code == 302 and response.headers["Location"] == "/volunteer/profile"
    assert client.get("/volunteer/profile").status_code == 200
    # The same code does not work twice.
    sign_out(client)
    ask_signin(client, PHONE)
    client.post("/volunteer/signin/code", data={
        "code": code, "csrf_token": token_of(client, "/volunteer/signin/code")})
    assert client.get("/volunteer/profile").status_code == 302

    # By the link in the e-mail: opening it changes nothing, its button signs in once.
    ask_signin(client, "Ilze@Example.lv")
    link = re.search(r"https://sargs\.example\.lv(/volunteer/signin/\S+)",
                     mail.inboxes.of(EMAIL)[-1]["text"])
    assert link, "no absolute link in the mail"
    path = link.group(1)
    assert client.get(path).status_code == 200
    other = english(portal)
    response = other.post(path, data={"csrf_token": token_of(other, path)})
    assert response.status_code == 302 and other.get("/volunteer/profile").status_code == 200
    again = client.post(path, data={"csrf_token": token_of(client, path)})
    assert again.status_code == 410 and 'data-testid="link-refused"' in again.get_data(
        as_text=True)


def test_the_signin_answer_is_the_same_for_nobody(portal, sim, mail) -> None:
    client = english(portal)
    response = ask_signin(client, "20000999")
    assert response.headers["Location"] == "/volunteer/signin/code"
    page = client.get("/volunteer/signin/code").get_data(as_text=True)
    assert 'data-testid="signin-sent"' in page
    assert sim.phones.of("+37120000999") == []
    refused = client.post("/volunteer/signin/code", data={
        "code": "123456", "csrf_token": token_of(client, "/volunteer/signin/code")})
    assert refused.status_code == 422
    page = ask_signin(client, "nav-telefons").get_data(as_text=True)
    assert error_at(page, "address")


# --- the profile ------------------------------------------------------------------------------


def test_the_profile_is_edited_and_certificates_added_and_removed(portal, sim, mail) -> None:
    client = registered(portal, sim, mail)
    values = {"name": "Ilze Kalniņa-Ozola", "email": EMAIL, "language": "en",
              "municipality": "LV023", "skills": ["boat"], "available_days": ["6"],
              "available_from": "10:00", "available_to": "18:00", "travel_km": "40"}
    token = token_of(client, "/volunteer/profile/edit")
    refused = client.post("/volunteer/profile/edit", data={
        **values, "available_to": "09:00", "csrf_token": token})
    assert refused.status_code == 422
    assert "not after" in error_at(refused.get_data(as_text=True), "available_to")
    response = client.post("/volunteer/profile/edit", data={**values, "csrf_token": token})
    assert response.headers["Location"] == "/volunteer/profile"
    page = client.get("/volunteer/profile").get_data(as_text=True)
    assert "Ilze Kalniņa-Ozola" in page and "10:00–18:00" in page
    [volunteer] = volunteers(portal)
    assert (volunteer.municipality, volunteer.skills, volunteer.travel_km) == (
        "LV023", ["boat"], 40)

    token = token_of(client, "/volunteer/profile")
    refused = client.post("/volunteer/profile/certificates", data={
        "kind": "boat", "title": "", "issued_on": "2026-01-01", "csrf_token": token})
    assert refused.status_code == 422 and error_at(refused.get_data(as_text=True), "title")
    client.post("/volunteer/profile/certificates", data={
        "kind": "boat", "title": "Kuģa vadītājs", "issued_on": "2026-01-01",
        "expires_on": "2031-01-01", "csrf_token": token})
    [volunteer] = volunteers(portal)
    assert sorted(c.title for c in volunteer.certificates) == [
        "Kuģa vadītājs", "Pirmās palīdzības kurss"]
    first = next(c for c in volunteer.certificates if c.kind == "first_aid")
    client.post(f"/volunteer/profile/certificates/{first.id}/remove", data={"csrf_token": token})
    assert [c.title for c in volunteers(portal)[0].certificates] == ["Kuģa vadītājs"]


def test_the_download_holds_the_profile(portal, sim, mail) -> None:
    client = registered(portal, sim, mail)
    response = client.get("/volunteer/profile/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["volunteer"]["name"] == "Ilze Kalniņa" and data["volunteer"]["phone"] == PHONE
    assert data["volunteer"]["consent_version"] == CONSENT_VERSION
    assert data["certificates"][0]["title"] == "Pirmās palīdzības kurss"


def test_erasure_removes_the_personal_data_and_signs_out(portal, sim, mail) -> None:
    client = registered(portal, sim, mail)
    page = client.get("/volunteer/profile/erase").get_data(as_text=True)
    assert f"kept for {KEPT_YEARS} years" in page
    response = client.post("/volunteer/profile/erase", data={
        "csrf_token": token_of(client, "/volunteer/profile/erase")})
    assert response.status_code == 200
    assert 'data-testid="erased"' in response.get_data(as_text=True)
    [volunteer] = volunteers(portal)
    assert volunteer.status == "erased" and volunteer.phone is None and volunteer.email is None
    assert volunteer.birth_date is None and "Kalniņa" not in volunteer.name
    assert volunteer.certificates == []
    assert client.get("/volunteer/profile").status_code == 302
    # The number can register again.
    assert client.post("/volunteer/", data=form(client)).status_code == 302


def test_a_signed_in_volunteer_sees_only_their_own_profile(portal, sim, mail) -> None:
    client = registered(portal, sim, mail)
    with portal.extensions["sargs"].sessionmaker() as db:
        service.register(db, VolunteerIn(**registration(
            name="Jānis Bērziņš", phone="26999999", email="janis@example.lv",
            birth_date=date(1985, 1, 1))))
        db.commit()
    page = client.get("/volunteer/profile").get_data(as_text=True)
    assert "Ilze Kalniņa" in page and "Bērziņš" not in page
    download = client.get("/volunteer/profile/export").get_data(as_text=True)
    assert "Bērziņš" not in download


def test_a_portal_session_ends(portal, sim, mail, frozen_clock) -> None:
    client = registered(portal, sim, mail)
    frozen_clock.advance(timedelta(hours=13))
    assert client.get("/volunteer/profile").status_code == 302


def test_typing_codes_is_rate_limited(portal, sim) -> None:
    from sargs.volunteers.portal_views import CODE_LIMIT

    client = english(portal)
    client.post("/volunteer/", data=form(client, email=""))
    allowed = int(CODE_LIMIT.split()[0])
    for _ in range(allowed):
        assert post_code(client, "000000").status_code == 422
    assert post_code(client, "000000").status_code == 429


def test_asking_for_signin_codes_is_rate_limited(portal, sim) -> None:
    from sargs.volunteers.portal_views import SIGNIN_LIMIT

    client = english(portal)
    token = token_of(client, "/volunteer/signin")
    for _ in range(int(SIGNIN_LIMIT.split()[0])):
        assert client.post("/volunteer/signin", data={"address": "x",
                                                      "csrf_token": token}).status_code == 422
    assert client.post("/volunteer/signin", data={"address": "20000999",
                                                  "csrf_token": token}).status_code == 429


def test_without_sms_signing_in_by_phone_says_so(app) -> None:
    client = english(app)
    response = ask_signin(client, "26123456")
    assert response.status_code == 503
    assert 'data-testid="unavailable"' in response.get_data(as_text=True)
