"""What every simulator shares: the mode guard, a background server on
127.0.0.1, switchable faults and a thread-safe record of what was received."""

from __future__ import annotations

import heapq
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

ALLOWED_MODES = ("test", "demo")
HOST = "127.0.0.1"


class SimulatorRefused(RuntimeError):
    """A simulator was asked to start while Sargs is not in test or demo mode."""


def ensure_allowed(mode: str | None) -> str:
    """Return ``mode`` if simulators may run in it; raise :class:`SimulatorRefused` if not.

    ``None`` reads the mode from the settings (``SARGS_MODE``).
    """
    if mode is None:
        from sargs.settings import load_settings

        mode = load_settings().mode
    if mode not in ALLOWED_MODES:
        raise SimulatorRefused(
            f"provider simulators run only in test or demo mode (SARGS_MODE is {mode!r}); "
            "in production Sargs talks to the real providers"
        )
    return mode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Record:
    """Entries received, grouped by address (phone number, chat, mailbox, extension)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._entries: list[tuple[str, dict[str, Any]]] = []

    def add(self, address: object, entry: dict[str, Any]) -> None:
        with self._changed:
            self._entries.append((str(address), entry))
            self._changed.notify_all()

    def of(self, address: object) -> list[dict[str, Any]]:
        with self._changed:
            return [dict(e) for a, e in self._entries if a == str(address)]

    def all(self) -> list[tuple[str, dict[str, Any]]]:
        with self._changed:
            return [(a, dict(e)) for a, e in self._entries]

    def __len__(self) -> int:
        with self._changed:
            return len(self._entries)

    def wait_for(self, count: int, address: object | None = None, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` entries (for ``address``, if given) are recorded."""

        def enough() -> bool:
            if address is None:
                return len(self._entries) >= count
            return sum(1 for a, _ in self._entries if a == str(address)) >= count

        with self._changed:
            return self._changed.wait_for(enough, timeout)

    def clear(self) -> None:
        with self._changed:
            self._entries.clear()


@dataclass
class _Fault:
    remaining: int | None
    params: dict[str, Any]
    on: frozenset[str] | None


class Faults:
    """Faults switched on at run time, each for ``count`` requests (``None``: until cleared)."""

    def __init__(self, known: Iterable[str]) -> None:
        self.known = frozenset(known)
        self._lock = threading.Lock()
        self._active: dict[str, _Fault] = {}

    def set(self, name: str, count: int | None = 1, on: Iterable[str] | None = None,
            **params: Any) -> None:
        if name not in self.known:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(self.known))}")
        with self._lock:
            self._active[name] = _Fault(count, params, frozenset(on) if on else None)

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._active.clear()
            else:
                self._active.pop(name, None)

    def take(self, name: str, where: str | None = None) -> dict[str, Any] | None:
        """Consume one use of fault ``name`` at endpoint ``where``; its parameters, or None."""
        with self._lock:
            fault = self._active.get(name)
            if fault is None or (fault.on is not None and where not in fault.on):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._active[name]
            return dict(fault.params)

    def take_any(self, names: Iterable[str], where: str | None = None
                 ) -> tuple[str, dict[str, Any]] | None:
        for name in names:
            params = self.take(name, where)
            if params is not None:
                return name, params
        return None


class Simulator:
    """Start/stop, context manager and the mode guard; subclasses serve."""

    name = "simulator"
    fault_names: tuple[str, ...] = ()

    def __init__(self, *, mode: str | None = None, port: int = 0) -> None:
        self.mode = mode
        self.requested_port = port
        self.port = 0
        self.faults = Faults(self.fault_names)
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def fault(self, name: str, count: int | None = 1, on: Iterable[str] | None = None,
              **params: Any) -> None:
        """Switch a fault on for the next ``count`` requests (``on``: only these endpoints)."""
        self.faults.set(name, count, on, **params)

    def clear_faults(self) -> None:
        self.faults.clear()

    def start(self) -> Simulator:
        ensure_allowed(self.mode)
        self.stopping.clear()
        self._start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._stop()

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- HTTP ---------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    url: str = ""

    def form(self) -> dict[str, list[str]]:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype in ("", "application/x-www-form-urlencoded") and self.body:
            return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> HttpResponse:
        return cls(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8", headers)


DROP = None  # a handler returning this closes the connection without answering


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waits for the
    # client's delayed ACK (milliseconds per request on a kept-alive connection).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = HttpRequest(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              self.headers, body, f"http://{self.headers.get('Host', '')}{self.path}")
        response = self.server.respond(request)
        if response is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A worker opens its whole connection pool at once; the default backlog of 5
    # drops the rest of the SYNs and each dropped connection waits a second.
    request_queue_size = 256
    respond: Callable[[HttpRequest], HttpResponse | None]

    def __init__(self, address: tuple[str, int], respond: Callable[[HttpRequest], Any]) -> None:
        super().__init__(address, _Handler)
        self.respond = respond
        self.connections: set[socket.socket] = set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (timed out, or was killed) is no simulator error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class HttpSimulator(Simulator):
    """A simulator serving HTTP from a thread; subclasses implement :meth:`handle`.

    Faults every HTTP simulator knows: ``slow`` (``seconds``, default 2),
    ``hang`` (no answer until ``seconds``, default 60, or the simulator stops,
    then the connection closes), ``drop`` (close the connection unanswered).
    """

    def _start(self) -> None:
        self._server = _Server((HOST, self.requested_port), self._respond)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-simulator", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._server.shutdown()
        for conn in list(self._server.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=5)

    def endpoint(self, request: HttpRequest) -> str | None:
        """The name faults may be restricted to with ``on=``."""
        return None

    def _respond(self, request: HttpRequest) -> HttpResponse | None:
        where = self.endpoint(request)
        taken = self.faults.take_any(("drop", "hang", "slow"), where)
        if taken is not None:
            name, params = taken
            if name == "drop":
                return DROP
            if name == "hang":
                self.stopping.wait(params.get("seconds", 60.0))
                return DROP
            self.stopping.wait(params.get("seconds", 2.0))
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        raise NotImplementedError


class Timeline:
    """Runs functions at monotonic due times, in order, on one background thread."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._changed = threading.Condition()
        self._seq = 0
        self._running = False
        self._thread: threading.Thread | None = None

    def at(self, due: float, action: Callable[[], None]) -> None:
        with self._changed:
            self._seq += 1
            heapq.heappush(self._due, (due, self._seq, action))
            self._changed.notify_all()

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        self.at(time.monotonic() + seconds, action)

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._running = False
            self._due.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._running and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._changed.wait(wait)
                if not self._running:
                    return
                _, _, action = heapq.heappop(self._due)
            try:
                action()
            except Exception:  # one broken step must not stop the simulator
                log.exception("%s: scheduled step failed", self._name)
