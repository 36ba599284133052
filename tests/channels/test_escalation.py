"""The escalation chain on the injected clock: when nobody acknowledges, the
scheduler tick calls one person after another, N minutes apart, round after
round, and stops after K rounds or at once when someone acknowledges."""

from __future__ import annotations

from sargs.channels import acks, alerts
from sargs.channels.models import Alert
from tests.channels.acks_helpers import (
    COMMISSION,
    acknowledgements,
    add_commission,
    add_staff,
    calls_to,
    deliveries,
    delivery_to,
    history,
    send_due,
    sms_reply,
    start_alert,
    steps,
    tick,
)
from tests.channels.adapters_helpers import wait_until

ANNA, BRUNO, CAROL = COMMISSION
HEAD_PHONE = "+37120000810"
MINUTES = 5


def _chain(ids, contacts, rounds=2):
    return {"contacts": [ids[name] for name in contacts], "minutes": MINUTES,
            "rounds": rounds, "channels": ["voice"]}


def _calls(sim, phones):
    return {phone: calls_to(sim, phone) for phone in phones}


def _minutes(wiring, frozen_clock, minutes=MINUTES):
    """Time passes; the scheduler ticks; the dispatcher sends what the tick queued."""
    frozen_clock.advance(minutes=minutes)
    tick(wiring)
    send_due(wiring, frozen_clock)


def _state(wiring, alert_id):
    with wiring.sessions() as db:
        return db.get(Alert, alert_id).state


def test_nobody_answers_so_the_chain_climbs_round_after_round_then_stops(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    ids["Head"] = add_staff(wiring, "Head", [("voice", HEAD_PHONE)])
    phones = [ANNA.phone, BRUNO.phone, HEAD_PHONE]
    alert_id = start_alert(wiring, users, ["telegram"],
                           escalation=_chain(ids, ["Anna", "Bruno", "Head"]))
    send_due(wiring, frozen_clock)
    tick(wiring)
    # The fan-out reached the commission on Telegram; nobody is called yet.
    assert len(telegram.chats.of(ANNA.chat)) == 1
    assert _calls(sim, phones) == {ANNA.phone: 0, BRUNO.phone: 0, HEAD_PHONE: 0}

    frozen_clock.advance(minutes=MINUTES - 1)
    tick(wiring)
    send_due(wiring, frozen_clock)
    assert _calls(sim, phones) == {ANNA.phone: 0, BRUNO.phone: 0, HEAD_PHONE: 0}

    _minutes(wiring, frozen_clock, 1)  # N minutes after the fan-out: the first person
    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 0, HEAD_PHONE: 0}
    _minutes(wiring, frozen_clock)
    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 1, HEAD_PHONE: 0}
    _minutes(wiring, frozen_clock)  # the head, who was not in the alert's audience
    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 1, HEAD_PHONE: 1}
    _minutes(wiring, frozen_clock)  # round 2 starts again from the first
    assert _calls(sim, phones) == {ANNA.phone: 2, BRUNO.phone: 1, HEAD_PHONE: 1}
    _minutes(wiring, frozen_clock)
    _minutes(wiring, frozen_clock)
    assert _calls(sim, phones) == {ANNA.phone: 2, BRUNO.phone: 2, HEAD_PHONE: 2}
    for _ in range(3):  # after K rounds: nothing more
        _minutes(wiring, frozen_clock)
    assert _calls(sim, phones) == {ANNA.phone: 2, BRUNO.phone: 2, HEAD_PHONE: 2}
    assert wait_until(lambda: sim.phones.of(HEAD_PHONE) and len(sim.phones.of(ANNA.phone)) == 2)

    # Each try is its own ledger row with its round; the fan-out is round 0.
    assert sorted((d.channel, d.address, d.round) for d in deliveries(wiring, alert_id)
                  if d.channel == "voice") == sorted(
        ("voice", phone, r) for phone in phones for r in (1, 2))
    assert {d.round for d in deliveries(wiring, alert_id) if d.channel == "telegram"} == {0}
    assert all(state == "tried" for _r, _p, state in steps(wiring, alert_id))
    tries = [note for action, note in history(wiring, alert_id) if action == "escalation"]
    assert tries[0] == f"now trying contact #{ids['Anna']}, round 1 of 2, over voice"
    assert tries[3] == f"now trying contact #{ids['Anna']}, round 2 of 2, over voice"
    assert len(tries) == 6
    # The calls ask for key 1, and with every step tried and every call final the alert is done.
    assert "<Gather" in sim.phones.of(HEAD_PHONE)[0]["twiml"]
    assert wait_until(lambda: all(d.state == "delivered" for d in deliveries(wiring, alert_id)))
    send_due(wiring, frozen_clock)
    assert _state(wiring, alert_id) == "done"


