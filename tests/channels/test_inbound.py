"""Replies to our SMS number: one word unsubscribes, in the resident's language."""

from __future__ import annotations

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sargs.channels.models import Contact
from sargs.channels.simulators import twilio as twilio_sim
from tests.channels.engine_helpers import resident

URL = "http://127.0.0.1:9/channels/twilio/inbound"


def _reply(app, sender: str, body: str, signature: str | None = None):
    form = {"From": sender, "To": "+37166000000", "Body": body, "MessageSid": "SM" + "1" * 32}
    if signature is None:
        signature = RequestValidator(twilio_sim.AUTH_TOKEN).compute_signature(URL, form)
    return app.test_client().post("/channels/twilio/inbound", data=form,
                                  headers={"X-Twilio-Signature": signature})


def _subscribers(app) -> list[str]:
    with app.extensions["sargs"].sessionmaker() as session:
        return [c.name for c in session.scalars(select(Contact))]


def test_beigt_unsubscribes_and_deletes_the_residents_data(sms_app):
    with sms_app.extensions["sargs"].sessionmaker() as session:
        resident(session, "Ilze", "+37120000501")
        resident(session, "John", "+37120000502", language="en")
        session.commit()
    answer = _reply(sms_app, "+37120000501", " beigt ").get_data(as_text=True)
    assert "<Message>Jūs vairs nesaņemsiet" in answer
    answer = _reply(sms_app, "+37120000502", "STOP").get_data(as_text=True)
    assert "<Message>You will get no more" in answer
    assert _subscribers(sms_app) == []


def test_help_and_unknown_words_get_the_help_text(sms_app):
    assert "8787" in _reply(sms_app, "+37120000503", "PALĪDZĪBA").get_data(as_text=True)
    assert "BEIGT" in _reply(sms_app, "+37120000503", "kas notiek?").get_data(as_text=True)


def test_a_forged_reply_changes_nothing(sms_app):
    with sms_app.extensions["sargs"].sessionmaker() as session:
        resident(session, "Ilze", "+37120000504")
        session.commit()
    assert _reply(sms_app, "+37120000504", "BEIGT", signature="forged").status_code == 403
    assert _subscribers(sms_app) == ["Ilze"]
