"""The voice, e-mail and PBX adapters against the provider simulators: what
each phone, inbox and paging extension received equals what the ledger says."""

from __future__ import annotations

import base64
from dataclasses import replace
from xml.etree import ElementTree

import pytest

from sargs.channels.adapters import Outgoing
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert
from sargs.channels.pbx import text_parts
from sargs.channels.simulators.ami import AmiSimulator
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from tests.channels.adapters_helpers import FROM, drain_paced, send_staff_alert, wait_until, wired
from tests.channels.engine_helpers import commission_member

LV_TEXT = "Oranžais brīdinājums: stiprs vējš Jelgavā.\nVējš līdz 25 m/s & lietus <10 mm>."
EN_TEXT = "Orange warning: strong wind in Jelgava."


def _staff(db, group_code, kind, people):
    """Contacts in one group: people are (name, [(channel, address)], language)."""
    group = ensure_group(db, group_code, group_code.title(), kind)
    for name, addresses, language in people:
        add_to_group(db, group, register_contact(db, name, addresses, language=language))
    db.commit()


def _lines(text):
    """A received part's text with the wire's CRLF line ends undone."""
    return text.replace("\r\n", "\n").rstrip("\n")


def _alert_state(wiring, alert_id):
    with wiring.sessions() as db:
        return db.get(Alert, alert_id).state


# --- e-mail -------------------------------------------------------------------------


@pytest.fixture
def mail():
    with SmtpSimulator(mode="test", credentials={"sargs": "pa:ss/w@rd"},
                       unknown=["nobody@jelgava.lv"]) as server:
        yield server


@pytest.fixture
def mail_wired(settings, mail, frozen_clock):
    url = f"smtp://sargs:pa%3Ass%2Fw%40rd@127.0.0.1:{mail.port}"
    with wired(settings, smtp_url=url, email_from="sargs@jelgava.lv") as wiring:
        yield wiring


def test_email_reaches_each_inbox_in_its_language_and_the_ledger_agrees(
        mail_wired, mail, users, db, frozen_clock):
    _staff(db, "dienesti", "staff", [
        ("Ilze", [("email", "Ilze@Jelgava.lv")], "lv"),
        ("John", [("email", "john@example.org")], "en"),
    ])
    author = users.create("olga", "operator")
    alert_id = send_staff_alert(mail_wired, author.id, ["email"], "dienesti",
                                texts={"lv": LV_TEXT, "en": EN_TEXT})

    drain_paced(mail_wired, frozen_clock, rounds=2)

    rows = mail_wired.rows()
    assert {a: r.state for a, r in rows.items()} == {
        "ilze@jelgava.lv": "delivered", "john@example.org": "delivered"}
    ilze, = mail.inboxes.of("ilze@jelgava.lv")
    john, = mail.inboxes.of("john@example.org")
    assert ilze["message"]["Message-ID"] == rows["ilze@jelgava.lv"].provider_id
    assert john["message"]["Message-ID"] == rows["john@example.org"].provider_id
    assert rows["ilze@jelgava.lv"].provider_id != rows["john@example.org"].provider_id
    assert ilze["subject"] == "Oranžais brīdinājums: stiprs vējš Jelgavā."
    assert john["subject"] == EN_TEXT
    assert _lines(ilze["text"]) == LV_TEXT
    assert "Vējš līdz 25 m/s &amp; lietus &lt;10 mm&gt;." in ilze["html"]
    assert '<html lang="lv">' in ilze["html"]
    assert _lines(john["text"]) == EN_TEXT
    message = ilze["message"]
    assert message["From"].addresses[0].display_name == "Sargs"
    assert message["From"].addresses[0].addr_spec == "sargs@jelgava.lv"
    assert message["Auto-Submitted"] == "auto-generated"
    assert {part.get_content_charset() for part in message.walk()
            if not part.is_multipart()} == {"utf-8"}
    assert ilze["mail_from"] == "sargs@jelgava.lv"
    drain(mail_wired.dispatcher())
    assert _alert_state(mail_wired, alert_id) == "done"


