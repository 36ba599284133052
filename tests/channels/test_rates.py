"""Rate budgets: per channel and per Telegram chat, in one process or shared by
workers through Redis, always on the injected clock."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sargs.channels import alerts, rates
from sargs.channels.adapters import Outgoing
from sargs.channels.dispatcher import Dispatcher
from sargs.channels.models import Delivery
from sargs.settings import SettingsError, load_settings
from tests.channels.engine_helpers import commission_member, public_orange
from tests.channels.redis_server import test_redis  # noqa: F401  (a fixture)


class Recorder:
    delivered_on_send = True

    def __init__(self, channel: str, rate: float) -> None:
        self.channel = channel
        self.rate_per_second = rate
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return f"{self.channel}-{message.delivery_id}"

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        return provider_id


@pytest.fixture(params=["local", "redis"])
def make_budgets(request, frozen_clock):
    """Budgets of one worker; with "redis" every call shares one Redis budget."""
    if request.param == "local":
        return lambda rates_: rates.Budgets(rates_)
    shared = request.getfixturevalue("test_redis")
    return lambda rates_: rates.Budgets(rates_, redis=shared.client(), prefix=shared.prefix)


def test_a_channel_sends_no_more_than_its_rate_and_refills_with_the_clock(make_budgets,
                                                                          frozen_clock):
    budgets = make_budgets({"telegram": 30, "sms": 10})
    assert budgets.acquire("telegram", 100) == 30  # a full bucket: one second's burst
    assert budgets.acquire("telegram", 100) == 0
    assert budgets.acquire("sms", 100) == 10  # channels do not share
    frozen_clock.advance(seconds=0.5)
    assert budgets.acquire("telegram", 100) == 15
    frozen_clock.advance(seconds=3600)
    assert budgets.acquire("telegram", 100) == 30  # idle time does not pile up past the burst


def test_unused_tokens_go_back(make_budgets, frozen_clock):
    budgets = make_budgets({"sms": 10})
    granted = budgets.acquire("sms", 10)
    budgets.give_back("sms", granted - 4)  # only 4 rows were waiting
    assert budgets.acquire("sms", 100) == 6
    budgets.give_back("sms", 100)  # never past the burst
    assert budgets.acquire("sms", 100) == 10


def test_one_message_a_second_into_one_telegram_chat(make_budgets, frozen_clock):
    budgets = make_budgets({"telegram": 30, "sms": 10})
    assert budgets.admit("telegram", ["7001", "7002", "7001"]) == [True, True, False]
    assert budgets.admit("telegram", ["7001"]) == [False]
    assert budgets.admit("sms", ["+37120000001"] * 3) == [True, True, True]  # no per-number limit
    frozen_clock.advance(seconds=1)
    assert budgets.admit("telegram", ["7001", "7001"]) == [True, False]


def test_workers_sharing_redis_share_one_budget(test_redis, frozen_clock):  # noqa: F811
    workers = [rates.Budgets({"telegram": 30}, redis=test_redis.url, prefix=test_redis.prefix)
               for _ in range(4)]
    granted = 0
    for second in range(20):
        for _ in range(5):
            for worker in workers:
                granted += worker.acquire("telegram", 7)
            frozen_clock.advance(seconds=0.2)
        # four workers together never pass one bucket: the burst plus 30 a second
        assert granted <= 30 + 30 * (second + 1)
    assert granted >= 30 * 20  # and the budget is used, not lost between them
    chats = [w.admit("telegram", ["7001"])[0] for w in workers]
    assert chats.count(True) == 1  # the chat's one message a second is shared too


def test_a_worker_keeps_sending_when_redis_is_gone(frozen_clock):
    from sargs.channels.simulators.base import free_port

    budgets = rates.Budgets({"telegram": 30},
                            redis=f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.2")
    assert budgets.acquire("telegram", 100) == 30  # counted in this process meanwhile
    assert budgets.acquire("telegram", 100) == 0
    frozen_clock.advance(seconds=1)
    assert budgets.acquire("telegram", 100) == 30


def test_channel_rates_setting_names_the_variable_and_reason():
    assert load_settings(channel_rates="telegram=100, sms=20").channel_rates == {
        "telegram": 100.0, "sms": 20.0}
    with pytest.raises(SettingsError, match="SARGS_CHANNEL_RATES.*rate of sms must be a number"):
        load_settings(channel_rates="sms=fast")
    with pytest.raises(SettingsError, match="SARGS_CHANNEL_RATES.*expected channel=rate"):
        load_settings(channel_rates="fax=1")
    with pytest.raises(SettingsError, match="SARGS_CHANNEL_RATES.*above 0"):
        load_settings(channel_rates="voice=0")


def test_budgets_for_reads_the_setting_over_the_adapters_rate():
    settings = load_settings(channel_rates="telegram=100")
    budgets = rates.budgets_for({"telegram": Recorder("telegram", 30), "sms": Recorder("sms", 10)},
                                settings)
    assert budgets.rate("telegram") == 100 and budgets.rate("sms") == 10


def _staff_alert(db, users, name):
    db.commit()
    author = users.create(name, "operator")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]},
                                                  channels=["telegram"]), author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, {"telegram"})
    db.commit()
    return alert


def test_two_dispatchers_on_redis_send_within_one_budget(app, db, users, test_redis,  # noqa: F811
                                                         frozen_clock):
    for i in range(12):
        commission_member(db, f"Loceklis {i}", f"+3712000050{i:02d}", f"750{i:02d}")
    _staff_alert(db, users, "olga")
    sessions = app.extensions["sargs"].sessionmaker
    telegram = Recorder("telegram", rate=5)
    workers = [Dispatcher(sessions, {"telegram": telegram},
                          budgets=rates.Budgets({"telegram": 5}, redis=test_redis.url,
                                                prefix=test_redis.prefix))
               for _ in range(2)]
    for worker in workers:
        worker.run_once()
    assert len(telegram.sent) == 5  # not 5 each
    frozen_clock.advance(seconds=1)
    for worker in workers:
        worker.run_once()
    assert len(telegram.sent) == 10
    frozen_clock.advance(seconds=1)
    for worker in workers:
        worker.run_once()
    assert sorted(m.address for m in telegram.sent) == [f"750{i:02d}" for i in range(12)]


def test_a_second_alert_to_a_chat_waits_a_second(app, db, users, frozen_clock):
    for i in range(3):
        commission_member(db, f"Loceklis {i}", f"+3712000051{i}", f"751{i}")
    first = _staff_alert(db, users, "olga")
    second = _staff_alert(db, users, "ilze")
    telegram = Recorder("telegram", rate=30)
    dispatcher = Dispatcher(app.extensions["sargs"].sessionmaker, {"telegram": telegram})
    dispatcher.run_once()
    dispatcher.run_once()
    assert sorted(m.address for m in telegram.sent) == ["7510", "7511", "7512"]
    db.rollback()
    waiting = db.scalars(select(Delivery.state).where(Delivery.alert_id == second.id)).all()
    db.rollback()
    assert waiting == ["pending"] * 3
    frozen_clock.advance(seconds=1)
    dispatcher.run_once()
    assert len(telegram.sent) == 6
    by_chat = {}
    for message in telegram.sent:
        by_chat.setdefault(message.address, []).append(message.delivery_id)
    assert all(len(ids) == 2 for ids in by_chat.values())
    assert first.id != second.id
