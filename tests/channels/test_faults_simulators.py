"""Every fault the provider simulators can play, through the real adapters and
the dispatcher on the frozen clock: after recovery everyone has the alert
exactly once, and no channel went faster than its rate budget (measured on the
injected clock, which the simulators stamp on what they receive)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sargs import clock
from sargs.channels import alerts
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Delivery
from sargs.channels.rates import RATES
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators import twilio as twilio_sim
from tests.channels.adapters_helpers import Wired, wait_until, wired
from tests.channels.engine_helpers import public_orange
from tests.channels.worker_process import compare, open_rows, telegram_received

STEP_S = 0.2  # the frozen clock moves this much between dispatch rounds
MEMBERS = {"telegram": 150, "sms": 60}


@pytest.fixture
def telegram() -> Iterator[Any]:
    with telegram_sim.TelegramSimulator(mode="test") as bot:
        yield bot


@pytest.fixture
def twilio() -> Iterator[Any]:
    with twilio_sim.TwilioSimulator(mode="test", segments_per_second=10_000,
                                    delivery_delay=0.01) as sim:
        yield sim


@pytest.fixture
def wiring(settings, twilio, telegram, frozen_clock) -> Iterator[Wired]:
    with wired(settings, twilio=twilio, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram.token)) as wiring:
        yield wiring


def _members(wiring: Wired, users: Any, channel: str, count: int) -> int:
    author = users.create("olga", "operator")
    with wiring.sessions() as db:
        group = ensure_group(db, "commission", "Civilās aizsardzības komisija", "staff")
        for i in range(count):
            address = str(900000 + i) if channel == "telegram" else f"+3712900{i:04d}"
            add_to_group(db, group, register_contact(db, f"Loceklis {i}", [(channel, address)]))
        alert = alerts.create_alert(
            db, public_orange(audience={"groups": ["commission"]}, channels=[channel]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        return alert.id


def _dispatch_until_sent(wiring: Wired, frozen: clock.FrozenClock, alert_id: int,
                         limit: timedelta = timedelta(minutes=15)) -> timedelta:
    """Dispatch rounds on the frozen clock until no row waits; the frozen time it took."""
    dispatcher = wiring.dispatcher()
    start = clock.now()
    try:
        while clock.now() - start < limit:
            claimed = dispatcher.run_once()
            if open_rows(wiring.sessions, alert_id) == 0:
                return clock.now() - start
            frozen.advance(seconds=STEP_S if claimed else 1)  # back-offs pass in whole seconds
    finally:
        dispatcher.close()
    raise AssertionError(f"rows still open after {limit} of frozen time: "
                         f"{Counter(d.state for d in wiring.rows().values())}")


def _most_in_a_second(moments: list[Any]) -> int:
    times = sorted(moments)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= timedelta(seconds=1):
            start += 1
        best = max(best, end - start + 1)
    return best


def _within_budget(channel: str, moments: list[Any]) -> None:
    # A token bucket allows its burst (one second's worth) plus the rate in any second.
    rate = RATES[channel]
    assert _most_in_a_second(moments) <= 2 * rate, (channel, _most_in_a_second(moments))
    span = (max(moments) - min(moments)).total_seconds()
    assert len(moments) <= rate + rate * (span + STEP_S), (channel, len(moments), span)


TELEGRAM_FAULTS = [
    ("429", {"count": 25, "retry_after": 20}),  # longer than the first back-off (5 s)
    ("500", {"count": 20}),
    ("502", {"count": 20}),
    ("slow", {"count": 5, "seconds": 0.5}),
    ("hang", {"count": 2, "seconds": 15}),  # longer than the adapter's read timeout
    ("drop", {"count": 10}),
]


@pytest.mark.parametrize(("fault", "params"), TELEGRAM_FAULTS, ids=[f for f, _ in TELEGRAM_FAULTS])
def test_telegram_fault_everyone_gets_the_alert_once_within_budget(
        wiring, users, telegram, frozen_clock, fault, params):
    alert_id = _members(wiring, users, "telegram", MEMBERS["telegram"])
    telegram.fault(fault, on=("sendMessage",), **params)
    took = _dispatch_until_sent(wiring, frozen_clock, alert_id)

    seen = compare(wiring.sessions, alert_id, "telegram", telegram_received(telegram))
    assert seen.lost == [] and seen.twice == []
    # A send that timed out may have arrived: its resend is flagged as possibly duplicated.
    assert len(seen.flagged) == (params["count"] if fault == "hang" else 0)
    assert seen.states == {"delivered": MEMBERS["telegram"]}
    assert sorted(seen.received.values()) == [1] * MEMBERS["telegram"]
    _within_budget("telegram", [entry["at"] for _, entry in telegram.chats.all()])
    if fault == "429":  # nobody was sent to again before Telegram's Retry-After passed
        assert took >= timedelta(seconds=params["retry_after"])


TWILIO_FAULTS = [
    ("429", {"count": 25}),
    ("500", {"count": 10}),
    ("502", {"count": 10}),
    ("503", {"count": 10}),
    ("slow", {"count": 5, "seconds": 0.5}),
    ("hang", {"count": 2, "seconds": 15}),  # longer than the Twilio client's timeout
    ("drop", {"count": 10}),
    ("duplicate_callbacks", {"count": 30}),
    ("out_of_order_callbacks", {"count": 30}),
]


@pytest.mark.parametrize(("fault", "params"), TWILIO_FAULTS, ids=[f for f, _ in TWILIO_FAULTS])
def test_twilio_fault_every_phone_gets_one_sms_within_budget(
        wiring, users, twilio, frozen_clock, fault, params):
    alert_id = _members(wiring, users, "sms", MEMBERS["sms"])
    on = {} if fault.endswith("callbacks") else {"on": ("Messages",)}
    twilio.fault(fault, **on, **params)
    _dispatch_until_sent(wiring, frozen_clock, alert_id)

    # The status callbacks (signed, possibly twice or out of order) make every row delivered.
    def delivered() -> bool:
        with wiring.sessions() as db:
            states = db.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id)).all()
            db.rollback()
        return states == ["delivered"] * MEMBERS["sms"]

    assert wait_until(delivered), Counter(d.state for d in wiring.rows().values())
    received = [number for number, entry in twilio.phones.all() if entry["kind"] == "sms"]
    seen = compare(wiring.sessions, alert_id, "sms", received)
    assert seen.lost == [] and seen.twice == [] and not seen.flagged
    assert sorted(seen.received.values()) == [1] * MEMBERS["sms"]
    assert len(twilio.messages()) == MEMBERS["sms"]  # none created twice, either
    rows = wiring.rows()
    assert all(rows[m["to"]].provider_id == m["sid"] for m in twilio.messages())
    _within_budget("sms", [parsedate_to_datetime(m["date_created"]) for m in twilio.messages()])


@pytest.mark.parametrize("provider", ["telegram", "twilio"])
def test_an_answer_slower_than_the_timeout_is_checked_before_any_resend(
        wiring, users, telegram, twilio, frozen_clock, provider):
    """The provider took the message but answered after the adapter gave up: a blind
    resend would tell those people twice. Twilio is asked; Telegram cannot be, so
    its resends are flagged as possibly duplicated."""
    channel = "telegram" if provider == "telegram" else "sms"
    simulator = telegram if provider == "telegram" else twilio
    alert_id = _members(wiring, users, channel, 20)
    simulator.fault("slow", count=3, seconds=12,  # past the adapters' 10 s read timeout
                    on=("sendMessage",) if provider == "telegram" else ("Messages",))
    slow_ones_done = time.monotonic() + 12.5
    dispatcher = wiring.dispatcher()
    try:
        dispatcher.run_once()  # three sends give up after 10 s …
    finally:
        dispatcher.close()
    time.sleep(max(0.0, slow_ones_done - time.monotonic()))  # … the provider takes them at 12 s
    _dispatch_until_sent(wiring, frozen_clock, alert_id)
    received = (telegram_received(telegram) if provider == "telegram"
                else [m["to"] for m in twilio.messages()])
    seen = compare(wiring.sessions, alert_id, channel, received)
    assert seen.lost == []
    assert seen.unflagged_duplicates == []
    if provider == "twilio":
        assert seen.twice == [] and not seen.flagged
    else:
        assert len(seen.flagged) == 3


def test_a_blocked_chat_gets_the_alert_by_sms_instead(wiring, users, telegram, twilio,
                                                      frozen_clock):
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    residents = 40
    with wiring.sessions() as db:
        for i in range(residents):
            register_contact(db, f"Iedzīvotājs {i}",
                             [("telegram", str(910000 + i)), ("sms", f"+3712910{i:04d}")],
                             areas=["LV022"], levels=["orange", "red"], public_subscriber=True)
        alert = alerts.create_alert(db, public_orange(channels=["telegram", "sms"],
                                                      audience={"public": {"areas": ["LV022"]}}),
                                    author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        alert_id = alert.id
    blocked = {910000 + i for i in range(0, residents, 4)}
    for chat in blocked:
        telegram.add_chat(chat)
        telegram.user_blocks(chat)
    _dispatch_until_sent(wiring, frozen_clock, alert_id)

    chats = Counter(int(a) for a in telegram_received(telegram))
    assert set(chats) == {910000 + i for i in range(residents)} - blocked
    assert sorted(chats.values()) == [1] * (residents - len(blocked))
    assert wait_until(lambda: len(twilio.phones) == len(blocked))
    phones = Counter(number for number, _ in twilio.phones.all())
    assert sorted(phones.values()) == [1] * len(blocked)
    assert set(phones) == {f"+3712910{c - 910000:04d}" for c in blocked}
    rows = wiring.rows()
    assert all(rows[str(c)].state == "undeliverable" for c in blocked)
    assert all("403" in (rows[str(c)].last_error or "") for c in blocked)
