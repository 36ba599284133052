"""A real server and headless Chromium for the end-to-end tests.

The browser is Debian's ``chromium`` driven by Playwright (never a browser
Playwright downloads). Without it these tests skip, unless
``SARGS_REQUIRE_BROWSER=1`` (CI), where a missing browser fails them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest

from sargs import clock
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """Waitress on a free port of 127.0.0.1, in a thread, for one test module."""
    live = LiveServer()
    yield live
    live.close()


@pytest.fixture
def live_url(server: LiveServer, app: Any) -> Iterator[str]:
    """The base URL of the running server, serving this test's app."""
    server.app = app
    yield server.url
    server.app = None


@pytest.fixture
def password(users: Any) -> str:
    """The password ``users.create`` gives everyone (tests/conftest.py)."""
    return inspect.getmodule(type(users)).PASSWORD


@pytest.fixture
def page(chromium: Any, live_url: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server.

    Requests to any other host are refused, so map tiles and the like never
    leave the machine; uncaught script errors are collected in
    ``page.script_errors``.
    """
    context = chromium.new_context(
        base_url=live_url, viewport={"width": 1280, "height": 800}, locale="lv-LV"
    )
    own = urlsplit(live_url).netloc

    def _route(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", _route)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.script_errors = []
    tab.on("pageerror", lambda error: tab.script_errors.append(str(error)))
    yield tab
    context.close()


@pytest.fixture
def sign_in(page: Any, password: str) -> Any:
    """Signs a user in through the real pages: password, then the TOTP code if asked."""

    def sign_in(user: Any) -> None:
        if urlsplit(page.url).path != "/login":
            page.goto("/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        if urlsplit(page.url).path == "/login/totp":
            page.fill("input[name=code]", pyotp.TOTP(user.totp_secret).at(clock.now()))
            with page.expect_navigation():
                page.click("main form button[type=submit]")

    return sign_in
