"""Paging through the PBX: Asterisk Manager Interface (AMI) ``Originate``.

``SARGS_PBX_AMI_URL`` is ``ami://user:secret@host:5038``. Each page uses one
TCP connection of its own (simple, and nothing stale between pages): read the
greeting, ``Login``, ``Originate`` with ``Async: true``, wait for "Originate
successfully queued" and then for the ``OriginateResponse`` event carrying the
same ActionID, ``Logoff``.

The address is the paging-group extension. The call is
``Channel: Local/<extension>@paging`` — the PBX's paging group rings the
phones with their auto-answer headers — and, once answered, the other leg runs
``Context: sargs-alert``, ``Exten: s``, ``Priority: 1`` with these channel
variables, for the PBX's text-to-speech to read out::

    SARGS_DELIVERY=<delivery id>   SARGS_LANGUAGE=lv   SARGS_LEVEL=orange
    SARGS_TEXT_PARTS=<n>           SARGS_TEXT_1..n=<base64 of UTF-8 text>

The text travels base64-encoded (AMI splits variable values on commas and a
manager line must stay short), in parts of at most ``TEXT_PART_BYTES``; the
dialplan joins ``${BASE64_DECODE(${SARGS_TEXT_1})}``… For example::

    [sargs-alert]
    exten => s,1,Set(TEXT=${BASE64_DECODE(${SARGS_TEXT_1})})
     same => n,espeak("${TEXT}",any,${SARGS_LANGUAGE})  ; or an AGI running espeak-ng -v lv

A page is delivered when the group answered (``OriginateResponse`` Success):
there is no later receipt. Busy, no answer, congestion and refused logins are
retried (a wrong secret is a configuration fault: the row waits, with the reason).
"""

from __future__ import annotations

import base64
import secrets
import socket
import time
from urllib.parse import unquote, urlsplit

from sargs.channels.adapters import Outgoing, RetryableError
from sargs.channels.rates import RATES
from sargs.settings import Settings

PAGING_CONTEXT = "paging"
ALERT_CONTEXT = "sargs-alert"
CALLER_ID = '"Sargs" <0>'
CONNECT_TIMEOUT_S = 10.0
RING_TIMEOUT_MS = 20000
RESPONSE_WAIT_S = 25.0  # under the dispatcher's 30-second lease
TEXT_PART_BYTES = 300
# OriginateResponse Reason codes (Asterisk's AST_CONTROL_*).
REASONS = {0: "failed", 1: "hung up", 3: "no answer", 4: "answered", 5: "busy",
           8: "congestion"}
Packet = dict[str, str]


def text_parts(text: str, limit: int = TEXT_PART_BYTES) -> list[str]:
    """The text base64-encoded in parts of at most ``limit`` UTF-8 bytes, never splitting
    a character."""
    parts: list[str] = []
    current = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > limit:
            parts.append(base64.b64encode(current).decode("ascii"))
            current = b""
        current += encoded
    if current or not parts:
        parts.append(base64.b64encode(current).decode("ascii"))
    return parts