def test_an_unknown_mailbox_is_undeliverable_and_the_alert_still_finishes(
        mail_wired, mail, users, db, frozen_clock):
    _staff(db, "dienesti", "staff", [
        ("Nobody", [("email", "nobody@jelgava.lv")], "lv"),
        ("Ilze", [("email", "ilze@jelgava.lv")], "lv"),
    ])
    author = users.create("olga", "operator")
    alert_id = send_staff_alert(mail_wired, author.id, ["email"], "dienesti")

    drain_paced(mail_wired, frozen_clock, rounds=2)

    rows = mail_wired.rows()
    assert rows["nobody@jelgava.lv"].state == "undeliverable"
    assert rows["nobody@jelgava.lv"].last_error == "SMTP 550: 5.1.1 User unknown"
    assert rows["nobody@jelgava.lv"].attempts == 1
    assert mail.inboxes.of("nobody@jelgava.lv") == []
    assert rows["ilze@jelgava.lv"].state == "delivered"
    assert len(mail.inboxes.of("ilze@jelgava.lv")) == 1
    assert _alert_state(mail_wired, alert_id) == "done"


def test_a_temporary_smtp_failure_is_retried_after_the_backoff(
        mail_wired, mail, users, db, frozen_clock):
    _staff(db, "dienesti", "staff", [("Ilze", [("email", "ilze@jelgava.lv")], "lv")])
    author = users.create("olga", "operator")
    send_staff_alert(mail_wired, author.id, ["email"], "dienesti")
    mail.fault("temporary")

    drain(mail_wired.dispatcher())

    row = mail_wired.rows()["ilze@jelgava.lv"]
    assert (row.state, row.last_error) == ("pending", "SMTP 451: 4.3.0 Temporary failure, try "
                                                      "again later")
    assert mail.inboxes.of("ilze@jelgava.lv") == []
    frozen_clock.advance(seconds=5)
    drain(mail_wired.dispatcher())
    row = mail_wired.rows()["ilze@jelgava.lv"]
    assert (row.state, row.attempts) == ("delivered", 2)
    received, = mail.inboxes.of("ilze@jelgava.lv")
    assert received["message"]["Message-ID"] == row.provider_id


def test_refused_smtp_login_keeps_the_row_for_a_retry(mail_wired, mail, users, db, frozen_clock):
    _staff(db, "dienesti", "staff", [("Ilze", [("email", "ilze@jelgava.lv")], "lv")])
    author = users.create("olga", "operator")
    send_staff_alert(mail_wired, author.id, ["email"], "dienesti")
    mail.fault("refuse_auth")

    drain(mail_wired.dispatcher())

    row = mail_wired.rows()["ilze@jelgava.lv"]
    assert row.state == "pending"
    assert "check SARGS_SMTP_URL" in row.last_error
    assert "pa:ss" not in row.last_error


# --- voice ---------------------------------------------------------------------------


@pytest.fixture
def phones():
    with TwilioSimulator(mode="test", delivery_delay=0.01, busy=["+37120000509"]) as twilio:
        yield twilio


@pytest.fixture
def voice_wired(settings, phones, frozen_clock):
    with wired(settings, twilio=phones) as wiring:
        yield wiring


def _says(twiml):
    root = ElementTree.fromstring(twiml)
    return [(child.tag, child.get("language"), child.text, child.get("length")) for child in root]


