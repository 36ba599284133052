"""E-mail through an SMTP relay (stdlib smtplib), one message per recipient.

``SARGS_SMTP_URL`` is ``smtp://user:password@host:port`` (plain SMTP, upgraded
with STARTTLS whenever the server offers it) or ``smtps://…`` (TLS from the
first byte); credentials in the URL mean AUTH. One connection per message:
simple, and a refused recipient or a dropped connection touches one row only.

SMTP acceptance by the municipality's relay is the last thing Sargs can know
about an e-mail (there are no delivery receipts), so acceptance counts as
delivered and the alert can finish. The provider id is the Message-ID this
adapter generates.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from sargs import clock
from sargs.channels.adapters import Outgoing, PermanentError, RetryableError
from sargs.channels.rates import RATES
from sargs.settings import Settings

SUBJECT_MAX = 78
TIMEOUT_S = 30.0
SENDER_NAME = "Sargs"
# Under every alert's HTML part, with the resident's personal link (channels/email_subscriptions.py).
UNSUBSCRIBE_TEXTS = {
    "lv": "Atteikties no e-pasta brīdinājumiem vai apskatīt savus datus",
    "en": "Unsubscribe from e-mail alerts or see your data",
}


def subject_of(text: str) -> str:
    """The text's first line, cut at a word to at most :data:`SUBJECT_MAX` characters."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    line = " ".join(first.split())
    if len(line) <= SUBJECT_MAX:
        return line
    cut = line[:SUBJECT_MAX - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def html_of(text: str, language: str) -> str:
    """The text as a small HTML document: escaped, one paragraph per blank-line block."""
    paragraphs = [block for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in block.strip().split("\n")) + "</p>"
        for block in paragraphs
    )
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n'
            f'<head><meta charset="utf-8"></head>\n<body>\n{body}\n</body>\n</html>\n')


def build_message(message: Outgoing, sender: str, unsubscribe_url: str | None = None) -> EmailMessage:
    """One recipient's e-mail: a text part and an HTML alternative, both UTF-8; with
    ``unsubscribe_url`` also the List-Unsubscribe header and a link under the HTML text."""
    mail = EmailMessage()
    mail["From"] = formataddr((SENDER_NAME, sender))
    mail["To"] = message.address
    mail["Subject"] = subject_of(message.text)
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    mail["Content-Language"] = message.language
    mail.set_content(message.text, charset="utf-8")
    document = html_of(message.text, message.language)
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        label = UNSUBSCRIBE_TEXTS.get(message.language, UNSUBSCRIBE_TEXTS["en"])
        document = document.replace("</body>", f'<p><small><a href="{html.escape(unsubscribe_url)}">'
                                    f"{html.escape(label)}</a></small></p>\n</body>")
    mail.add_alternative(document, subtype="html", charset="utf-8")
    return mail


class EmailAdapter:
    channel = "email"
    # SMTP acceptance by the relay is the last thing Sargs can know: see the module text.
    delivered_on_send = True

    def __init__(self, settings: Settings, rate_per_second: float = RATES["email"]) -> None:
        assert settings.smtp_url is not None
        url = urlsplit(settings.smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("SARGS_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…")
        self.tls = url.scheme == "smtps"
        self.host = url.hostname
        self.port = url.port or (465 if self.tls else 25)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else ""
        self.sender = settings.email_from
        self.rate_per_second = rate_per_second
        from sargs.channels.email_subscriptions import unsubscribe_link

        self.unsubscribe_link = unsubscribe_link(settings)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_S, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S)
        try:
            smtp.ehlo()
            if not self.tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Outgoing) -> str:
        # Alerts to subscribers carry their unsubscribe link; staff, partners, reporters
        # told of their report, and mails without a ledger row (a subscription's
        # confirmation) do not: they have no subscription to leave.
        link = self.unsubscribe_link(message.address) if message.subscriber else None
        mail = build_message(message, self.sender, link)
        try:
            smtp = self._connect()
            try:
                smtp.send_message(mail)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            reason = f"SMTP {code}: {_text(reply)}"
            if 500 <= code < 600:
                raise PermanentError(reason) from error
            raise RetryableError(reason) from error
        except smtplib.SMTPAuthenticationError as error:
            # A configuration fault, not the recipient's: keep the row and say why.
            raise RetryableError(f"SMTP login refused ({error.smtp_code}): check SARGS_SMTP_URL") \
                from error
        except smtplib.SMTPDataError as error:
            reason = f"SMTP {error.smtp_code}: {_text(error.smtp_error)}"
            if 500 <= error.smtp_code < 600:
                raise PermanentError(reason) from error
            raise RetryableError(reason) from error
        except smtplib.SMTPResponseException as error:  # sender refused, other replies
            raise RetryableError(f"SMTP {error.smtp_code}: {_text(error.smtp_error)}") from error
        except (smtplib.SMTPException, OSError) as error:  # disconnected, refused, timeout
            raise RetryableError(f"SMTP server unreachable: {type(error).__name__}") from error
        return str(mail["Message-ID"])

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """SMTP has no lookup: without an id, whether the relay took the message is unknown,
        so the row is resent and counted as possibly duplicated (as for Telegram)."""
        if provider_id:
            return provider_id
        raise LookupError("an SMTP relay cannot be asked what it accepted")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
