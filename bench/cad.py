"""How fast the 8787 operators' pages answer with a city's years of reports: the queue,
search and the statistics page, served by gunicorn, with 8 clients asking without pause.

Prints p50 / p95 latency and throughput per page next to the goals; asserts nothing.
Usage (from the repository root):

    .venv/bin/python -P bench/cad.py                      # 100 000 reports, PostgreSQL on 127.0.0.1
    .venv/bin/python -P bench/cad.py --reports 20000 --seconds 5 --json
    .venv/bin/python -P bench/cad.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench
    .venv/bin/python -P bench/cad.py --sqlite             # the embedded default, for comparison

Without --database-url it creates a scratch PostgreSQL database (sargs_bench_cad_<random>)
as user postgres on 127.0.0.1 and drops it afterwards. The reports are spread over the
years before the current one and the current one (about 8 300 a year, as the 8787 line
gets), nearly all closed; a few hundred are open, as on a working day.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench import served  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.auth import service as auth  # noqa: E402
from sargs.cad.models import CadCategory, CadReport, CadRoute  # noqa: E402
from sargs.settings import load_settings  # noqa: E402

PASSWORD = "bench-password-8787"
GOALS_MS = {"queue": 150.0, "search": 150.0, "statistics": 500.0}  # p95, from the issue
PER_YEAR = 8300
OPEN_SHARE = 0.004  # ~350 open reports in 100 000
WORDS = ["bedre", "ietve", "suns", "kaķis", "grāvis", "laterna", "koks", "atkritumi",
         "konteiners", "sniegs", "ledus", "troksnis", "lūka", "pietura", "jumts"]
STREETS = ["Lielā iela", "Katoļu iela", "Rīgas iela", "Pasta iela", "Zemgales prospekts",
           "Dobeles šoseja", "Svētes iela", "Lāčplēša iela", "Akadēmijas iela", "Loka maģistrāle"]
# Roughly Jelgava city's extent; the bench needs no exact outline.
LAT_RANGE = (56.625, 56.675)
LON_RANGE = (23.68, 23.78)


def seed(app: Any, count: int, now: datetime, rng: random.Random) -> float:
    """``count`` reports in bulk, the newest now; returns the seconds it took."""
    started = time.perf_counter()
    state = app.extensions["sargs"]
    with state.sessionmaker() as session:
        categories = list(session.scalars(select(CadCategory)))
        routes = {r.category_id: r.partner_id for r in session.scalars(
            select(CadRoute).where(CadRoute.area_code.is_(None)))}
        user = auth.create_user(session, "bench-operator", PASSWORD, ["operator"])
        session.commit()
        del user
    weights = [max(1, 20 - i * 2) for i in range(len(categories))]
    span = timedelta(days=365 * max(1, count / PER_YEAR))
    rows: list[dict[str, Any]] = []
    engine = state.engine
    for number in range(count):
        received = now - span * (rng.random() ** 1.0)
        category = rng.choices(categories, weights)[0]
        is_open = rng.random() < OPEN_SHARE or received > now - timedelta(days=2)
        accepted = received + timedelta(hours=rng.uniform(1, 40))
        closed = accepted + timedelta(days=rng.uniform(0.2, 12))
        state_name = rng.choice(("new", "routed", "accepted")) if is_open else rng.choice(
            ("resolved",) * 9 + ("rejected",))
        word = rng.choice(WORDS)
        rows.append({
            "channel": rng.choices(("phone", "web", "app", "email"), (80, 15, 3, 2))[0],
            "state": state_name, "category_id": category.id,
            "partner_id": routes.get(category.id) if state_name != "new" else None,
            "jurisdiction": "city" if rng.random() > 0.026 else "municipality",
            "area_code": "LV022", "title": f"{word.capitalize()} nr. {number}",
            "description": f"Iedzīvotājs ziņo: {word} pie mājas, lūdzu pārbaudīt.",
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            "lat": rng.uniform(*LAT_RANGE), "lon": rng.uniform(*LON_RANGE), "language": "lv",
            "feedback_wanted": False, "received_at": received, "created_at": received,
            "updated_at": received, "routed_at": received if state_name != "new" else None,
            "accepted_at": accepted if state_name in ("accepted", "resolved") else None,
            "closed_at": None if is_open else closed,
            "response_due": received + timedelta(days=1),
            "resolution_due": received + timedelta(days=14), "status_note": "",
            "imported": True,
        })
        if len(rows) == 5000:
            with engine.begin() as conn:
                conn.execute(insert(CadReport), rows)
            rows = []
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(CadReport), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE cad_report"))
    return time.perf_counter() - started


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = session.post(f"{base}/login", data={"username": "bench-operator",
                                                 "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False)
    if answer.status_code != 302:
        import re
        said = " ".join(re.sub(r"<[^>]+>", " ", answer.text.split("<main", 1)[-1]).split())[:300]
        raise SystemExit(f"sign-in failed: {answer.status_code} {said}")
    return session


def hammer(base: str, paths: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` signed-in clients requesting ``paths`` in turn without pause."""
    sessions = [_signed_in(base) for _ in range(clients)]
    for path in paths[:3]:  # warm the workers' caches and connections
        sessions[0].get(base + path)
    return served.hammer(sessions, [base + path for path in paths], seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per page")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    served.add_database_options(parser)
    args = parser.parse_args()
    return served.run_on_database(args, "sargs-bench-cad-", run)


def run(args: argparse.Namespace, database_url: str, folder: Path) -> int:
    rng = random.Random(8787)
    now = datetime.now(UTC)
    settings = load_settings(mode="test", database_url=database_url, instance_path=folder,
                             secret_key=served.SECRET_KEY, feed_urls=[])
    app = create_app(settings)
    seed_s = seed(app, args.reports, now, rng)
    app.extensions["sargs"].engine.dispose()
    port = served.free_port()
    server = served.start_server(database_url, folder, args.workers, port)
    base = f"http://127.0.0.1:{port}"
    year = now.year - 1
    categories = ["", "streets", "animals", "waste", "lighting"]
    pages = {
        "queue": ["/cad/", "/cad/?tab=waiting", "/cad/?tab=overdue"],
        "search": [f"/cad/search?q={rng.choice(WORDS)}&category={rng.choice(categories)}"
                   for _ in range(40)] + [f"/cad/search?q={rng.randint(1, args.reports)}"],
        "statistics": [f"/cad/stats?year={year}", f"/cad/stats?year={year - 1}"],
    }
    results: dict[str, Any] = {"reports": args.reports, "clients": args.clients,
                               "workers": args.workers,
                               "database": make_url(database_url).get_backend_name(),
                               "seed_s": round(seed_s, 1)}
    try:
        for name, paths in pages.items():
            results[name] = hammer(base, paths, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{args.reports} reports on {results['database']} (seeded in {results['seed_s']} s), "
          f"gunicorn with {args.workers} workers, {args.clients} clients without think time, "
          f"{args.seconds:g} s a page")
    print(f"{'page':<12}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}"
          f"{'goal p95':>10}  met")
    for name in pages:
        row = results[name]
        goal = GOALS_MS[name]
        print(f"{name:<12}{row['requests']:>10}{row['errors']:>8}{row['p50_ms']:>9}"
              f"{row['p95_ms']:>9}{row['per_s']:>8}{goal:>10.0f}  "
              f"{'yes' if row['p95_ms'] <= goal else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