def test_a_call_says_the_alert_twice_and_the_completed_callback_makes_it_delivered(
        voice_wired, phones, users, db, frozen_clock):
    commission_member(db, "Anna", "+37120000501", "5501")
    _staff(db, "commission", "staff", [("John", [("voice", "+37120000502")], "en")])
    author = users.create("olga", "operator")
    alert_id = send_staff_alert(voice_wired, author.id, ["voice"], "commission",
                                texts={"lv": LV_TEXT, "en": EN_TEXT})

    drain_paced(voice_wired, frozen_clock, rounds=3)

    assert phones.phones.wait_for(1, "+37120000501") and phones.phones.wait_for(1, "+37120000502")
    assert wait_until(lambda: {r.state for r in voice_wired.rows().values()} == {"delivered"}), \
        {a: (r.state, r.last_error) for a, r in voice_wired.rows().items()}
    rows = voice_wired.rows()
    assert set(rows) == {"+37120000501", "+37120000502"}
    anna, = phones.phones.of("+37120000501")
    john, = phones.phones.of("+37120000502")
    assert (anna["kind"], anna["from"]) == ("call", FROM)
    assert rows["+37120000501"].provider_id == anna["sid"]
    assert rows["+37120000502"].provider_id == john["sid"]
    assert _says(anna["twiml"]) == [("Say", "lv-LV", LV_TEXT, None), ("Pause", None, None, "2"),
                                    ("Say", "lv-LV", LV_TEXT, None)]
    assert _says(john["twiml"]) == [("Say", "en-GB", EN_TEXT, None), ("Pause", None, None, "2"),
                                    ("Say", "en-GB", EN_TEXT, None)]
    callbacks = phones.callbacks.of(anna["sid"])
    assert [(c["params"]["CallStatus"], c["outcome"]) for c in callbacks] == [("completed", 204)]
    assert callbacks[0]["url"].endswith(f"/channels/twilio/status/{rows['+37120000501'].id}")
    drain(voice_wired.dispatcher())
    assert _alert_state(voice_wired, alert_id) == "done"


def test_a_busy_line_fails_the_call(voice_wired, phones, users, db, frozen_clock):
    _staff(db, "commission", "staff", [("Busy", [("voice", "+37120000509")], "lv")])
    author = users.create("olga", "operator")
    send_staff_alert(voice_wired, author.id, ["voice"], "commission")

    drain(voice_wired.dispatcher())

    assert wait_until(lambda: voice_wired.rows()["+37120000509"].state == "failed")
    row = voice_wired.rows()["+37120000509"]
    call, = phones.calls()
    assert (row.provider_id, row.last_error) == (call["sid"], "Twilio busy")
    assert phones.phones.of("+37120000509") == []


def test_twilio_429_is_retried_after_the_backoff(voice_wired, phones, users, db, frozen_clock):
    commission_member(db, "Anna", "+37120000501", "5501")
    db.commit()
    author = users.create("olga", "operator")
    send_staff_alert(voice_wired, author.id, ["voice"], "commission")
    phones.fault("429", on=("Calls",))

    drain(voice_wired.dispatcher())

    row = voice_wired.rows()["+37120000501"]
    assert (row.state, row.last_error) == ("pending", "Twilio 20429: too many requests")
    assert phones.calls() == []
    frozen_clock.advance(seconds=5)
    drain(voice_wired.dispatcher())
    assert phones.phones.wait_for(1, "+37120000501")
    assert wait_until(lambda: voice_wired.rows()["+37120000501"].state == "delivered")
    row = voice_wired.rows()["+37120000501"]
    assert (row.attempts, row.provider_id) == (2, phones.phones.of("+37120000501")[0]["sid"])


def test_reconcile_finds_a_recent_call_to_the_number(voice_wired, phones, frozen_clock):
    adapter = voice_wired.adapters["voice"]
    message = Outgoing(delivery_id=7, channel="voice", address="+37120000501", language="lv",
                       text=LV_TEXT, cap_status="Actual", level="orange", expires_in_s=None)
    sid = adapter.send(message)
    assert adapter.reconcile(message, None) == sid
    assert adapter.reconcile(replace(message, address="+37120000502"), None) is None
    assert adapter.reconcile(message, "CA-known") == "CA-known"


# --- PBX paging ------------------------------------------------------------------------


@pytest.fixture
def pbx():
    with AmiSimulator(mode="test", answer_delay=0.01) as server:
        yield server


