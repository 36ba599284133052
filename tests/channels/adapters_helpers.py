"""Wiring for adapter tests: the app pointed at provider simulators, serving
Twilio's callbacks on a live port, and a staff alert sent through the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from sargs import clock
from sargs.app import create_app
from sargs.channels import alerts
from sargs.channels.adapters import Adapter
from sargs.channels.dispatcher import Dispatcher, drain
from sargs.channels.models import Delivery
from sargs.channels.worker import build_adapters
from sargs.settings import Settings
from tests.channels.conftest import FROM
from tests.channels.engine_helpers import public_orange
from tests.live_server import LiveServer


@dataclass
class Wired:
    app: Any
    settings: Settings
    adapters: dict[str, Adapter]

    @property
    def sessions(self) -> Any:
        return self.app.extensions["sargs"].sessionmaker

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.sessions, self.adapters)

    def rows(self) -> dict[str, Delivery]:
        """The ledger by address, read in a session of its own."""
        with self.sessions() as session:
            rows = {d.address: d for d in session.scalars(select(Delivery))}
            session.expunge_all()
            return rows


@contextmanager
def wired(settings: Settings, *, twilio: Any = None, smtp_url: str | None = None,
          ami_url: str | None = None, **extra: Any) -> Iterator[Wired]:
    """The app configured for the given simulators only (other channels stay unconfigured)."""
    server = LiveServer()
    update: dict[str, Any] = {"public_url": server.url, "smtp_url": smtp_url,
                              "pbx_ami_url": ami_url, **extra}
    if twilio is not None:
        update |= {"twilio_api_url": twilio.url, "twilio_account_sid": twilio.account_sid,
                   "twilio_from_number": FROM}
    configured = settings.model_copy(update=update)
    if twilio is not None:
        configured.twilio_auth_token = SecretStr(twilio.auth_token)
    app = create_app(configured)
    server.app = app
    adapters = build_adapters(configured)
    try:
        yield Wired(app, configured, adapters)
    finally:
        for adapter in adapters.values():
            getattr(adapter, "close", lambda: None)()
        server.close()
        app.extensions["sargs"].engine.dispose()


def send_staff_alert(wiring: Wired, author_id: int, channels: list[str], group: str,
                     **changes: Any) -> int:
    """A staff alert (no second person needed) to ``group`` on ``channels``, in the ledger."""
    with wiring.sessions() as db:
        draft = public_orange(audience={"groups": [group]}, channels=channels, **changes)
        alert = alerts.create_alert(db, draft, author_id)
        alerts.submit(db, alert, author_id)
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        return alert.id


def drain_paced(wiring: Wired, frozen: clock.FrozenClock, rounds: int = 10) -> None:
    """Drain, letting the frozen clock refill the channels' rate budgets between rounds."""
    dispatcher = wiring.dispatcher()
    for _ in range(rounds):
        drain(dispatcher)
        frozen.advance(seconds=1)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until ``condition`` holds; the generous timeout only matters on a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
