"""Rate budgets: per channel and per Telegram chat, in one process or shared by
workers through Redis, always on the injected clock."""

from __future__ import annotations

import uuid
from collections import Counter
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import select

from sargs import clock
from sargs.app import create_app
from sargs.channels import alerts, rates, texts
from sargs.channels.adapters import Outgoing
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.dispatcher import Dispatcher
from sargs.channels.models import Delivery
from sargs.channels.simulators import twilio as twilio_sim
from sargs.channels.worker import build_adapters
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


SENDERS = ["+37166000001", "+37166000002", "+37166000003"]


def test_several_twilio_numbers_each_keep_their_own_budget(frozen_clock):
    settings = load_settings(twilio_from_number=", ".join(SENDERS))
    budgets = rates.budgets_for({"sms": Recorder("sms", 10), "voice": Recorder("voice", 1)},
                                settings)
    assert budgets.rate("sms") == 30 and budgets.rate("voice") == 3  # three numbers together
    phones = [f"+3712100{i:04d}" for i in range(90)]
    granted = budgets.acquire("sms", len(phones))
    admitted = budgets.admit("sms", phones[:granted])
    by_sender = Counter(rates.pick_sender(p, SENDERS) for p, ok in zip(phones, admitted,
                                                                      strict=False) if ok)
    assert set(by_sender) == set(SENDERS)  # spread over every number …
    assert max(by_sender.values()) <= 10  # … none past its own 10 a second
    assert rates.pick_sender(phones[0], SENDERS) == rates.pick_sender(phones[0], SENDERS)


def test_sms_leave_from_the_recipients_number_within_each_numbers_rate(settings, users,
                                                                        frozen_clock):
    with twilio_sim.TwilioSimulator(mode="test", segments_per_second=10_000,
                                    delivery_delay=0.01) as twilio:
        configured = settings.model_copy(update={
            "public_url": "http://127.0.0.1:9", "twilio_api_url": twilio.url,
            "twilio_account_sid": twilio.account_sid, "twilio_from_number": ",".join(SENDERS)})
        configured.twilio_auth_token = SecretStr(twilio.auth_token)
        app = create_app(configured)
        adapters = build_adapters(configured)
        sessions = app.extensions["sargs"].sessionmaker
        author = users.create("olga", "operator")
        with sessions() as db:
            group = ensure_group(db, "commission", "Civilās aizsardzības komisija", "staff")
            for i in range(90):
                add_to_group(db, group, register_contact(db, f"L {i}", [("sms", f"+3712200{i:04d}")]))
            alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]},
                                                          channels=["sms"]), author.id)
            alerts.submit(db, alert, author.id)
            alerts.start_sending(db, alert, {"sms"})
            db.commit()
        dispatcher = Dispatcher(sessions, adapters, budgets=rates.budgets_for(adapters, configured))
        try:
            for _ in range(60):
                dispatcher.run_once()
                frozen_clock.advance(seconds=0.25)
        finally:
            dispatcher.close()
            for adapter in adapters.values():
                getattr(adapter, "close", lambda: None)()
            app.extensions["sargs"].engine.dispose()
        messages = twilio.messages()
    assert sorted(m["to"] for m in messages) == [f"+3712200{i:04d}" for i in range(90)]
    assert all(m["from"] == rates.pick_sender(m["to"], SENDERS) for m in messages)
    for sender in SENDERS:  # per second of the frozen clock: a burst of 10, then 10 a second
        seconds = Counter(parsedate_to_datetime(m["date_created"]) for m in messages
                          if m["from"] == sender)
        assert seconds and max(seconds.values()) <= 20, (sender, seconds)
        assert sum(seconds.values()) <= 10 + 10 * (max(seconds) - min(seconds)).total_seconds() + 10


def test_the_estimate_and_the_budgets_use_the_same_rates():
    settings = load_settings(twilio_from_number=",".join(SENDERS), channel_rates="telegram=100")
    assert rates.configured_rate("sms", settings) == 30  # three numbers
    assert rates.configured_rate("telegram", settings) == 100  # the setting
    assert rates.configured_rate("email", settings) == rates.RATES["email"]
    assert rates.seconds_to_reach("sms", 300, rate=rates.configured_rate("sms", settings)) == 10


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.sampled_from([1.0, 3.0, 10.0, 30.0]),
       steps=st.lists(st.tuples(st.sampled_from(["take", "back", "wait"]),
                                st.integers(0, 50), st.floats(0, 2.5)), max_size=40))
def test_a_bucket_never_grants_more_than_its_burst_and_rate(make_budgets, frozen_clock, rate,
                                                            steps):
    budgets = make_budgets({"sms": rate})
    channel_key = f"sms-{uuid.uuid4().hex}"
    budgets.channels[channel_key] = budgets._bucket(channel_key, rate)
    start, granted, outstanding = clock.now(), 0, 0
    for action, count, seconds in steps:
        if action == "take":
            got = budgets.acquire(channel_key, count)
            assert 0 <= got <= count
            granted += got
            outstanding += got
        elif action == "back":
            back = min(count, outstanding)
            budgets.give_back(channel_key, back)
            granted -= back
            outstanding -= back
        else:
            frozen_clock.advance(seconds=seconds)
        elapsed = (clock.now() - start).total_seconds()
        assert granted <= max(rate, 1) + rate * elapsed + 1e-6


def test_a_long_sms_costs_one_unit_a_segment(app, db, users, frozen_clock):
    long_lv = "Sarkanais brīdinājums: vētra Jelgavā. " * 4  # UCS-2, 3 segments
    assert texts.sms_segments(long_lv)[0] == 3
    for i in range(30):
        add_to_group(db, ensure_group(db, "commission", "Komisija", "staff"),
                     register_contact(db, f"L {i}", [("sms", f"+3712300{i:04d}")]))
    db.commit()
    author = users.create("olga", "operator")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]},
                                                  channels=["sms"], texts={"lv": long_lv}),
                                author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, {"sms"})
    db.commit()
    sms = Recorder("sms", rate=10)
    dispatcher = Dispatcher(app.extensions["sargs"].sessionmaker, {"sms": sms})
    sent_by_second = []
    try:
        for _ in range(6):
            before = len(sms.sent)
            dispatcher.run_once()
            sent_by_second.append(len(sms.sent) - before)
            frozen_clock.advance(seconds=1)
    finally:
        dispatcher.close()
    # 10 segments a second: a burst of 10 messages (30 segments, a debt of 20), then
    # nothing until the debt is paid, then about 10 / 3 messages a second.
    assert sum(sent_by_second) * 3 <= 10 + 10 * 6
    assert sent_by_second[0] == 10 and sent_by_second[1] == 0
