"""How fast stock on hand and autonomy answer with a region's reserves: 1 000 items in 20
warehouses with 200 000 movements — the service calls, and the staff API's endpoints
served by gunicorn to one client asking in turn.

Prints p50 / p95 latency next to the goal (p95 ≤ 100 ms); asserts nothing. Usage (from
the repository root):

    .venv/bin/python -P bench/reserves.py                 # PostgreSQL on 127.0.0.1
    .venv/bin/python -P bench/reserves.py --runs 500 --json
    .venv/bin/python -P bench/reserves.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench
    .venv/bin/python -P bench/reserves.py --sqlite        # the embedded default, for comparison

Without --database-url it creates a scratch PostgreSQL database (sargs_bench_<random>) as
user postgres on 127.0.0.1 and drops it afterwards. The movements are written in bulk:
each batch a receipt and then issues, write-offs and adjustments that never take it below
zero, its balance the sum of its movements — checked with the service's own
``balance_by_movements`` before anything is timed. A fifth of the items have a
per-person norm (what autonomy counts); a twentieth of the batches are expired, a tenth
never expire.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench import served  # noqa: E402
from sargs import clock  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.auth.service import create_token  # noqa: E402
from sargs.reserves import service  # noqa: E402
from sargs.reserves.models import (  # noqa: E402
    CATEGORIES,
    Batch,
    ReserveItem,
    StockLevel,
    StockMovement,
    Warehouse,
)
from sargs.settings import load_settings  # noqa: E402

GOAL_MS = 100.0  # p95, from the issue
PER_BATCH = 5  # a receipt and four movements out (or an adjustment in)
CHUNK = 5000
NORM_SHARE = 0.2
OUTFLOWS = (("issue", None), ("issue", None), ("write_off", "damaged"),
            ("adjustment", "counting_error"))


def _warehouse_code(index: int) -> str:
    return f"WH{index:02d}"


def _rows(args: argparse.Namespace, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Items, warehouses, batches and movements with explicit ids, consistent balances."""
    now, today = clock.now(), service.today()
    items = [{"id": i + 1, "code": f"IT{i:04d}", "name_lv": f"Krājums {i}",
              "name_en": f"Stock {i}", "category": CATEGORIES[i % len(CATEGORIES)],
              "unit": ("l", "kg", "pcs")[i % 3], "shelf_life_days": None,
              "owner": "state" if i % 4 == 0 else "municipal",
              "norm_per_person_day": (Decimal(rng.randint(1, 3000)).scaleb(-3)
                                      if rng.random() < NORM_SHARE else None),
              "active": True, "created_at": now} for i in range(args.items)]
    warehouses = [{"id": w + 1, "code": _warehouse_code(w), "name": f"Noliktava {w}",
                   "address": "", "lat": None, "lon": None, "active": True,
                   "created_at": now} for w in range(args.warehouses)]
    pairs = args.items * args.warehouses
    batches, movements = [], []
    left = args.movements
    for number in range(-(-args.movements // PER_BATCH)):
        item, warehouse = number % args.items, (number // args.items) % args.warehouses
        roll = rng.random()
        expires_on = (None if roll < 0.1 else today - timedelta(days=rng.randint(1, 90))
                      if roll < 0.15 else today + timedelta(days=rng.randint(1, 1100)))
        received = now - timedelta(days=rng.randint(30, 700))
        balance = Decimal(rng.randint(100_000, 2_000_000)).scaleb(-3)
        moves = [("receipt", None, balance)]
        for kind, reason in OUTFLOWS[:min(PER_BATCH, left) - 1]:
            if kind == "adjustment" and rng.random() < 0.5:
                delta = Decimal(rng.randint(1, 5000)).scaleb(-3)  # found a little more
            else:  # up to 30 % of what is left, at least 0.001
                delta = -max((balance * rng.randint(0, 300) / 1000).quantize(
                    Decimal("0.001"), rounding=ROUND_FLOOR), Decimal("0.001"))
            balance += delta
            moves.append((kind, reason, delta))
        left -= len(moves)
        batch_id = number + 1
        batches.append({"id": batch_id, "item_id": item + 1, "warehouse_id": warehouse + 1,
                        "lot": f"L{number // pairs}", "expires_on": expires_on,
                        "supplier": "", "document_no": "", "unit_price": None,
                        "quantity": balance, "received_at": received})
        movements.extend({"kind": kind, "batch_id": batch_id, "item_id": item + 1,
                          "quantity": delta, "reason": reason, "group": None,
                          "request_id": None, "stocktake_id": None, "activation_id": None,
                          "by_user_id": None, "note": "",
                          "created_at": received + timedelta(days=step)}
                         for step, (kind, reason, delta) in enumerate(moves))
    return {"items": items, "warehouses": warehouses, "batches": batches,
            "movements": movements}


def seed(app: Any, args: argparse.Namespace, rng: random.Random) -> float:
    """Everything in bulk, then the sequences past the explicit ids and ANALYZE; returns
    the seconds it took."""
    started = time.perf_counter()
    rows = _rows(args, rng)
    engine = app.extensions["sargs"].engine
    with engine.begin() as conn:
        for model, key in ((ReserveItem, "items"), (Warehouse, "warehouses"),
                           (Batch, "batches"), (StockMovement, "movements")):
            for start in range(0, len(rows[key]), CHUNK):
                conn.execute(insert(model), rows[key][start:start + CHUNK])
        service.rebuild_levels(conn)  # the balance rows the movements would have kept
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("reserve_item", "reserve_warehouse", "reserve_batch"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def verify(app: Any) -> dict[str, int]:
    """Counts, and the batches whose balance is not the sum of their movements (must be
    0) or below zero."""
    with app.extensions["sargs"].sessionmaker() as session:
        sums = service.balance_by_movements(session)
        balances = {row[0]: row[1] for row in session.execute(select(Batch.id, Batch.quantity))}
        movements = session.scalar(select(func.count()).select_from(StockMovement))
        kept = {(row.item_id, row.warehouse_id): (row.quantity, row.earliest_expiry)
                for row in session.scalars(select(StockLevel))}
        wrong_levels = sum(1 for key, level in service.levels_by_batches(session).items()
                           if kept.get(key) != level)
    wrong = sum(1 for batch_id, balance in balances.items() if sums.get(batch_id) != balance)
    return {"batches": len(balances), "movements": movements or 0, "wrong_balances": wrong,
            "wrong_levels": wrong_levels,
            "negative": sum(1 for balance in balances.values() if balance < 0)}


def _timed(call: Callable[[int], Any], runs: int, warm: int = 5) -> dict[str, Any]:
    for turn in range(warm):
        call(turn)
    latencies = []
    for turn in range(runs):
        started = time.perf_counter()
        call(turn)
        latencies.append(time.perf_counter() - started)
    return {"runs": runs, **served.percentiles(latencies)}


def time_service(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The service calls on one session, as the API and the CLI make them."""
    with app.app_context(), app.extensions["sargs"].sessionmaker() as session:
        ids = list(session.scalars(select(Warehouse.id).order_by(Warehouse.id)))

        def stock_all(_turn: int) -> None:
            service.stock(session)
            session.rollback()

        def stock_one(turn: int) -> None:
            service.stock(session, warehouse_id=ids[turn % len(ids)])
            session.rollback()

        def autonomy(turn: int) -> None:
            service.autonomy(session, 1000 + turn)
            session.rollback()

        rows = len(service.stock(session))
        session.rollback()
        return {"stock_rows": rows,
                "stock_all": _timed(stock_all, args.runs),
                "stock_warehouse": _timed(stock_one, args.runs),
                "autonomy": _timed(autonomy, args.runs)}


def time_endpoints(base: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    """The staff API's endpoints, one client asking in turn (latency, not throughput)."""
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {token}"
    errors = {"count": 0}

    def get(path: str) -> None:
        if client.get(base + path, timeout=30).status_code != 200:
            errors["count"] += 1

    found = {
        "stock_all": _timed(lambda _turn: get("/api/v1/reserves/stock"), args.runs),
        "stock_warehouse": _timed(lambda turn: get(
            f"/api/v1/reserves/stock?warehouse={_warehouse_code(turn % args.warehouses)}"),
            args.runs),
        "autonomy": _timed(lambda turn: get(f"/api/v1/reserves/autonomy?people={1000 + turn}"),
                           args.runs),
        "errors": errors["count"]}
    client.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--warehouses", type=int, default=20)
    parser.add_argument("--movements", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200, help="timed calls of each kind")
    parser.add_argument("--no-endpoints", action="store_true", help="the service calls only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    served.add_database_options(parser)
    args = parser.parse_args()
    return served.run_on_database(args, "sargs-bench-reserves-", run)


def _token(app: Any) -> str:
    with app.app_context(), app.extensions["sargs"].sessionmaker() as session:
        _stored, plaintext = create_token(session, "bench", ["reserves"])
        session.commit()
    return plaintext


def run(args: argparse.Namespace, database_url: str, folder: Path) -> int:
    rng = random.Random(2026)
    settings = load_settings(mode="test", database_url=database_url, instance_path=folder,
                             secret_key=served.SECRET_KEY, feed_urls=[])
    app = create_app(settings)
    results: dict[str, Any] = {"items": args.items, "warehouses": args.warehouses,
                               "database": make_url(database_url).get_backend_name(),
                               "seed_s": round(seed(app, args, rng), 1)}
    results["check"] = verify(app)
    results["service"] = time_service(app, args)
    token = _token(app)
    app.extensions["sargs"].engine.dispose()
    if not args.no_endpoints:
        port = served.free_port()
        server = served.start_server(database_url, folder, args.workers, port)
        try:
            results["endpoint"] = time_endpoints(f"http://127.0.0.1:{port}", token, args)
        finally:
            server.terminate()
            server.wait(timeout=60)
        if results["endpoint"]["errors"]:
            print(served.first_error(folder / "web.log"), file=sys.stderr)
    if args.json:
        print(json.dumps(results))
        return 0
    _print(results)
    return 0


def _print(results: dict[str, Any]) -> None:
    check = results["check"]
    print(f"{results['items']} items × {results['warehouses']} warehouses, "
          f"{check['batches']} batches, {check['movements']} movements on "
          f"{results['database']} (seeded in {results['seed_s']} s); balances ≠ Σ movements: "
          f"{check['wrong_balances']}, below zero: {check['negative']}, balance rows ≠ Σ batches: "
          f"{check['wrong_levels']}; "
          f"{results['service']['stock_rows']} stock rows")
    print(f"{'':<26}{'p50 ms':>9}{'p95 ms':>9}{'goal p95':>10}  met")
    for where in ("service", "endpoint"):
        for name in ("stock_all", "stock_warehouse", "autonomy"):
            row = results.get(where, {}).get(name)
            if row is not None:
                print(f"{where + ' ' + name:<26}{row['p50_ms']:>9}{row['p95_ms']:>9}"
                      f"{GOAL_MS:>10.0f}  {'yes' if row['p95_ms'] <= GOAL_MS else 'no'}")
    if "endpoint" in results:
        print(f"endpoint: gunicorn, one client in turn; {results['endpoint']['errors']} errors")


if __name__ == "__main__":
    sys.exit(main())
