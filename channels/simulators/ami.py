"""Asterisk Manager Interface simulator: the AMI line protocol over TCP.

The server greets with ``Asterisk Call Manager/<version>``; packets are
``Key: Value`` lines ended by an empty line. Actions: Login, Logoff, Ping,
Originate (Async or not; Channel such as ``Local/600@paging`` or ``PJSIP/600``,
then Exten/Context/Priority or Application/Data, CallerID, repeatable
Variable, ActionID echoed). An originated call produces Newchannel, Newstate,
OriginateResponse and Hangup events. Every page is recorded in
:attr:`AmiSimulator.calls` under the extension dialled.

Faults for the next Originate: ``busy`` (Reason 5), ``no_answer`` (3),
``congestion`` (8), ``failure`` (0); ``drop`` closes the connection instead of
answering the next action. Extensions in ``busy`` are always busy.
"""

from __future__ import annotations

import itertools
import socketserver
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sargs import clock
from sargs.channels.simulators.base import HOST, Record, Simulator, Timeline

VERSION = "Asterisk Call Manager/7.0.3"
USERNAME = "sargs"
SECRET = "sargs-ami-secret"
REASONS = {"busy": 5, "no_answer": 3, "congestion": 8, "failure": 0}
Packet = list[tuple[str, str]]


def _get(packet: Packet, key: str, default: str | None = None) -> str | None:
    for name, value in packet:
        if name.lower() == key.lower():
            return value
    return default


def _variables(packet: Packet) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in packet:
        if name.lower() == "variable":
            for item in value.split(","):
                key, _, val = item.partition("=")
                found[key.strip()] = val
    return found


def _dialled(channel: str) -> tuple[str, str, str | None]:
    """``Local/600@paging`` -> (Local, 600, paging); ``PJSIP/600`` -> (PJSIP, 600, None)."""
    technology, _, resource = channel.partition("/")
    extension, _, context = resource.partition("@")
    return technology, extension, context or None


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.lock = threading.Lock()
        self.logged_in = False
        self.events = True

    def send(self, fields: Iterable[tuple[str, object]]) -> None:
        data = "".join(f"{key}: {value}\r\n" for key, value in fields) + "\r\n"
        with self.lock:
            try:
                self.wfile.write(data.encode("utf-8"))
                self.wfile.flush()
            except OSError:
                pass

    def read_packet(self) -> Packet | None:
        packet: Packet = []
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if packet:
                    return packet
                continue
            key, _, value = text.partition(":")
            packet.append((key.strip(), value.strip()))

    def handle(self) -> None:
        sim = self.server.simulator
        with self.lock:
            self.wfile.write(f"{VERSION}\r\n".encode())
        sim._sessions.add(self)
        try:
            while (packet := self.read_packet()) is not None:
                if not sim._act(self, packet):
                    break
        finally:
            sim._sessions.discard(self)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: AmiSimulator


