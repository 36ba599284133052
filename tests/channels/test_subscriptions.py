"""Residents subscribe by SMS: the code reaches the phone through the real SMS
adapter and the Twilio simulator, confirms one contact per number, and the
subscriber can see, download and erase their data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sargs.channels import alerts, subscriptions
from sargs.channels.consent import CONSENT_VERSION
from sargs.channels.models import Contact, ContactAddress, Delivery, SubscriptionCode
from sargs.channels.simulators import twilio as twilio_sim
from sargs.channels.sms import SmsAdapter
from sqlalchemy import select

from sargs import clock
from sargs.app import create_app
from sargs.audit.models import AuditEntry
from tests.channels.engine_helpers import public_orange
from tests.conftest import Users

FROM = "+37166000000"
SECRET = "test-secret-key"
PHONE = "+37120000501"


@pytest.fixture
def sim() -> Iterator[Any]:
    with twilio_sim.TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def wired(settings, sim, frozen_clock) -> Iterator[Any]:
    """The app with SMS going to the simulator (callbacks go nowhere: codes have no ledger row)."""
    configured = settings.model_copy(update={
        "public_url": "http://127.0.0.1:9", "twilio_api_url": sim.url,
        "twilio_account_sid": twilio_sim.ACCOUNT_SID, "twilio_from_number": FROM,
    })
    configured.twilio_auth_token = SecretStr(twilio_sim.AUTH_TOKEN)
    application = create_app(configured)
    yield application
    application.extensions["sargs"].engine.dispose()


@pytest.fixture
def send(wired) -> Any:
    return subscriptions.sms_sender(SmsAdapter(wired.extensions["sargs"].settings))


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


def test_a_code_by_sms_confirms_one_subscription_per_number(wired, sim, send):
    sessions = wired.extensions["sargs"].sessionmaker
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


def test_a_wrong_code_is_refused_and_five_wrong_codes_end_it(wired, sim, send):
    sessions = wired.extensions["sargs"].sessionmaker
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


def test_a_code_expires_after_ten_minutes(wired, sim, send, frozen_clock):
    sessions = wired.extensions["sargs"].sessionmaker
    with sessions() as db:
        _start(db, send)
    code = _code(sim, PHONE)
    frozen_clock.advance(timedelta(minutes=11))
    with sessions() as db, pytest.raises(subscriptions.SubscriptionError) as refused:
        subscriptions.confirm(db, PHONE, code, secret=SECRET)
    assert refused.value.reason == "expired"


def test_at_most_three_codes_an_hour_per_number(wired, sim, send, frozen_clock):
    sessions = wired.extensions["sargs"].sessionmaker
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


def test_erase_deletes_the_subscriber_and_pseudonymises_their_ledger_rows(wired, sim, send,
                                                                         frozen_clock):
    sessions = wired.extensions["sargs"].sessionmaker
    users = Users(wired)
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


def test_an_operator_enters_a_landline_for_voice_calls_with_consent_by_phone(wired):
    sessions = wired.extensions["sargs"].sessionmaker
    operator = Users(wired).create("olga", "operator")
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
