"""Fetching warning sources: conditional GET, redirects, size and time limits, feeds that are
down or broken, local files."""

from __future__ import annotations

import gzip
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sargs.settings import load_settings
from sargs.warnings.fetch import CHUNK_BYTES, Fetcher, FetchError
from tests.warnings.feed_server import FeedServer, refused_url

ATOM = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>LV</title></feed>'
MAX_BYTES = 1_000_000
TWENTY_MB = 20_000_000


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=5, max_bytes=MAX_BYTES, max_redirects=3) as client:
        yield client


def refused(fetcher: Fetcher, source: str) -> str:
    with pytest.raises(FetchError) as caught:
        fetcher.get(source)
    return caught.value.reason


# -- conditional GET -----------------------------------------------------------------------


def test_feed_with_etag_is_fetched_once_then_answers_not_modified(feeds, fetcher):
    url = feeds.serve("/feeds/meteoalarm-legacy-atom-latvia", ATOM)

    first = fetcher.get(url)
    assert (first.body, first.not_modified) == (ATOM, False)
    assert first.content_type == "application/atom+xml"
    assert first.etag

    again = fetcher.get(url, etag=first.etag)
    assert again.not_modified and again.body == b""
    assert again.etag == first.etag
    assert feeds.last_headers["/feeds/meteoalarm-legacy-atom-latvia"]["If-None-Match"] == first.etag


def test_changed_feed_is_fetched_again_despite_an_old_etag(feeds, fetcher):
    url = feeds.serve("/feed", ATOM)
    old = fetcher.get(url)
    feeds.serve("/feed", ATOM.replace(b"LV", b"Latvia"))

    new = fetcher.get(url, etag=old.etag)
    assert not new.not_modified
    assert b"Latvia" in new.body and new.etag != old.etag


def test_last_modified_makes_a_conditional_request(feeds, fetcher):
    url = feeds.serve("/feed", ATOM, etag=False, last_modified="Fri, 09 Oct 2026 22:05:40 GMT")

    first = fetcher.get(url)
    assert (first.etag, first.last_modified) == (None, "Fri, 09 Oct 2026 22:05:40 GMT")
    assert fetcher.get(url, last_modified=first.last_modified).not_modified

    feeds.serve("/feed", ATOM, etag=False, last_modified="Fri, 09 Oct 2026 22:06:41 GMT")
    assert fetcher.get(url, last_modified=first.last_modified).body == ATOM


def test_many_documents_share_one_connection(feeds, fetcher):
    for n in range(5):
        fetcher.get(feeds.serve(f"/api/v1/warnings/feeds-latvia/{n}", ATOM))
    assert feeds.connections == 1


def test_user_agent_names_sargs(feeds, fetcher):
    fetcher.get(feeds.serve("/feed", ATOM))
    assert feeds.last_headers["/feed"]["User-Agent"].startswith("Sargs/")


# -- redirects -----------------------------------------------------------------------------


def test_redirect_chain_within_the_limit_is_followed(feeds, fetcher):
    final = feeds.serve("/feeds/meteoalarm-legacy-atom-latvia", ATOM)
    feeds.redirect("/c", final, status=308)
    feeds.redirect("/b", "/c", status=301)  # a relative Location resolves against /b
    url = feeds.redirect("/ATOM/LV.xml", feeds.url("/b"))

    fetched = fetcher.get(url)
    assert fetched.body == ATOM
    assert fetched.url == final


def test_redirect_chain_over_the_limit_is_refused(feeds, fetcher):
    for hop in range(4):
        feeds.redirect(f"/r{hop}", f"/r{hop + 1}")
    feeds.serve("/r4", ATOM)

    assert refused(fetcher, feeds.url("/r0")) == "more than 3 redirects"
    assert feeds.hits["/r4"] == 0


def test_redirect_to_a_file_is_refused(feeds, fetcher):
    url = feeds.redirect("/feed", "file:///etc/passwd")
    assert refused(fetcher, url) == "redirect to a non-HTTP address (file:)"


# -- size ----------------------------------------------------------------------------------


@pytest.fixture
def client_bytes_read(monkeypatch) -> dict[str, int]:
    """Bytes this thread reads from its sockets (the feed server reads in its own threads)."""
    reader = threading.get_ident()
    count = {"bytes": 0}
    original = socket.SocketIO.readinto

    def counting(self, buffer):
        n = original(self, buffer)
        if threading.get_ident() == reader and n:
            count["bytes"] += n
        return n

    monkeypatch.setattr(socket.SocketIO, "readinto", counting)
    return count


