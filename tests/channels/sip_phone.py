"""SIPp playing a paging phone on 127.0.0.1, and an RTP sink for the audio its
answer asks for. Needs SIPp (Debian's sip-tester), espeak-ng and sox: without
them the tests using :func:`phones` skip, unless SARGS_REQUIRE_BROWSER=1 (CI),
where they fail."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "sipp"


def require(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (apt-get install sip-tester espeak-ng sox)"
    if os.environ.get("SARGS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and SARGS_REQUIRE_BROWSER=1 (CI) requires the SIP tests",
                    pytrace=False)
    pytest.skip(reason)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Phone:
    """SIPp answering one call as ``scenario`` says, and an RTP sink for the audio
    its 200 OK asks for. ``status`` fills reject.xml's final response."""

    def __init__(self, folder: Path, scenario: str, status: str = "", **keys: str) -> None:
        self.port = _free_udp_port()
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.sink.settimeout(0.2)
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()
        name = f"{scenario}-{self.port}"
        script = folder / f"{name}.xml"
        script.write_text((SCENARIOS / f"{scenario}.xml").read_text().replace("@STATUS@", status))
        self.log = folder / f"{name}-messages.log"
        self.errors = folder / f"{name}-errors.log"
        keys = {"rtp_port": str(self.sink.getsockname()[1]), **keys}
        command = ["sipp", "-sf", str(script), "-i", "127.0.0.1", "-p", str(self.port),
                   "-mp", str(_free_udp_port()), "-m", "1", "-nostdin", "-skip_rlimit",
                   "-trace_msg", "-message_file", str(self.log),
                   "-trace_err", "-error_file", str(self.errors),
                   "-timeout", "60", "-timeout_error"]
        for key, value in keys.items():
            command += ["-key", key, value]
        self.process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self.packets.append(self.sink.recv(2048))
            except TimeoutError:
                continue

    def finished(self) -> int:
        """SIPp's exit status once its one call is over: 0 when the scenario passed."""
        status = self.process.wait(timeout=30)
        if status and self.errors.exists():
            print(self.errors.read_text())
        return status

    def received(self, method: str) -> list[str]:
        """The requests SIPp received with this method, as text."""
        blocks = self.log.read_text().split("\n-----------------------------------------------")
        messages = [block.split("\n\n", 1)[1].strip() for block in blocks
                    if "message received" in block]
        return [m for m in messages if m.startswith(f"{method} ")]

    def rtp(self) -> list[tuple[int, int, int, int, int, bytes]]:
        """(marker, payload type, sequence, timestamp, SSRC, payload) of each packet."""
        out = []
        for packet in self.packets:
            first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", packet[:12])
            assert first >> 6 == 2  # RTP version 2
            out.append((second >> 7, second & 0x7F, sequence, timestamp, ssrc, packet[12:]))
        return out

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._stop.set()
        self._listener.join()
        self.sink.close()


@pytest.fixture
def phones(tmp_path) -> Iterator[Any]:
    """Start phones with ``phones(scenario, status=…, key=value…)``; all stop afterwards."""
    require("sipp", "espeak-ng", "sox")
    started: list[Phone] = []

    def start(scenario: str, status: str = "", **keys: str) -> Phone:
        started.append(Phone(tmp_path, scenario, status, **keys))
        return started[-1]

    yield start
    for phone in started:
        phone.close()
