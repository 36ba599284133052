"""Real ``sargs worker`` processes against the simulators: ``kill -9`` in the
middle of a fan-out, and four workers sharing one PostgreSQL ledger.

What the simulators received is compared with the ledger: no row lost, no row
that the ledger had recorded as sent sent again, and the rows a kill left
ambiguous (claimed, outcome unknown) at most the worker's concurrency.
Telegram cannot say what a bot sent, so those rows are resent and flagged
``possibly_duplicated``; Twilio is asked (by recipient and text), so an SMS is
never sent twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sargs.app import create_app
from sargs.auth import service as auth
from sargs.channels import alerts
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.simulators.telegram import TelegramSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from tests.channels.engine_helpers import public_orange
from tests.channels.redis_server import test_redis  # noqa: F401  (a fixture)
from tests.channels.worker_process import (
    WorkerProcess,
    compare,
    open_rows,
    telegram_received,
    twilio_received,
    wait_for,
    worker_environment,
)

MEMBERS = 1000  # each on Telegram and SMS: 2 000 deliveries
CONCURRENCY = 16


@pytest.fixture
def simulators() -> Iterator[tuple[TelegramSimulator, TwilioSimulator]]:
    with TelegramSimulator(mode="test") as telegram, \
            TwilioSimulator(mode="test", segments_per_second=100_000, delivery_delay=0.01) as twilio:
        yield telegram, twilio


@pytest.fixture
def sessions(settings) -> Iterator[Any]:
    app = create_app(settings)
    yield app.extensions["sargs"].sessionmaker
    app.extensions["sargs"].engine.dispose()


def fan_out(sessions: Any, members: int, channels: list[str]) -> int:
    """``members`` commission members on Telegram and SMS, and a staff alert to them all."""
    with sessions() as db:
        author = auth.create_user(db, "olga", "correct-horse-battery", ["operator"])
        group = ensure_group(db, "commission", "Civilās aizsardzības komisija", "staff")
        for i in range(members):
            member = register_contact(db, f"Loceklis {i}", [("telegram", str(880000 + i)),
                                                            ("sms", f"+3712{i:07d}")])
            add_to_group(db, group, member)
        db.flush()
        draft = public_orange(audience={"groups": ["commission"]}, channels=channels)
        alert = alerts.create_alert(db, draft, author.id)
        alerts.submit(db, alert, author.id)
        alerts.start_sending(db, alert, set(channels))
        db.commit()
        return alert.id


def test_kill_9_mid_fan_out_loses_nothing_and_resends_only_what_was_in_hand(
        settings, sessions, simulators, tmp_path):
    telegram, twilio = simulators
    alert_id = fan_out(sessions, MEMBERS, ["telegram", "sms"])
    env = worker_environment(settings, telegram=telegram, twilio=twilio, concurrency=CONCURRENCY)

    first = WorkerProcess(env, tmp_path / "first")
    try:
        wait_for(lambda: len(telegram.sends) + len(twilio.messages()) >= 400, 40,
                 "some hundreds of sends", [first])
    finally:
        first.kill()
    received_before = len(telegram.sends) + len(twilio.messages())
    assert received_before < 2 * MEMBERS, "the worker finished before it could be killed"

    second = WorkerProcess(env, tmp_path / "second")
    try:
        wait_for(lambda: open_rows(sessions, alert_id) == 0, 45, "every row sent", [second])
    finally:
        stopped = second.stop()
    assert stopped == 0, second.output()  # SIGTERM ends a worker cleanly

    by_telegram = compare(sessions, alert_id, "telegram", telegram_received(telegram))
    by_sms = compare(sessions, alert_id, "sms", twilio_received(twilio))
    for seen in (by_telegram, by_sms):
        assert seen.rows == MEMBERS
        assert seen.lost == []
        assert seen.unflagged_duplicates == []
    assert by_telegram.states == {"delivered": MEMBERS}
    assert len(by_telegram.flagged) <= CONCURRENCY  # only what the killed worker had in hand
    # Twilio's callbacks go nowhere here, so SMS rows stay "sent"; none went twice.
    assert by_sms.states == {"sent": MEMBERS}
    assert by_sms.twice == [] and not by_sms.flagged
    print(f"\nkilled after {received_before} sends; Telegram rows resent as possibly "
          f"duplicated: {len(by_telegram.flagged)}, received twice: {len(by_telegram.twice)}")


@pytest.mark.postgres
def test_four_workers_on_one_ledger_send_every_address_once_within_one_budget(
        settings, sessions, simulators, tmp_path, test_redis):  # noqa: F811
    telegram, twilio = simulators
    members = 1000
    alert_id = fan_out(sessions, members, ["telegram", "sms"])
    rate = 100  # a second, shared by the four workers through Redis
    env = worker_environment(settings, telegram=telegram, twilio=twilio, concurrency=CONCURRENCY,
                             channel_rates=f"telegram={rate},sms=5000", redis_url=test_redis.url)
    workers = [WorkerProcess(env, tmp_path / f"w{n}") for n in range(4)]
    try:
        wait_for(lambda: open_rows(sessions, alert_id) == 0, 50, "every row sent", workers)
    finally:
        for worker in workers:
            worker.stop()

    for channel, received in (("telegram", telegram_received(telegram)),
                              ("sms", twilio_received(twilio))):
        seen = compare(sessions, alert_id, channel, received)
        assert seen.rows == members
        assert seen.lost == [] and seen.twice == [] and not seen.flagged
        assert sorted(seen.received.values()) == [1] * members
    # One budget for all four: a burst of one second's worth, then the rate (with room for
    # the time between taking a token and the simulator counting the send); four budgets
    # of their own reach nearly 300 here.
    busiest = telegram.max_sends(window=1.0)
    times = sorted(entry["monotonic"] for _, entry in telegram.sends.all())
    span = times[-1] - times[0]
    print(f"\nTelegram: {members} sends in {span:.1f} s, at most {busiest} in any second, "
          f"at a shared budget of {rate}/s")
    assert busiest <= rate + rate * 1.5
    # Together no faster than the budget refills after its first burst.
    assert span >= (members - rate) / rate * 0.95