def test_endless_body_is_cut_off_just_over_the_limit(feeds, fetcher, client_bytes_read):
    url = feeds.stream("/feed")  # chunked, never ends

    assert refused(fetcher, url) == f"larger than {MAX_BYTES} bytes"
    # Headers and chunk framing fit in the extra chunk allowed.
    assert client_bytes_read["bytes"] <= MAX_BYTES + 2 * CHUNK_BYTES


def test_declared_20_mb_body_is_refused_before_reading_it(feeds, fetcher, client_bytes_read):
    url = feeds.stream("/feed", declared_length=TWENTY_MB)

    assert refused(fetcher, url) == f"larger than {MAX_BYTES} bytes"
    assert client_bytes_read["bytes"] <= CHUNK_BYTES
    # The server stops when the client hangs up; close() would stop it too, so only an upper
    # bound: what the kernel buffers took, far from the 20 MB announced.
    assert feeds.sent["/feed"] < TWENTY_MB


def test_compressed_body_counts_its_unpacked_size(feeds, fetcher):
    bomb = gzip.compress(b"\0" * TWENTY_MB)  # 20 KB on the wire
    url = feeds.serve("/feed", bomb, content_encoding="gzip")
    assert refused(fetcher, url) == f"larger than {MAX_BYTES} bytes"

    small = feeds.serve("/small", gzip.compress(ATOM), content_encoding="gzip")
    assert fetcher.get(small).body == ATOM


# -- failures ------------------------------------------------------------------------------


def test_server_that_never_answers_times_out(feeds):
    url = feeds.hang("/feed")
    with Fetcher(timeout=0.5, max_bytes=MAX_BYTES, max_redirects=3) as impatient:
        assert refused(impatient, url) == "timed out after 0.5 s"


def test_feed_that_is_down_is_connection_refused(fetcher):
    assert refused(fetcher, refused_url()) == "connection refused"


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_error_status_is_refused_with_its_code(feeds, fetcher, status):
    assert refused(fetcher, feeds.fail("/feed", status)) == f"HTTP {status}"


def test_other_schemes_are_refused(fetcher):
    assert refused(fetcher, "ftp://ftp.meteo.lv/cap.xml") == "scheme ftp: is not allowed"


def test_failure_is_logged_with_url_and_reason_but_no_password(feeds, fetcher, caplog):
    url = feeds.fail("/feed", 503).replace("http://", "http://lvgmc:s3cret@")
    with caplog.at_level(logging.WARNING, logger="sargs.warnings.fetch"):
        refused(fetcher, url)
    (record,) = caplog.records
    assert "HTTP 503" in record.getMessage()
    assert feeds.url("/feed") in record.getMessage()
    assert "s3cret" not in record.getMessage() and "lvgmc" not in record.getMessage()


# -- files ---------------------------------------------------------------------------------


def test_local_file_is_read_by_path_and_by_file_url(fetcher, tmp_path: Path):
    path = tmp_path / "latvia.xml"
    path.write_bytes(ATOM)

    by_path = fetcher.get(str(path))
    assert (by_path.body, by_path.url, by_path.not_modified) == (ATOM, str(path), False)
    assert fetcher.get(path.as_uri()).body == ATOM
    # A replayed file that has not changed answers like a 304.
    assert fetcher.get(str(path), last_modified=by_path.last_modified).not_modified


def test_missing_file_and_oversize_file_are_refused(fetcher, tmp_path: Path):
    assert refused(fetcher, str(tmp_path / "absent.xml")) == "no such file"
    assert refused(fetcher, str(tmp_path)) == "not a file"
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * (MAX_BYTES + 1))
    assert refused(fetcher, str(big)) == f"larger than {MAX_BYTES} bytes"


def test_fetcher_takes_its_limits_from_the_settings():
    settings = load_settings(feed_timeout_seconds=7, feed_max_bytes=123_456, feed_max_redirects=2)
    with Fetcher.from_settings(settings) as client:
        assert (client.timeout, client.max_bytes, client.max_redirects) == (7, 123_456, 2)


def test_slow_server_within_the_time_limit_is_fetched(feeds, fetcher):
    assert fetcher.get(feeds.serve("/feed", ATOM, delay=0.2)).body == ATOM
