"""Wiring of the acknowledgement and escalation tests: the commission reached
through the Twilio and Telegram simulators, an alert that asks them to
acknowledge, and what the phones, chats, ledger and history then show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sargs.channels.contacts import register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Acknowledgement, AlertEvent, Delivery, EscalationStep
from sargs.scheduler import run_tick
from tests.channels.adapters_helpers import Wired, drain_paced, send_staff_alert
from tests.channels.engine_helpers import commission_member


@dataclass(frozen=True)
class Member:
    name: str
    phone: str
    chat: int
    language: str = "lv"


# The chain's order is the list's order.
COMMISSION = [
    Member("Anna", "+37120000801", 8801),
    Member("Bruno", "+37120000802", 8802),
    Member("Carol", "+37120000803", 8803, "en"),
]


def add_commission(wiring: Wired, telegram: Any) -> dict[str, int]:
    """The commission group (voice and Telegram each); name → contact id."""
    ids = {}
    with wiring.sessions() as db:
        for member in COMMISSION:
            contact = commission_member(db, member.name, member.phone, str(member.chat))
            contact.language = member.language
            ids[member.name] = contact.id
            telegram.add_chat(member.chat, first_name=member.name)
        db.commit()
    return ids


def add_staff(wiring: Wired, name: str, addresses: list[tuple[str, str]]) -> int:
    """A person outside the commission (e.g. the head of the municipality)."""
    with wiring.sessions() as db:
        contact = register_contact(db, name, addresses)
        db.commit()
        return contact.id


def start_alert(wiring: Wired, users: Any, channels: list[str], *,
                escalation: dict[str, Any] | None = None, ack_required: bool = True) -> int:
    author = users.create("olga", "operator")
    return send_staff_alert(wiring, author.id, channels, "commission",
                            ack_required=ack_required, escalation=escalation)


def send_due(wiring: Wired, frozen: Any) -> None:
    """Let the dispatcher send everything due (a few paced rounds)."""
    drain_paced(wiring, frozen, rounds=3)
    drain(wiring.dispatcher())


def tick(wiring: Wired) -> None:
    """One scheduler tick, as the scheduler process runs it."""
    with wiring.app.app_context():
        results = run_tick(wiring.sessions)
    assert results["escalation"] == "ok", results


def deliveries(wiring: Wired, alert_id: int) -> list[Delivery]:
    with wiring.sessions() as db:
        found = list(db.scalars(select(Delivery).where(Delivery.alert_id == alert_id)
                                .order_by(Delivery.id)))
        db.expunge_all()
        return found


def delivery_to(wiring: Wired, alert_id: int, channel: str, address: str,
                round_: int = 0) -> Delivery:
    found = [d for d in deliveries(wiring, alert_id)
             if (d.channel, d.address, d.round) == (channel, address, round_)]
    assert len(found) == 1, found
    return found[0]


def acknowledgements(wiring: Wired, alert_id: int) -> list[Acknowledgement]:
    with wiring.sessions() as db:
        found = list(db.scalars(select(Acknowledgement).where(
            Acknowledgement.alert_id == alert_id).order_by(Acknowledgement.id)))
        db.expunge_all()
        return found


def history(wiring: Wired, alert_id: int) -> list[tuple[str, str]]:
    with wiring.sessions() as db:
        return [(e.action, e.note) for e in db.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))]


def steps(wiring: Wired, alert_id: int) -> list[tuple[int, int, str]]:
    """(round, position, state) of the alert's chain."""
    with wiring.sessions() as db:
        return [(s.round, s.position, s.state) for s in db.scalars(
            select(EscalationStep).where(EscalationStep.alert_id == alert_id)
            .order_by(EscalationStep.round, EscalationStep.position))]


def calls_to(sim: Any, phone: str) -> int:
    """Calls the Twilio simulator accepted for ``phone``."""
    return sum(1 for call in sim.calls() if call["to"] == phone)


def sms_reply(wiring: Wired, sender: str, body: str) -> str:
    """A signed SMS reply to our number, as Twilio posts it; returns the TwiML answer."""
    url = f"{wiring.settings.base_url}/channels/twilio/inbound"
    form = {"From": sender, "To": "+37166000000", "Body": body, "MessageSid": "SM" + "2" * 32}
    signature = RequestValidator(wiring.settings.twilio_auth_token.get_secret_value()) \
        .compute_signature(url, form)
    answer = wiring.app.test_client().post("/channels/twilio/inbound", data=form,
                                           headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)
