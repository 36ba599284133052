"""The notification engine end to end, as the commission uses it: one manual
orange alert, approved by a second person, reaches residents over Telegram
and SMS in their language, the commission by voice and Telegram asking for an
acknowledgement (the chain climbs while nobody answers, on the injected
clock), and institutions by PBX paging and SIP. What every simulator
received equals what the ledger says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from sargs import clock
from sargs.channels import alerts
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators.ami import AmiSimulator
from tests.channels.acks_helpers import (
    acknowledgements,
    calls_to,
    deliveries,
    history,
    send_due,
    steps,
    tick,
)
from tests.channels.adapters_helpers import Wired, wait_until, wired
from tests.channels.engine_helpers import commission_member, public_orange, resident

LV = "Oranžais brīdinājums: stiprs vējš Jelgavā."
EN = "Orange warning: strong wind in Jelgava."
CHAIN_MINUTES = 5


@pytest.fixture
def pbx() -> Iterator[Any]:
    with AmiSimulator(mode="test", answer_delay=0.01) as server:
        yield server


@pytest.fixture
def everything(settings, sim, telegram, pbx, phones, frozen_clock) -> Iterator[tuple[Wired, Any]]:
    """Every channel configured, each pointed at its simulator (SIPp for SIP)."""
    sip_phone = phones("answer")
    with wired(settings, twilio=sim, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN), ami_url=pbx.url,
               sip_proxy=sip_phone.address) as wiring:
        yield wiring, sip_phone


def _people(wiring: Wired, telegram: Any) -> dict[str, int]:
    with wiring.sessions() as db:
        resident(db, "Ilze", "+37120000901", telegram="9901")
        resident(db, "John", "+37120000902", language="en")
        resident(db, "Rīgas Pēteris", "+37120000903", areas=("LV011",))  # another area
        anna = commission_member(db, "Anna", "+37120000911", "9911")
        bruno = commission_member(db, "Bruno", "+37120000912", "9912")
        institutions = ensure_group(db, "iestades", "Pašvaldības iestādes", "paging")
        for name, channel, extension in (("4. vidusskola", "pbx", "7004"),
                                         ("Zinātniskā bibliotēka", "sip", "7005")):
            add_to_group(db, institutions, register_contact(db, name, [(channel, extension)],
                                                            kind="institution"))
        db.commit()
        for chat in (9901, 9911, 9912):
            telegram.add_chat(chat)
        return {"Anna": anna.id, "Bruno": bruno.id}


def _approved_and_sent(wiring: Wired, users: Any, chain: list[int]) -> int:
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with wiring.sessions() as db:
        draft = public_orange(
            texts={"lv": LV, "en": EN},
            audience={"public": {"areas": ["LV022"]}, "groups": ["commission", "iestades"]},
            channels=["telegram", "sms", "voice", "pbx", "sip"], ack_required=True,
            escalation={"contacts": chain, "minutes": CHAIN_MINUTES, "rounds": 1,
                        "channels": ["voice"]})
        alert = alerts.create_alert(db, draft, author.id)
        alerts.submit(db, alert, author.id)
        assert alert.state == "awaiting_approval"  # a public Actual alert waits for a second person
        with pytest.raises(alerts.AlertError):
            alerts.approve(db, alert, author.id, {"operator"}, clock.now())
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        return alert.id


def _buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def test_one_approved_alert_reaches_residents_commission_and_institutions_and_the_chain_climbs(
        everything, sim, telegram, pbx, users, frozen_clock):
    wiring, sip_phone = everything
    ids = _people(wiring, telegram)
    alert_id = _approved_and_sent(wiring, users, [ids["Anna"], ids["Bruno"]])

    send_due(wiring, frozen_clock)
    assert sip_phone.finished() == 0
    assert wait_until(lambda: all(d.state == "delivered" for d in deliveries(wiring, alert_id))), \
        [(d.channel, d.address, d.state, d.last_error) for d in deliveries(wiring, alert_id)]

    # The ledger: residents of the city on their first channel, staff on every one.
    ledger = {(d.channel, d.address) for d in deliveries(wiring, alert_id)}
    assert ledger == {
        ("telegram", "9901"), ("sms", "+37120000902"),
        ("voice", "+37120000911"), ("telegram", "9911"),
        ("voice", "+37120000912"), ("telegram", "9912"),
        ("pbx", "7004"), ("sip", "7005"),
    }
    # What the simulators received is exactly that, in each person's language.
    received = {("telegram", str(chat)) for chat in (9901, 9911, 9912) if telegram.chats.of(chat)}
    received |= {("sms", m["to"]) for m in sim.messages()}
    received |= {("voice", c["to"]) for c in sim.calls()}
    received |= {("pbx", extension) for extension in ("7004",) if pbx.calls.of(extension)}
    received |= {("sip", "7005") for _ in sip_phone.received("INVITE")}
    assert received == ledger
    assert [m["text"] for m in telegram.chats.of(9901)] == [LV]
    assert sim.phones.of("+37120000902")[0]["body"] == EN
    assert not sim.phones.of("+37120000903")  # Rīga is not Jelgava
    # Staff are asked to acknowledge; residents are not.
    assert _buttons(telegram.chats.of(9911)[0]) == ["Apstiprināt ✅"]
    assert _buttons(telegram.chats.of(9901)[0]) == []
    assert "Gather" in sim.phones.of("+37120000911")[0]["twiml"]

    # Nobody acknowledges: after N minutes the chain calls Anna again.
    frozen_clock.advance(minutes=CHAIN_MINUTES)
    tick(wiring)
    send_due(wiring, frozen_clock)
    assert calls_to(sim, "+37120000911") == 2 and calls_to(sim, "+37120000912") == 1
    # Anna presses 1 on that call: the chain stops before Bruno's turn.
    assert wait_until(lambda: sim.press("+37120000911", "1")[0] == 200)
    assert [(a.contact_id, a.via) for a in acknowledgements(wiring, alert_id)] == [
        (ids["Anna"], "voice")]
    frozen_clock.advance(minutes=CHAIN_MINUTES)
    tick(wiring)
    send_due(wiring, frozen_clock)
    assert calls_to(sim, "+37120000912") == 1
    assert steps(wiring, alert_id) == [(1, 0, "tried"), (1, 1, "stopped")]
    actions = [action for action, _ in history(wiring, alert_id)]
    assert actions.index("approved") < actions.index("sending") < actions.index("acknowledged")
