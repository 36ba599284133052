"""The dispatcher as a process part: adapters built from the settings, and
the loop that ``sargs worker`` (alone) or ``sargs run`` (in one process) runs."""

from __future__ import annotations

import fcntl
import logging
import threading
from typing import Any

from sargs.channels.adapters import Adapter
from sargs.channels.dispatcher import Dispatcher
from sargs.channels.ledger import configured_channels
from sargs.channels.rates import budgets_for
from sargs.settings import Settings

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0


def build_adapters(settings: Settings) -> dict[str, Adapter]:
    """An adapter for every configured channel Sargs can send on."""
    configured = configured_channels(settings)
    adapters: dict[str, Adapter] = {}
    if "sms" in configured:
        from sargs.channels.sms import SmsAdapter

        adapters["sms"] = SmsAdapter(settings)
    if "voice" in configured:
        from sargs.channels.voice import VoiceAdapter

        adapters["voice"] = VoiceAdapter(settings)
    if "telegram" in configured:
        from sargs.channels.telegram import TelegramAdapter

        adapters["telegram"] = TelegramAdapter(settings)
    if "email" in configured:
        from sargs.channels.email import EmailAdapter

        adapters["email"] = EmailAdapter(settings)
    if "pbx" in configured:
        from sargs.channels.pbx import PbxAdapter

        adapters["pbx"] = PbxAdapter(settings)
    if "sip" in configured:
        from sargs.channels.sip import SipAdapter

        adapters["sip"] = SipAdapter(settings)
    return adapters


def run(app: Any, stop: threading.Event) -> None:
    """Dispatch until ``stop`` is set; sleep a little when there is nothing to send."""
    state = app.extensions["sargs"]
    adapters = build_adapters(state.settings)
    if not adapters:
        log.warning("no channel is configured; deliveries wait as 'channel not configured'")
    dispatcher = Dispatcher(state.sessionmaker, adapters,
                            budgets=budgets_for(adapters, state.settings),
                            concurrency=state.settings.worker_concurrency,
                            lease_seconds=state.settings.worker_lease_seconds)
    while not stop.is_set():
        try:
            busy = dispatcher.run_once()
        except Exception:  # a database hiccup must not end the worker
            log.exception("dispatch round failed")
            busy = 0
        if not busy:
            stop.wait(dispatcher.idle_wait(IDLE_WAIT_S))
    dispatcher.close()
    for adapter in adapters.values():
        close = getattr(adapter, "close", None)
        if close:
            close()


def single_worker_lock(settings: Settings) -> Any:
    """On SQLite one worker sends (a lock file); PostgreSQL shares the ledger
    among many through SKIP LOCKED. Returns the held lock, or None if taken."""
    if not settings.is_sqlite:
        return True
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    handle = (settings.instance_path / "worker.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def start_thread(app: Any) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="sargs-worker", daemon=True)
    thread.start()
    return thread, stop
