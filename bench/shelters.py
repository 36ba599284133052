"""How fast the nearest open shelter is found with a national register: the service call
and the public endpoint ``/api/v1/shelters/nearest`` served by gunicorn to 8 clients
asking without pause.

Prints p50 / p95 latency (and the endpoint's throughput) next to the goals; asserts
nothing. Usage (from the repository root):

    .venv/bin/python -P bench/shelters.py                 # 10 000 places, PostgreSQL on 127.0.0.1
    .venv/bin/python -P bench/shelters.py --places 50000 --seconds 5 --json
    .venv/bin/python -P bench/shelters.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench
    .venv/bin/python -P bench/shelters.py --sqlite        # the embedded default, for comparison

Without --database-url it creates a scratch PostgreSQL database (sargs_bench_shelters_<random>)
as user postgres on 127.0.0.1 and drops it afterwards. The places are spread over
Latvia's extent; a share of them (--open-share, 5 % by default) is open in a real
activation with some people in, a few of those full; as many again in an exercise, which
the search must pass over. Each client asks from its own loopback address, as residents'
phones do, so the endpoint's per-address rate limit is not what is measured.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench import served  # noqa: E402
from sargs.activations.schemas import ActivationOpen  # noqa: E402
from sargs.activations.service import open_activation  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.settings import load_settings  # noqa: E402
from sargs.shelters import service  # noqa: E402
from sargs.shelters.models import Shelter, ShelterOpening  # noqa: E402

GOALS_MS = {"service": 5.0, "endpoint": 20.0}  # p95, from the issue
# Latvia's extent, roughly; the bench needs no exact outline.
LAT_RANGE = (55.70, 57.95)
LON_RANGE = (21.00, 28.00)
KINDS = ("shelter", "suitable", "short_stay", "evacuation_point")


def _points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    return [(rng.uniform(*LAT_RANGE), rng.uniform(*LON_RANGE)) for _ in range(count)]


def seed(app: Any, count: int, open_share: float, rng: random.Random) -> float:
    """``count`` places in bulk, a share open in an emergency and as many in an exercise;
    returns the seconds it took."""
    started = time.perf_counter()
    state = app.extensions["sargs"]
    now = datetime.now(UTC)
    rows = []
    for number, (lat, lon) in enumerate(_points(rng, count)):
        capacity = rng.choice((30, 50, 80, 120, 200, 400))
        rows.append({"name": f"Patvertne {number}", "address": f"Iela {number % 200 + 1}",
                     "lat": lat, "lon": lon, "kind": rng.choice(KINDS), "capacity": capacity,
                     "owner": "", "manager": "", "responsible_name": "",
                     "responsible_phone": "", "responsible_email": "", "key_holder_name": "",
                     "key_holder_phone": "", "opening_procedure": "", "step_free": False,
                     "lift": False, "accessible_toilet": False, "facilities": [],
                     "readiness": "green", "readiness_reason": "",
                     "inspection_interval_days": 365, "illustrative": True, "active": True,
                     "occupancy": 0, "created_at": now, "updated_at": now})
    engine = state.engine
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Shelter), rows[start:start + 5000])
    with state.sessionmaker() as session:
        emergency = open_activation(session, ActivationOpen(
            title="Plūdi Zemgalē", kind="emergency"), by_user_id=None).id
        exercise = open_activation(session, ActivationOpen(
            title="Mācības", kind="exercise"), by_user_id=None).id
        session.commit()
        ids = list(session.scalars(select(Shelter.id)))
        picked = rng.sample(ids, min(len(ids), int(2 * open_share * len(ids))))
        half = len(picked) // 2
        for index, shelter_id in enumerate(picked):
            activation = emergency if index < half else exercise
            opening = ShelterOpening(shelter_id=shelter_id, activation_id=activation,
                                     opened_at=now, peak_occupancy=0)
            session.add(opening)
            session.flush()
            capacity = session.scalar(select(Shelter.capacity).where(Shelter.id == shelter_id))
            # Most have room; about one in ten is full.
            people = capacity if rng.random() < 0.1 else rng.randint(0, capacity - 1)
            session.execute(update(Shelter).where(Shelter.id == shelter_id).values(
                opening_id=opening.id, occupancy=people, occupancy_updated_at=now))
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def time_service(app: Any, points: list[tuple[float, float]]) -> dict[str, Any]:
    """The service call alone, on one session, as the API and the bot make it."""
    latencies = []
    with app.app_context(), app.extensions["sargs"].sessionmaker() as session:
        for lat, lon in points[:20]:  # warm the connection and the statement cache
            service.nearest(session, lat, lon, 3)
        for lat, lon in points:
            started = time.perf_counter()
            service.nearest(session, lat, lon, 3)
            latencies.append(time.perf_counter() - started)
            session.rollback()
    return {"calls": len(latencies), **served.percentiles(latencies)}


class _FromAddress(HTTPAdapter):
    """Connections from a given loopback address (each client is its own resident)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def hammer(base: str, points: list[tuple[float, float]], clients: int,
           seconds: float) -> dict[str, Any]:
    sessions = []
    for index in range(clients):
        session = requests.Session()
        session.mount("http://", _FromAddress(f"127.0.0.{10 + index}"))
        sessions.append(session)
    urls = [f"{base}/api/v1/shelters/nearest?lat={lat:.5f}&lon={lon:.5f}&n=3"
            for lat, lon in points]
    for url in urls[:5]:
        sessions[0].get(url)
    return served.hammer(sessions, urls, seconds, stagger=97)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, default=10_000)
    parser.add_argument("--open-share", type=float, default=0.05)
    parser.add_argument("--calls", type=int, default=2000, help="service calls timed")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    served.add_database_options(parser)
    args = parser.parse_args()
    return served.run_on_database(args, "sargs-bench-shelters-", run)


