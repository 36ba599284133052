"""One fetch of a warning source — an http(s) URL or a local file — within fixed limits.

Feeds are fetched every minute from servers Sargs does not control, so every fetch is
bounded: a connect and read timeout plus a deadline for the whole fetch, a body size limit
enforced while streaming (a lying or missing Content-Length cannot make it read more),
and redirects followed by hand so their number and scheme are checked. Any failure is a
`FetchError` with a short reason the operator can act on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import requests
import urllib3

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL after redirects (or the file path)
    not_modified: bool  # True on 304: body is b""
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None  # media type only, lower case ("application/xml"), no charset


class FetchError(Exception):
    """The source could not be fetched; `reason` is short, specific English."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Fetcher:
    """Fetches sources over one keep-alive session (a poll may fetch hundreds of documents)."""

    def __init__(self, *, timeout: float, max_bytes: int, max_redirects: int,
                 user_agent: str = "Sargs/0.1 (+https://jelgava.lv)") -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent

    @classmethod
    def from_settings(cls, settings: Any) -> Fetcher:
        return cls(timeout=settings.feed_timeout_seconds, max_bytes=settings.feed_max_bytes,
                   max_redirects=settings.feed_max_redirects)

    def get(self, source: str, *, etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        """Fetch `source`; with `etag`/`last_modified` from the previous fetch an unchanged
        source answers `not_modified` without a body."""
        try:
            scheme = urlsplit(source).scheme.lower()
            if scheme in ("http", "https"):
                return self._get_http(source, etag, last_modified)
            if scheme == "file":
                return self._get_file(Path(url2pathname(urlsplit(source).path)), last_modified)
            if scheme == "":
                return self._get_file(Path(source), last_modified)
            raise FetchError(f"scheme {scheme}: is not allowed")
        except FetchError as exc:
            log.warning("fetching %s failed: %s", _without_credentials(source), exc.reason)
            raise

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- http ---------------------------------------------------------------------------

    def _get_http(self, url: str, etag: str | None, last_modified: str | None) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.timeout
        for _ in range(self.max_redirects + 1):
            response = self._request(url, headers, deadline)
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_STATUSES and location:
                response.close()
                url = urljoin(url, location)
                if urlsplit(url).scheme.lower() not in ("http", "https"):
                    raise FetchError(f"redirect to a non-HTTP address ({urlsplit(url).scheme}:)")
                continue
            try:
                fetched = self._fetched(url, response, deadline, etag, last_modified)
            except BaseException:
                response.close()  # a half-read connection cannot serve the next request
                raise
            # Read to the end: the connection goes back to the pool for the next document.
            response.raw.release_conn()
            return fetched
        raise FetchError(f"more than {self.max_redirects} redirects")

    def _request(self, url: str, headers: dict[str, str], deadline: float) -> requests.Response:
        remaining = self._remaining(deadline)
        try:
            return self._session.get(url, headers=headers, stream=True, allow_redirects=False,
                                     timeout=(remaining, remaining))
        except requests.Timeout:
            raise FetchError(self._timed_out()) from None
        except requests.RequestException as exc:
            raise FetchError(_connection_reason(exc)) from None

    def _fetched(self, url: str, response: requests.Response, deadline: float,
                 etag: str | None, last_modified: str | None) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched(url, True, b"", response.headers.get("ETag", etag),
                           response.headers.get("Last-Modified", last_modified),
                           _media_type(response.headers.get("Content-Type")))
        if status != 200:
            raise FetchError(f"HTTP {status}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"larger than {self.max_bytes} bytes")
        return Fetched(url, False, self._read_body(response.raw, deadline),
                       response.headers.get("ETag"), response.headers.get("Last-Modified"),
                       _media_type(response.headers.get("Content-Type")))

    def _read_body(self, raw: urllib3.HTTPResponse, deadline: float) -> bytes:
        # read1 returns after at most one read from the socket, so a server dripping bytes
        # meets the deadline check between reads; decoded bytes are counted, so a gzip bomb
        # stops at the same limit as a plain body.
        parts: list[bytes] = []
        size = 0
        try:
            while part := raw.read1(CHUNK_BYTES, decode_content=True):
                size += len(part)
                if size > self.max_bytes:
                    raise FetchError(f"larger than {self.max_bytes} bytes")
                parts.append(part)
                self._remaining(deadline)
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise FetchError(self._timed_out()) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"connection broken while reading ({type(exc).__name__})") from None
        return b"".join(parts)

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(self._timed_out())
        return remaining

    def _timed_out(self) -> str:
        return f"timed out after {self.timeout:g} s"

    # -- files --------------------------------------------------------------------------

    def _get_file(self, path: Path, last_modified: str | None) -> Fetched:
        try:
            stat = path.stat()
            if not path.is_file():
                raise FetchError("not a file")
            if stat.st_size > self.max_bytes:
                raise FetchError(f"larger than {self.max_bytes} bytes")
            stamp = formatdate(stat.st_mtime, usegmt=True)
            if last_modified == stamp:
                return Fetched(str(path), True, b"", None, stamp, None)
            with path.open("rb") as file:
                body = file.read(self.max_bytes + 1)  # the file may grow after stat
        except FileNotFoundError:
            raise FetchError("no such file") from None
        except PermissionError:
            raise FetchError("permission denied") from None
        except OSError as exc:
            raise FetchError(f"cannot read file ({exc.strerror or type(exc).__name__})") from None
        if len(body) > self.max_bytes:
            raise FetchError(f"larger than {self.max_bytes} bytes")
        return Fetched(str(path), False, body, None, stamp, None)


def _media_type(content_type: str | None) -> str | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or None


def _connection_reason(exc: BaseException) -> str:
    """The cause an operator can act on, found in requests' and urllib3's wrapped errors."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, urllib3.exceptions.NameResolutionError):
            return "host not found"
        if isinstance(error, urllib3.exceptions.SSLError | requests.exceptions.SSLError):
            return "TLS handshake failed"
        pending += [e for e in (error.__cause__, error.__context__, getattr(error, "reason", None),
                                *error.args) if isinstance(e, BaseException)]
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL"
    return f"connection failed ({type(exc).__name__})"


def _without_credentials(source: str) -> str:
    # A feed URL may carry a user and password; the log must not.
    parts = urlsplit(source)
    if parts.username is None and parts.password is None:
        return source
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
