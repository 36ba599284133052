"""Every reply the inbound router takes is kept: the operators' page lists the
ones nobody understood first, with who sent them and to which alert, and an
operator marks them handled; STOP erases the sender's address from them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sargs.audit.models import AuditEntry
from sargs.channels import alerts, inbound, ledger
from sargs.channels.contacts import register_contact
from sargs.channels.models import Delivery, InboundMessage
from sargs.channels.simulators import twilio as twilio_sim
from tests.channels.engine_helpers import public_orange, resident
from tests.kernel.helpers import post_form, rows

URL = "http://127.0.0.1:9/channels/twilio/inbound"


def _reply(app, sender: str, body: str) -> str:
    form = {"From": sender, "To": "+37166000000", "Body": body, "MessageSid": "SM" + "2" * 32}
    signature = RequestValidator(twilio_sim.AUTH_TOKEN).compute_signature(URL, form)
    response = app.test_client().post("/channels/twilio/inbound", data=form,
                                      headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _stored(app) -> list[InboundMessage]:
    with app.extensions["sargs"].sessionmaker() as session:
        return rows(session, select(InboundMessage).order_by(InboundMessage.id))


def _sent_sms_alert(app, author_id: int, contact_id: int) -> int:
    """An SMS alert to one contact, handed to the provider (the row is 'sent')."""
    with app.extensions["sargs"].sessionmaker() as session:
        alert = alerts.create_alert(session, public_orange(
            audience={"contacts": [contact_id]}, channels=["sms"]), author_id)
        alerts.submit(session, alert, author_id)
        alerts.start_sending(session, alert, {"sms"})
        row = session.scalar(select(Delivery).where(Delivery.alert_id == alert.id))
        ledger.move(session, row.id, "claimed")
        ledger.move(session, row.id, "sent", provider_id="SM" + "3" * 32)
        session.commit()
        return alert.id


@pytest.fixture
def handler() -> Iterator[None]:
    """A call-out code handler registered by name, as another domain would."""

    def callout(session, reply):
        return "Pieņemts." if reply.text.strip().upper() == "A1" else None

    inbound.register(callout, name="callout")
    yield
    inbound._handlers[:] = [(n, h) for n, h in inbound._handlers if h is not callout]


def test_an_unknown_reply_waits_on_the_operators_page_and_is_marked_handled(
        sms_app, users, client_factory):
    with sms_app.extensions["sargs"].sessionmaker() as session:
        ivars = register_contact(session, "Ivars Kalniņš", [("sms", "+37120000801")])
        session.commit()
        ivars_id = ivars.id
    alert_id = _sent_sms_alert(sms_app, users.create("olga", "operator").id, ivars_id)

    assert "BEIGT" in _reply(sms_app, "+37120000801", "Vai jāevakuējas no Lielās ielas?")
    _reply(sms_app, "+37120000899", "PALĪDZĪBA")  # answered by itself: not waiting

    stored = _stored(sms_app)
    assert [(m.outcome, m.contact_id, m.alert_id) for m in stored] == [
        ("unknown", ivars_id, alert_id), ("help", None, None)]

    client = client_factory()
    users.login(client, users.create("rita", "operator"))
    page = client.get("/channels/replies/").get_data(as_text=True)
    first = re.search(r'data-testid="reply" data-id="(\d+)" data-outcome="(\w+)"', page)
    assert first.groups() == (str(stored[0].id), "unknown")
    assert "Ivars Kalniņš" in page and "+37120000801" not in page and "*801" in page
    assert "Vai jāevakuējas no Lielās ielas?" in page
    assert f'href="/channels/{alert_id}"' in page
    assert 'data-testid="waiting-replies" data-count="1"' in page

    response = post_form(client, f"/channels/replies/{stored[0].id}/handled",
                         {"note": "Piezvanīju, paskaidroju."})
    assert response.status_code == 302
    handled = _stored(sms_app)[0]
    assert handled.handled_at is not None and handled.note == "Piezvanīju, paskaidroju."
    page = client.get("/channels/replies/").get_data(as_text=True)
    assert 'data-handled="yes"' in page and "Piezvanīju, paskaidroju." in page
    with sms_app.extensions["sargs"].sessionmaker() as session:
        entries = rows(session, select(AuditEntry).where(
            AuditEntry.object_type == "inbound_message"))
    assert entries, "marking a reply handled is audited"


def test_stop_erases_the_address_of_the_senders_stored_replies(sms_app, users, client_factory):
    with sms_app.extensions["sargs"].sessionmaker() as session:
        resident(session, "Ilze", "+37120000802")
        session.commit()
    _reply(sms_app, "+37120000802", "kas notiek?")
    assert "Jūs vairs nesaņemsiet" in _reply(sms_app, "+37120000802", "BEIGT")

    stored = _stored(sms_app)
    assert [m.outcome for m in stored] == ["unknown", "stop"]
    for message in stored:
        assert message.address.startswith("erased:") and message.contact_id is None
    assert stored[0].address == stored[1].address  # one stable pseudonym
    client = client_factory()
    users.login(client, users.create("rita", "operator"))
    page = client.get("/channels/replies/").get_data(as_text=True)
    assert "+37120000802" not in page and "*802" not in page


def test_a_registered_handler_names_the_outcome(sms_app, handler):
    assert "Pieņemts." in _reply(sms_app, "+37120000803", "a1")
    assert [m.outcome for m in _stored(sms_app)] == ["callout"]


def test_who_may_see_and_handle_replies(sms_app, users, client_factory):
    _reply(sms_app, "+37120000804", "???")
    reply_id = _stored(sms_app)[0].id
    auditor, keeper = client_factory(), client_factory()
    users.login(auditor, users.create("aina", "auditor"))
    users.login(keeper, users.create("vilis", "warehouse"))
    assert auditor.get("/channels/replies/").status_code == 200
    assert post_form(auditor, f"/channels/replies/{reply_id}/handled").status_code == 403
    assert keeper.get("/channels/replies/").status_code == 403
    assert _stored(sms_app)[0].handled_at is None


@pytest.fixture
def client_factory(sms_app):
    return sms_app.test_client
