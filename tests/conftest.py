"""Shared fixtures: a freshly migrated database per test, the app, users.

The suite runs on SQLite; with ``SARGS_TEST_DATABASE_URL`` pointing at
PostgreSQL it runs there too. Each test gets its own database copied from a
template migrated once per run (a file copy on SQLite, ``CREATE DATABASE …
TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sargs import clock
from sargs.app import create_app
from sargs.settings import Settings, load_settings

PG_URL = os.environ.get("SARGS_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
PASSWORD = "correct-horse-battery"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
_counter = itertools.count()


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Browser tests belong to the SQLite pass and are deselected on PostgreSQL;
    ``postgres`` tests (many workers on one ledger) are deselected on SQLite."""
    other_pass = "browser" if ON_POSTGRES else "postgres"
    kept = [item for item in items if item.get_closest_marker(other_pass) is None]
    deselected = [item for item in items if item.get_closest_marker(other_pass) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _pg_admin() -> Any:
    return create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"),
                         isolation_level="AUTOCOMMIT")


def _settings_for(url: str, instance: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "test",
        "database_url": url,
        "instance_path": instance,
        "secret_key": "test-secret-key",
        "login_rate_limit": "1000 per minute",
        "feed_urls": [],  # no network: tests name the sources they serve
    }
    values.update(extra)
    return load_settings(**values)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head with the shipped reference data, to copy from."""
    folder = tmp_path_factory.mktemp("template")
    if ON_POSTGRES:
        name = f"sargs_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"  # .ci/run cleans by pid
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
        url_text = url.render_as_string(hide_password=False)
        app = create_app(_settings_for(url_text, folder))
        app.extensions["sargs"].engine.dispose()
        yield url_text
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = folder / "template.db"
        app = create_app(_settings_for(f"sqlite:///{path}", folder))
        app.extensions["sargs"].engine.dispose()
        yield str(path)


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test, already migrated."""
    if ON_POSTGRES:
        template = make_url(template_database).database
        name = f"sargs_t_{os.getpid()}_{next(_counter)}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(template_database).set(database=name)
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path / "sargs.db"
        shutil.copy(template_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    frozen = clock.FrozenClock(START)
    clock.use_clock(frozen)
    yield frozen
    clock.use_clock(clock.SystemClock())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _settings_for(database_url, tmp_path / "instance")


@pytest.fixture
def app(settings: Settings, frozen_clock: clock.FrozenClock) -> Iterator[Any]:
    application = create_app(settings)
    yield application
    state = application.extensions["sargs"]
    if state.scheduler is not None:
        state.scheduler.shutdown(wait=False)
        state.scheduler_lock.release()
    state.engine.dispose()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    """A session on the test database (outside any request)."""
    session = app.extensions["sargs"].sessionmaker()
    yield session
    session.close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token from a page's form, as a browser would send it back."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Users:
    """Creates staff users and signs them in through the real login pages."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def create(self, username: str, *roles: str, totp: bool | None = None) -> Any:
        from sargs.auth import service

        with self.app.extensions["sargs"].sessionmaker() as session:
            user = service.create_user(session, username, PASSWORD, list(roles))
            if totp is None:
                totp = service.needs_totp(session, user)
            if totp:
                user.totp_secret = pyotp.random_base32()
                user.totp_enabled_at = clock.now()
            session.commit()
            session.refresh(user)
            session.expunge(user)
            return user

    def login(self, client: Any, user: Any, password: str = PASSWORD) -> Any:
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": password,
                                                "csrf_token": token})
        if response.status_code == 302 and response.headers["Location"].endswith("/login/totp"):
            code = pyotp.TOTP(user.totp_secret).at(clock.now())
            token = csrf_token(client, "/login/totp")
            response = client.post("/login/totp", data={"code": code, "csrf_token": token})
        return response

    def signed_in(self, client: Any, username: str, *roles: str) -> Any:
        user = self.create(username, *roles)
        response = self.login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user


@pytest.fixture
def users(app: Any) -> Users:
    return Users(app)


# --- the browser -------------------------------------------------------------
# Debian's chromium driven by Playwright (never a browser Playwright downloads).
# Without it browser tests skip, unless SARGS_REQUIRE_BROWSER=1 (CI): then they fail.

CHROMIUM = os.environ.get("SARGS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out to
# Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("SARGS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and SARGS_REQUIRE_BROWSER=1 requires the browser tests",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium for one test module."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
