"""How fast a poll takes in Meteoalarm's Atom feed for Latvia: the first poll of a full
feed, a re-poll of an unchanged feed, and a re-poll with one warning updated.

Prints figures next to their goals, asserts nothing. Usage (from the repository root):

    .venv/bin/python -P bench/ingest.py                          # 500 entries, SQLite
    .venv/bin/python -P bench/ingest.py --entries 2000 --repeat 9
    .venv/bin/python -P bench/ingest.py --database postgresql+psycopg://postgres@127.0.0.1/sargs_bench
    .venv/bin/python -P bench/ingest.py --profile 30             # where the polls' time goes

The feed is built as Meteoalarm writes it: one Atom entry per CAP document × area, each
entry linking its document. The documents are LVĢMC's (en-GB and lv blocks, awareness
parameters); land areas are the shipped municipality outlines as CAP polygons, so
identifying each polygon is part of the cost, sea areas are EMMA_ID geocodes. The feed
and the documents are served from 127.0.0.1 by a server in a child process (ETag, 304),
so the poll's process is measured alone.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import func, select

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:  # run as a script with -P: find the tests' peers too
    sys.path.insert(0, str(REPOSITORY))

from sargs import clock  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.settings import load_settings  # noqa: E402
from sargs.warnings import ingest  # noqa: E402
from sargs.warnings.models import WarningVersion, WeatherWarning  # noqa: E402
from tests.warnings import lvgmc  # noqa: E402
from tests.warnings.feed_server import FeedServer  # noqa: E402

FEED_PATH = "/feeds/meteoalarm-legacy-atom-latvia"
CAP_PATH = "/api/v1/warnings/feeds-latvia/"
AREAS_PER_DOCUMENT = (1, 2, 3)  # in turn: Meteoalarm writes one entry per area
SEA_EVERY = 4  # every 4th document is a sea warning (geocodes, no polygon)
GOALS = {"cold_s": 2.0, "unchanged_s": 0.05, "changed_s": 0.2}  # seconds, from the issue
LABELS = {"cold_s": "first poll: feed and every document",
          "unchanged_s": "re-poll, feed unchanged",
          "changed_s": "re-poll, one warning updated"}


# --- the feed ----------------------------------------------------------------------


def shipped_areas() -> tuple[list[str], list[str]]:
    """(municipality codes, sea area codes) of the shipped EMMA_ID outlines; each named in
    the document builder's table, which knows only the Jelgava scenarios' four."""
    land, sea = [], []
    for path in sorted((resources.files("sargs.areas") / "data" / "emma").iterdir()):
        if not path.name.endswith(".geojson"):
            continue
        properties = json.loads(path.read_text(encoding="utf-8"))["properties"]
        code = properties["code"]
        lvgmc.AREA_NAMES.setdefault(code, (properties["name"], properties["name"]))
        if code >= "LV800":
            sea.append(code)
        elif code >= "LV010":  # LV001–LV004 are the regions, not issued by LVĢMC per area
            land.append(code)
    return land, sea


def thin_outlines(step: int) -> None:
    """Let the documents carry every ``step``-th vertex of the shipped outlines. Meteoalarm's
    feed for Latvia carries 33 points for Jelgava, whose shipped outline has 252."""
    if step <= 1:
        return
    full = lvgmc.polygon_of

    def thinned(code: str) -> str:
        points = full(code).split()[:-1][::step]
        return " ".join([*points, points[0]])

    lvgmc.polygon_of = thinned  # the document builder looks it up at each call


def documents(entries: int, start: datetime) -> list[lvgmc.Doc]:
    """Documents whose areas add up to ``entries`` Atom entries, levels and types varied."""
    land, sea = shipped_areas()
    docs: list[lvgmc.Doc] = []
    total = next_land = 0
    while total < entries:
        n = len(docs)
        count = min(AREAS_PER_DOCUMENT[n % len(AREAS_PER_DOCUMENT)], entries - total)
        if n % SEA_EVERY == SEA_EVERY - 1:
            areas = tuple(sea[(n + i) % len(sea)] for i in range(min(count, len(sea))))
        else:
            areas = tuple(land[(next_land + i) % len(land)] for i in range(count))
            next_land += count
        docs.append(lvgmc.Doc(
            100_000 + n, start + timedelta(seconds=n), level=2 + n % 3,
            type_code=tuple(lvgmc.TYPES)[n % len(lvgmc.TYPES)], onset=start,
            expires=start + timedelta(days=1), areas=areas))
        total += len(areas)
    return docs


def cap_path(doc: lvgmc.Doc) -> str:
    return CAP_PATH + str(uuid.uuid5(uuid.NAMESPACE_URL, doc.identifier))


def atom(docs: list[lvgmc.Doc], base_url: str) -> bytes:
    entries = "".join(_entry(doc, code, base_url) for doc in docs for code in doc.areas)
    updated = max(doc.sent for doc in docs).astimezone(UTC).isoformat()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">'
        "<id>tag:meteoalarm.org,2021-02-19:LV</id>"
        "<title>MeteoAlarm - Alerting Europe for Extreme Weather</title>"
        f"<updated>{updated}</updated>{entries}</feed>"
    ).encode()


def _entry(doc: lvgmc.Doc, code: str, base_url: str) -> str:
    _colour, severity, colour_en, _ = lvgmc.LEVELS[doc.level]
    event = f"{colour_en} {lvgmc.TYPES[doc.type_code][0]} Warning"
    name = escape(lvgmc.AREA_NAMES[code][0])
    where = (f"<cap:polygon>{lvgmc.polygon_of(code)}</cap:polygon>" if code < "LV800" else
             "<cap:geocode><valueName>EMMA_ID</valueName>"
             f"<value>{code}</value></cap:geocode>")
    sent = doc.sent.astimezone(UTC)
    return (
        f"<entry>{where}<cap:areaDesc>{name}</cap:areaDesc><cap:event>{event}</cap:event>"
        f"<cap:sent>{sent.isoformat()}</cap:sent>"
        f"<cap:expires>{doc.expires.astimezone(UTC).isoformat()}</cap:expires>"
        f"<cap:effective>{sent.isoformat()}</cap:effective>"
        f"<cap:onset>{doc.onset.astimezone(UTC).isoformat()}</cap:onset>"
        f"<cap:certainty>Likely</cap:certainty><cap:severity>{severity}</cap:severity>"
        "<cap:urgency>Immediate</cap:urgency><cap:scope>Public</cap:scope>"
        f"<cap:message_type>{doc.msg_type}</cap:message_type>"
        f"<cap:status>{doc.status}</cap:status><cap:identifier>{doc.identifier}</cap:identifier>"
        f'<link type="application/cap+xml" href="{base_url}{cap_path(doc)}"/>'
        f"<id>{base_url}{cap_path(doc)}?index_area={doc.areas.index(code)}</id>"
        f"<title>{event} issued for Latvia - {name}</title>"
        f"<updated>{sent.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated></entry>"
    )


# --- the server, in a process of its own ------------------------------------------


def _serve(pipe: Any) -> None:
    """Run a FeedServer; each message is a list of (path, body, content type) to serve."""
    server = FeedServer()
    pipe.send(server.base_url)
    while (routes := pipe.recv()) is not None:
        for path, body, content_type in routes:
            server.serve(path, body, content_type=content_type)
        pipe.send(True)
    server.close()
    pipe.send(True)


class Server:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")  # before any thread or connection exists
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        self.base_url: str = self.pipe.recv()

    def serve(self, feed: list[lvgmc.Doc], new: list[lvgmc.Doc]) -> None:
        """Serve ``feed`` as the Atom feed and each of ``new`` at its CAP link."""
        routes = [(cap_path(doc), doc.xml(), "application/cap+xml") for doc in new]
        routes.append((FEED_PATH, atom(feed, self.base_url), "application/atom+xml"))
        self.pipe.send(routes)
        self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send(None)
        self.pipe.recv()
        self.process.join(timeout=10)


# --- runs --------------------------------------------------------------------------


@dataclass
class Poll:
    seconds: float
    report: ingest.Report


def poll(sessions: Any, url: str, settings: Any, profile: cProfile.Profile | None = None) -> Poll:
    start = time.perf_counter()
    if profile is not None:
        profile.enable()
    report = ingest.ingest(sessions, [url], settings)
    if profile is not None:
        profile.disable()
    return Poll(time.perf_counter() - start, report)


def placed_as_sent(sessions: Any, docs: list[lvgmc.Doc]) -> int:
    """How many warnings were placed in exactly the areas their document was written for:
    each polygon identified as its area, each geocode read."""
    with sessions() as session:
        stored = {identifier: areas for identifier, areas in session.execute(
            select(WeatherWarning.identifier, WeatherWarning.areas))}
        session.rollback()
    return sum(1 for doc in docs if set(stored.get(doc.identifier) or ()) == set(doc.areas))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500, help="Atom entries (default 500)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="re-polls of each kind; their median is reported (default 5)")
    parser.add_argument("--database", "--database-url", dest="database",
                        help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--vertex-step", type=int, default=1, metavar="N",
                        help="documents carry every N-th vertex of the shipped outlines "
                             "(default 1: all of them; 10 is about what Meteoalarm sends)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", type=int, metavar="LINES", default=0,
                        help="print cProfile's view of the first poll and of the re-polls "
                             "with a warning updated, this many lines each by cumulative time")
    args = parser.parse_args(argv)
    entries, repeat = max(args.entries, 1), max(args.repeat, 1)

    server = Server()  # first: the fork must not copy threads or connections
    folder = Path(tempfile.mkdtemp(prefix="sargs-bench-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings(mode="test", database_url=url, instance_path=folder,
                             secret_key="bench", log_level="ERROR", feed_urls=[])
    app = create_app(settings)
    sessions = app.extensions["sargs"].sessionmaker
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(WarningVersion)):
            sys.exit("the database already has warnings: give the bench a scratch database")
        session.rollback()

    now = clock.now()
    thin_outlines(args.vertex_step)
    docs = documents(entries, now - timedelta(hours=2))
    feed_url = server.base_url + FEED_PATH
    result: dict[str, Any] = {"database": url.split(":", 1)[0], "entries": entries,
                              "documents": len(docs), "repeat": repeat,
                              "vertex_step": max(args.vertex_step, 1)}

    # 1. the first poll: the feed, every document fetched, parsed, placed and stored
    server.serve(docs, docs)
    profiles = {"first poll": cProfile.Profile(), "re-polls with one warning updated":
                cProfile.Profile()} if args.profile else {}
    cold = poll(sessions, feed_url, settings, profiles.get("first poll"))
    result["cold_s"], result["cold_new"] = cold.seconds, cold.report.new
    result["cold_rejected"] = len(cold.report.rejected)
    result["cold_placed"] = placed_as_sent(sessions, docs)

    # 2. the same feed again: the server answers 304
    unchanged = [poll(sessions, feed_url, settings) for _ in range(repeat)]
    result["unchanged_s"] = statistics.median(p.seconds for p in unchanged)
    result["unchanged_max_s"] = max(p.seconds for p in unchanged)
    result["unchanged_new"] = sum(p.report.new + p.report.updated for p in unchanged)

    # 3. one warning updated per round (a new identifier and CAP link in its entries)
    changed = []
    for round_ in range(repeat):
        n = round_ * len(docs) // repeat  # a different warning each round
        old = docs[n]
        sent = now - timedelta(hours=1) + timedelta(seconds=round_)  # after every original
        docs[n] = old.update(200_000 + round_, sent, level=2 + (old.level - 1) % 3)
        server.serve(docs, [docs[n]])
        changed.append(poll(sessions, feed_url, settings,
                            profiles.get("re-polls with one warning updated")))
    result["changed_s"] = statistics.median(p.seconds for p in changed)
    result["changed_max_s"] = max(p.seconds for p in changed)
    result["changed_updated"] = sum(p.report.updated for p in changed)
    result["changed_unchanged"] = changed[-1].report.unchanged  # known, not fetched again

    server.stop()
    app.extensions["sargs"].engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    for name, profile in profiles.items():
        print(f"\n--- profile: {name} ---")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(
            args.profile)
    return result


def report(r: dict[str, Any]) -> None:
    step = "all vertices" if r["vertex_step"] == 1 else f"every {r['vertex_step']}th vertex"
    print(f"database: {r['database']}; {r['entries']} Atom entries, {r['documents']} CAP "
          f"documents (outlines: {step}); re-polls: median of {r['repeat']}")
    for key, label in LABELS.items():
        goal = GOALS[key]
        print(f"{label:<40}{r[key]:8.3f} s   goal ≤ {goal:g} s   "
              f"{'met' if r[key] <= goal else 'NOT MET'}")
    print(f"first poll: {r['cold_new']} warnings new, {r['cold_placed']} placed in the areas "
          f"they were written for, {r['cold_rejected']} rejected; "
          f"unchanged re-polls stored {r['unchanged_new']}; updated re-polls: "
          f"{r['changed_updated']} of {r['repeat']} updated "
          f"(slowest re-polls {r['unchanged_max_s']:.3f} s, {r['changed_max_s']:.3f} s)")


if __name__ == "__main__":
    main()
