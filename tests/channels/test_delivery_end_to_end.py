"""An alert through the real channel adapters to the provider simulators:
what each phone and chat received equals what the ledger says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sargs.channels import alerts
from sargs.channels.dispatcher import Dispatcher, drain
from sargs.channels.models import Alert, Delivery
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators import twilio as twilio_sim
from sargs.channels.worker import build_adapters
from sqlalchemy import select

from sargs import clock
from sargs.app import create_app
from tests.channels.engine_helpers import public_orange, resident
from tests.live_server import LiveServer

FROM = "+37166000000"


@pytest.fixture
def sims() -> Iterator[tuple[Any, Any]]:
    with twilio_sim.TwilioSimulator(mode="test", delivery_delay=0.01) as sms, \
            telegram_sim.TelegramSimulator(mode="test") as bot:
        yield sms, bot


@pytest.fixture
def wired(settings, sims, frozen_clock) -> Iterator[tuple[Any, Any, Any, Any]]:
    """The app pointed at the simulators, serving Twilio's callbacks on a live port."""
    sms, bot = sims
    server = LiveServer()
    configured = settings.model_copy(update={
        "public_url": server.url,
        "twilio_api_url": sms.url, "twilio_account_sid": twilio_sim.ACCOUNT_SID,
        "twilio_auth_token": twilio_sim.AUTH_TOKEN, "twilio_from_number": FROM,
        "telegram_api_url": bot.url, "telegram_bot_token": telegram_sim.TOKEN,
    })
    from pydantic import SecretStr

    configured.twilio_auth_token = SecretStr(twilio_sim.AUTH_TOKEN)
    configured.telegram_bot_token = SecretStr(telegram_sim.TOKEN)
    app = create_app(configured)
    server.app = app
    adapters = build_adapters(configured)
    yield app, sms, bot, adapters
    for adapter in adapters.values():
        getattr(adapter, "close", lambda: None)()
    server.close()
    app.extensions["sargs"].engine.dispose()


def _ledger(session) -> dict[tuple[str, str], Delivery]:
    session.rollback()
    rows = {(d.channel, d.address): d for d in session.scalars(select(Delivery))}
    session.rollback()
    return rows


def test_residents_get_the_alert_in_their_language_and_the_ledger_agrees(wired, users):
    app, sms, bot, adapters = wired
    sessions = app.extensions["sargs"].sessionmaker
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with sessions() as db:
        resident(db, "Ilze", "+37120000401", telegram="4401")
        resident(db, "John", "+37120000402", language="en")
        resident(db, "Pēteris", "+37120000403")
        bot.add_chat(4401)
        alert = alerts.create_alert(db, public_orange(channels=["telegram", "sms"]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(adapters))
        db.commit()
        alert_id = alert.id

    drain(Dispatcher(sessions, adapters))
    assert sms.phones.wait_for(1, "+37120000402") and sms.phones.wait_for(1, "+37120000403")

    with sessions() as db:
        delivered = _wait_until(lambda: all(d.state == "delivered" for d in _ledger(db).values()))
        assert delivered, {k: (v.state, v.last_error) for k, v in _ledger(db).items()}
        rows = _ledger(db)
        assert set(rows) == {("telegram", "4401"), ("sms", "+37120000402"),
                             ("sms", "+37120000403")}
        assert [m["text"] for m in bot.chats.of(4401)] == [
            "Oranžais brīdinājums: stiprs vējš Jelgavā."]
        assert sms.phones.of("+37120000402")[0]["body"] == "Orange warning: strong wind in Jelgava."
        assert sms.phones.of("+37120000403")[0]["body"].startswith("Oranžais")
        for (channel, address), row in rows.items():
            if channel == "sms":
                assert row.provider_id == sms.phones.of(address)[0]["sid"]
    drain(Dispatcher(sessions, adapters))
    with sessions() as db:
        assert db.get(Alert, alert_id).state == "done"


def test_a_forged_status_callback_changes_nothing(wired):
    app, *_ = wired
    response = app.test_client().post("/channels/twilio/status/1", data={
        "MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403


def _wait_until(condition, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
