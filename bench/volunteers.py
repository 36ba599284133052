"""A registration spike: after a disaster hundreds register in hours, and the CREWS
partners' platform hands them over through ``POST /api/v1/volunteers``. Clients post
unique, valid people without pause to gunicorn on PostgreSQL for 60 s (``--seconds``)
with the bench's own token, which holds the scope ``volunteers:bulk`` and so is exempt
from the per-token rate limit; then one abusive client with a token of the plain
``volunteers`` scope posts as fast as it can and is refused by that limit.

Prints registrations a second, p50 / p95, errors, and how many were lost (rows in the
database against the 201 answers), then how many of the abusive client's posts were
refused with 429. Asserts nothing. Usage (from the repository root):

    .venv/bin/python -P bench/volunteers.py                   # 60 s, PostgreSQL on 127.0.0.1
    .venv/bin/python -P bench/volunteers.py --seconds 10 --clients 16 --json
    .venv/bin/python -P bench/volunteers.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench
    .venv/bin/python -P bench/volunteers.py --sqlite          # the embedded default, for comparison

Without --database-url it creates a scratch PostgreSQL database (sargs_bench_<random>)
as user postgres on 127.0.0.1 and drops it afterwards. No SMS provider is configured,
so no phone codes go out: the spike measures storing registrations. The rate limit's
counters live in each gunicorn worker's memory here (no SARGS_REDIS_URL), so the
abusive client gets the limit once per worker before every answer is a 429.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench import served  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.auth.service import create_token  # noqa: E402
from sargs.settings import load_settings  # noqa: E402
from sargs.volunteers.consent import CONSENT_VERSION  # noqa: E402
from sargs.volunteers.models import Volunteer  # noqa: E402

GOAL_PER_S = 50.0  # sustained, with 0 errors and 0 lost (the issue)
PER_CLIENT = 100_000  # turns of one client, so every person is unique
ABUSER = 500  # the abusive client's numbers start past every spike client's
SKILLS = (["first_aid"], ["driving", "chainsaw"], ["cooking", "logistics"], ["it"], [])


def person(number: int) -> dict[str, Any]:
    """A valid registration, different in phone, e-mail and name for every ``number``."""
    return {
        "name": f"Brīvprātīgais {number}", "phone": f"+371{20_000_000 + number % 80_000_000}",
        "email": f"v{number}@example.lv", "birth_date": "1990-04-12",
        "language": "lv" if number % 3 else "en", "municipality": "LV022",
        "skills": SKILLS[number % len(SKILLS)],
        "licence_categories": ["B"] if number % len(SKILLS) == 1 else [],
        "available_days": [0, 1, 2, 3, 4], "available_from": "08:00", "available_to": "22:00",
        "travel_km": 15, "consent": True, "consent_version": CONSENT_VERSION,
    }


def tokens(app: Any) -> tuple[str, str]:
    """The bench's bulk token and the abusive client's plain one."""
    with app.extensions["sargs"].sessionmaker() as session:
        _bulk, bulk = create_token(session, "bench-bulk", ["volunteers", "volunteers:bulk"])
        _plain, plain = create_token(session, "bench-abusive", ["volunteers"])
        session.commit()
    return bulk, plain


def post_people(base: str, token: str, clients: int, seconds: float,
                first: int = 0) -> dict[str, Any]:
    """``clients`` sessions posting new people (numbered from ``first``) for ``seconds``;
    adds how many were created (201) and every answer's count by status."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def ask(session: requests.Session, turn: int) -> requests.Response:
        answer = session.post(f"{base}/api/v1/volunteers", json=person(first + turn),
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        with lock:
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        return answer

    sessions = [requests.Session() for _ in range(clients)]
    result = served.hammer(sessions, [], seconds, stagger=PER_CLIENT, ask=ask, ok=201)
    return {**result, "created": statuses.get(201, 0), "statuses": statuses}


def stored(app: Any) -> int:
    with app.extensions["sargs"].sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(Volunteer)
                              .where(Volunteer.source == "api")) or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the spike's length")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--abuse-seconds", type=float, default=15.0,
                        help="the abusive client's run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    served.add_database_options(parser)
    args = parser.parse_args()
    return served.run_on_database(args, "sargs-bench-volunteers-", run)


def run(args: argparse.Namespace, database_url: str, folder: Path) -> int:
    settings = load_settings(mode="test", database_url=database_url, instance_path=folder,
                             secret_key=served.SECRET_KEY, feed_urls=[])
    app = create_app(settings)
    bulk, plain = tokens(app)
    app.extensions["sargs"].engine.dispose()
    port = served.free_port()
    server = served.start_server(database_url, folder, args.workers, port)
    base = f"http://127.0.0.1:{port}"
    try:
        spike = post_people(base, bulk, args.clients, args.seconds)
        in_database = stored(app)
        abuse = post_people(base, plain, 1, args.abuse_seconds, first=ABUSER * PER_CLIENT)
    finally:
        server.terminate()
        server.wait(timeout=60)
    app.extensions["sargs"].engine.dispose()
    if spike["errors"] or abuse["errors"]:
        print(served.first_error(folder / "web.log"), file=sys.stderr)
    per_s = round(spike["created"] / args.seconds, 1)
    results = {
        "database": make_url(database_url).get_backend_name(), "workers": args.workers,
        "clients": args.clients, "seconds": args.seconds,
        "spike": {**spike, "registrations_per_s": per_s,
                  "lost": spike["created"] - in_database, "in_database": in_database},
        "abusive": {"seconds": args.abuse_seconds, "accepted": abuse["created"],
                    "refused_429": abuse["limited"], "errors": abuse["errors"]},
    }
    if args.json:
        print(json.dumps(results, default=str))
        return 0
    row = results["spike"]
    met = per_s >= GOAL_PER_S and not row["errors"] and not row["lost"]
    print(f"registration spike on {results['database']}: gunicorn with {args.workers} "
          f"workers, {args.clients} clients posting new people without pause for "
          f"{args.seconds:g} s with the bench's bulk token")
    print(f"  {row['created']} registered, {per_s} registrations/s (goal ≥ {GOAL_PER_S:g}), "
          f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    print(f"  errors {row['errors']}, refused by the limit {row['limited']}, "
          f"lost {row['lost']} ({in_database} rows for {row['created']} answers 201)"
          f"  goal met: {'yes' if met else 'no'}")
    bad = results["abusive"]
    print(f"one abusive client without the bulk scope for {args.abuse_seconds:g} s: "
          f"{bad['accepted']} accepted, {bad['refused_429']} refused with 429, "
          f"{bad['errors']} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
