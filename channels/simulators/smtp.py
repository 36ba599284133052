"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what each inbox received.

Each accepted message is parsed (``email.policy.default``) and recorded per
recipient in :attr:`SmtpSimulator.inboxes` with its subject, text and HTML parts.
With ``credentials`` the server offers AUTH (PLAIN, LOGIN) without TLS.
Faults: ``refuse_auth`` (535), ``refuse_recipient`` (550), ``temporary``
(451 on DATA). Addresses in ``unknown`` are refused with 550 5.1.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sargs import clock
from sargs.channels.simulators.base import HOST, Record, Simulator, free_port


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else None


class _Handler:
    def __init__(self, simulator: SmtpSimulator) -> None:
        self.simulator = simulator

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.simulator.credentials and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        sim = self.simulator
        if address.lower() in sim.unknown or sim.faults.take("refuse_recipient") is not None:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sim = self.simulator
        if sim.faults.take("temporary") is not None:
            return "451 4.3.0 Temporary failure, try again later"
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        entry = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                 "message": message, "subject": message["Subject"],
                 "text": _part(message, "plain"), "html": _part(message, "html"),
                 "raw": raw, "at": clock.now()}
        for address in envelope.rcpt_tos:
            sim.inboxes.add(address.lower(), entry)
        sim.messages.add(envelope.mail_from, entry)
        return "250 Message accepted for delivery"


class SmtpSimulator(Simulator):
    name = "smtp"
    fault_names = ("refuse_auth", "refuse_recipient", "temporary")

    def __init__(self, *, mode: str | None = None, port: int = 0,
                 credentials: Mapping[str, str] | None = None,
                 unknown: Iterable[str] = ()) -> None:
        super().__init__(mode=mode, port=port)
        self.credentials = dict(credentials or {})
        self.unknown = {address.lower() for address in unknown}
        self.inboxes = Record()   # recipient -> messages it received
        self.messages = Record()  # envelope sender -> messages sent

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        # A refused session stays refused for every mechanism the client tries.
        if not hasattr(session, "refused"):
            session.refused = self.faults.take("refuse_auth") is not None
        if session.refused or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = self.credentials.get(user) == password
        return AuthResult(success=accepted, handled=False)

    def _start(self) -> None:
        self.port = self.requested_port or free_port()
        options: dict[str, Any] = {}
        if self.credentials:
            options = {"authenticator": self._authenticate, "auth_require_tls": False,
                       "auth_required": False}  # required per MAIL, see the handler
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port,
                                      server_hostname="sargs-smtp-simulator",
                                      decode_data=False, **options)
        self._controller.start()

    def _stop(self) -> None:
        self._controller.stop()
