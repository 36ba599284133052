"""What the benches of served pages share: a scratch database (PostgreSQL by default),
`sargs web` (gunicorn) started on it on a free port, and the choice between them from the
command line."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

SECRET_KEY = "bench-secret"


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--database-url", help="a scratch database (migrated and filled)")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A database made for the run as user postgres on 127.0.0.1, dropped after it."""
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1/postgres",
                          isolation_level="AUTOCOMMIT")
    name = f"sargs_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_on_database(args: argparse.Namespace, prefix: str,
                    run: Callable[[argparse.Namespace, str, Path], int]) -> int:
    """``run(args, database_url, folder)`` on the database the options chose, in a
    temporary folder (kept with --keep, for the server's log)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if args.database_url:
            return run(args, args.database_url, folder)
        if args.sqlite:
            return run(args, f"sqlite:///{folder / 'bench.db'}", folder)
        with scratch_postgres() as url:
            return run(args, url, folder)
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def start_server(database_url: str, instance: Path, workers: int, port: int) -> Any:
    """`sargs web` on 127.0.0.1:``port``, once it answers; its log is instance/web.log."""
    env = {**os.environ, "SARGS_DATABASE_URL": database_url, "SARGS_INSTANCE_PATH": str(instance),
           "SARGS_SECRET_KEY": SECRET_KEY, "SARGS_FEED_URLS": "", "SARGS_LOG_LEVEL": "WARNING",
           "SARGS_LOGIN_RATE_LIMIT": "10000 per minute", "SARGS_MODE": "test"}
    sargs = Path(sys.executable).with_name("sargs")
    with open(instance / "web.log", "wb") as log:
        process = subprocess.Popen([str(sargs), "web", "--workers", str(workers),
                                    "--bind", f"127.0.0.1:{port}"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 600:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start: " + first_error(instance / "web.log"))


def first_error(log: Path) -> str:
    """The first traceback in a server log, or its end."""
    content = log.read_text(errors="replace") if log.exists() else ""
    start = content.find("Traceback")
    return content[start:start + 4000] if start >= 0 else content[-2000:]


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50 and p95 of ``latencies`` (seconds) in milliseconds."""
    ordered = sorted(latencies)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2)}


def hammer(sessions: list[requests.Session], urls: list[str], seconds: float, *,
           stagger: int = 1, ask: Callable[[requests.Session, int], Any] | None = None,
           ok: int = 200) -> dict[str, Any]:
    """Each session asks for ``urls`` in turn (client i starting at i × ``stagger``) without
    pause for ``seconds``: requests, errors, answers refused by the rate limit (429),
    p50 / p95 and requests a second. ``ask(session, turn)`` makes each request instead
    (a POST, say), and ``ok`` is the status that counts as answered."""
    latencies: list[float] = []
    failures = {"errors": 0, "limited": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        session, mine, turn = sessions[index], [], index * stagger
        while time.perf_counter() < stop_at:
            this, turn = turn, turn + 1
            started = time.perf_counter()
            try:
                answer = (ask(session, this) if ask is not None
                          else session.get(urls[this % len(urls)], timeout=30))
            except requests.RequestException:
                with lock:
                    failures["errors"] += 1
                continue
            mine.append(time.perf_counter() - started)
            if answer.status_code != ok:
                with lock:
                    failures["limited" if answer.status_code == 429 else "errors"] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for session in sessions:  # idle keep-alive connections would hold gunicorn's shutdown
        session.close()
    return {"requests": len(latencies), **failures, **percentiles(latencies),
            "per_s": round(len(latencies) / elapsed, 1)}