@pytest.fixture
def pbx_wired(settings, pbx, frozen_clock):
    with wired(settings, ami_url=pbx.url) as wiring:
        yield wiring


def _spoken(call):
    variables = call["variables"]
    parts = int(variables["SARGS_TEXT_PARTS"])
    return b"".join(base64.b64decode(variables[f"SARGS_TEXT_{n}"])
                    for n in range(1, parts + 1)).decode("utf-8")


def _paging_group(db, *extensions):
    group = ensure_group(db, "skalruni", "Domes skaļruņi", "paging")
    for extension in extensions:
        add_to_group(db, group, register_contact(db, f"Skaļruņi {extension}",
                                                 [("pbx", extension)], kind="institution"))
    db.commit()


def test_a_page_rings_the_paging_extension_with_the_text_and_is_delivered(
        pbx_wired, pbx, users, db, frozen_clock):
    _paging_group(db, "600", "601")
    author = users.create("olga", "operator")
    alert_id = send_staff_alert(pbx_wired, author.id, ["pbx"], "skalruni",
                                texts={"lv": LV_TEXT, "en": EN_TEXT})

    drain_paced(pbx_wired, frozen_clock, rounds=3)

    rows = pbx_wired.rows()
    assert {a: r.state for a, r in rows.items()} == {"600": "delivered", "601": "delivered"}
    for extension in ("600", "601"):
        call, = pbx.calls.of(extension)
        row = rows[extension]
        assert (call["channel"], call["context"], call["exten"], call["priority"]) == (
            f"Local/{extension}@paging", "sargs-alert", "s", "1")
        assert call["outcome"] == "answered"
        assert row.provider_id == call["uniqueid"]
        assert call["action_id"].startswith(f"sargs-{row.id}-")
        assert call["variables"]["SARGS_DELIVERY"] == str(row.id)
        assert call["variables"]["SARGS_LANGUAGE"] == "lv"
        assert call["variables"]["SARGS_LEVEL"] == "orange"
        assert _spoken(call) == LV_TEXT
    assert [login["accepted"] for login in pbx.logins.of("sargs")] == [True, True]
    drain(pbx_wired.dispatcher())
    assert _alert_state(pbx_wired, alert_id) == "done"


def test_a_busy_paging_group_is_paged_again_after_the_backoff(
        pbx_wired, pbx, users, db, frozen_clock):
    _paging_group(db, "600")
    author = users.create("olga", "operator")
    send_staff_alert(pbx_wired, author.id, ["pbx"], "skalruni")
    pbx.fault("busy")

    drain(pbx_wired.dispatcher())

    row = pbx_wired.rows()["600"]
    assert (row.state, row.last_error) == ("pending", "PBX paging 600: busy (Reason 5)")
    assert [c["outcome"] for c in pbx.calls.of("600")] == ["busy"]
    frozen_clock.advance(seconds=5)
    drain(pbx_wired.dispatcher())
    row = pbx_wired.rows()["600"]
    busy, answered = pbx.calls.of("600")
    assert (row.state, row.attempts, row.provider_id) == ("delivered", 2, answered["uniqueid"])


def test_a_wrong_manager_secret_keeps_the_page_waiting(settings, pbx, users, db, frozen_clock):
    url = f"ami://sargs:wrong@127.0.0.1:{pbx.port}"
    with wired(settings, ami_url=url) as wiring:
        _paging_group(db, "600")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["pbx"], "skalruni")
        drain(wiring.dispatcher())
        row = wiring.rows()["600"]
    assert row.state == "pending"
    assert "check SARGS_PBX_AMI_URL" in row.last_error
    assert pbx.calls.of("600") == []


def test_long_texts_go_in_parts_without_splitting_a_letter():
    text = "Ā" * 400
    parts = text_parts(text, limit=301)
    assert len(parts) == 3
    assert all(len(base64.b64decode(p)) <= 301 for p in parts)
    assert b"".join(base64.b64decode(p) for p in parts).decode("utf-8") == text
