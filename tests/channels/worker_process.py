"""Real ``sargs worker`` processes for the fault tests, and the comparison of
what the simulators received with what the ledger says.

A worker runs as a subprocess with settings from its environment only (its
working directory is a temporary folder, so no ``.env`` is read): the test's
database, the simulators on 127.0.0.1 ports of the test process, and short
leases so a killed worker's rows come back within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sargs.channels.models import Delivery
from sargs.settings import Settings

OPEN_STATES = ("held", "pending", "claimed")
SARGS = Path(sys.executable).with_name("sargs")


def worker_environment(settings: Settings, *, telegram: Any = None, twilio: Any = None,
                       callbacks_url: str = "http://127.0.0.1:9", concurrency: int = 16,
                       channel_rates: str = "telegram=5000,sms=5000",
                       redis_url: str | None = None, lease_seconds: float = 3,
                       from_number: str = "+37166000000") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SARGS_", "TWILIO_", "TELEGRAM_"))}
    env |= {
        "SARGS_MODE": "test",
        "SARGS_DATABASE_URL": settings.database_url,
        "SARGS_INSTANCE_PATH": str(settings.instance_path),
        "SARGS_SECRET_KEY": "test-secret-key",
        "SARGS_PUBLIC_URL": callbacks_url,
        "SARGS_WORKER_CONCURRENCY": str(concurrency),
        "SARGS_WORKER_LEASE_SECONDS": str(lease_seconds),
        "SARGS_CHANNEL_RATES": channel_rates,
        "SARGS_LOG_LEVEL": "WARNING",
    }
    if redis_url:
        env["SARGS_REDIS_URL"] = redis_url
    if telegram is not None:
        env |= {"SARGS_TELEGRAM_API_URL": telegram.url, "TELEGRAM_BOT_TOKEN": telegram.token}
    if twilio is not None:
        env |= {"SARGS_TWILIO_API_URL": twilio.url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM_NUMBER": from_number}
    return env


class WorkerProcess:
    """One ``sargs worker``; its output goes to a log file shown when a test fails."""

    def __init__(self, env: dict[str, str], folder: Path, name: str = "worker") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([str(SARGS), "worker"], env=env, cwd=folder,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """``kill -9``: no chance to finish the batch in hand."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]


def wait_for(condition: Any, timeout: float, what: str, workers: Iterable[WorkerProcess] = ()
             ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"a worker ended ({worker.process.returncode}) while "
                                     f"waiting for {what}:\n{worker.output()}")
        time.sleep(0.1)
    logs = "\n".join(w.output() for w in workers)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs}")


def open_rows(sessions: Any, alert_id: int) -> int:
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.alert_id == alert_id, Delivery.state.in_(OPEN_STATES))) or 0
        session.rollback()  # SQLite: let the workers write
        return count


@dataclass
class Comparison:
    """The ledger of one channel against what the provider's simulator received."""

    rows: int
    received: Counter[str]
    lost: list[str] = field(default_factory=list)  # a row no one received
    twice: list[str] = field(default_factory=list)  # received more than once
    flagged: set[str] = field(default_factory=set)  # rows marked possibly_duplicated
    states: Counter[str] = field(default_factory=Counter)

    @property
    def unflagged_duplicates(self) -> list[str]:
        """Sent twice although the ledger had recorded the send: the one thing never allowed."""
        return sorted(set(self.twice) - self.flagged)


def compare(sessions: Any, alert_id: int, channel: str, received: Iterable[str]) -> Comparison:
    with sessions() as session:
        rows = session.execute(select(Delivery.address, Delivery.state,
                                      Delivery.possibly_duplicated)
                               .where(Delivery.alert_id == alert_id, Delivery.channel == channel)
                               ).all()
        session.rollback()
    counts = Counter(str(a) for a in received)
    result = Comparison(len(rows), counts)
    for address, state, flagged in rows:
        result.states[state] += 1
        if flagged:
            result.flagged.add(address)
        if counts[address] == 0 and state not in ("undeliverable", "cancelled", "expired"):
            result.lost.append(address)
        if counts[address] > 1:
            result.twice.append(address)
    return result


def telegram_received(simulator: Any) -> list[str]:
    return [address for address, entry in simulator.sends.all()
            if entry["method"] == "sendMessage"]


def twilio_received(simulator: Any) -> list[str]:
    return [message["to"] for message in simulator.messages()]