def run(args: argparse.Namespace, database_url: str, folder: Path) -> int:
    rng = random.Random(2025)
    settings = load_settings(mode="test", database_url=database_url, instance_path=folder,
                             secret_key=served.SECRET_KEY, feed_urls=[])
    app = create_app(settings)
    seed_s = seed(app, args.places, args.open_share, rng)
    points = _points(rng, args.calls)
    results: dict[str, Any] = {"places": args.places, "open_share": args.open_share,
                               "clients": args.clients, "workers": args.workers,
                               "database": make_url(database_url).get_backend_name(),
                               "seed_s": round(seed_s, 1)}
    results["service"] = time_service(app, points)
    app.extensions["sargs"].engine.dispose()
    port = served.free_port()
    server = served.start_server(database_url, folder, args.workers, port)
    try:
        results["endpoint"] = hammer(f"http://127.0.0.1:{port}", points, args.clients,
                                     args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=60)
    if results["endpoint"]["errors"]:
        print(served.first_error(folder / "web.log"), file=sys.stderr)
    if args.json:
        print(json.dumps(results))
        return 0
    service_row, endpoint = results["service"], results["endpoint"]
    print(f"{args.places} places on {results['database']} (seeded in {results['seed_s']} s), "
          f"{args.open_share:.0%} open in an emergency and as many in an exercise")
    print(f"{'':<10}{'p50 ms':>9}{'p95 ms':>9}{'goal p95':>10}  met")
    for name, row in (("service", service_row), ("endpoint", endpoint)):
        goal = GOALS_MS[name]
        print(f"{name:<10}{row['p50_ms']:>9}{row['p95_ms']:>9}{goal:>10.0f}  "
              f"{'yes' if row['p95_ms'] <= goal else 'no'}")
    print(f"service: {service_row['calls']} calls from random points in Latvia; endpoint: "
          f"gunicorn with {args.workers} workers, {args.clients} clients without think time "
          f"for {args.seconds:g} s: {endpoint['requests']} requests, {endpoint['per_s']} req/s, "
          f"{endpoint['errors']} errors, {endpoint['limited']} rate-limited")
    return 0


if __name__ == "__main__":
    sys.exit(main())
