"""E-mail intake against a real Dovecot: mails filed in its INBOX become draft reports,
each once; auto-replies, oversized and unreadable mails are left out; a wrong password
is recorded and stores nothing."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select

from sargs.cad import email_intake, jobs
from sargs.cad.models import CadIntakeState, CadPhoto, CadReport
from sargs.cli import cli
from tests.cad import imap_server
from tests.conftest import START

_users = itertools.count(1)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[imap_server.Dovecot]:
    yield from imap_server.start()


@pytest.fixture
def mailbox(dovecot: imap_server.Dovecot) -> imap_server.Mailbox:
    """A fresh, empty mailbox of its own for each test."""
    return dovecot.mailbox(f"intake{next(_users)}")


@pytest.fixture
def intake(app: Any, mailbox: imap_server.Mailbox) -> Any:
    """The app's settings pointed at the test mailbox (the CLI and the tick read them)."""
    ext = app.extensions["sargs"]
    ext.settings = ext.settings.model_copy(
        update={"cad_imap_url": SecretStr(mailbox.url()), "cad_imap_poll_seconds": 60})
    return ext.settings


def mail(subject: str = "Bedre uz Lielās ielas", body: str = "Liela bedre pie nama nr. 11.",
         *, sender: str = "Anna Bērziņa <Anna.Berzina@example.lv>",
         message_id: str | None = "<m1@example.lv>", sent: datetime | None = None,
         **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "8787@jelgava.lv"
    if subject:
        message["Subject"] = subject
    message["Date"] = format_datetime(sent or START - timedelta(hours=2))
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def reports(db: Any) -> list[CadReport]:
    db.expire_all()
    return list(db.scalars(select(CadReport).order_by(CadReport.id)))


def intake_state(db: Any) -> CadIntakeState:
    db.expire_all()
    return db.scalars(select(CadIntakeState)).one()


def test_a_mail_becomes_a_draft_once_and_a_later_mail_is_taken_too(app, db, intake, mailbox,
                                                                  frozen_clock):
    sent = START - timedelta(hours=3)
    mailbox.deliver(mail(sent=sent))
    result = email_intake.poll(db, intake)
    assert len(result.created) == 1 and result.error is None
    [report] = reports(db)
    assert (report.channel, report.state, report.category_id) == ("email", "draft", None)
    assert report.title == "Bedre uz Lielās ielas"
    assert report.description == "Liela bedre pie nama nr. 11."
    assert (report.reporter_email, report.reporter_name) == ("anna.berzina@example.lv",
                                                             "Anna Bērziņa")
    assert (report.feedback_wanted, report.feedback_channel) == (True, "email")
    assert report.language == "lv"
    assert report.received_at == sent
    assert report.source_ref == "<m1@example.lv>"
    assert [(e.kind, e.actor_name) for e in report.events] == [("created", "e-mail")]
    assert "\\Seen" in mailbox.flags()[1]

    # Polled again: nothing new by UID; read anew from UID 0: nothing new by Message-ID.
    assert email_intake.poll(db, intake).created == []
    state = intake_state(db)
    state.last_uid = 0
    db.commit()
    again = email_intake.poll(db, intake)
    assert (again.created, again.already_stored) == ([], 1)
    # The same mail filed twice (a second UID) is still one report.
    mailbox.deliver(mail(sent=sent))
    assert email_intake.poll(db, intake).already_stored == 1
    assert len(reports(db)) == 1

    frozen_clock.advance(minutes=10)
    mailbox.deliver(mail("Street light out", "Hello, the street light on Akadēmijas "
                         "street is out.", sender="john@example.com", message_id="<m2@x>",
                         sent=frozen_clock.now() + timedelta(hours=1)))
    later = email_intake.poll(db, intake)
    assert len(later.created) == 1
    second = reports(db)[1]
    assert second.title == "Street light out"
    assert (second.reporter_email, second.reporter_name) == ("john@example.com", None)
    assert second.language == "en"
    assert second.received_at == frozen_clock.now()  # its Date header was in the future
    state = intake_state(db)
    assert (state.last_uid, state.last_error) == (3, None)
    assert state.last_success_at == frozen_clock.now()


def test_an_html_only_mail_gives_its_text(app, db, intake, mailbox):
    message = EmailMessage()
    message["From"] = "resident@example.lv"
    message["Subject"] = "Koks"
    message["Message-ID"] = "<html@example.lv>"
    message.set_content(
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<p>Nol&uuml;zis koks &amp; zari</p><p>uz <b>Pasta</b> ielas</p>"
        "<script>alert(1)</script></body></html>", subtype="html")
    mailbox.deliver(bytes(message))
    email_intake.poll(db, intake)
    [report] = reports(db)
    assert report.description == "Nolüzis koks & zari\n\nuz Pasta ielas"
    assert report.title == "Koks"


def test_an_encoded_latvian_subject_and_body_come_out_right(app, db, intake, mailbox):
    raw = (b"From: =?utf-8?b?SsSBbmlzIMWgaWxpxYbFoQ==?= <janis@example.lv>\n"
           b"Subject: =?UTF-8?B?QsSTcnppIG5vbMWremE=?= =?iso-8859-13?q?_iel=E2_=F0odien?=\n"
           b"Message-ID: <lv@example.lv>\n"
           b"MIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=iso-8859-13\n"
           b"Content-Transfer-Encoding: quoted-printable\n\n"
           b"Koks nol=FBzis p=E2ri ce=EFam, l=FBdzu nov=E2kt.\n")
    mailbox.deliver(raw)
    email_intake.poll(db, intake)
    [report] = reports(db)
    assert report.title == "Bērzi nolūza ielā šodien"
    assert report.description == "Koks nolūzis pāri ceļam, lūdzu novākt."
    assert report.reporter_name == "Jānis Šiliņš"
    assert report.language == "lv"


def test_an_oversized_or_unreadable_mail_is_skipped_and_the_next_taken(app, db, intake,
                                                                         mailbox):
    mailbox.deliver(mail("Lielas bildes", "x" * 5000, message_id="<big@x>"))
    mailbox.deliver(b"From: someone@example.lv\nMessage-ID: <empty@x>\n\n\n")
    # Broken MIME: an unknown charset and a multipart without its closing boundary.
    mailbox.deliver(b"From: a@example.lv\nSubject: Salauzts\nMessage-ID: <broken@x>\n"
                    b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n"
                    b"--zz\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
                    b"Sniegs uz ietves\n")
    mailbox.deliver(mail("Sniegs", "Nav notirits sniegs", message_id="<next@x>"))
    result = email_intake.poll(db, intake, max_bytes=3000)
    [(big_uid, big_reason), empty] = result.skipped
    assert big_uid == 1 and big_reason.startswith("too large (")
    assert empty == (2, "no subject and no text")
    assert [r.title for r in reports(db)] == ["Salauzts", "Sniegs"]
    assert reports(db)[0].description == "Sniegs uz ietves"
    state = intake_state(db)
    assert state.last_uid == 4
    assert "UID 1 skipped: too large" in state.last_error
    assert "UID 2 skipped: no subject and no text" in state.last_error
    flags = mailbox.flags()
    # Skipped mails stay unread and flagged for a person to look at.
    assert "\\Flagged" in flags[1] and "\\Seen" not in flags[1]
    assert "\\Seen" in flags[3] and "\\Seen" in flags[4]


def test_auto_replies_and_bounces_are_skipped(app, db, intake, mailbox):
    mailbox.deliver(mail("Out of office", "I am away.", message_id="<a1@x>",
                         Auto_Submitted="auto-replied"))
    mailbox.deliver(mail("Undelivered Mail", "Returned.", message_id="<a2@x>",
                         Return_Path="<>"))
    mailbox.deliver(mail("Failure", "No such user.", message_id="<a3@x>",
                         sender="Mail Delivery System <MAILER-DAEMON@mx.example.lv>"))
    mailbox.deliver(mail("Bedre", "Bedre ietvē.", message_id="<a4@x>", Auto_Submitted="no"))
    result = email_intake.poll(db, intake)
    assert (len(result.created), result.automatic, result.skipped) == (1, 3, [])
    assert [r.title for r in reports(db)] == ["Bedre"]
    assert intake_state(db).last_error is None
    flags = mailbox.flags()
    assert all("\\Seen" not in flags[uid] and "\\Flagged" not in flags[uid] for uid in (1, 2, 3))


def test_a_mail_without_message_id_is_kept_once_by_its_hash(app, db, intake, mailbox):
    mailbox.deliver(mail(message_id=None))
    email_intake.poll(db, intake)
    intake_state(db).last_uid = 0
    db.commit()
    assert email_intake.poll(db, intake).already_stored == 1
    [report] = reports(db)
    assert report.source_ref.startswith("sha256:")


def test_a_new_uidvalidity_reads_the_mailbox_anew(app, db, intake, mailbox):
    mailbox.deliver(mail(message_id="<v1@x>"))
    email_intake.poll(db, intake)
    state = intake_state(db)
    state.uid_validity, state.last_uid = 1, 999  # as if the mailbox had been recreated
    db.commit()
    mailbox.deliver(mail("Otrs", "Vēl viena bedre", message_id="<v2@x>"))
    result = email_intake.poll(db, intake)
    assert (len(result.created), result.already_stored) == (1, 1)
    assert intake_state(db).last_uid == 2 and intake_state(db).uid_validity != 1


def test_image_attachments_become_photos_without_exif(app, db, intake, mailbox):
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    message = EmailMessage()
    message["From"] = "resident@example.lv"
    message["Subject"] = "Bedre ar foto"
    message["Message-ID"] = "<photo@x>"
    message.set_content("Skatīt foto.")
    message.add_attachment(buffer.getvalue(), maintype="image", subtype="jpeg",
                           filename="bedre.jpg")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                           filename="x.pdf")
    mailbox.deliver(bytes(message))
    email_intake.poll(db, intake)
    [report] = reports(db)
    [photo] = db.scalars(select(CadPhoto).where(CadPhoto.report_id == report.id)).all()
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 40, 30)
    assert b"PhoneMaker" not in photo.data and b"Exif" not in photo.data
    assert report.description == "Skatīt foto."


