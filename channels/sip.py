"""Paging over plain SIP, for PBXs without the Asterisk manager interface.

Sargs acts as a SIP phone (UDP, RFC 3261) that calls the paging extension
through the PBX at ``SARGS_SIP_PROXY``: an INVITE offering PCMU with the
auto-answer headers paging phones honour (channels/sip_messages.AUTO_ANSWER),
a digest answer when the PBX challenges with 401/407 (``SARGS_SIP_USER`` /
``SARGS_SIP_PASSWORD``), ACK, then the page — chime and message twice, rendered
by espeak-ng (channels/sip_audio) — as RTP to the address in the answer's SDP,
and BYE.

The address is the paging extension ("7001") or a whole SIP URI. A page is
delivered once the extension answered and heard it; the provider id is the
Call-ID. Busy, no answer, timeouts and 5xx are retried; 403, 404, 484, 603
and the like will not change, so the person's next channel takes over.
"""

from __future__ import annotations

import random
import re
import secrets
import select
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sargs.channels import sip_audio
from sargs.channels.adapters import Outgoing, PermanentError, RetryableError
from sargs.channels.rates import RATES
from sargs.channels.sip_messages import (
    ALLOW,
    AUTO_ANSWER,
    DEFAULT_PORT,
    SIP_ADDRESS,
    Dialog,
    Request,
    Response,
    authorization,
    parse,
    proxy_address,
    reply,
    sdp_media,
    sdp_offer,
    via_branch,
)
from sargs.settings import Settings

T1, T2 = 0.5, 4.0  # RFC 3261 retransmission timers
RING_TIMEOUT_S = 15.0  # paging extensions answer at once; silence means trouble
BYE_TIMEOUT_S = 4.0
CANCEL_WAIT_S = 2.0
# Under the dispatcher's 30-second lease: a page longer than this plays once, not twice.
TWICE_UP_TO_S = 24.0
PCMU = 0  # the RTP payload type of G.711 µ-law
FRAME = 160  # bytes of PCMU in 20 ms
FRAME_S = FRAME / sip_audio.RATE
# Will not change by asking again: forbidden, no such extension, incomplete
# number, declined, codec refused; redirects are not followed either.
PERMANENT = {403, 404, 410, 484, 488, 603, 604, 606}


class SipAdapter:
    channel = "sip"
    delivered_on_send = True  # returns once the extension answered and the page played

    def __init__(self, settings: Settings, rate_per_second: float = RATES["sip"]) -> None:
        assert settings.sip_proxy is not None
        host, port = proxy_address(settings.sip_proxy)
        self.host, self.port = host, port
        # The extension's URI names the PBX as it is reached (the port when not 5060).
        self.domain = host if port == DEFAULT_PORT else f"{host}:{port}"
        self.user = settings.sip_user
        self.password = settings.sip_password.get_secret_value() if settings.sip_password else ""
        self.from_uri = settings.sip_from or f"sip:{self.user or 'sargs'}@{host}"
        self.local_host = settings.sip_local_host
        self.audio_folder = Path(settings.instance_path) / "sip-audio"
        self.rate_per_second = rate_per_second

    def send_many(self, messages: list[Outgoing]) -> list[str | Exception]:
        """Every page of the batch at once: each takes as long as its audio."""
        def one(message: Outgoing) -> str | Exception:
            try:
                return self.send(message)
            except Exception as error:  # classified by the dispatcher
                return error

        with ThreadPoolExecutor(max(len(messages), 1), thread_name_prefix="sip-page") as pool:
            return list(pool.map(one, messages))

    def send(self, message: Outgoing) -> str:
        if not SIP_ADDRESS.fullmatch(message.address):
            raise PermanentError("SIP: not an extension or a SIP URI")
        try:
            audio = sip_audio.page(self.audio_folder, message.text, message.language)
            if sip_audio.seconds(audio) > TWICE_UP_TO_S:
                audio = sip_audio.page(self.audio_folder, message.text, message.language, 1)
        except sip_audio.AudioError as error:
            raise RetryableError(f"SIP page audio: {error}") from error
        try:
            call = Call(self, message.address)
        except OSError as error:  # the PBX's name does not resolve, no route to it
            raise RetryableError(f"SIP: cannot reach the PBX at {self.domain} "
                                 f"({type(error).__name__})") from error
        try:
            call.invite()
            call.play(audio)
            call.hang_up()
        except OSError as error:  # the network went away mid-call
            raise RetryableError(f"SIP paging {message.address}: {type(error).__name__}") from error
        finally:
            call.close()
        return call.dialog.call_id

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """SIP keeps no record of past calls: without an id the outcome is unknown, so the
        page is repeated and counted as possibly duplicated."""
        if provider_id:
            return provider_id
        raise LookupError("SIP keeps no history of calls")

    def proxy(self) -> tuple[str, int]:
        """The PBX's address, looked up for each page (a PBX may move; DNS may be down
        when the worker starts)."""
        return socket.gethostbyname(self.host), self.port

    @staticmethod
    def routed_host(proxy: tuple[str, int]) -> str:
        """The address this host sends to the PBX from (the sockets bind to it)."""
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(proxy)  # UDP: no packet is sent, the route is chosen
            return str(probe.getsockname()[0])
        finally:
            probe.close()


