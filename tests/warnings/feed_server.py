"""A small threaded HTTP server on 127.0.0.1 that plays a warning source.

It serves given paths as Meteoalarm and LVĢMC do — ETag and Last-Modified, 304 to a
matching conditional request, keep-alive — and misbehaves on request: redirects, slowness,
a hang, 5xx, a wrong content type, an endless body. It counts requests, connections and
body bytes sent, so tests can prove what a client did (or did not) fetch.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_SECONDS = 60.0  # a hanging answer is released at the latest by close()


@dataclass(frozen=True)
class Route:
    body: bytes = b""
    content_type: str = "application/atom+xml"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    delay: float = 0.0  # seconds before the status line
    endless: bool = False  # chunked body that never ends (until the client goes)
    declared_length: int | None = None  # a Content-Length sent instead of the body's
    content_encoding: str | None = None  # "gzip" when the body is compressed


class FeedServer:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.hits: Counter[str] = Counter()  # requests per path
        self.sent: Counter[str] = Counter()  # body bytes written per path
        self.connections = 0
        self.last_headers: dict[str, dict[str, str]] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: close() waits for the loop to notice.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        name="feed-server", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, body: bytes, *, content_type: str = "application/atom+xml",
              etag: bool = True, last_modified: str | None = None, delay: float = 0.0,
              status: int = 200, content_encoding: str | None = None) -> str:
        """Serve `body` at `path` (replacing what was there, as a feed changes)."""
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"' if etag else None
        return self._route(path, Route(body, content_type, status, tag, last_modified,
                                       delay=delay, content_encoding=content_encoding))

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        return self._route(path, Route(status=status, location=to))

    def fail(self, path: str, status: int = 503) -> str:
        return self._route(path, Route(b"Service Unavailable", "text/plain", status))

    def hang(self, path: str) -> str:
        return self._route(path, Route(delay=HANG_SECONDS))

    def stream(self, path: str, *, declared_length: int | None = None) -> str:
        """An endless body; with `declared_length`, a Content-Length announcing it."""
        return self._route(path, Route(endless=True, declared_length=declared_length))

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _route(self, path: str, route: Route) -> str:
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def _lookup(self, path: str, headers: dict[str, str]) -> Route | None:
        with self._lock:
            self.hits[path] += 1
            self.last_headers[path] = headers
            return self._routes.get(path)


def refused_url(path: str = "/feed") -> str:
    """An address on 127.0.0.1 where nothing listens: a feed that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    if route.etag and "If-None-Match" in headers:
        return route.etag in (tag.strip() for tag in headers["If-None-Match"].split(","))
    if route.last_modified and "If-Modified-Since" in headers:
        try:
            since = parsedate_to_datetime(headers["If-Modified-Since"])
            return parsedate_to_datetime(route.last_modified) <= since
        except (TypeError, ValueError):
            return False
    return False


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real feeds

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with server._lock:
                server.connections += 1

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet test output

        def do_GET(self) -> None:
            path = self.path
            route = server._lookup(path, dict(self.headers.items()))
            if route is None:
                self._answer(404, b"Not Found", "text/plain")
                return
            if route.delay and server._closing.wait(route.delay):
                return
            validators = {"ETag": route.etag, "Last-Modified": route.last_modified,
                          "Content-Encoding": route.content_encoding}
            if route.location is not None:
                self._answer(route.status, b"", "text/plain", {"Location": route.location})
            elif route.endless:
                self._endless(path, route)
            elif route.status == 200 and _not_modified(route, dict(self.headers.items())):
                self._answer(304, b"", None, validators)
            else:
                self._answer(route.status, route.body, route.content_type, validators)
                server.sent[path] += len(route.body)

        def _answer(self, status: int, body: bytes, content_type: str | None,
                    headers: dict[str, str | None] | None = None) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                if value is not None:
                    self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _endless(self, path: str, route: Route) -> None:
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            if route.declared_length is not None:
                self.send_header("Content-Length", str(route.declared_length))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<entry>" + b"x" * 16_377 + b"</entry>"  # 16 KiB of plausible feed
            frame = chunk if route.declared_length is not None else (
                f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.close_connection = True
            limit = route.declared_length
            try:
                while not server._closing.is_set() and (limit is None or server.sent[path] < limit):
                    self.wfile.write(frame)
                    server.sent[path] += len(chunk)
            except OSError:
                pass  # the client stopped reading: what a size limit should do

    return Handler
