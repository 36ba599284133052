"""Staff acknowledge an alert by the Telegram button, key 1 on the call, an SMS
reply or the web; the first acknowledgement per person counts, and forged or
foreign answers change nothing."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from sargs.auth.models import User
from sargs.channels import acks, alerts
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Acknowledgement, ContactAddress
from sargs.channels.simulators.twilio import signature
from tests.channels.acks_helpers import (
    COMMISSION,
    acknowledgements,
    add_commission,
    delivery_to,
    history,
    send_due,
    sms_reply,
    start_alert,
)
from tests.channels.adapters_helpers import send_staff_alert, wait_until
from tests.channels.engine_helpers import public_orange
from tests.kernel.helpers import post_form

ANNA, BRUNO, CAROL = COMMISSION


def _button(telegram, chat):
    """The inline buttons under the one message the chat received."""
    message, = telegram.chats.of(chat)
    markup = message["reply_markup"] or {}
    return message, markup.get("inline_keyboard")


def _press(wiring, telegram, chat, message_id, data):
    """The member presses the button; the bot hands the callback to the service."""
    update = telegram.user_presses(chat, message_id, data)
    query = update["callback_query"]
    with wiring.sessions() as db:
        ack = acks.acknowledge(db, delivery_id=acks.delivery_of_callback(query["data"]),
                               via="telegram", address=str(query["from"]["id"]))
        db.commit()
        return ack is not None


def test_the_telegram_button_acknowledges_once_in_the_members_language(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["telegram"])
    send_due(wiring, frozen_clock)

    anna_row = delivery_to(wiring, alert_id, "telegram", str(ANNA.chat))
    message, keyboard = _button(telegram, ANNA.chat)
    assert keyboard == [[{"text": "Apstiprināt ✅", "callback_data": f"ack:{anna_row.id}"}]]
    _, carols = _button(telegram, CAROL.chat)
    assert carols[0][0]["text"] == "Acknowledge ✅"

    assert _press(wiring, telegram, ANNA.chat, message["message_id"], f"ack:{anna_row.id}")
    assert _press(wiring, telegram, ANNA.chat, message["message_id"], f"ack:{anna_row.id}")
    # Bruno cannot acknowledge with Anna's button (a forwarded message, say).
    assert not _press(wiring, telegram, BRUNO.chat, message["message_id"], f"ack:{anna_row.id}")

    acked = acknowledgements(wiring, alert_id)
    assert [(a.contact_id, a.via, a.delivery_id) for a in acked] == [
        (ids["Anna"], "telegram", anna_row.id)]
    assert [note for action, note in history(wiring, alert_id) if action == "acknowledged"] == [
        f"contact #{ids['Anna']} via telegram"]


def test_an_alert_without_acknowledgement_has_no_button_and_no_gather(
        wiring, sim, telegram, users, frozen_clock):
    add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["telegram", "voice"], ack_required=False)
    send_due(wiring, frozen_clock)

    assert _button(telegram, ANNA.chat)[1] is None
    assert wait_until(lambda: sim.phones.of(ANNA.phone))
    assert "<Gather" not in sim.phones.of(ANNA.phone)[0]["twiml"]
    row = delivery_to(wiring, alert_id, "telegram", str(ANNA.chat))
    with wiring.sessions() as db:
        assert acks.acknowledge(db, delivery_id=row.id, via="telegram") is None


def test_key_1_on_the_call_acknowledges(wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["voice"])
    send_due(wiring, frozen_clock)
    assert wait_until(lambda: sim.phones.of(CAROL.phone) and sim.phones.of(ANNA.phone))

    row = delivery_to(wiring, alert_id, "voice", ANNA.phone)
    root = ElementTree.fromstring(sim.phones.of(ANNA.phone)[0]["twiml"])
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == (f"{wiring.settings.base_url}/channels/twilio/voice/"
                                    f"{row.id}/gather")
    said = [(say.get("language"), say.text) for say in gather.findall("Say")]
    assert said[-1] == ("lv-LV", "Lai apstiprinātu, ka saņēmāt šo paziņojumu, nospiediet 1.")
    carols = ElementTree.fromstring(sim.phones.of(CAROL.phone)[0]["twiml"])
    assert carols.find("Gather").findall("Say")[-1].text == "To acknowledge this alert, press 1."

    status, answer = sim.press(ANNA.phone, "2")
    assert status == 200 and "nospiediet 1" in answer
    assert acknowledgements(wiring, alert_id) == []

    status, answer = sim.press(ANNA.phone, "1")
    assert status == 200 and "Paldies" in answer
    acked, = acknowledgements(wiring, alert_id)
    assert (acked.contact_id, acked.via, acked.delivery_id) == (ids["Anna"], "voice", row.id)


def test_a_forged_gather_callback_gets_403_and_changes_nothing(
        wiring, sim, telegram, users, frozen_clock):
    add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["voice"])
    send_due(wiring, frozen_clock)
    anna = delivery_to(wiring, alert_id, "voice", ANNA.phone)
    bruno = delivery_to(wiring, alert_id, "voice", BRUNO.phone)
    client = wiring.app.test_client()
    form = {"CallSid": anna.provider_id or "CA" + "0" * 32, "Digits": "1", "To": ANNA.phone,
            "From": "+37166000000", "CallStatus": "in-progress"}
    base = f"{wiring.settings.base_url}/channels/twilio/voice"

    forged = client.post(f"/channels/twilio/voice/{anna.id}/gather", data=form,
                         headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert forged.status_code == 403
    # A genuine signature for Anna's row does not open Bruno's.
    moved = client.post(f"/channels/twilio/voice/{bruno.id}/gather", data=form, headers={
        "X-Twilio-Signature": signature(sim.auth_token, f"{base}/{anna.id}/gather", form)})
    assert moved.status_code == 403
    assert acknowledgements(wiring, alert_id) == []


def test_an_sms_reply_acknowledges_the_latest_alert_waiting_for_that_phone(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    first = start_alert(wiring, users, ["voice"])
    send_due(wiring, frozen_clock)
    with wiring.sessions() as db:
        draft = public_orange(audience={"groups": ["commission"]}, channels=["voice"],
                              ack_required=True, texts={"lv": "Otrais brīdinājums."})
        alert = alerts.create_alert(db, draft, None)
        alerts.submit(db, alert, None)
        alerts.start_sending(db, alert, {"voice"})
        db.commit()
        second = alert.id
    send_due(wiring, frozen_clock)

    answer = sms_reply(wiring, BRUNO.phone, " sapratu! ")
    assert "Paldies" in answer and f"#{second}" in answer
    answer = sms_reply(wiring, BRUNO.phone, "ok")
    assert f"#{first}" in answer
    # Nothing left to acknowledge: the reply gets the help text.
    assert "BEIGT" in sms_reply(wiring, BRUNO.phone, "1")
    assert [(a.contact_id, a.via) for a in acknowledgements(wiring, first)] == [
        (ids["Bruno"], "sms")]
    assert [(a.contact_id, a.via) for a in acknowledgements(wiring, second)] == [
        (ids["Bruno"], "sms")]
    # A stranger's "1" acknowledges nothing.
    assert "BEIGT" in sms_reply(wiring, "+37120000899", "1")


def test_the_alert_page_acknowledges_for_oneself_and_on_someones_behalf(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    with wiring.sessions() as db:  # Anna's account and contact share an e-mail address
        db.add(ContactAddress(contact_id=ids["Anna"], channel="email",
                              address="anna@jelgava.lv", preference=5))
        db.commit()
    alert_id = start_alert(wiring, users, ["telegram"])
    send_due(wiring, frozen_clock)
    with wiring.sessions() as db:
        anna_user = users.create("anna", "commission")
        db.get(User, anna_user.id).email = "Anna@Jelgava.lv"
        db.commit()
    client = wiring.app.test_client()
    users.login(client, anna_user)

    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert f'data-contact="{ids["Anna"]}" data-acknowledged="no"' in page
    assert page.count('data-testid="ack-own"') == 1
    assert page.count('data-testid="ack-behalf"') == 2

    response = post_form(client, f"/channels/{alert_id}/acknowledge",
                         {"contact_id": str(ids["Anna"])})
    assert response.status_code == 302
    response = post_form(client, f"/channels/{alert_id}/acknowledge",
                         {"contact_id": str(ids["Carol"])})
    assert response.status_code == 302
    response = post_form(client, f"/channels/{alert_id}/acknowledge", {"contact_id": "x"},
                         follow_redirects=True)
    assert "šai personai šajā paziņojumā nav ko apstiprināt" in response.get_data(as_text=True)

    acked = {a.contact_id: (a.via, a.user_id) for a in acknowledgements(wiring, alert_id)}
    assert acked == {ids["Anna"]: ("web", anna_user.id), ids["Carol"]: ("web", anna_user.id)}
    notes = [note for action, note in history(wiring, alert_id) if action == "acknowledged"]
    assert notes == [f"contact #{ids['Anna']} via web",
                     f"contact #{ids['Carol']} via web, on their behalf"]
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert f'data-contact="{ids["Anna"]}" data-acknowledged="yes"' in page
    assert f'data-contact="{ids["Bruno"]}" data-acknowledged="no"' in page
    assert page.count('data-testid="ack-behalf"') == 1


def test_an_auditor_sees_acknowledgements_but_cannot_give_them(
        wiring, sim, telegram, users, frozen_clock):
    ids = add_commission(wiring, telegram)
    alert_id = start_alert(wiring, users, ["telegram"])
    send_due(wiring, frozen_clock)
    client = wiring.app.test_client()
    users.login(client, users.create("aina", "auditor"))
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="acknowledgements"' in page and "ack-behalf" not in page
    response = post_form(client, f"/channels/{alert_id}/acknowledge",
                         {"contact_id": str(ids["Anna"])})
    assert response.status_code == 403
    with wiring.sessions() as db:
        assert db.scalar(select(Acknowledgement.id)) is None


@pytest.mark.parametrize(("ack_required", "chain_change", "field"), [
    (False, {}, "escalation"),
    (True, {"contacts": [999]}, "escalation.contacts"),
    (True, {"contacts": "all"}, "escalation.contacts"),
    (True, {"contacts": []}, "escalation.contacts"),
    (True, {"minutes": 0}, "escalation.minutes"),
    (True, {"rounds": 11}, "escalation.rounds"),
    (True, {"rounds": "2"}, "escalation.rounds"),
    (True, {"channels": ["fax"]}, "escalation.channels"),
])
def test_a_wrong_chain_is_refused_naming_the_field(wiring, telegram, users, ack_required,
                                                   chain_change, field):
    ids = add_commission(wiring, telegram)
    chain = {"contacts": [ids["Anna"]], "minutes": 5, "rounds": 2, "channels": ["voice"],
             **chain_change}
    with wiring.sessions() as db:
        draft = public_orange(audience={"groups": ["commission"]}, channels=["voice"],
                              ack_required=ack_required, escalation=chain)
        with pytest.raises(alerts.AlertError) as refused:
            alerts.create_alert(db, draft, None)
    assert refused.value.field == field


def test_a_staff_sms_says_how_to_acknowledge_and_the_reply_does(wiring, sim, users, frozen_clock):
    with wiring.sessions() as db:
        group = ensure_group(db, "dezurdienests", "Dežūrdienests", "staff")
        inga = register_contact(db, "Inga", [("sms", "+37120000821")])
        john = register_contact(db, "John", [("sms", "+37120000822")], language="en")
        for member in (inga, john):
            add_to_group(db, group, member)
        db.commit()
        inga_id = inga.id
    author = users.create("olga", "operator")
    alert_id = send_staff_alert(wiring, author.id, ["sms"], "dezurdienests", ack_required=True)
    send_due(wiring, frozen_clock)

    assert sim.phones.wait_for(1, "+37120000821") and sim.phones.wait_for(1, "+37120000822")
    assert sim.phones.of("+37120000821")[0]["body"].endswith(
        "\nLai apstiprinātu saņemšanu, atbildiet 1.")
    assert sim.phones.of("+37120000822")[0]["body"].endswith("\nReply 1 to acknowledge.")
    assert "Paldies" in sms_reply(wiring, "+37120000821", "1")
    assert [(a.contact_id, a.via) for a in acknowledgements(wiring, alert_id)] == [(inga_id, "sms")]
