"""The SMTP simulator, driven by smtplib."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from sargs.channels.simulators.smtp import SmtpSimulator


def alert_mail(to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Jelgavas civilā aizsardzība <sargs@jelgava.lv>"
    mail["To"] = to
    mail["Subject"] = "Brīdinājums: vētra Jelgavā"
    mail.set_content("Uzmanību! Stiprs vējš līdz 25 m/s. Palieciet telpās.")
    mail.add_alternative("<p><b>Uzmanību!</b> Stiprs vējš līdz 25 m/s.</p>", subtype="html")
    return mail


def test_multipart_latvian_message_is_recorded() -> None:
    with SmtpSimulator(mode="test") as sim, smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
        smtp.send_message(alert_mail("janis@example.lv"))
        smtp.send_message(alert_mail("anna@example.lv"))
    inbox = sim.inboxes.of("janis@example.lv")
    assert len(inbox) == 1
    mail = inbox[0]
    assert mail["mail_from"] == "sargs@jelgava.lv"
    assert mail["subject"] == "Brīdinājums: vētra Jelgavā"
    assert mail["text"].strip() == "Uzmanību! Stiprs vējš līdz 25 m/s. Palieciet telpās."
    assert "<b>Uzmanību!</b>" in mail["html"]
    assert mail["message"]["From"].addresses[0].display_name == "Jelgavas civilā aizsardzība"
    assert len(sim.inboxes.of("anna@example.lv")) == 1


def test_unknown_recipient_and_temporary_failure() -> None:
    with SmtpSimulator(mode="test", unknown={"nobody@example.lv"}) as sim, \
            smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            smtp.send_message(alert_mail("nobody@example.lv"))
        assert caught.value.recipients["nobody@example.lv"][0] == 550
        sim.fault("temporary")
        with pytest.raises(smtplib.SMTPDataError) as failed:
            smtp.send_message(alert_mail("janis@example.lv"))
        assert failed.value.smtp_code == 451
        smtp.send_message(alert_mail("janis@example.lv"))
    assert len(sim.inboxes) == 1


def test_authentication_and_refused_auth() -> None:
    with SmtpSimulator(mode="test", credentials={"sargs": "s3cret"}) as sim:
        with smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.send_message(alert_mail("janis@example.lv"))  # AUTH required
        with smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("sargs", "wrong")
        sim.fault("refuse_auth")
        with smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("sargs", "s3cret")
        with smtplib.SMTP("127.0.0.1", sim.port, timeout=5) as smtp:
            smtp.login("sargs", "s3cret")
            smtp.send_message(alert_mail("janis@example.lv"))
        assert sim.inboxes.wait_for(1, "janis@example.lv")
