"""A worker sends a whole batch at once: each outcome in the batch is its own —
the chats that work get the alert once, a blocked chat falls back to SMS, and
a batch larger than the worker's concurrency is sent in several rounds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from sargs import clock
from sargs.channels import alerts
from sargs.channels.dispatcher import Dispatcher, drain
from sargs.channels.simulators import telegram as telegram_sim
from tests.channels.adapters_helpers import Wired, wait_until, wired
from tests.channels.engine_helpers import public_orange, resident

RESIDENTS = 40


@pytest.fixture
def wiring(settings, sim, telegram, frozen_clock) -> Iterator[Wired]:
    with wired(settings, twilio=sim, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN), worker_concurrency=8) as wiring:
        yield wiring


def test_a_batch_keeps_each_outcome_apart(wiring, sim, telegram, users, frozen_clock):
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    chats = [9100 + i for i in range(RESIDENTS)]
    blocked = chats[7]
    with wiring.sessions() as db:
        for i, chat in enumerate(chats):
            resident(db, f"Iedzīvotājs {i}", f"+371200091{i:02d}", telegram=str(chat))
        alert = alerts.create_alert(db, public_orange(channels=["telegram", "sms"]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
    for chat in chats:
        telegram.add_chat(chat)
    telegram.user_blocks(blocked)

    dispatcher = Dispatcher(wiring.sessions, wiring.adapters, concurrency=8)
    assert dispatcher.run_once() == 8  # one round claims no more than the concurrency
    for _ in range(5):  # Telegram's budget (30 a second) refills as the clock moves
        drain(dispatcher)
        frozen_clock.advance(seconds=1)
    received = Counter(address for address, entry in telegram.sends.all())
    assert received == Counter({str(chat): 1 for chat in chats if chat != blocked})
    blocked_phone = "+37120009107"
    assert wait_until(lambda: wiring.rows()[blocked_phone].state == "delivered"), \
        wiring.rows()[blocked_phone].state
    rows = wiring.rows()
    assert rows[str(blocked)].state == "undeliverable"
    assert rows[str(blocked)].last_error.startswith("Telegram 403")
    assert [m["body"] for m in sim.phones.of(blocked_phone)] == [
        "Oranžais brīdinājums: stiprs vējš Jelgavā."]
    assert all(rows[str(chat)].state == "delivered" for chat in chats if chat != blocked)
    assert all(rows[str(chat)].provider_id for chat in chats if chat != blocked)
