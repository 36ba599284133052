"""A Redis of the test's own: ``redis-server`` (Debian's package, installed by
scripts/test) on a free 127.0.0.1 port, without persistence, stopped after the test.

SARGS_TEST_REDIS_URL points the tests at a running Redis instead; each test
then keys its budgets under a prefix of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from sargs.channels.simulators.base import free_port


@dataclass
class PrivateRedis:
    url: str
    prefix: str

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _wait_ready(url: str, timeout: float = 10.0) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            client.close()


@pytest.fixture
def test_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    prefix = f"sargs-test:{uuid.uuid4().hex[:12]}:rate"
    given = os.environ.get("SARGS_TEST_REDIS_URL")
    if given:
        yield PrivateRedis(given, prefix)
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server, as scripts/test "
                    "does) and SARGS_TEST_REDIS_URL is not set")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_ready(url)
        yield PrivateRedis(url, prefix)
    finally:
        process.terminate()
        process.wait(timeout=10)
