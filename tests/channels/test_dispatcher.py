"""The dispatcher's rules, with an adapter that records what it was handed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sargs.channels import alerts, ledger
from sargs.channels.adapters import Outgoing, PermanentError, RetryableError
from sargs.channels.dispatcher import Dispatcher, drain
from sargs.channels.models import Delivery
from tests.channels.engine_helpers import commission_member, public_orange, resident


class Recorder:
    """A channel that records messages; ``script`` maps an address to what to raise."""

    delivered_on_send = False

    def __init__(self, channel: str, rate: float = 1000) -> None:
        self.channel = channel
        self.rate_per_second = rate
        self.sent: list[Outgoing] = []
        self.script: dict[str, list[Exception]] = {}
        self.provider_has: dict[int, str | None] = {}

    def send(self, message: Outgoing) -> str:
        errors = self.script.get(message.address)
        if errors:
            raise errors.pop(0)
        self.sent.append(message)
        return f"{self.channel}-{message.delivery_id}"

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        if message.delivery_id not in self.provider_has:
            raise LookupError("the provider cannot tell")
        return self.provider_has[message.delivery_id]


def _staff_alert(db, users, level="orange"):
    db.commit()  # on SQLite the user is written by another session
    author = users.create(f"olga-{level}", "operator")
    alert = alerts.create_alert(db, public_orange(level=level, audience={"groups": ["commission"]}),
                                author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, {"telegram", "voice", "sms"})
    db.commit()
    return alert


def _dispatcher(app, *adapters):
    return Dispatcher(app.extensions["sargs"].sessionmaker, {a.channel: a for a in adapters})


def _state(db, address):
    db.rollback()
    state = db.scalar(select(Delivery.state).where(Delivery.address == address))
    db.rollback()  # on SQLite an open read holds the write lock the workers need
    return state


def test_everyone_is_sent_once_and_the_alert_is_done(app, db, users):
    for i in range(5):
        commission_member(db, f"Loceklis {i}", f"+3712000030{i}", f"730{i}")
    alert = _staff_alert(db, users)
    telegram, voice = Recorder("telegram"), Recorder("voice")
    drain(_dispatcher(app, telegram, voice))
    assert sorted(m.address for m in telegram.sent) == [f"730{i}" for i in range(5)]
    assert len(voice.sent) == 5
    db.rollback()
    db.refresh(alert)
    # sent is not final: the provider's callback makes it delivered; then the alert is done
    assert alert.state == "sending"
    for row in db.scalars(select(Delivery)):
        ledger.move(db, row.id, "delivered")
    assert alerts.finish_if_complete(db, alert)


def test_red_goes_before_orange_within_the_rate_budget(app, db, users, frozen_clock):
    for i in range(3):
        commission_member(db, f"Loceklis {i}", f"+3712000031{i}", f"731{i}")
    _staff_alert(db, users, "orange")
    _staff_alert(db, users, "red")
    telegram = Recorder("telegram", rate=3)
    dispatcher = _dispatcher(app, telegram)
    dispatcher.run_once()
    assert [m.level for m in telegram.sent] == ["red"] * 3
    dispatcher.run_once()  # no time has passed: the budget is spent
    assert len(telegram.sent) == 3
    frozen_clock.advance(seconds=1)
    dispatcher.run_once()
    assert [m.level for m in telegram.sent] == ["red"] * 3 + ["orange"] * 3


def test_retry_after_is_honoured(app, db, users, frozen_clock):
    commission_member(db, "Kārlis", "+37120000320", "7320")
    _staff_alert(db, users)
    telegram = Recorder("telegram")
    telegram.script["7320"] = [RetryableError("429 Too Many Requests", retry_after=40)]
    dispatcher = _dispatcher(app, telegram)
    dispatcher.run_once()
    assert _state(db, "7320") == "pending" and not telegram.sent
    frozen_clock.advance(seconds=39)
    dispatcher.run_once()
    assert not telegram.sent
    frozen_clock.advance(seconds=2)
    dispatcher.run_once()
    assert [m.address for m in telegram.sent] == ["7320"]


def test_a_blocked_bot_moves_the_resident_to_their_next_channel(app, db, users):
    author = users.create("olga", "operator")
    approver = users.create("karlis", "commission")
    resident(db, "Ilze", "+37120000330", telegram="7330")
    alert = alerts.create_alert(db, public_orange(audience={"public": {"areas": ["LV022"]}}),
                                author.id)
    alerts.submit(db, alert, author.id)
    from sargs import clock

    alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
    alerts.start_sending(db, alert, {"telegram", "sms"})
    db.commit()
    telegram, sms = Recorder("telegram"), Recorder("sms")
    telegram.script["7330"] = [PermanentError("403 Forbidden: bot was blocked by the user")]
    drain(_dispatcher(app, telegram, sms))
    assert _state(db, "7330") == "undeliverable"
    assert [m.address for m in sms.sent] == ["+37120000330"]


def test_a_crashed_claim_is_reconciled_before_any_resend(app, db, users, frozen_clock):
    for i in range(3):
        commission_member(db, f"Loceklis {i}", f"+3712000034{i}", f"734{i}")
    _staff_alert(db, users)
    telegram = Recorder("telegram")
    dispatcher = _dispatcher(app, telegram)
    dispatcher._claim()  # the worker claims the batch, then dies before sending
    db.rollback()
    ids = {row.address: row.id for row in db.scalars(select(Delivery).where(
        Delivery.channel == "telegram"))}
    db.rollback()
    telegram.provider_has = {ids["7340"]: "already-there", ids["7341"]: None}  # 7342: unknown
    frozen_clock.advance(seconds=31)
    drain(dispatcher)
    assert sorted(m.address for m in telegram.sent) == ["7341", "7342"]
    db.rollback()
    rows = {r.address: r for r in db.scalars(select(Delivery).where(Delivery.channel == "telegram"))}
    assert rows["7340"].provider_id == "already-there" and rows["7340"].state == "sent"
    assert rows["7342"].possibly_duplicated and not rows["7341"].possibly_duplicated


def test_nothing_is_sent_after_a_cancel(app, db, users):
    for i in range(4):
        commission_member(db, f"Loceklis {i}", f"+3712000035{i}", f"735{i}")
    alert = _staff_alert(db, users)
    alerts.cancel(db, alert, None, "kļūda")
    db.commit()
    telegram, voice = Recorder("telegram"), Recorder("voice")
    drain(_dispatcher(app, telegram, voice))
    assert not telegram.sent and not voice.sent


def test_an_expired_alert_is_not_sent(app, db, users, frozen_clock):
    from sargs import clock

    author = users.create("olga", "operator")
    commission_member(db, "Kārlis", "+37120000360", "7360")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]},
                                                  expires_at=clock.now() + timedelta(minutes=5)),
                                author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, {"telegram"})
    db.commit()
    frozen_clock.advance(minutes=6)
    telegram = Recorder("telegram")
    drain(_dispatcher(app, telegram))
    assert not telegram.sent and _state(db, "7360") == "expired"
