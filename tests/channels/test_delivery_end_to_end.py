"""An alert through the real channel adapters to the provider simulators:
what each phone and chat received equals what the ledger says."""

from __future__ import annotations

from sargs import clock
from sargs.channels import alerts
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert
from tests.channels.adapters_helpers import wait_until
from tests.channels.engine_helpers import public_orange, resident


def test_residents_get_the_alert_in_their_language_and_the_ledger_agrees(wiring, sim, telegram,
                                                                          users):
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with wiring.sessions() as db:
        resident(db, "Ilze", "+37120000401", telegram="4401")
        resident(db, "John", "+37120000402", language="en")
        resident(db, "Pēteris", "+37120000403")
        telegram.add_chat(4401)
        alert = alerts.create_alert(db, public_orange(channels=["telegram", "sms"]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        alert_id = alert.id

    drain(wiring.dispatcher())
    assert wait_until(lambda: all(d.state == "delivered" for d in wiring.rows().values())), \
        {address: (d.state, d.last_error) for address, d in wiring.rows().items()}
    rows = wiring.rows()
    assert {(d.channel, address) for address, d in rows.items()} == {
        ("telegram", "4401"), ("sms", "+37120000402"), ("sms", "+37120000403")}
    assert [m["text"] for m in telegram.chats.of(4401)] == [
        "Oranžais brīdinājums: stiprs vējš Jelgavā."]
    assert sim.phones.of("+37120000402")[0]["body"] == "Orange warning: strong wind in Jelgava."
    assert sim.phones.of("+37120000403")[0]["body"].startswith("Oranžais")
    for number in ("+37120000402", "+37120000403"):
        assert rows[number].provider_id == sim.phones.of(number)[0]["sid"]
    drain(wiring.dispatcher())
    with wiring.sessions() as db:
        assert db.get(Alert, alert_id).state == "done"


def test_a_forged_status_callback_changes_nothing(wiring):
    response = wiring.app.test_client().post("/channels/twilio/status/1", data={
        "MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
