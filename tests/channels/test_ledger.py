"""The delivery ledger: held when a channel has no credentials, never backwards,
a cancel stops what is not yet sent, the alert is done when every row is final."""

from __future__ import annotations

from sqlalchemy import select

from sargs.channels import alerts, ledger
from sargs.channels.models import Delivery
from tests.channels.engine_helpers import commission_member, public_orange


def _sending(db, users, configured):
    author = users.create("olga", "operator")
    commission_member(db, "Kārlis", "+37120000021", "7021")
    commission_member(db, "Anna", "+37120000022", "7022")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]}), author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, configured)
    db.commit()
    return alert


def _states(db):
    return {(d.channel, d.address): (d.state, d.hold_reason) for d in db.scalars(select(Delivery))}


def test_a_channel_without_credentials_holds_its_rows_visibly(db, users):
    _sending(db, users, configured={"telegram"})
    states = _states(db)
    assert states[("telegram", "7021")] == ("pending", None)
    assert states[("voice", "+37120000021")] == ("held", "channel_not_configured")


def test_states_never_move_backwards(db, users):
    _sending(db, users, configured={"telegram", "voice"})
    row = db.scalar(select(Delivery).where(Delivery.address == "7021"))
    assert ledger.move(db, row.id, "claimed")
    assert ledger.move(db, row.id, "sent", provider_id="m1")
    assert ledger.move(db, row.id, "delivered")
    # a late "sent" callback, a repeated "delivered", a retry: all change nothing
    assert not ledger.move(db, row.id, "sent")
    assert not ledger.move(db, row.id, "delivered")
    assert not ledger.move(db, row.id, "pending")
    db.commit()
    db.refresh(row)
    assert row.state == "delivered" and row.provider_id == "m1" and row.delivered_at is not None


def test_cancel_stops_everything_not_yet_sent(db, users):
    alert = _sending(db, users, configured={"telegram", "voice"})
    sent = db.scalar(select(Delivery).where(Delivery.address == "7021"))
    ledger.move(db, sent.id, "claimed")
    ledger.move(db, sent.id, "sent")
    assert alerts.cancel(db, alert, None, "kļūdains paziņojums") == 3
    db.commit()
    states = {state for state, _ in _states(db).values()}
    assert states == {"sent", "cancelled"}
    assert alert.state == "cancelled"


def test_the_alert_is_done_when_every_row_is_final(db, users):
    alert = _sending(db, users, configured={"telegram", "voice"})
    rows = sorted(db.scalars(select(Delivery)), key=lambda d: d.address == "7022")
    for row in rows[:-1]:
        ledger.move(db, row.id, "claimed")
        ledger.move(db, row.id, "delivered")
    assert not alerts.finish_if_complete(db, alert)
    ledger.move(db, rows[-1].id, "undeliverable", last_error="21610 unsubscribed")
    assert alerts.finish_if_complete(db, alert)
    assert alert.state == "done"
    assert ledger.progress(db, alert.id) == {"voice": {"delivered": 2},
                                             "telegram": {"delivered": 1, "undeliverable": 1}}


def test_health_shows_what_waits_for_a_channel_without_credentials(db, users, client):
    _sending(db, users, configured={"telegram"})
    channels = client.get("/healthz").get_json()["channels"]
    assert channels["voice"] == {"configured": False, "waiting": 2}
    assert channels["telegram"]["waiting"] == 0
