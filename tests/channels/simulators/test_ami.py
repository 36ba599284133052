"""The AMI simulator, driven by a raw socket client speaking the line protocol."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sargs.channels.simulators.ami import SECRET, USERNAME, AmiSimulator


class AmiClient:
    """Just enough of an AMI client: send actions, read packets."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")
        self.greeting = self.file.readline().decode()

    def send(self, *fields: tuple[str, str]) -> None:
        self.sock.sendall(("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode())

    def read(self) -> dict[str, str]:
        packet: dict[str, str] = {}
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            if not line and packet:
                return packet
            if line:
                key, _, value = line.partition(": ")
                packet[key] = value

    def read_until(self, event: str) -> list[dict[str, str]]:
        seen = [self.read()]
        while seen[-1].get("Event") != event:
            seen.append(self.read())
        return seen

    def response(self) -> dict[str, str]:
        """The next response, passing over events that come first."""
        while "Response" not in (packet := self.read()):
            pass
        return packet

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def sim() -> Iterator[AmiSimulator]:
    with AmiSimulator(mode="test", answer_delay=0.01) as simulator:
        yield simulator


@pytest.fixture
def ami(sim: AmiSimulator) -> Iterator[AmiClient]:
    client = AmiClient(sim.port)
    yield client
    client.close()


def login(ami: AmiClient, secret: str = SECRET) -> dict[str, str]:
    ami.send(("Action", "Login"), ("ActionID", "l1"), ("Username", USERNAME), ("Secret", secret))
    return ami.read()


def test_login_ping_originate_into_paging_group(sim: AmiSimulator, ami: AmiClient) -> None:
    assert ami.greeting.startswith("Asterisk Call Manager/")
    assert login(ami) == {"Response": "Success", "ActionID": "l1",
                          "Message": "Authentication accepted"}
    assert ami.read()["Event"] == "FullyBooted"
    ami.send(("Action", "Ping"), ("ActionID", "p1"))
    assert ami.read()["Ping"] == "Pong"
    ami.send(("Action", "Originate"), ("ActionID", "alert-42"), ("Channel", "Local/600@paging"),
             ("Application", "Playback"), ("Data", "custom/trauksme-lv"),
             ("CallerID", "Civilā aizsardzība <112>"), ("Timeout", "30000"),
             ("Variable", "ALERT_ID=42"), ("Variable", "LEVEL=red"), ("Async", "true"))
    assert ami.read() == {"Response": "Success", "ActionID": "alert-42",
                          "Message": "Originate successfully queued"}
    events = ami.read_until("OriginateResponse")
    assert [e["Event"] for e in events] == ["Newchannel", "Newstate", "OriginateResponse"]
    result = events[-1]
    assert (result["Response"], result["Reason"], result["ActionID"]) == ("Success", "4", "alert-42")
    assert result["Uniqueid"] == events[0]["Uniqueid"]
    assert ami.read()["Event"] == "Hangup"
    paged = sim.calls.of("600")[0]
    assert paged["channel_context"] == "paging"
    assert paged["data"] == "custom/trauksme-lv"
    assert paged["variables"] == {"ALERT_ID": "42", "LEVEL": "red"}
    assert paged["caller_id"] == "Civilā aizsardzība <112>"
    ami.send(("Action", "Logoff"))
    assert ami.read()["Response"] == "Goodbye"


def test_wrong_secret_is_refused(sim: AmiSimulator, ami: AmiClient) -> None:
    assert login(ami, "wrong") == {"Response": "Error", "ActionID": "l1",
                                   "Message": "Authentication failed"}
    ami.send(("Action", "Originate"), ("Channel", "PJSIP/600"), ("Application", "Playback"))
    assert ami.read() == {"Response": "Error", "Message": "Permission denied"}
    assert len(sim.calls) == 0


def test_busy_extension_and_fault_fail_the_call(sim: AmiSimulator, ami: AmiClient) -> None:
    login(ami)
    ami.read()
    sim.fault("busy")
    ami.send(("Action", "Originate"), ("ActionID", "a"), ("Channel", "PJSIP/601"),
             ("Exten", "s"), ("Context", "alerts"), ("Priority", "1"), ("Async", "yes"))
    assert ami.read()["Message"] == "Originate successfully queued"
    result = ami.read_until("OriginateResponse")[-1]
    assert (result["Response"], result["Reason"]) == ("Failure", "5")
    ami.send(("Action", "Originate"), ("ActionID", "b"), ("Channel", "PJSIP/601"),
             ("Application", "Playback"), ("Data", "x"))
    assert ami.response() == {"Response": "Success", "ActionID": "b",
                              "Message": "Originate successfully queued"}  # synchronous
    assert [c["outcome"] for c in sim.calls.of("601")] == ["busy", "answered"]
    ami.send(("Action", "Originate"), ("ActionID", "c"))
    assert ami.response()["Message"] == "Channel not specified"
