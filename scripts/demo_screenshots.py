"""Take the README's demo screenshots: the commission's dashboard on a wall screen and a
tablet, the phones page and the situation report, after the demo's red-wind story.

Runs a temporary Sargs in demo mode (SQLite in a temporary folder): seeds the demo's
Jelgava data set, starts the provider simulators, serves Sargs on a free port pointed at
them and plays the story through the demo's own functions (as ``sargs demo`` does); then
signs in as the demo's commission user in headless Chromium (Debian's, via Playwright)
and saves

    docs/dashboard.png         the dashboard, 1920×1080
    docs/dashboard-tablet.png  the dashboard, 1024×768
    docs/phones.png            what the residents' phones received (/demo/phones), 1280×800
    docs/report.png            the situation report page, its first screen, 1280×800

    .venv/bin/python scripts/demo_screenshots.py [--lang lv|en] [--out docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("SARGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPOSITORY = Path(__file__).resolve().parent.parent
WALL = {"width": 1920, "height": 1080}
TABLET = {"width": 1024, "height": 768}
DESK = {"width": 1280, "height": 800}
SETTLE_S = 60.0  # at most this long for the simulators' delivery reports after the story
SHOTS = (  # file, page, viewport, what must be on it before the picture is taken
    ("dashboard.png", "/situation/", WALL, "[data-testid=warnings-level]"),
    ("dashboard-tablet.png", "/situation/", TABLET, "[data-testid=warnings-level]"),
    ("phones.png", "/demo/phones?who=resident", DESK, "[data-testid=person]"),
    ("report.png", "/situation/report", DESK, "[data-testid=report-title]"),
)


class Served:
    """Waitress on a free port of 127.0.0.1 in a thread; the port is known before the app
    is made (the simulators' delivery reports are sent to it)."""

    def __init__(self) -> None:
        from waitress import create_server

        self.app: Any = None
        self.server = create_server(lambda environ, start: self.app(environ, start),
                                    host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown()


def _settled(app: Any) -> bool:
    from sqlalchemy import func, select

    from sargs.channels.models import Delivery

    with app.extensions["sargs"].sessionmaker() as session:
        return not session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state.in_(("pending", "claimed", "sent"))))


def _story(app: Any, simulators: dict[str, Any], volunteers: int, subscribers: int) -> None:
    from sargs.audit.service import Actor, acting_as
    from sargs.demo import scenario, seed

    state = app.extensions["sargs"]
    actor = Actor("system", None, "screenshots", "cli")
    with app.app_context(), state.sessionmaker() as session, acting_as(actor):
        seed.seed(session, state.settings, secret=str(app.config["SECRET_KEY"]),
                  volunteer_count=volunteers, subscriber_count=subscribers)
        session.commit()
    with acting_as(actor):
        scenario.play(app, simulators, echo=print)
    deadline = time.monotonic() + SETTLE_S
    while not _settled(app) and time.monotonic() < deadline:
        time.sleep(scenario.TICK_S)


def _shoot(base: str, out: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    from sargs.demo import seed

    own = urlsplit(base).netloc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(base_url=base, viewport=DESK)
        # Nothing leaves the machine (map tiles included: the outlines draw without them).
        context.route("**/*", lambda route: route.continue_()
                      if urlsplit(route.request.url).netloc == own else route.abort())
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "commission")
        page.fill("input[name=password]", seed.DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        if urlsplit(page.url).path != "/":
            raise SystemExit(f"sign-in failed, at {page.url}")
        if page.locator("html").get_attribute("lang") != lang:
            with page.expect_navigation():
                page.click("[data-testid=lang-switch]")
        for name, path, viewport, ready in SHOTS:
            page.set_viewport_size(viewport)
            page.goto(path)
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
            page.mouse.move(0, 0)
            page.screenshot(path=str(out / name))
            print(f"wrote {out / name}")
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="lv", choices=["lv", "en"])
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs")
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=300)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="sargs-demo-screenshots-") as folder:
        os.environ["SARGS_MODE"] = "demo"
        os.environ["SARGS_DATABASE_URL"] = f"sqlite:///{folder}/demo.db"
        os.environ["SARGS_INSTANCE_PATH"] = f"{folder}/instance"
        os.environ["SARGS_LOG_LEVEL"] = "WARNING"
        from sargs.app import create_app
        from sargs.channels.simulators.suite import stop_all
        from sargs.demo import phones, scenario
        from sargs.settings import load_settings

        served = Served()
        simulators = scenario.start_simulators("demo")
        app = None
        try:
            base = load_settings().model_copy(update={"public_url": served.url})
            app = create_app(scenario.demo_settings(base, simulators))
            app.extensions["sargs"].extra[phones.SIMULATORS] = simulators
            served.app = app
            _story(app, simulators, args.volunteers, args.subscribers)
            _shoot(served.url, args.out, args.lang)
        finally:
            stop_all(simulators)
            served.close()
            if app is not None:
                app.extensions["sargs"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
