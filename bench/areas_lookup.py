"""How fast the area service answers, over the shipped Meteoalarm outlines.

Prints figures, asserts nothing. Usage (from the repository root):

    .venv/bin/python bench/areas_lookup.py                 # a fresh SQLite file
    .venv/bin/python bench/areas_lookup.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench

"Service" figures go through ``sargs.areas.service`` as the web and the API do:
each call re-reads the light (id, content_hash) list to see whether an area
changed. "Index" figures use one ``area_index()`` for a batch, as a feed
ingest would.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapely.affinity import translate

from sargs.app import create_app
from sargs.areas import service
from sargs.settings import load_settings

# Latvia's bounding box: most random points fall in some area, some in none.
LAT = (55.67, 58.09)
LON = (20.97, 28.24)


def rate(call: Callable[[Any], Any], items: list[Any], seconds: float) -> tuple[float, int]:
    """Calls per second of ``call`` cycling over ``items`` for about ``seconds``."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for item in items:
            call(item)
        done += len(items)
    return done / (time.perf_counter() - start), done


def cap_text(feature: dict[str, Any]) -> str:
    geometry = feature["geometry"]
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else geometry["coordinates"][0]
    return " ".join(f"{lat},{lon}" for lon, lat in rings[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per figure (default 2)")
    parser.add_argument("--points", type=int, default=1000, help="random points (default 1000)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="sargs-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings(mode="test", database_url=url, instance_path=folder,
                             secret_key="bench", log_level="WARNING")
    app = create_app(settings)
    session = app.extensions["sargs"].sessionmaker()

    rng = random.Random(2026)
    points = [(rng.uniform(*LAT), rng.uniform(*LON)) for _ in range(args.points)]
    features = service.builtin_features()
    texts = [cap_text(feature) for feature in features]
    polygons = [service.parse_cap_polygon(text) for text in texts]
    sizes = [len(text.split()) for text in texts]
    # The same borders drawn a little off (about 90 m east, 80 m north), as
    # another provider's outline would be: exact copies are a special case for overlay.
    shifted = [translate(polygon, 0.0015, 0.0007) for polygon in polygons]

    print(f"database: {session.get_bind().dialect.name}; {len(features)} shipped outlines, "
          f"{min(sizes)}–{max(sizes)} corners (median {statistics.median(sizes):.0f})")

    builds = []
    for _ in range(5):
        service._blueprints.clear()
        service._local.__dict__.clear()
        start = time.perf_counter()
        service.area_index(session)
        builds.append(time.perf_counter() - start)
    print(f"cold index build (load, repair, cut enclaves, prepare): {min(builds) * 1000:.1f} ms")
    service._local.__dict__.clear()
    start = time.perf_counter()
    service.area_index(session)
    print(f"per-thread index from the shared blueprint: {(time.perf_counter() - start) * 1000:.1f} ms")

    index = service.area_index(session)
    hits = sum(1 for lat, lon in points if index.at_point(lat, lon))
    print(f"random points in Latvia's box that fall in some area: {hits}/{len(points)}")
    for label, batch in (("outlines", polygons), ("shifted outlines", shifted)):
        wrong = [f["properties"]["code"] for f, p in zip(features, batch, strict=True)
                 if (m := index.identify(p)) is None or m.area.code != f["properties"]["code"]]
        print(f"{label} identified as their area: {len(features) - len(wrong)}/{len(features)}"
              + (f" (wrong: {', '.join(wrong)})" if wrong else ""))
    session.commit()

    figures = [
        ("point lookups/s, service (checks for changes each call)",
         lambda p: service.areas_at_point(session, *p), points),
        ("point lookups/s, one index", lambda p: index.at_point(*p), points),
        ("identify()/s, service, parsed outlines",
         lambda poly: service.identify(session, poly), polygons),
        ("identify()/s, one index, parsed outlines", index.identify, polygons),
        ("identify()/s, one index, shifted outlines", index.identify, shifted),
        ("parse_cap_polygon + identify()/s, one index",
         lambda text: index.identify(service.parse_cap_polygon(text)), texts),
        ("areas_in_polygon()/s, one index", index.in_polygon, polygons),
    ]
    for label, call, items in figures:
        per_second, count = rate(call, items, args.seconds)
        session.commit()  # end the read transaction (SQLite holds a lock)
        print(f"{label:<55} {per_second:>10,.0f}   ({count} calls)")
    session.close()
    app.extensions["sargs"].engine.dispose()


if __name__ == "__main__":
    main()
