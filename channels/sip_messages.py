"""SIP messages for paging: requests built, responses parsed, SDP read, digest answered.

Only what a caller that pages one extension needs (RFC 3261 over UDP): INVITE
with an SDP offer of PCMU, ACK, CANCEL and BYE; responses are read for their
status, headers, To tag, Contact, Record-Route and SDP; a 401/407 challenge is
answered with HTTP digest (RFC 2617, MD5, with or without ``qop=auth``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

# The forms of "answer at once" that paging phones honour: Grandstream, Cisco,
# AudioCodes, Obihai (Call-Info), Polycom and Yealink (Alert-Info), RFC 5373 (Answer-Mode).
AUTO_ANSWER = ("Call-Info: <sip:{host}>;answer-after=0",
               "Alert-Info: <http://{host}>;info=alert-autoanswer",
               "Answer-Mode: Auto")
USER_AGENT = "Sargs paging"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
DEFAULT_PORT = 5060
# What a page may dial: an extension ("7001", "*71") or a whole SIP URI. Nothing else,
# so an address can never add a line (a header) to the INVITE.
SIP_ADDRESS = re.compile(r"[0-9A-Za-z*#+._-]{1,40}"
                         r"|sip:[0-9A-Za-z*#+._!~%-]{1,64}@[0-9A-Za-z.:-]{1,255}")


def proxy_address(value: str) -> tuple[str, int]:
    """``host[:port]`` (SARGS_SIP_PROXY) as (host, port)."""
    host, _, port = value.removeprefix("sip:").rpartition(":")
    if not host:
        host, port = port, ""
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError("expected host or host:port (e.g. pbx.jelgava.lv:5060)")
    return host, int(port or DEFAULT_PORT)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)  # the RFC 3261 magic cookie, then unique


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, list[str]]  # lower-case names, values in order
    body: str

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def cseq_method(self) -> str:
        return self.header("cseq").partition(" ")[2].strip().upper()

    @property
    def to_tag(self) -> str:
        found = re.search(r";\s*tag=([^;>\s]+)", self.header("to"))
        return found.group(1) if found else ""

    @property
    def contact_uri(self) -> str:
        found = re.search(r"<([^>]+)>", self.header("contact"))
        return found.group(1) if found else self.header("contact").split(";")[0].strip()

    @property
    def record_route(self) -> list[str]:
        return [part.strip() for value in self.headers.get("record-route", [])
                for part in value.split(",") if part.strip()]


@dataclass
class Request:
    """A request the peer sent us in the dialog (a BYE when the phone hangs up first)."""

    method: str
    headers: dict[str, list[str]]

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type"}


def parse(data: bytes) -> Response | Request | None:
    """A datagram as a response or a request; None when it is not SIP."""
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            key = name.strip().lower()
            headers.setdefault(COMPACT.get(key, key), []).append(value.strip())
    first = lines[0].split(" ", 2)
    if len(first) == 3 and first[0] == "SIP/2.0" and first[1].isdigit():
        return Response(int(first[1]), first[2], headers, body)
    if len(first) == 3 and first[2] == "SIP/2.0":
        return Request(first[0].upper(), headers)
    return None


def sdp_media(body: str) -> tuple[str, int] | None:
    """The host and port where the answer wants its audio, or None without one."""
    host = re.search(r"^c=IN IP4 (\S+)", body, re.M)
    audio = re.search(r"^m=audio (\d+) ", body, re.M)
    if not (host and audio) or audio.group(1) == "0":
        return None
    return host.group(1), int(audio.group(1))


def sdp_offer(host: str, rtp_port: int, session: int) -> str:
    """PCMU at 8 kHz in 20-ms packets, send-only: a page speaks and never listens."""
    return ("v=0\r\n"
            f"o=sargs {session} {session} IN IP4 {host}\r\n"
            "s=Sargs\r\n"
            f"c=IN IP4 {host}\r\n"
            "t=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=ptime:20\r\n"
            "a=sendonly\r\n")


@dataclass
class Dialog:
    """What every request of one call repeats: who calls whom, and how to route."""

    request_uri: str
    from_uri: str
    from_name: str
    to_uri: str
    call_id: str
    local: tuple[str, int]  # our address as the peer should see it (Via, Contact)
    from_tag: str = field(default_factory=new_tag)
    to_tag: str = ""
    route: list[str] = field(default_factory=list)
    cseq: int = 0

    def request(self, method: str, *, branch: str | None = None, cseq: int | None = None,
                extra: tuple[str, ...] = (), body: str = "") -> tuple[bytes, str]:
        """The request and its Via branch (a CANCEL or a non-2xx ACK reuses the INVITE's)."""
        branch = branch or new_branch()
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        host, port = self.local
        to = f"<{self.to_uri}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        lines = [
            f"{method} {self.request_uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {host}:{port};branch={branch};rport",
            "Max-Forwards: 70",
            f'From: "{self.from_name}" <{self.from_uri}>;tag={self.from_tag}',
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            *(f"Route: {hop}" for hop in self.route),
            f"Contact: <sip:sargs@{host}:{port}>",
            f"User-Agent: {USER_AGENT}",
            *extra,
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode('utf-8'))}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8"), branch

    def answered(self, response: Response) -> None:
        """Enter the dialog a 2xx created: its To tag, the phone's Contact, the route."""
        self.to_tag = response.to_tag
        if response.contact_uri:
            self.request_uri = response.contact_uri
        self.route = list(reversed(response.record_route))


def challenge(response: Response) -> dict[str, str]:
    """The parameters of a 401's WWW-Authenticate or a 407's Proxy-Authenticate."""
    name = "www-authenticate" if response.status == 401 else "proxy-authenticate"
    value = response.header(name)
    scheme, _, params = value.partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {key.lower(): (quoted if quoted else bare)
            for key, quoted, bare in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', params)}


def authorization(response: Response, method: str, uri: str, user: str, password: str,
                  nonce_count: int = 1) -> str | None:
    """The Authorization (401) or Proxy-Authorization (407) header answering the challenge,
    or None when it is not a digest we can answer."""
    params = challenge(response)
    algorithm = params.get("algorithm", "MD5")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if "nonce" not in params or algorithm.upper() != "MD5" or (qops and "auth" not in qops):
        return None
    realm, nonce = params.get("realm", ""), params["nonce"]
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if qops:
        cnonce, nc = secrets.token_hex(8), f"{nonce_count:08x}"
        digest = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += [f'response="{digest}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    header = "Authorization" if response.status == 401 else "Proxy-Authorization"
    return f"{header}: Digest " + ", ".join(fields)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def reply(request: Request, status: int, reason: str) -> bytes:
    """Our answer to the peer's request (200 to its BYE), echoing what RFC 3261 asks."""
    lines = [f"SIP/2.0 {status} {reason}",
             *(f"Via: {via}" for via in request.headers.get("via", [])),
             f"From: {request.header('from')}", f"To: {request.header('to')}",
             f"Call-ID: {request.header('call-id')}", f"CSeq: {request.header('cseq')}",
             f"User-Agent: {USER_AGENT}", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def via_branch(message: Response | Request) -> str:
    found = re.search(r";\s*branch=([^;,\s]+)", message.header("via"))
    return found.group(1) if found else ""
