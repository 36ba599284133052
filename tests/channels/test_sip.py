"""The SIP paging adapter against SIPp playing the paging phone (and the PBX's
challenge) on 127.0.0.1: what the phone received — the INVITE with its
auto-answer headers, the RTP audio — equals what the ledger says.

SIPp (Debian's sip-tester), espeak-ng and sox are needed; without them these
tests skip, unless SARGS_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sargs import clock
from sargs.channels import alerts, sip, sip_audio
from sargs.channels.adapters import Outgoing, RetryableError
from sargs.channels.contacts import (
    AddressError,
    add_to_group,
    ensure_group,
    normalise,
    register_contact,
)
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.sip_messages import Response, authorization, proxy_address
from sargs.settings import SettingsError, load_settings
from tests.channels.adapters_helpers import drain_paced, send_staff_alert, wired
from tests.channels.engine_helpers import public_orange
from tests.channels.sip_phone import require

LV_TEXT = "Trauksme. Dodieties uz patvertni."
SHORT = {"lv": "Trauksme.", "en": "Alarm."}


def _header(message: str, name: str) -> str:
    for line in message.splitlines():
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _paging_group(db, *extensions: str) -> None:
    group = ensure_group(db, "skalruni", "Domes skaļruņi", "paging")
    for extension in extensions:
        add_to_group(db, group, register_contact(db, f"Skaļruņi {extension}",
                                                 [("sip", extension)], kind="institution"))
    db.commit()


def _alert_state(wiring, alert_id: int) -> str:
    with wiring.sessions() as db:
        return db.get(Alert, alert_id).state


# --- a page --------------------------------------------------------------------


def test_a_page_auto_answers_the_extension_plays_the_latvian_audio_and_is_delivered(
        settings, phones, users, db, frozen_clock):
    phone = phones("answer")
    with wired(settings, sip_proxy=phone.address) as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        alert_id = send_staff_alert(wiring, author.id, ["sip"], "skalruni",
                                    texts={"lv": LV_TEXT, "en": "Alarm. Go to the shelter."})

        drain_paced(wiring, frozen_clock, rounds=2)

        assert phone.finished() == 0  # the auto-answer headers and SDP checks passed
        invite, = phone.received("INVITE")
        assert invite.splitlines()[0] == f"INVITE sip:7001@127.0.0.1:{phone.port} SIP/2.0"
        assert _header(invite, "Call-Info") == "<sip:127.0.0.1>;answer-after=0"
        assert _header(invite, "Alert-Info") == "<http://127.0.0.1>;info=alert-autoanswer"
        assert _header(invite, "Answer-Mode") == "Auto"
        assert len(phone.received("ACK")) == 1 and len(phone.received("BYE")) == 1
        row = wiring.rows()["7001"]
        assert (row.state, row.provider_id) == ("delivered", _header(invite, "Call-ID"))

        # The whole page arrived as PCMU in order: chime and Latvian message, twice.
        page = sip_audio.page(settings.instance_path / "sip-audio", LV_TEXT, "lv")
        speech = sip_audio.speech(settings.instance_path / "sip-audio", LV_TEXT, "lv")
        packets = phone.rtp()
        assert len(packets) == -(-len(page) // sip.FRAME)
        assert len(packets) * sip.FRAME_S >= 2 * sip_audio.seconds(speech) > 4
        assert {(pt, ssrc, len(payload)) for _, pt, _, _, ssrc, payload in packets} == {
            (0, packets[0][4], 160)}
        assert [marker for marker, *_ in packets][:2] == [1, 0]
        assert all((b[2] - a[2]) % 65536 == 1 and (b[3] - a[3]) % 2**32 == 160
                   for a, b in zip(packets, packets[1:], strict=False))
        heard = b"".join(payload for *_, payload in packets)
        assert heard[:len(page)] == page
        assert heard.count(speech) == 2

        drain(wiring.dispatcher())
        assert _alert_state(wiring, alert_id) == "done"


def test_a_busy_extension_is_paged_again_after_the_backoff(
        settings, phones, users, db, frozen_clock):
    busy = phones("reject", status="486 Busy Here")
    with wired(settings, sip_proxy=busy.address) as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["sip"], "skalruni", texts=SHORT)

        drain(wiring.dispatcher())

        assert busy.finished() == 0  # the INVITE, then our ACK of the 486
        assert len(busy.received("INVITE")) == 1 and len(busy.received("ACK")) == 1
        row = wiring.rows()["7001"]
        assert (row.state, row.last_error) == ("pending", "SIP paging 7001: 486 Busy Here")

    answering = phones("answer")
    with wired(settings, sip_proxy=answering.address) as wiring:
        frozen_clock.advance(seconds=5)
        drain(wiring.dispatcher())
        assert answering.finished() == 0
        invite, = answering.received("INVITE")
        row = wiring.rows()["7001"]
        assert (row.state, row.attempts, row.provider_id) == (
            "delivered", 2, _header(invite, "Call-ID"))
        assert answering.packets


def test_an_unknown_extension_is_undeliverable_and_the_school_gets_an_email_instead(
        settings, phones, users, frozen_clock):
    phone = phones("reject", status="404 Not Found")
    with SmtpSimulator(mode="test") as mail, wired(
            settings, sip_proxy=phone.address,
            smtp_url=f"smtp://127.0.0.1:{mail.port}") as wiring:
        author = users.create("olga", "operator")
        approver = users.create("karlis", "commission")
        with wiring.sessions() as db:
            # A school subscribed for its area: its loudspeakers first, e-mail second.
            register_contact(db, "Jelgavas 4. sākumskola",
                             [("sip", "7404"), ("email", "skola@jelgava.lv")], kind="institution",
                             areas=["LV022"], levels=["orange"], public_subscriber=True)
            alert = alerts.create_alert(db, public_orange(channels=["sip", "email"]), author.id)
            alerts.submit(db, alert, author.id)
            alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
            alerts.start_sending(db, alert, set(wiring.adapters))
            db.commit()

        drain_paced(wiring, frozen_clock, rounds=3)

        assert phone.finished() == 0
        rows = wiring.rows()
        assert (rows["7404"].state, rows["7404"].last_error) == (
            "undeliverable", "SIP paging 7404: 404 Not Found")
        assert rows["skola@jelgava.lv"].state == "delivered"
        assert len(mail.inboxes.of("skola@jelgava.lv")) == 1


# --- digest authentication ---------------------------------------------------------


def test_a_challenged_invite_is_sent_again_with_digest_credentials(
        settings, phones, users, db, frozen_clock):
    phone = phones("auth", user="sargs", password="pa:ss w0rd")
    with wired(settings, sip_proxy=phone.address, sip_user="sargs",
               sip_password=SecretStr("pa:ss w0rd"),
               sip_from="sip:civila-aizsardziba@jelgava.lv") as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["sip"], "skalruni", texts=SHORT)

        drain(wiring.dispatcher())

        assert phone.finished() == 0
        first, second = phone.received("INVITE")
        assert _header(first, "Authorization") == ""
        assert _header(second, "Authorization").startswith('Digest username="sargs"')
        assert _header(first, "Call-ID") == _header(second, "Call-ID")
        assert _header(second, "From").startswith('"Sargs" <sip:civila-aizsardziba@jelgava.lv>')
        row = wiring.rows()["7001"]
        assert (row.state, row.provider_id) == ("delivered", _header(second, "Call-ID"))
        assert phone.packets


def test_a_wrong_sip_password_keeps_the_page_waiting_with_the_reason(
        settings, phones, users, db, frozen_clock):
    phone = phones("auth", user="sargs", password="the right one")
    with wired(settings, sip_proxy=phone.address, sip_user="sargs",
               sip_password=SecretStr("wrong")) as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["sip"], "skalruni", texts=SHORT)

        drain(wiring.dispatcher())

        phone.finished()
        row = wiring.rows()["7001"]
    assert row.state == "pending"
    assert "check SARGS_SIP_USER and SARGS_SIP_PASSWORD" in row.last_error
    assert phone.packets == []


def test_the_digest_is_rfc_2617s_worked_example(monkeypatch):
    challenge = Response(401, "Unauthorized", {"www-authenticate": [
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"']},
        "")
    monkeypatch.setattr("sargs.channels.sip_messages.secrets.token_hex", lambda n: "0a4f113b")
    header = authorization(challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life")
    assert header is not None and header.startswith("Authorization: Digest ")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


# --- audio and settings ------------------------------------------------------------


def test_latvian_text_is_rendered_as_8_khz_mulaw_once(tmp_path):
    require("espeak-ng", "sox")
    speech = sip_audio.speech(tmp_path, LV_TEXT, "lv")
    # Five words at 150 a minute: about two to three seconds, one byte a sample.
    assert 1.5 < sip_audio.seconds(speech) < 6
    assert len(set(speech)) > 50  # speech, not silence or a tone
    english = sip_audio.speech(tmp_path, LV_TEXT, "en")
    assert english != speech  # the Latvian voice, not the English one
    assert len(list(tmp_path.glob("speech-*.ul"))) == 2
    (tmp_path / "chime.ul").unlink(missing_ok=True)
    assert sip_audio.speech(tmp_path, LV_TEXT, "lv") == speech  # from the cache

    page = sip_audio.page(tmp_path, LV_TEXT, "lv")
    chime = sip_audio.chime(tmp_path)
    assert page.startswith(chime + speech) and page.count(speech) == 2


def test_a_missing_renderer_is_a_clear_reason_to_wait(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither espeak-ng nor sox can be found
    adapter = sip.SipAdapter(settings.model_copy(update={"sip_proxy": "127.0.0.1:5060"}))
    with pytest.raises(RetryableError) as raised:
        adapter.send(Outgoing(1, "sip", "7001", "lv", LV_TEXT, "Actual", "orange", None))
    assert str(raised.value) == ("SIP page audio: espeak-ng is not installed "
                                 "(apt-get install espeak-ng sox)")


def test_sip_settings_name_the_variable_and_the_format():
    assert proxy_address("pbx.jelgava.lv") == ("pbx.jelgava.lv", 5060)
    assert proxy_address("10.0.0.5:5080") == ("10.0.0.5", 5080)
    with pytest.raises(SettingsError) as raised:
        load_settings(sip_proxy="pbx.jelgava.lv:99999")
    assert "SARGS_SIP_PROXY" in str(raised.value)
    assert "host:port" in str(raised.value)


def test_an_unknown_outcome_is_not_guessed(settings):
    adapter = sip.SipAdapter(settings.model_copy(update={"sip_proxy": "127.0.0.1"}))
    message = Outgoing(1, "sip", "7001", "lv", LV_TEXT, "Actual", "orange", None)
    assert adapter.reconcile(message, "abc@127.0.0.1") == "abc@127.0.0.1"
    with pytest.raises(LookupError):
        adapter.reconcile(message, None)


def test_the_ledger_holds_sip_pages_until_a_proxy_is_configured(settings, users, db, app):
    _paging_group(db, "7001")
    author = users.create("olga", "operator")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["skalruni"]},
                                                  channels=["sip"]), author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, set())
    db.commit()
    row = db.scalar(select(Delivery))
    assert (row.channel, row.state, row.hold_reason) == ("sip", "held", "channel_not_configured")


def test_a_sip_address_is_an_extension_or_a_sip_uri_and_nothing_more():
    assert normalise("sip", " 7001 ") == "7001"
    assert normalise("sip", "sip:skalruni@pbx.jelgava.lv:5080") == "sip:skalruni@pbx.jelgava.lv:5080"
    for bad in ("70 01", "7001\r\nX-Injected: 1", "sip:7001", "tel:+37120000000", ""):
        with pytest.raises(AddressError) as raised:
            normalise("sip", bad)
        assert raised.value.field == "sip"


# --- calls that end otherwise ------------------------------------------------------


def test_an_extension_that_only_rings_is_cancelled_and_paged_again_later(
        settings, phones, users, db, frozen_clock, monkeypatch):
    monkeypatch.setattr(sip, "RING_TIMEOUT_S", 1.0)
    phone = phones("ring")
    with wired(settings, sip_proxy=phone.address) as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["sip"], "skalruni", texts=SHORT)

        drain(wiring.dispatcher())

        assert phone.finished() == 0  # CANCEL, then the ACK of the 487
        assert len(phone.received("CANCEL")) == 1 and len(phone.received("ACK")) == 1
        row = wiring.rows()["7001"]
    assert (row.state, row.last_error) == ("pending", "SIP paging 7001: no answer in 1 s")
    assert phone.packets == []


def test_a_phone_hanging_up_during_the_page_has_heard_it(
        settings, phones, users, db, frozen_clock):
    phone = phones("hangup")
    with wired(settings, sip_proxy=phone.address) as wiring:
        _paging_group(db, "7001")
        author = users.create("olga", "operator")
        send_staff_alert(wiring, author.id, ["sip"], "skalruni", texts={"lv": LV_TEXT})

        drain(wiring.dispatcher())

        assert phone.finished() == 0  # its BYE was answered 200
        assert phone.received("BYE") == []  # and Sargs sent none of its own
        row = wiring.rows()["7001"]
        assert row.state == "delivered"
        page = sip_audio.page(settings.instance_path / "sip-audio", LV_TEXT, "lv")
        assert 0 < len(phone.packets) < len(page) // sip.FRAME  # the page stopped early


def test_a_proxy_challenge_gets_a_proxy_authorization_and_other_schemes_none():
    proxy = Response(407, "Proxy Authentication Required", {"proxy-authenticate": [
        'Digest realm="pbx", nonce="abc", algorithm=MD5']}, "")
    header = authorization(proxy, "INVITE", "sip:7001@pbx", "sargs", "secret")
    # Without qop: MD5(HA1:nonce:HA2), RFC 2069's form that RFC 2617 keeps.
    assert header == ('Proxy-Authorization: Digest username="sargs", realm="pbx", nonce="abc", '
                      'uri="sip:7001@pbx", response="8d0fd6f19775fac32dd57d1db213f036", '
                      'algorithm=MD5')
    sha = Response(401, "Unauthorized", {"www-authenticate": [
        'Digest realm="pbx", nonce="abc", algorithm=SHA-256']}, "")
    assert authorization(sha, "INVITE", "sip:7001@pbx", "sargs", "secret") is None