class AmiSimulator(Simulator):
    name = "ami"
    fault_names = ("busy", "no_answer", "congestion", "failure", "drop")

    def __init__(self, *, mode: str | None = None, port: int = 0,
                 users: Mapping[str, str] | None = None, answer_delay: float = 0.05,
                 busy: Iterable[str] = ()) -> None:
        super().__init__(mode=mode, port=port)
        self.users = dict(users or {USERNAME: SECRET})
        self.answer_delay = answer_delay
        self.busy = set(busy)
        self.calls = Record()    # extension dialled -> {channel, variables, outcome, …}
        self.logins = Record()   # username -> {accepted}
        self._sessions: set[_Session] = set()
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        user, secret = next(iter(self.users.items()))
        return f"ami://{user}:{secret}@{HOST}:{self.port}"

    def _start(self) -> None:
        self._timeline = Timeline("ami-simulator-calls")
        self._timeline.start()
        self._server = _Server((HOST, self.requested_port), _Session)
        self._server.simulator = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="ami-simulator", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._server.shutdown()
        for session in list(self._sessions):
            try:
                session.connection.close()
            except OSError:
                pass
        self._server.server_close()
        self._timeline.stop()
        self._thread.join(timeout=5)

    def _broadcast(self, event: str, fields: Iterable[tuple[str, object]]) -> None:
        for session in list(self._sessions):
            if session.logged_in and session.events:
                session.send([("Event", event), *fields])

    # --- actions ---------------------------------------------------------------

    def _act(self, session: _Session, packet: Packet) -> bool:
        """Answer one action; False closes the connection."""
        if self.faults.take("drop") is not None:
            return False
        action = (_get(packet, "Action") or "").lower()
        echo = [("ActionID", _get(packet, "ActionID"))] if _get(packet, "ActionID") else []

        def reply(response: str, *fields: tuple[str, object]) -> None:
            session.send([("Response", response), *echo, *fields])

        if not action:
            reply("Error", ("Message", "Missing action in request"))
        elif action == "login":
            user, secret = _get(packet, "Username") or "", _get(packet, "Secret") or ""
            accepted = user in self.users and self.users[user] == secret
            self.logins.add(user, {"accepted": accepted, "at": clock.now()})
            if not accepted:
                reply("Error", ("Message", "Authentication failed"))
                return True
            session.logged_in = True
            session.events = (_get(packet, "Events") or "on").lower() not in ("off", "no")
            reply("Success", ("Message", "Authentication accepted"))
            if session.events:
                session.send([("Event", "FullyBooted"), ("Privilege", "system,all"),
                              ("Uptime", 1), ("LastReload", 1), ("Status", "Fully Booted")])
        elif action == "logoff":
            reply("Goodbye", ("Message", "Thanks for all the fish."))
            return False
        elif not session.logged_in:
            reply("Error", ("Message", "Permission denied"))
        elif action == "ping":
            reply("Success", ("Ping", "Pong"), ("Timestamp", f"{clock.now().timestamp():.6f}"))
        elif action == "originate":
            self._originate(packet, reply, echo)
        else:
            reply("Error", ("Message", "Invalid/unknown command"))
        return True

    def _originate(self, packet: Packet, reply: Any, echo: list[tuple[str, Any]]) -> None:
        channel = _get(packet, "Channel")
        if not channel:
            reply("Error", ("Message", "Channel not specified"))
            return
        application, exten = _get(packet, "Application"), _get(packet, "Exten")
        priority = _get(packet, "Priority")
        if not application and exten and priority is not None and not priority.isdigit():
            reply("Error", ("Message", "Invalid priority"))
            return
        technology, extension, channel_context = _dialled(channel)
        number = next(self._ids)
        call = {"channel": channel, "technology": technology, "extension": extension,
                "channel_context": channel_context, "context": _get(packet, "Context"),
                "exten": exten, "priority": priority, "application": application,
                "data": _get(packet, "Data"), "variables": _variables(packet),
                "caller_id": _get(packet, "CallerID"), "action_id": _get(packet, "ActionID"),
                "timeout": _get(packet, "Timeout"), "at": clock.now(),
                "uniqueid": f"{int(clock.now().timestamp())}.{number}",
                "name": (f"{channel}-{number:08x};1" if technology.lower() == "local"
                         else f"{channel}-{number:08x}")}
        taken = self.faults.take_any(REASONS)
        reason = REASONS[taken[0]] if taken else (5 if extension in self.busy else 4)
        call["reason"] = reason
        call["outcome"] = "answered" if reason == 4 else next(k for k, v in REASONS.items()
                                                             if v == reason)
        if (_get(packet, "Async") or "false").lower() in ("true", "yes", "1"):
            reply("Success", ("Message", "Originate successfully queued"))
            self._timeline.after(self.answer_delay, lambda: self._complete(call, echo))
            return
        time.sleep(self.answer_delay)
        self._complete(call, echo, events=False)
        if reason == 4:
            reply("Success", ("Message", "Originate successfully queued"))
        else:
            reply("Error", ("Message", "Originate failed"))

    def _complete(self, call: dict[str, Any], echo: list[tuple[str, Any]],
                  events: bool = True) -> None:
        answered = call["reason"] == 4
        caller = call["caller_id"] or ""
        name, _, num = caller.rpartition("<")
        ident = [("CallerIDNum", num.rstrip(">") or "<unknown>"),
                 ("CallerIDName", name.strip().strip('"') or "<unknown>")]
        where = [("Context", call["channel_context"] or call["context"] or "default"),
                 ("Exten", call["extension"]), ("Priority", 1)]
        if answered:
            base = [("Privilege", "call,all"), ("Channel", call["name"])]
            self._broadcast("Newchannel", [*base, ("ChannelState", 0), ("ChannelStateDesc", "Down"),
                                           *ident, *where, ("Uniqueid", call["uniqueid"]),
                                           ("Linkedid", call["uniqueid"])])
            self._broadcast("Newstate", [*base, ("ChannelState", 6), ("ChannelStateDesc", "Up"),
                                         *ident, ("Uniqueid", call["uniqueid"])])
        self.calls.add(call["extension"], call)
        if events:
            self._broadcast("OriginateResponse", [
                ("Privilege", "call,all"), *echo,
                ("Response", "Success" if answered else "Failure"),
                ("Channel", call["name"] if answered else call["channel"]),
                ("Context", call["context"] or ""), ("Exten", call["exten"] or ""),
                ("Application", call["application"] or ""), ("Data", call["data"] or ""),
                ("Reason", call["reason"]),
                ("Uniqueid", call["uniqueid"] if answered else "<null>"), *ident])
        if answered:
            self._timeline.after(self.answer_delay, lambda: self._broadcast("Hangup", [
                ("Privilege", "call,all"), ("Channel", call["name"]),
                ("Uniqueid", call["uniqueid"]), *ident, ("Cause", 16),
                ("Cause-txt", "Normal Clearing")]))
