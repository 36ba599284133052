"""Ingest: read each source, fetch the CAP documents it names, reconcile, escalate.

Network first, database after: no transaction is held open while a server is
slow. A source answers 304, or the same bytes as last time, and costs nothing
more. A CAP document is fetched once per identifier (or per path, for LVĢMC's
list); when it cannot be fetched, the Atom entry alone raises the warning,
flagged incomplete, and the document is tried again on the next poll.

Each document is stored in its own savepoint: a document refused or failing is
recorded with its reason and leaves nothing half-written, and the rest of the
poll goes on. A failing source backs off (doubling, up to 30 minutes) and shows
as stale on the warnings page with the time of its last good fetch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas import service as areas
from sargs.settings import Settings
from sargs.warnings import alerting, cap, service
from sargs.warnings.fetch import Fetched, Fetcher, FetchError
from sargs.warnings.models import WarningSource, WarningVersion
from sargs.warnings.sources import SourceItem, SourceRead, SourceRejected, read_source

log = logging.getLogger(__name__)

FETCH_THREADS = 8
MAX_BACKOFF = timedelta(minutes=30)


@dataclass
class Report:
    new: int = 0
    updated: int = 0
    ended: int = 0
    unchanged: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    sources_read: int = 0
    sources_failed: int = 0

    def count(self, result: str) -> None:
        setattr(self, result, getattr(self, result) + 1)

    def as_json(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "ended": self.ended,
                "unchanged": self.unchanged, "rejected": self.rejected}


@dataclass
class _Document:
    item: SourceItem
    doc: cap.CapDocument
    raw: bytes | None
    url: str
    incomplete: bool


class _Fetchers:
    """One Fetcher (one keep-alive connection pool) per thread."""

    def __init__(self, settings: Settings, make: Callable[[], Fetcher] | None = None) -> None:
        self._make = make or (lambda: Fetcher.from_settings(settings))
        self._local = threading.local()
        self._all: list[Fetcher] = []
        self._lock = threading.Lock()

    def get(self) -> Fetcher:
        fetcher = getattr(self._local, "fetcher", None)
        if fetcher is None:
            fetcher = self._local.fetcher = self._make()
            with self._lock:
                self._all.append(fetcher)
        return fetcher

    def close(self) -> None:
        for fetcher in self._all:
            fetcher.close()


def ingest(sessionmaker: Any, sources: Iterable[str], settings: Settings, *,
           fetcher_factory: Callable[[], Fetcher] | None = None,
           activation_id: int | None = None) -> Report:
    """Read every source now (the CLI, the poll and the exercise injects call this)."""
    report = Report()
    fetchers = _Fetchers(settings, fetcher_factory)
    try:
        for url in sources:
            _ingest_source(sessionmaker, url, settings, fetchers, report, activation_id)
    finally:
        fetchers.close()
    return report


def poll(sessionmaker: Any, settings: Settings, *,
         fetcher_factory: Callable[[], Fetcher] | None = None) -> Report:
    """The scheduled poll: the configured sources that are due — each one poll interval
    after its last fetch, longer while it fails."""
    now = clock.now()
    with sessionmaker() as session:
        waiting = {row.url: row.next_attempt_at for row in session.scalars(select(WarningSource))}
    due = [url for url in settings.feed_urls
           if waiting.get(url) is None or waiting[url] <= now]
    return ingest(sessionmaker, due, settings, fetcher_factory=fetcher_factory)


def _source_row(session: Session, url: str) -> WarningSource:
    row = session.scalar(select(WarningSource).where(WarningSource.url == url[:500]))
    if row is None:
        row = WarningSource(url=url[:500], failures=0)
        session.add(row)
        session.flush()
    return row


def _failed(sessionmaker: Any, url: str, reason: str, settings: Settings,
            report: Report) -> None:
    report.sources_failed += 1
    report.rejected.append({"source": url, "reason": reason})
    log.warning("warning source %s failed: %s", url, reason)
    with sessionmaker() as session:
        row = _source_row(session, url)
        now = clock.now()
        row.failures += 1
        row.last_attempt_at, row.last_error = now, reason[:300]
        wait = timedelta(seconds=settings.feed_poll_seconds) * (2 ** min(row.failures - 1, 10))
        row.next_attempt_at = now + min(wait, MAX_BACKOFF)
        session.commit()


def _ingest_source(sessionmaker: Any, url: str, settings: Settings, fetchers: _Fetchers,
                   report: Report, activation_id: int | None) -> None:
    with sessionmaker() as session:
        row = _source_row(session, url)
        etag, modified, last_hash = row.etag, row.last_modified, row.content_sha256
        session.commit()
    try:
        fetched = fetchers.get().get(url, etag=etag, last_modified=modified)
    except FetchError as exc:
        _failed(sessionmaker, url, exc.reason, settings, report)
        return
    body_hash = service.digest(fetched.body) if not fetched.not_modified else last_hash
    if fetched.not_modified or body_hash == last_hash:
        report.sources_read += 1
        _succeeded(sessionmaker, url, fetched, body_hash, None, settings)
        return
    try:
        read = read_source(fetched, max_bytes=settings.feed_max_bytes)
    except SourceRejected as exc:
        with sessionmaker() as session:
            service.reject(session, url, exc.reason, data=fetched.body)
            session.commit()
        _failed(sessionmaker, url, exc.reason, settings, report)
        return
    report.sources_read += 1
    documents = _documents(sessionmaker, read, url, settings, fetchers, report)
    with sessionmaker() as session:
        _reconcile(session, documents, url, settings, report, activation_id)
        if read.lists_all_in_force:
            listed = {item.cap_url for item in read.items if item.cap_url}
            for warning in service.end_unlisted(session, url, listed, settings.feed_absent_polls):
                report.ended += 1
                _escalate(session, service.Outcome("ended", warning, warning.versions[-1]),
                          settings)
        session.commit()
    _succeeded(sessionmaker, url, fetched, body_hash, read.kind, settings)


def _succeeded(sessionmaker: Any, url: str, fetched: Fetched, body_hash: str | None,
               kind: str | None, settings: Settings) -> None:
    with sessionmaker() as session:
        row = _source_row(session, url)
        now = clock.now()
        row.last_attempt_at = row.last_success_at = now
        row.failures, row.last_error = 0, None
        row.next_attempt_at = now + timedelta(seconds=settings.feed_poll_seconds)
        if not fetched.not_modified:
            row.etag, row.last_modified = fetched.etag, fetched.last_modified
            row.content_sha256 = body_hash
        row.kind = kind or row.kind
        session.commit()


def _known(sessionmaker: Any, items: tuple[SourceItem, ...]) -> tuple[set[str], set[str]]:
    """Identifiers and document URLs already held complete (fetched once, never again)."""
    identifiers = [item.identifier for item in items]
    urls = [item.cap_url for item in items if item.cap_url]
    with sessionmaker() as session:
        complete = WarningVersion.incomplete.is_(False)
        by_id = set(session.scalars(select(WarningVersion.identifier).where(
            WarningVersion.identifier.in_(identifiers), complete)))
        by_url = set(session.scalars(select(WarningVersion.source_url).where(
            WarningVersion.source_url.in_(urls), complete))) if urls else set()
    return by_id, by_url


def _documents(sessionmaker: Any, read: SourceRead, url: str, settings: Settings,
               fetchers: _Fetchers, report: Report) -> list[_Document]:
    known_ids, known_urls = _known(sessionmaker, read.items)
    wanted = []
    for item in read.items:
        if item.identifier in known_ids or (item.cap_url and item.cap_url in known_urls):
            report.unchanged += 1
        else:
            wanted.append(item)

    def load(item: SourceItem) -> tuple[SourceItem, bytes | None, str, str | None]:
        if item.cap_bytes is not None:
            return item, item.cap_bytes, url, None
        if item.cap_url is None:
            return item, None, url, "no CAP document linked"
        try:
            return item, fetchers.get().get(item.cap_url).body, item.cap_url, None
        except FetchError as exc:
            return item, None, item.cap_url, exc.reason

    with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
        loaded = list(pool.map(load, wanted))
    documents = []
    rejected: list[tuple[str, str, bytes | None, str | None]] = []
    for item, raw, where, error in loaded:
        if raw is None:
            if item.stub is not None:  # the Atom entry still raises the warning
                documents.append(_Document(item, item.stub, None, where, True))
            else:
                rejected.append((where, error or "could not be fetched", None, item.identifier))
            continue
        try:
            doc = cap.parse(raw, max_bytes=settings.feed_max_bytes)
        except cap.CapRejected as exc:
            rejected.append((where, exc.reason, raw, item.identifier))
            continue
        documents.append(_Document(item, doc, raw, where, False))
    if rejected:
        with sessionmaker() as session:
            for where, reason, raw, identifier in rejected:
                service.reject(session, where, reason, data=raw, identifier=identifier)
                report.rejected.append({"source": where, "reason": reason})
            session.commit()
    # Oldest first, so that an Update finds the version it references already stored.
    documents.sort(key=lambda d: d.doc.sent)
    return documents


def _reconcile(session: Session, documents: list[_Document], source_url: str,
               settings: Settings, report: Report, activation_id: int | None) -> None:
    index = areas.area_index(session) if documents else None
    for document in documents:
        try:
            with session.begin_nested():
                outcome = service.record(
                    session, document.doc, document.raw, source_url=source_url,
                    document_url=document.url, home_codes=list(settings.home_areas),
                    incomplete=document.incomplete, activation_id=activation_id, index=index)
        except Exception as exc:  # one bad document must not stop the poll
            log.exception("warning document %s could not be stored", document.doc.identifier)
            reason = f"could not be stored: {type(exc).__name__}"
            service.reject(session, document.url, reason, data=document.raw,
                           identifier=document.doc.identifier)
            report.rejected.append({"source": document.url, "reason": reason})
            continue
        report.count(outcome.result)
        _escalate(session, outcome, settings)


def _escalate(session: Session, outcome: service.Outcome, settings: Settings) -> None:
    try:
        with session.begin_nested():
            alerting.on_change(session, outcome, settings)
    except Exception:  # the warning stays stored and shown; the page says no alert went out
        log.exception("warning %s could not be escalated",
                      outcome.warning.id if outcome.warning else "?")


def stale_sources(session: Session, settings: Settings) -> list[WarningSource]:
    """Configured sources without a good fetch in three poll intervals."""
    limit = clock.now() - timedelta(seconds=3 * settings.feed_poll_seconds)
    rows = {row.url: row for row in session.scalars(select(WarningSource))}
    return [rows.get(url) or WarningSource(url=url, failures=0) for url in settings.feed_urls
            if rows.get(url) is None or rows[url].last_success_at is None
            or rows[url].last_success_at < limit]