def test_the_cli_fetches_mail_now(app, db, intake, mailbox):
    mailbox.deliver(mail(message_id="<c1@x>"))
    mailbox.deliver(mail("Otra", "Otrā bedre", message_id="<c2@x>"))
    result = app.test_cli_runner().invoke(cli, ["cad", "fetch-mail"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("drafts 2,")
    assert len(reports(db)) == 2
    db.rollback()  # SQLite: our read would keep the command from writing
    again = app.test_cli_runner().invoke(cli, ["cad", "fetch-mail", "--json"])
    assert '"created": 0' in again.output


def test_a_wrong_password_is_recorded_and_stores_nothing(app, db, intake, mailbox):
    mailbox.deliver(mail())
    wrong = intake.model_copy(update={"cad_imap_url": SecretStr(mailbox.url("wrong"))})
    result = email_intake.poll(db, wrong)
    assert result.created == [] and "AUTHENTICATIONFAILED" in result.error
    state = intake_state(db)
    assert "AUTHENTICATIONFAILED" in state.last_error
    assert state.last_success_at is None and state.last_uid == 0
    assert db.scalar(select(func.count()).select_from(CadReport)) == 0
    assert "\\Seen" not in mailbox.flags()[1]
    app.extensions["sargs"].settings = wrong
    db.rollback()
    command = app.test_cli_runner().invoke(cli, ["cad", "fetch-mail"])
    assert command.exit_code == 2 and "AUTHENTICATIONFAILED" in command.output


def test_the_tick_polls_at_most_every_poll_seconds(app, db, intake, mailbox, frozen_clock):
    mailbox.deliver(mail(message_id="<t1@x>"))
    with app.app_context():
        jobs.mail_tick(db)
        assert len(reports(db)) == 1
        mailbox.deliver(mail("Otra", "Otrā bedre", message_id="<t2@x>"))
        frozen_clock.advance(seconds=59)
        jobs.mail_tick(db)
        assert len(reports(db)) == 1
        frozen_clock.advance(seconds=1)
        jobs.mail_tick(db)
        assert len(reports(db)) == 2


def test_the_tick_does_nothing_without_a_mailbox(app, db):
    with app.app_context():
        jobs.mail_tick(db)
    assert db.scalar(select(func.count()).select_from(CadIntakeState)) == 0


@pytest.mark.parametrize(("text", "language"), [
    ("Bedre uz ielas", "lv"), ("Labdien, uz ielas ir bedre", "lv"),
    ("Hello, there is a hole in the street", "en"), ("OK", "lv"),
])
def test_the_language_is_guessed_simply(text, language):
    assert email_intake.guess_language(text) == language


def test_a_date_in_the_future_or_long_ago_is_not_believed():
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    for sent, expected in [(now - timedelta(days=2), now - timedelta(days=2)),
                           (now + timedelta(hours=1), now), (now - timedelta(days=31), now)]:
        message = email_intake.BytesParser(policy=email_intake.policy.default).parsebytes(
            f"Date: {format_datetime(sent)}\n\nx".encode())
        assert email_intake.received_time(message, now) == expected
