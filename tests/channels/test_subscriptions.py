"""Residents subscribe by SMS: the code reaches the phone through the real SMS
adapter and the Twilio simulator, confirms one contact per number, and the
subscriber can see, download and erase their data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.audit.models import AuditEntry
from sargs.channels import alerts, subscriptions
from sargs.channels.consent import CONSENT_VERSION
from sargs.channels.models import Contact, ContactAddress, Delivery, SubscriptionCode
from sargs.channels.sms import SmsAdapter
from tests.channels.engine_helpers import public_orange
from tests.conftest import Users

SECRET = "test-secret-key"
PHONE = "+37120000501"


@pytest.fixture
def send(sms_app) -> Any:
    return subscriptions.sms_sender(SmsAdapter(sms_app.extensions["sargs"].settings))


def _code(sim, phone: str, count: int = 1) -> str:
    """The code in the newest SMS the phone received."""
    assert sim.phones.wait_for(count, phone), f"no SMS number {count} arrived"
    body = sim.phones.of(phone)[-1]["body"]
    match = re.search(r"\b(\d{6})\b", body)
    assert match, "no code in the SMS"
    return match.group(1)


def _start(db, send, phone=PHONE, **changes):
    values = dict(language="lv", areas=["LV022"], levels=["orange", "red"], consent_given=True)
    values.update(changes)
    row = subscriptions.start_subscription(db, phone, send_code=send, secret=SECRET, **values)
    db.commit()
    return row


def _subscribers(db) -> list[Contact]:
    try:
        return list(db.scalars(select(Contact).where(Contact.is_public_subscriber.is_(True))))
    finally:
        db.close()


# --- the service ---------------------------------------------------------------


def test_a_code_by_sms_confirms_one_subscription_per_number(sms_app, sim, send):
    sessions = sms_app.extensions["sargs"].sessionmaker
    with sessions() as db:
        _start(db, send, "20000501", language="en", areas=["LV022", "LV023"],
               levels=["yellow", "orange", "red"])
        code_row = db.scalar(select(SubscriptionCode))
        assert code_row.phone == PHONE and code_row.purpose == "subscribe"
    code = _code(sim, PHONE)
    assert "code" in sim.phones.of(PHONE)[0]["body"]  # in English, as chosen
    with sessions() as db:
        assert code not in db.scalar(select(SubscriptionCode)).code_hash
        contact = subscriptions.confirm(db, PHONE, code, secret=SECRET)
        db.commit()
    with sessions() as db:
        [contact] = _subscribers(db)
        assert (contact.language, contact.areas, contact.levels) == (
            "en", ["LV022", "LV023"], ["yellow", "orange", "red"])
        assert contact.consent_version == CONSENT_VERSION
        assert contact.consent_at == clock.now()
        assert [(a.channel, a.address) for a in contact.addresses] == [("sms", PHONE)]
        assert contact.addresses[0].verified_at is not None
        # Subscribing again changes the choices of the same contact.
        _start(db, send, language="lv", levels=["red"])
    code = _code(sim, PHONE, 2)
    with sessions() as db:
        subscriptions.confirm(db, PHONE, code, secret=SECRET)
        db.commit()
        [contact] = _subscribers(db)
        assert (contact.language, contact.levels) == ("lv", ["red"])


def test_a_wrong_code_is_refused_and_five_wrong_codes_end_it(sms_app, sim, send):
    sessions = sms_app.extensions["sargs"].sessionmaker
    with sessions() as db:
        _start(db, send)
    code = _code(sim, PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with sessions() as db:
        for _ in range(subscriptions.MAX_ATTEMPTS):
            with pytest.raises(subscriptions.SubscriptionError) as refused:
                subscriptions.confirm(db, PHONE, wrong, secret=SECRET)
            assert refused.value.reason == "wrong_code"
            db.commit()
        with pytest.raises(subscriptions.SubscriptionError) as refused:
            subscriptions.confirm(db, PHONE, code, secret=SECRET)
        assert refused.value.reason == "too_many_attempts"
        db.rollback()
    assert _subscribers(sessions()) == []


def test_a_code_expires_after_ten_minutes(sms_app, sim, send, frozen_clock):
    sessions = sms_app.extensions["sargs"].sessionmaker
    with sessions() as db:
        _start(db, send)
    code = _code(sim, PHONE)
    frozen_clock.advance(timedelta(minutes=11))
    with sessions() as db, pytest.raises(subscriptions.SubscriptionError) as refused:
        subscriptions.confirm(db, PHONE, code, secret=SECRET)
    assert refused.value.reason == "expired"


def test_at_most_three_codes_an_hour_per_number(sms_app, sim, send, frozen_clock):
    sessions = sms_app.extensions["sargs"].sessionmaker
    with sessions() as db:
        for _ in range(3):
            _start(db, send)
            frozen_clock.advance(timedelta(minutes=5))
        with pytest.raises(subscriptions.SubscriptionError) as refused:
            _start(db, send)
        assert refused.value.reason == "too_many_codes"
        db.rollback()
    assert sim.phones.wait_for(3, PHONE)
    frozen_clock.advance(timedelta(minutes=46))  # the first code is now over an hour old
    with sessions() as db:
        _start(db, send)
    assert sim.phones.wait_for(4, PHONE)


def test_erase_deletes_the_subscriber_and_pseudonymises_their_ledger_rows(sms_app, sim, send,
                                                                         frozen_clock):
    sessions = sms_app.extensions["sargs"].sessionmaker
    users = Users(sms_app)
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with sessions() as db:
        _start(db, send)
    code = _code(sim, PHONE)
    with sessions() as db:
        subscriptions.confirm(db, PHONE, code, secret=SECRET)
        alert = alerts.create_alert(db, public_orange(channels=["sms"]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set())
        db.commit()
        data = subscriptions.export(db, PHONE)
        assert data["phone"] == PHONE and data["consent_version"] == CONSENT_VERSION
        assert [m["alert_id"] for m in data["messages"]] == [alert.id]
        subscriptions.erase(db, PHONE, secret=SECRET)
        db.commit()
    with sessions() as db:
        assert _subscribers(db) == []
        assert db.scalars(select(ContactAddress)).all() == []
        [row] = db.scalars(select(Delivery)).all()
        assert row.address == subscriptions.pseudonym(SECRET, PHONE)
        assert row.address.startswith("erased:") and PHONE not in row.address
        assert db.scalars(select(SubscriptionCode)).all() == []


def test_an_operator_enters_a_landline_for_voice_calls_with_consent_by_phone(sms_app):
    sessions = sms_app.extensions["sargs"].sessionmaker
    operator = Users(sms_app).create("olga", "operator")
    with sessions() as db:
        with pytest.raises(subscriptions.SubscriptionError) as refused:
            subscriptions.operator_register(db, "63000001", "sms", "lv", ["LV023"], ["red"],
                                            consent_by_phone=True, operator=operator)
        assert refused.value.reason == "landline_sms"
        contact = subscriptions.operator_register(db, "63000001", "voice", "lv", ["LV023"],
                                                  ["red"], consent_by_phone=True,
                                                  operator=operator)
        db.commit()
        contact_id = contact.id
    with sessions() as db:
        [contact] = _subscribers(db)
        assert [(a.channel, a.address) for a in contact.addresses] == [("voice", "+37163000001")]
        assert contact.consent_version == CONSENT_VERSION
        [entry] = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "subscriber_registered_by_operator")).all()
        assert entry.object_id == str(contact_id) and entry.after["consent"] == "by phone"
        assert "+37163000001" not in str(entry.after)


# --- the pages -------------------------------------------------------------------


def _token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _subscribe_form(client, **changes):
    data = {"phone": "+371 2000 0501", "language": "en", "areas": ["LV022", "LV023"],
            "levels": "all", "consent": "on", "website": ""}
    data.update(changes)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post("/subscribe/", data={**data, "csrf_token": _token(client, "/subscribe/")})


def test_the_public_page_subscribes_a_phone_with_the_code_it_receives(sms_app, sim):
    client = sms_app.test_client()
    page = client.get("/subscribe/").get_data(as_text=True)
    assert 'data-testid="consent-text"' in page and 'name="website"' in page
    assert 'data-testid="sms-unavailable"' not in page
    response = _subscribe_form(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/subscribe/confirm")
    code = _code(sim, PHONE)
    token = _token(client, "/subscribe/confirm")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = client.post("/subscribe/confirm", data={"code": wrong, "csrf_token": token})
    assert refused.status_code == 422 and 'id="e-code"' in refused.get_data(as_text=True)
    response = client.post("/subscribe/confirm", data={"code": code, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/subscribe/done")
    assert 'data-testid="subscribed"' in client.get("/subscribe/done").get_data(as_text=True)
    [contact] = _subscribers(sms_app.extensions["sargs"].sessionmaker())
    assert (contact.language, contact.areas, contact.levels) == (
        "en", ["LV022", "LV023"], ["yellow", "orange", "red"])
    assert contact.consent_version == CONSENT_VERSION


def test_bad_input_is_refused_next_to_the_field(sms_app, sim):
    client = sms_app.test_client()
    response = _subscribe_form(client, consent=None)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-consent"' in page
    assert "tikai ar jūsu piekrišanu" in page  # the reason, in Latvian by default
    response = _subscribe_form(client, phone="12-ab")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-phone"' in page
    assert "Ievadiet tālruņa numuru" in page
    response = _subscribe_form(client, areas=None)
    assert response.status_code == 422 and 'id="e-areas"' in response.get_data(as_text=True)
    assert len(sim.phones) == 0


def test_the_fourth_code_within_an_hour_is_refused_on_the_page(sms_app, sim, frozen_clock):
    client = sms_app.test_client()
    for _ in range(3):
        assert _subscribe_form(client).status_code == 302
        frozen_clock.advance(timedelta(minutes=1))
    response = _subscribe_form(client)
    assert response.status_code == 429
    assert "ne vairāk kā 3 kodus" in response.get_data(as_text=True)
    assert sim.phones.wait_for(3, PHONE) and len(sim.phones.of(PHONE)) == 3


def test_the_honeypot_sends_nothing(sms_app, sim):
    client = sms_app.test_client()
    assert _subscribe_form(client, website="http://spam.example").status_code == 302
    assert _subscribers(sms_app.extensions["sargs"].sessionmaker()) == []
    assert sms_app.extensions["sargs"].sessionmaker().scalars(select(SubscriptionCode)).all() == []


def test_without_sms_the_page_says_so(app, client):
    page = client.get("/subscribe/").get_data(as_text=True)
    assert 'data-testid="sms-unavailable"' in page
    response = _subscribe_form(client)
    assert response.status_code == 503


def test_a_subscriber_sees_downloads_and_erases_their_data(sms_app, sim, send):
    sessions = sms_app.extensions["sargs"].sessionmaker
    with sessions() as db:
        _start(db, send)
    with sessions() as db:
        subscriptions.confirm(db, PHONE, _code(sim, PHONE), secret=SECRET)
        db.commit()
    client = sms_app.test_client()
    assert client.get("/subscribe/manage/data").status_code == 302  # not opened yet
    response = client.post("/subscribe/manage", data={
        "phone": "20000501", "csrf_token": _token(client, "/subscribe/manage")})
    assert response.status_code == 302
    code = _code(sim, PHONE, 2)
    response = client.post("/subscribe/manage/code", data={
        "code": code, "csrf_token": _token(client, "/subscribe/manage/code")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/data")
    page = client.get("/subscribe/manage/data").get_data(as_text=True)
    assert PHONE in page and CONSENT_VERSION in page
    download = client.get("/subscribe/manage/export")
    assert "attachment" in download.headers["Content-Disposition"]
    data = download.get_json(force=True)
    assert data["phone"] == PHONE and data["levels"] == ["orange", "red"]
    response = client.post("/subscribe/manage/erase",
                           data={"csrf_token": _token(client, "/subscribe/manage/data")})
    assert response.status_code == 200 and 'data-testid="erased"' in response.get_data(as_text=True)
    assert _subscribers(sessions()) == []
    assert client.get("/subscribe/manage/data").status_code == 302


def test_an_unknown_number_gets_the_same_answer_and_no_sms(sms_app, sim):
    client = sms_app.test_client()
    response = client.post("/subscribe/manage", data={
        "phone": "20000599", "csrf_token": _token(client, "/subscribe/manage")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/code")
    assert len(sim.phones) == 0


def test_the_operator_page_enters_a_landline_for_voice_calls(sms_app):
    client = sms_app.test_client()
    Users(sms_app).signed_in(client, "olga", "operator")
    form = {"phone": "63000002", "channel": "voice", "language": "lv", "areas": ["LV022"],
            "levels": "orange_red", "csrf_token": _token(client, "/subscribe/operator")}
    response = client.post("/subscribe/operator", data=form)
    assert response.status_code == 422
    assert 'id="e-consent_by_phone"' in response.get_data(as_text=True)
    response = client.post("/subscribe/operator", data={**form, "consent_by_phone": "on"})
    assert response.status_code == 200
    assert 'data-testid="operator-saved"' in response.get_data(as_text=True)
    with sms_app.extensions["sargs"].sessionmaker() as db:
        [contact] = _subscribers(db)
        assert [(a.channel, a.address) for a in contact.addresses] == [("voice", "+37163000002")]
        [entry] = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "subscriber_registered_by_operator")).all()
        assert entry.actor_label == "olga" and entry.object_id == str(contact.id)
    other = sms_app.test_client()
    Users(sms_app).signed_in(other, "ilze", "warehouse")
    assert other.get("/subscribe/operator").status_code == 403


# --- the city's app ------------------------------------------------------------------


def _api_token(app, scopes=("subscribers:write",)) -> str:
    from sargs.auth.service import create_token

    with app.extensions["sargs"].sessionmaker() as db:
        _token_row, plain = create_token(db, "city app", list(scopes))
        db.commit()
    return plain


def test_the_api_subscribes_with_a_token(sms_app, sim):
    client = sms_app.test_client()
    body = {"phone": PHONE, "language": "lv", "areas": ["LV023"], "levels": ["red"],
            "consent": True, "consent_version": CONSENT_VERSION}
    assert client.post("/api/v1/subscribers", json=body).status_code == 401
    headers = {"Authorization": f"Bearer {_api_token(sms_app)}"}
    refused = client.post("/api/v1/subscribers", json={**body, "consent": False}, headers=headers)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["consent"]
    refused = client.post("/api/v1/subscribers", json={**body, "phone": "x"}, headers=headers)
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "phone"
    response = client.post("/api/v1/subscribers", json=body, headers=headers)
    assert response.status_code == 202 and response.get_json()["status"] == "code sent"
    code = _code(sim, PHONE)
    assert client.post("/api/v1/subscribers/confirm", json={"phone": PHONE, "code": code}
                       ).status_code == 401
    response = client.post("/api/v1/subscribers/confirm", json={"phone": PHONE, "code": code},
                           headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    [contact] = _subscribers(sms_app.extensions["sargs"].sessionmaker())
    assert (contact.areas, contact.levels) == (["LV023"], ["red"])


def test_the_api_refuses_a_token_without_the_scope(sms_app):
    headers = {"Authorization": f"Bearer {_api_token(sms_app, ('areas:read',))}"}
    response = sms_app.test_client().post("/api/v1/subscribers", json={}, headers=headers)
    assert response.status_code == 403
