"""A real server and headless Chromium for the end-to-end tests.

The browser is Debian's ``chromium`` driven by Playwright (never a browser
Playwright downloads). Without it these tests skip, unless
``SARGS_REQUIRE_BROWSER=1`` (CI), where a missing browser fails them.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest

from sargs import clock

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


class _Delegate:
    """The WSGI app the server serves: the current test's app."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, _Delegate]]:
    """Waitress on a free port of 127.0.0.1, in a thread, for one test module."""
    from waitress import create_server

    delegate = _Delegate()
    httpd = create_server(delegate, host="127.0.0.1", port=0, threads=4, ident="sargs-test")
    thread = threading.Thread(target=httpd.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}", delegate
    httpd.close()
    httpd.task_dispatcher.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def live_url(server: tuple[str, _Delegate], app: Any) -> Iterator[str]:
    """The base URL of the running server, serving this test's app."""
    url, delegate = server
    delegate.app = app
    yield url
    delegate.app = None


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