def test_an_acknowledgement_stops_the_chain_at_once(wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    phones = [ANNA.phone, BRUNO.phone, CAROL.phone]
    alert_id = start_alert(wiring, users, ["telegram"],
                           escalation=_chain(ids, ["Anna", "Bruno", "Carol"], rounds=3))
    send_due(wiring, frozen_clock)
    _minutes(wiring, frozen_clock)
    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 0, CAROL.phone: 0}
    assert _state(wiring, alert_id) == "sending"  # the chain still climbs

    # Bruno's turn is queued by the tick, then Anna replies before it is sent.
    frozen_clock.advance(minutes=MINUTES)
    tick(wiring)
    assert "Paldies" in sms_reply(wiring, ANNA.phone, "1")
    send_due(wiring, frozen_clock)
    for _ in range(10):
        _minutes(wiring, frozen_clock)

    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 0, CAROL.phone: 0}
    bruno = delivery_to(wiring, alert_id, "voice", BRUNO.phone, round_=1)
    assert bruno.state == "cancelled"
    tried = [(r, p) for r, p, state in steps(wiring, alert_id) if state == "tried"]
    assert tried == [(1, 0), (1, 1)]
    assert {state for r, p, state in steps(wiring, alert_id) if (r, p) not in tried} == {
        "stopped"}
    acked, = acknowledgements(wiring, alert_id)
    assert (acked.contact_id, acked.via) == (ids["Anna"], "sms")
    actions = [action for action, _note in history(wiring, alert_id)]
    assert actions.count("escalation") == 2 and "escalation_stopped" in actions
    assert wait_until(lambda: delivery_to(wiring, alert_id, "voice", ANNA.phone, 1).state
                      == "delivered")
    send_due(wiring, frozen_clock)
    assert _state(wiring, alert_id) == "done"


def test_a_cancelled_alert_climbs_no_further(wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["telegram"], escalation=_chain(ids, ["Anna", "Bruno"]))
    send_due(wiring, frozen_clock)
    with wiring.sessions() as db:
        alerts.cancel(db, db.get(Alert, alert_id), None, "false alarm")
        db.commit()
    client = wiring.app.test_client()
    users.login(client, users.create("dace", "commission"))
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="escalation" data-state="stopped"' in page
    for _ in range(5):
        _minutes(wiring, frozen_clock)
    assert _calls(sim, [ANNA.phone, BRUNO.phone]) == {ANNA.phone: 0, BRUNO.phone: 0}
    assert {state for _r, _p, state in steps(wiring, alert_id)} == {"stopped"}


def test_the_alert_page_shows_who_acknowledged_and_who_is_being_tried(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    ids["Head"] = add_staff(wiring, "Head", [("voice", HEAD_PHONE)])
    alert_id = start_alert(wiring, users, ["telegram"],
                           escalation=_chain(ids, ["Anna", "Bruno", "Carol", "Head"]))
    send_due(wiring, frozen_clock)
    client = wiring.app.test_client()
    users.login(client, users.create("dace", "commission"))

    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="escalation" data-state="running"' in page
    assert f'data-testid="escalation-next" data-contact="{ids["Anna"]}"' in page
    # The head is in the chain but not tried yet: listed, with nothing to acknowledge on.
    head_row = page.split(f'data-contact="{ids["Head"]}" data-acknowledged="no"')[1]
    assert "ack-behalf" not in head_row.split("</tr>")[0]
    assert page.count('data-testid="ack-behalf"') == 3

    _minutes(wiring, frozen_clock)
    _minutes(wiring, frozen_clock)
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert f'data-testid="escalation-trying" data-contact="{ids["Bruno"]}"' in page
    assert "Bruno" in page.split('data-testid="escalation-trying"')[1].split("</p>")[0]
    assert f'data-testid="escalation-next" data-contact="{ids["Carol"]}"' in page

    # Carol presses the Telegram button of the fan-out.
    row = delivery_to(wiring, alert_id, "telegram", str(CAROL.chat))
    with wiring.sessions() as db:
        assert acks.acknowledge(db, delivery_id=row.id, via="telegram",
                                address=str(CAROL.chat)) is not None
        db.commit()
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="escalation" data-state="acknowledged"' in page
    assert f'data-contact="{ids["Carol"]}" data-acknowledged="yes"' in page
    assert f'data-contact="{ids["Anna"]}" data-acknowledged="no"' in page
    assert "Telegram" in page.split(f'data-contact="{ids["Carol"]}"')[1].split("</tr>")[0]


def test_the_commission_by_voice_and_telegram_until_key_1_on_a_chain_call(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    phones = [ANNA.phone, BRUNO.phone, CAROL.phone]
    alert_id = start_alert(wiring, users, ["telegram", "voice"],
                           escalation=_chain(ids, ["Bruno", "Anna"], rounds=3))
    send_due(wiring, frozen_clock)
    # The fan-out: each member's chat has the button and each phone rang once.
    assert all(telegram.chats.of(m.chat)[0]["reply_markup"] for m in COMMISSION)
    assert _calls(sim, phones) == {phone: 1 for phone in phones}
    assert wait_until(lambda: all(sim.phones.of(phone) for phone in phones))

    _minutes(wiring, frozen_clock)  # nobody answered: the chain calls Bruno again
    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 2, CAROL.phone: 1}
    assert wait_until(lambda: len(sim.phones.of(BRUNO.phone)) == 2)
    chain_call = delivery_to(wiring, alert_id, "voice", BRUNO.phone, round_=1)
    status, answer = sim.press(BRUNO.phone, "1")
    assert status == 200 and "Paldies" in answer
    for _ in range(6):
        _minutes(wiring, frozen_clock)

    assert _calls(sim, phones) == {ANNA.phone: 1, BRUNO.phone: 2, CAROL.phone: 1}
    acked, = acknowledgements(wiring, alert_id)
    assert (acked.contact_id, acked.via, acked.delivery_id) == (ids["Bruno"], "voice",
                                                                 chain_call.id)