class AmiConnection:
    """Just enough of the AMI line protocol: send actions, read ``Key: Value`` packets."""

    def __init__(self, host: str, port: int, timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.file.readline().decode("utf-8", "replace").strip()
        if not self.greeting.startswith("Asterisk Call Manager"):
            self.close()
            raise RetryableError(f"not an Asterisk manager interface: {self.greeting[:60]!r}")

    def send(self, *fields: tuple[str, object]) -> None:
        lines = "".join(f"{key}: {value}\r\n" for key, value in fields)
        self.sock.sendall((lines + "\r\n").encode("utf-8"))

    def read(self, deadline: float) -> Packet:
        packet: Packet = {}
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            line = self.file.readline()
            if not line:
                raise ConnectionError("the PBX closed the manager connection")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if packet:
                    return packet
                continue
            key, _, value = text.partition(":")
            packet.setdefault(key.strip(), value.strip())

    def wait_for(self, deadline: float, **wanted: str) -> Packet:
        """The next packet whose fields have the wanted values (events in between pass by)."""
        while True:
            packet = self.read(deadline)
            if all(packet.get(key) == value for key, value in wanted.items()):
                return packet

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class PbxAdapter:
    channel = "pbx"
    # Sargs returns only once the paging group answered: acceptance is the delivery.
    delivered_on_send = True

    def __init__(self, settings: Settings, rate_per_second: float = RATES["pbx"]) -> None:
        assert settings.pbx_ami_url is not None
        url = urlsplit(settings.pbx_ami_url)
        if url.scheme != "ami" or not url.hostname:
            raise ValueError("SARGS_PBX_AMI_URL must be ami://user:secret@host:5038")
        self.host = url.hostname
        self.port = url.port or 5038
        self.username = unquote(url.username or "")
        self.secret = unquote(url.password or "")
        self.rate_per_second = rate_per_second

    def originate_fields(self, message: Outgoing, action_id: str) -> list[tuple[str, object]]:
        parts = text_parts(message.text)
        variables = [("SARGS_DELIVERY", message.delivery_id), ("SARGS_LANGUAGE", message.language),
                     ("SARGS_LEVEL", message.level or ""), ("SARGS_STATUS", message.cap_status),
                     ("SARGS_TEXT_PARTS", len(parts))]
        variables += [(f"SARGS_TEXT_{n}", part) for n, part in enumerate(parts, start=1)]
        return [
            ("Action", "Originate"), ("ActionID", action_id),
            ("Channel", f"Local/{message.address}@{PAGING_CONTEXT}"),
            ("Context", ALERT_CONTEXT), ("Exten", "s"), ("Priority", 1),
            ("CallerID", CALLER_ID), ("Timeout", RING_TIMEOUT_MS), ("Async", "true"),
            *(("Variable", f"{name}={value}") for name, value in variables),
        ]

    def send(self, message: Outgoing) -> str:
        action_id = f"sargs-{message.delivery_id}-{secrets.token_hex(4)}"
        try:
            ami = AmiConnection(self.host, self.port)
        except OSError as error:
            raise RetryableError(f"PBX unreachable: {type(error).__name__}") from error
        try:
            return self._page(ami, message, action_id)
        except (OSError, ConnectionError) as error:  # timeouts, resets, a closed connection
            raise RetryableError(f"PBX manager connection lost: {type(error).__name__}") from error
        finally:
            ami.close()

    def _page(self, ami: AmiConnection, message: Outgoing, action_id: str) -> str:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        ami.send(("Action", "Login"), ("ActionID", f"{action_id}-login"),
                 ("Username", self.username), ("Secret", self.secret), ("Events", "call"))
        login = ami.wait_for(deadline, ActionID=f"{action_id}-login")
        if login.get("Response") != "Success":
            raise RetryableError(f"PBX manager login refused ({login.get('Message', '')}): "
                                 "check SARGS_PBX_AMI_URL")
        ami.send(*self.originate_fields(message, action_id))
        queued = ami.wait_for(deadline, ActionID=action_id)
        if queued.get("Response") != "Success":
            raise RetryableError(f"PBX refused the page: {queued.get('Message', '')}")
        outcome = ami.wait_for(time.monotonic() + RESPONSE_WAIT_S, Event="OriginateResponse",
                               ActionID=action_id)
        try:
            ami.send(("Action", "Logoff"))
        except OSError:
            pass
        if outcome.get("Response") != "Success":
            reason = outcome.get("Reason", "")
            said = REASONS.get(int(reason), "failed") if reason.isdigit() else "failed"
            raise RetryableError(f"PBX paging {message.address}: {said} (Reason {reason})")
        return outcome.get("Uniqueid") or action_id

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """AMI keeps no list of past calls: without an id the outcome is unknown, so the
        page is repeated and counted as possibly duplicated."""
        if provider_id:
            return provider_id
        raise LookupError("the PBX manager interface cannot tell what was paged")
