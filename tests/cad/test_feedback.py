"""Reporter feedback through the notification engine: a resolved or rejected report is
told to the reporter who asked, on their channel and in their language; the phone
(Twilio simulator), inbox (SMTP simulator) or chat (Telegram simulator) received it,
the delivery ledger and the report's timeline show it; nobody who did not ask is told;
erasing the contact data erases the contact the engine used."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sargs.cad import feedback, service
from sargs.cad.models import CadReport
from sargs.cad.schemas import PartnerAction, ReportIn
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Contact, Delivery
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.telegram import TelegramSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from sargs.channels.texts import sms_segments
from tests.cad.conftest import CITY_POINT
from tests.channels.adapters_helpers import wait_until, wired

PHONE = "+37120000123"
NOTE = "Bedre aizlāpīta ar asfaltu"


@pytest.fixture
def sim():
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def mail():
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def telegram():
    with TelegramSimulator(mode="test") as bot:
        yield bot


@pytest.fixture
def wiring(settings, sim, mail, telegram, frozen_clock):
    with wired(settings, twilio=sim, smtp_url=f"smtp://127.0.0.1:{mail.port}",
               email_from="8787@jelgava.lv", telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        yield wiring


def _closed(wiring, outcome="resolve", note=NOTE, **fields):
    """A report registered, routed, and resolved by its partner (or rejected by the
    operator); returns its number."""
    values = {"category": "streets", "description": "Bedre brauktuvē",
              "address": "Lielā iela 11", "lat": CITY_POINT[0], "lon": CITY_POINT[1], **fields}
    with wiring.app.test_request_context(), wiring.sessions() as db:
        report = service.create_report(db, wiring.settings, ReportIn(**values))
        if outcome == "resolve":
            service.route(db, wiring.settings, report)
            service.partner_act(db, wiring.settings, report,
                                PartnerAction(action="resolve", note=note),
                                partner=report.partner)
        else:
            service.close(db, wiring.settings, report, "rejected", note)
        db.commit()
        return report.id


def _delivered(wiring):
    drain(wiring.dispatcher())
    assert wait_until(lambda: wiring.rows() and all(
        d.state == "delivered" for d in wiring.rows().values())), {
        a: (d.state, d.last_error) for a, d in wiring.rows().items()}
    return wiring.rows()


def _feedback_event(wiring, report_id):
    with wiring.sessions() as db:
        report = db.get(CadReport, report_id)
        events = [(e.kind, dict(e.data)) for e in report.events if e.kind == "feedback"]
        return report.feedback_sent_at, events


def test_a_resolved_report_is_told_to_the_reporters_phone(wiring, sim):
    number = _closed(wiring, reporter_phone="20000123", feedback_wanted=True,
                     feedback_channel="sms")

    rows = _delivered(wiring)
    row = rows[PHONE]
    assert row.channel == "sms"
    text, = [m["body"] for m in sim.phones.of(PHONE)]
    assert f"{number}" in text and NOTE in text
    assert row.provider_id == sim.phones.of(PHONE)[0]["sid"]
    sent_at, events = _feedback_event(wiring, number)
    assert sent_at is not None
    (_, data), = events
    assert (data["channel"], data["deliveries"]) == ("sms", 1)
    assert data["alert_id"] == row.alert_id
    with wiring.sessions() as db:
        alert = db.get(Alert, row.alert_id)
        assert (alert.source, alert.cap_status, alert.requires_approval) == ("cad", "Actual",
                                                                             False)
        assert alert.audience == {"contacts": [data["contact_id"]]}
        assert db.get(Contact, data["contact_id"]).owner == "cad"


def test_an_english_reporter_reads_english_in_the_inbox(wiring, mail):
    number = _closed(wiring, language="en", reporter_email="John@Example.org",
                     feedback_wanted=True, feedback_channel="email")

    rows = _delivered(wiring)
    assert rows["john@example.org"].channel == "email"
    received, = mail.inboxes.of("john@example.org")
    assert received["subject"] == f"Your report no. {number} (Streets and sidewalks) was resolved."
    assert NOTE in received["text"] and "Lielā iela 11" in received["text"]
    assert received["message"]["Message-ID"] == rows["john@example.org"].provider_id
    # A reporter has no alert subscription to leave: no unsubscribe link or header.
    assert "List-Unsubscribe" not in received["message"]
    assert "/subscribe/" not in (received["html"] or "")


def test_a_report_rejected_by_the_operator_is_told_over_telegram(wiring, telegram):
    telegram.add_chat(4401)
    number = _closed(wiring, outcome="reject", note="Privāta teritorija", language="en",
                     reporter_telegram="4401", feedback_wanted=True,
                     feedback_channel="telegram")

    rows = _delivered(wiring)
    assert rows["4401"].channel == "telegram"
    text, = [m["text"] for m in telegram.chats.of(4401)]
    assert text.startswith(f"Your report no. {number}") and "was closed" in text
    assert "Privāta teritorija" in text


def test_nobody_is_told_who_did_not_ask(wiring, sim, mail):
    number = _closed(wiring, reporter_phone=PHONE, reporter_email="ilze@example.lv")

    drain(wiring.dispatcher())
    assert wiring.rows() == {}
    assert sim.messages() == [] and mail.inboxes.of("ilze@example.lv") == []
    assert _feedback_event(wiring, number) == (None, [])
    with wiring.sessions() as db:
        assert db.scalars(select(Alert).where(Alert.source == "cad")).all() == []


def test_a_long_note_still_fits_three_sms_segments(app, make_report, db):
    report = make_report(reporter_phone=PHONE, feedback_wanted=True, feedback_channel="sms")
    report.state, report.status_note = "resolved", "Ļoti garš apraksts. " * 40
    with app.test_request_context():
        text = feedback.feedback_text(report, channel="sms")
    assert sms_segments(text)[0] <= feedback.SMS_SEGMENTS
    assert f"{report.id}" in text and text.rstrip().endswith("8787")


def test_erasing_the_contact_data_erases_the_engines_contact(wiring):
    number = _closed(wiring, reporter_phone=PHONE, feedback_wanted=True,
                     feedback_channel="sms")
    _delivered(wiring)
    _, ((_, data),) = _feedback_event(wiring, number)

    with wiring.app.test_request_context(), wiring.sessions() as db:
        assert service.erase_contact(db, db.get(CadReport, number), settings=wiring.settings)
        db.commit()

    with wiring.sessions() as db:
        assert db.get(Contact, data["contact_id"]) is None
        report = db.get(CadReport, number)
        assert (report.reporter_phone, report.contact_erased_at is not None) == (None, True)
        addresses = [d.address for d in db.scalars(select(Delivery))]
        assert len(addresses) == 1 and PHONE not in addresses[0]


def test_open311_reporters_read_the_status_in_the_app(wiring):
    number = _closed(wiring, channel="app", feedback_wanted=True, feedback_channel="open311")
    assert wiring.rows() == {}
    assert _feedback_event(wiring, number) == (None, [])
