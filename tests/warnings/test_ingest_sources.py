"""Polling real-format sources over HTTP: Atom with its CAP documents, LVĢMC's list,
Meteoalarm's JSON; what a 304, a feed that is down, a CAP link that fails and hostile
input do — and that nothing already stored changes when a source misbehaves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sargs.channels.models import Alert
from sargs.cli import cli
from sargs.warnings import ingest
from sargs.warnings.models import RejectedDocument, WarningSource, WarningVersion, WeatherWarning
from tests.warnings.feed_server import FeedServer, refused_url
from tests.warnings.lvgmc import RIGA_WINTER, Doc, atom_feed
from tests.warnings.test_warning_alerts import T0

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


@pytest.fixture
def poll(app, db):
    ext = app.extensions["sargs"]

    def run(*urls: str, **changes) -> ingest.Report:
        db.rollback()  # SQLite: the ingest writes; the test's session must not hold the lock
        settings = ext.settings.model_copy(update={"feed_urls": list(urls), **changes})
        return ingest.poll(ext.sessionmaker, settings)

    return run


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def warnings_by_identifier(db) -> dict[str, WeatherWarning]:
    db.expire_all()
    return {w.identifier: w for w in db.scalars(select(WeatherWarning))}


def serve_atom(server: FeedServer, docs: list[Doc], *, fail_links: set[int] = frozenset()) -> str:
    pairs = []
    for doc in docs:
        link = server.url(f"/cap/{doc.serial}")
        if doc.serial in fail_links:
            server.fail(f"/cap/{doc.serial}", 500)
        else:
            server.serve(f"/cap/{doc.serial}", doc.xml(), content_type="application/cap+xml")
        pairs.append((doc, link))
    return server.serve("/atom", atom_feed(pairs))


def test_atom_feed_with_its_cap_documents_then_a_304(db, server, poll):
    jelgava = Doc(11, T0, level=3, areas=("LV022",))
    sea = Doc(12, T0, level=2, areas=("LV801",))
    url = serve_atom(server, [jelgava, sea])
    first = poll(url)
    assert first.as_json() == {"new": 2, "updated": 0, "ended": 0, "unchanged": 0, "rejected": []}
    found = warnings_by_identifier(db)
    assert found[jelgava.identifier].affects_home and found[jelgava.identifier].areas == ["LV022"]
    assert found[sea.identifier].areas == ["LV801"] and not found[sea.identifier].affects_home
    # Both languages came with the CAP document, not the English-only Atom entry.
    assert found[jelgava.identifier].texts["lv"]["event"] == "Oranžais vēja brīdinājums"
    assert count(db, Alert) == 1

    hits = dict(server.hits)
    second = poll(url, feed_poll_seconds=5)
    assert second.sources_read == 0  # not due yet: one poll interval after the last fetch
    db.rollback()
    source = db.scalars(select(WarningSource)).one()
    source.next_attempt_at = None
    db.commit()
    third = poll(url)
    assert third.as_json()["new"] == 0 and third.sources_read == 1
    assert server.last_headers["/atom"].get("If-None-Match")  # a conditional GET …
    assert server.hits["/cap/11"] == hits["/cap/11"]  # … and no document fetched again
    assert count(db, Alert) == 1


def test_a_cap_link_that_fails_raises_the_warning_from_the_atom_entry(db, server, poll):
    doc = Doc(21, T0, level=4, areas=("LV022",))
    url = serve_atom(server, [doc], fail_links={21})
    report = poll(url)
    assert report.new == 1
    warning = warnings_by_identifier(db)[doc.identifier]
    assert warning.incomplete and warning.level == "red" and warning.affects_home
    assert warning.versions[0].raw is None
    # Residents are told from the entry alone (English text only, both languages' templates).
    assert count(db, Alert) == 1
    # Next poll, the document answers: the version is completed, nobody is told twice.
    server.serve("/cap/21", doc.xml(), content_type="application/cap+xml")
    server.serve("/atom", atom_feed([(doc, server.url("/cap/21"))]) + b"\n")
    db.rollback()
    db.execute(WarningSource.__table__.update().values(next_attempt_at=None))
    db.commit()
    poll(url)
    warning = warnings_by_identifier(db)[doc.identifier]
    assert not warning.incomplete and warning.versions[0].raw == doc.xml()
    assert warning.texts["lv"]["event"] == "Sarkanais vēja brīdinājums"
    assert count(db, Alert) == 1


def test_a_feed_that_is_down_backs_off_and_keeps_what_is_stored(app, db, server, poll,
                                                                 frozen_clock):
    doc = Doc(31, T0, level=3)
    url = serve_atom(server, [doc])
    poll(url)
    before = count(db, WarningVersion)
    server.fail("/atom", 503)
    frozen_clock.advance(timedelta(minutes=2))
    report = poll(url)
    assert report.rejected == [{"source": url, "reason": "HTTP 503"}]
    db.expire_all()
    source = db.scalars(select(WarningSource)).one()
    assert source.failures == 1 and source.last_error == "HTTP 503"
    assert source.next_attempt_at > frozen_clock.now()
    assert count(db, WarningVersion) == before
    assert warnings_by_identifier(db)[doc.identifier].state == "active"
    settings = app.extensions["sargs"].settings.model_copy(update={"feed_urls": [url]})
    assert [s.url for s in ingest.stale_sources(db, settings)] == []
    frozen_clock.advance(timedelta(minutes=5))
    assert [s.url for s in ingest.stale_sources(db, settings)] == [url]


def test_a_source_that_refuses_connections_is_reported(poll):
    url = refused_url("/atom")
    report = poll(url)
    assert report.sources_read == 0 and report.rejected[0]["reason"] == "connection refused"


@pytest.mark.parametrize("body, content_type, reason", [
    (BILLION_LAUGHS, "application/cap+xml", "DTD"),
    (b"<html><body>Service unavailable</body></html>", "text/html", "wrong content type"),
    (Doc(41, T0).xml()[:300], "application/cap+xml", "not well-formed"),
])
def test_hostile_or_broken_input_is_refused_and_changes_nothing(db, server, poll, body,
                                                                content_type, reason):
    stored = Doc(40, T0, level=3)
    poll(server.serve("/good.xml", stored.xml(), content_type="application/cap+xml"))
    url = server.serve("/bad", body, content_type=content_type)
    report = poll(url)
    assert reason in report.rejected[0]["reason"]
    assert count(db, WarningVersion) == 1 and count(db, Alert) == 1
    assert reason in db.scalars(select(RejectedDocument.reason)).one()


def test_an_oversize_document_is_refused_after_reading_at_most_the_limit(db, server, poll):
    url = server.stream("/huge")
    report = poll(url, feed_max_bytes=100_000)
    assert report.rejected[0]["reason"] == "larger than 100000 bytes"
    assert server.sent["/huge"] < 20_000_000
    assert count(db, WeatherWarning) == 0


def test_lvgmc_list_ends_a_warning_after_three_polls_without_it(db, server, poll, frozen_clock):
    doc = Doc(51, T0, level=3)
    server.serve("/data/publishedCap/51.xml", doc.xml(), content_type="application/xml")
    listing = server.serve("/list.php", json.dumps(["data/publishedCap/51.xml"]).encode(),
                           content_type="text/html")
    assert poll(listing).new == 1
    server.serve("/list.php", b"[]", content_type="text/html")
    for n in range(3):
        db.rollback()
        db.execute(WarningSource.__table__.update().values(next_attempt_at=None))
        db.commit()
        frozen_clock.advance(timedelta(minutes=1))
        report = poll(listing)
        server.serve("/list.php", b"[]" + b" " * (n + 1), content_type="text/html")
    warning = warnings_by_identifier(db)[doc.identifier]
    assert (warning.state, warning.end_reason) == ("ended", "left_list")
    assert report.ended == 1


def test_meteoalarm_json_list_is_read_in_full(db, server, poll):
    from tests.warnings.test_sources import DATA

    url = server.serve("/feeds-latvia", (DATA / "meteoalarm-json-latvia-complete.json").read_bytes(),
                       content_type="application/json")
    report = poll(url)
    assert report.new >= 1 and not report.rejected
    # Riga fog (a polygon) is identified as Riga, and does not affect Jelgava.
    riga = [w for w in warnings_by_identifier(db).values() if w.areas == ["LV039"]]
    assert riga and not riga[0].affects_home
    assert all(w.state == "expired" for w in warnings_by_identifier(db).values())


def test_cli_ingest_prints_the_counts_and_exits_2_when_nothing_could_be_read(app, db, server):
    doc = Doc(61, T0, level=2)
    url = server.serve("/one.xml", doc.xml(), content_type="application/cap+xml")
    runner = CliRunner()
    env = {"SARGS_DATABASE_URL": app.extensions["sargs"].settings.database_url,
           "SARGS_SECRET_KEY": "test-secret-key", "SARGS_MODE": "test",
           "SARGS_INSTANCE_PATH": str(app.extensions["sargs"].settings.instance_path),
           "SARGS_FEED_URLS": ""}
    db.rollback()
    result = runner.invoke(cli, ["warnings", "ingest", url, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"new": 1, "updated": 0, "ended": 0, "unchanged": 0,
                                         "rejected": []}
    listed = runner.invoke(cli, ["warnings", "list", "--json"], env=env)
    [item] = json.loads(listed.output)
    assert item["identifier"] == doc.identifier and item["level"] == "yellow"
    assert item["type"] == "wind" and item["affects_home"] is True and item["areas"] == ["LV022"]
    assert item["onset"] == "2026-11-24T15:00:00+02:00" and item["versions"] == 1
    assert item["headline_lv"] == "Dzeltenais vēja brīdinājums"
    down = runner.invoke(cli, ["warnings", "ingest", refused_url("/x"), "--json"], env=env)
    assert down.exit_code == 2
    assert json.loads(down.output)["rejected"][0]["reason"] == "connection refused"


def test_api_lists_warnings_with_a_token(app, db, client, server):
    from sargs.auth import service as auth

    doc = Doc(71, T0, level=4)
    db.rollback()
    ingest.ingest(app.extensions["sargs"].sessionmaker,
                  [server.serve("/one.xml", doc.xml(), content_type="application/cap+xml")],
                  app.extensions["sargs"].settings)
    _, secret = auth.create_token(db, "city-web", ["warnings:read"])
    db.commit()
    assert client.get("/api/v1/warnings").status_code == 401
    answer = client.get("/api/v1/warnings?state=active",
                        headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    [item] = answer.get_json()
    assert item["level"] == "red" and item["expires"].endswith("+02:00")
    bad = client.get("/api/v1/warnings?state=gone", headers={"Authorization": f"Bearer {secret}"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "state"


def test_times_are_kept_with_their_instant(db, server, poll):
    doc = Doc(81, T0, level=3)
    poll(server.serve("/one.xml", doc.xml(), content_type="application/cap+xml"))
    warning = warnings_by_identifier(db)[doc.identifier]
    assert warning.expires == doc.expires and warning.expires.astimezone(RIGA_WINTER).hour == 6