class Call:
    """One page: the signalling socket, the RTP socket and the dialog."""

    def __init__(self, adapter: SipAdapter, address: str) -> None:
        self.adapter = adapter
        self.address = address
        self.proxy = adapter.proxy()
        bound = adapter.routed_host(self.proxy)
        # What the PBX is told to answer to: the same, unless NAT hides it (SARGS_SIP_LOCAL_HOST).
        host = adapter.local_host or bound
        self.sip = _bound(bound)
        self.rtp = _bound(bound, even=True)
        target = address if address.startswith("sip:") else f"sip:{address}@{adapter.domain}"
        self.dialog = Dialog(
            request_uri=target, from_uri=adapter.from_uri, from_name="Sargs", to_uri=target,
            call_id=f"{secrets.token_hex(12)}@{host}", local=(host, self.sip.getsockname()[1]))
        self.media: tuple[str, int] | None = None
        self.hung_up_by_phone = False
        self._ack = b""  # resent when the phone repeats its 200 (our ACK was lost)

    # --- INVITE ----------------------------------------------------------------

    def invite(self) -> None:
        host, rtp_port = self.dialog.local[0], self.rtp.getsockname()[1]
        offer = sdp_offer(host, rtp_port, random.randrange(1, 2**31))
        auto_answer = tuple(line.format(host=self.adapter.host) for line in AUTO_ANSWER)
        credentials: tuple[str, ...] = ()
        for _attempt in range(2):
            data, branch = self.dialog.request(
                "INVITE", extra=(*auto_answer, f"Allow: {ALLOW}", *credentials), body=offer)
            response = self._invite_transaction(data, branch)
            if response.status < 300:
                self._answered(response)
                return
            self._ack_failure(response, branch)
            if response.status in (401, 403, 407) and credentials:
                raise RetryableError(
                    f"SIP: the PBX refused the credentials ({response.status}): "
                    "check SARGS_SIP_USER and SARGS_SIP_PASSWORD")
            if response.status in (401, 407):
                if not self.adapter.user:
                    raise RetryableError(
                        f"SIP: the PBX asks for credentials ({response.status}): "
                        "set SARGS_SIP_USER and SARGS_SIP_PASSWORD")
                header = authorization(response, "INVITE", self.dialog.request_uri,
                                       self.adapter.user, self.adapter.password)
                if header is None:
                    raise RetryableError("SIP: the PBX asks for an authentication other than "
                                         "MD5 digest")
                credentials = (header,)
                continue
            raise self._failure(response)

    def _invite_transaction(self, data: bytes, branch: str) -> Response:
        """Send the INVITE (again every T1, doubling, until the PBX says anything) and
        return its final response; cancel when nobody answers in RING_TIMEOUT_S."""
        self._send(data)
        started = time.monotonic()
        give_up = started + RING_TIMEOUT_S
        interval, resend_at, heard = T1, started + T1, False
        while True:
            now = time.monotonic()
            if now >= give_up:
                self._cancel(branch)
                said = "no answer" if heard else "the PBX did not respond"
                raise RetryableError(f"SIP paging {self.address}: {said} in "
                                     f"{RING_TIMEOUT_S:.0f} s")
            response = self._receive_response(branch, min(give_up, resend_at) - now
                                              if not heard else give_up - now)
            if response is None:
                if not heard and time.monotonic() >= resend_at:
                    self._send(data)
                    interval = min(interval * 2, T2)
                    resend_at = time.monotonic() + interval
                continue
            if response.status < 200:
                heard = True  # Trying, Ringing, Session Progress: the final answer follows
                continue
            return response

    def _answered(self, response: Response) -> None:
        self.dialog.answered(response)
        self._ack, _ = self.dialog.request("ACK", cseq=self.dialog.cseq)
        self._send(self._ack)
        self.media = sdp_media(response.body)
        if self.media is None:
            self.hang_up()
            raise PermanentError(f"SIP paging {self.address}: answered without an audio "
                                 "address (no PCMU in the SDP)")

    def _ack_failure(self, response: Response, branch: str) -> None:
        """A final non-2xx is acknowledged in its own transaction (same branch and CSeq)."""
        to_tag, self.dialog.to_tag = self.dialog.to_tag, response.to_tag
        ack, _ = self.dialog.request("ACK", branch=branch, cseq=self.dialog.cseq)
        self.dialog.to_tag = to_tag
        self._send(ack)

    def _cancel(self, branch: str) -> None:
        cancel, _ = self.dialog.request("CANCEL", branch=branch, cseq=self.dialog.cseq)
        self._send(cancel)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            response = self._receive_response(branch, left)
            if response is None or response.status < 200:
                continue
            if response.cseq_method != "INVITE":
                continue  # the 200 to the CANCEL itself
            if response.status < 300:  # answered just as we gave up: end the call
                self._answered(response)
                self.hang_up()
            else:
                self._ack_failure(response, branch)
            return

    def _failure(self, response: Response) -> Exception:
        reason = f"SIP paging {self.address}: {response.status} {response.reason}"
        if response.status in PERMANENT or 300 <= response.status < 400:
            return PermanentError(reason)
        retry_after = re.match(r"\d+", response.header("retry-after"))
        return RetryableError(reason, float(retry_after.group()) if retry_after else None)

    # --- media -----------------------------------------------------------------

    def play(self, audio: bytes) -> None:
        """The audio as RTP, one 20-ms PCMU frame at a time, in real time."""
        assert self.media is not None
        ssrc, sequence, timestamp = (random.getrandbits(32), random.getrandbits(16),
                                     random.getrandbits(32))
        started = time.monotonic()
        for n in range(0, -(-len(audio) // FRAME)):
            frame = audio[n * FRAME:(n + 1) * FRAME].ljust(FRAME, sip_audio.SILENCE)
            marker = 0x80 if n == 0 else 0  # the start of a talk spurt
            header = struct.pack("!BBHII", 0x80, marker | PCMU, (sequence + n) & 0xFFFF,
                                 (timestamp + n * FRAME) & 0xFFFFFFFF, ssrc)
            self.rtp.sendto(header + frame, self.media)
            if self._serve_until(started + (n + 1) * FRAME_S):
                return

    def _serve_until(self, moment: float) -> bool:
        """Answer the phone's signalling until ``moment``; True when it hung up."""
        while (left := moment - time.monotonic()) > 0:
            message = self._receive(left)
            if isinstance(message, Request):
                if message.method == "BYE":
                    self._send(reply(message, 200, "OK"))
                    self.hung_up_by_phone = True
                    return True
                if message.method != "ACK":
                    self._send(reply(message, 200, "OK"))
            elif isinstance(message, Response) and message.cseq_method == "INVITE" \
                    and message.status < 300 and self._ack:
                self._send(self._ack)  # the phone repeats its 200 until our ACK arrives
        return False

    # --- BYE -------------------------------------------------------------------

    def hang_up(self) -> None:
        """BYE, resent until the phone confirms (or BYE_TIMEOUT_S: it has been heard anyway)."""
        if self.hung_up_by_phone:
            return
        self.hung_up_by_phone = True
        credentials: tuple[str, ...] = ()
        for _attempt in range(2):
            bye, branch = self.dialog.request("BYE", extra=credentials)
            response = self._non_invite_transaction(bye, branch, BYE_TIMEOUT_S)
            if response is None or response.status not in (401, 407) or not self.adapter.user:
                return
            header = authorization(response, "BYE", self.dialog.request_uri, self.adapter.user,
                                   self.adapter.password)
            if header is None:
                return
            credentials = (header,)

    def _non_invite_transaction(self, data: bytes, branch: str, wait: float) -> Response | None:
        self._send(data)
        deadline = time.monotonic() + wait
        interval = T1
        while (left := deadline - time.monotonic()) > 0:
            response = self._receive_response(branch, min(interval, left))
            if response is None:
                self._send(data)
                interval = min(interval * 2, T2)
            elif response.status >= 200:
                return response
        return None

    # --- the socket ------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self.sip.sendto(data, self.proxy)

    def _receive(self, timeout: float) -> Response | Request | None:
        ready, _, _ = select.select([self.sip], [], [], max(timeout, 0))
        if not ready:
            return None
        try:
            data = self.sip.recv(65535)
        except ConnectionRefusedError:  # ICMP: nothing listens at the PBX's port (yet)
            return None
        return parse(data)

    def _receive_response(self, branch: str, timeout: float) -> Response | None:
        """The next response of the transaction ``branch``; the phone's requests are answered."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if isinstance(message, Response) and via_branch(message) == branch:
                return message
            if isinstance(message, Request) and message.method not in ("ACK", "BYE"):
                self._send(reply(message, 200, "OK"))
        return None

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()


def _bound(host: str, even: bool = False) -> socket.socket:
    """A UDP socket on ``host``; RTP wants an even port (RTCP would take the odd one above)."""
    attempts = 20
    for attempt in range(attempts):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        if not even or sock.getsockname()[1] % 2 == 0 or attempt == attempts - 1:
            return sock
        sock.close()
    raise AssertionError("unreachable")
