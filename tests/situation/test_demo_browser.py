"""The demo's red-wind story as the commission sees it in a browser, on a wall screen and
a tablet: the dashboard shows the red warning, how far its alert reached, the shelters
the story opened and how long the reserves last; the dashboard's button downloads the
situation report as a PDF that says the same.

The data set and the story are made by the demo's own functions (small counts) against
the provider simulators, once for the module, on the real clock: the story takes real
time, so the frozen clock of the ``app`` fixture is not used here."""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from sargs.app import create_app
from sargs.audit.service import SYSTEM, acting_as
from sargs.channels.models import Delivery
from sargs.channels.simulators.suite import stop_all
from sargs.demo import scenario, seed
from sargs.shelters.models import Shelter
from sargs.situation import service
from tests.areas.test_browser import DEAD_TILES
from tests.conftest import _settings_for
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

WALL = {"width": 1920, "height": 1080}
TABLET = {"width": 1024, "height": 768}
SETTLE_S = 30.0  # at most this long for the simulators' delivery reports after the story


@dataclass
class Demo:
    url: str
    app: Any
    outcome: scenario.Outcome


def _settled(app: Any) -> bool:
    """No message of the story still waiting for the provider's delivery report."""
    with app.extensions["sargs"].sessionmaker() as session:
        return not session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state.in_(("pending", "claimed", "sent"))))


@pytest.fixture(scope="module")
def demo(template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo data set and its story on a live server, the simulators' delivery reports
    reaching it (as under ``sargs demo``), the simulators stopped before anyone looks."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(template_database, folder / "sargs.db")  # browser tests run on SQLite
    server = LiveServer()
    simulators = scenario.start_simulators("test")
    app = None
    try:
        base = _settings_for(f"sqlite:///{folder / 'sargs.db'}", folder / "instance",
                             public_url=server.url, tile_url=DEAD_TILES)
        app = create_app(scenario.demo_settings(base, simulators))
        server.app = app
        state = app.extensions["sargs"]
        with app.test_request_context(), state.sessionmaker() as session, acting_as(SYSTEM):
            seed.seed(session, state.settings, secret=str(app.config["SECRET_KEY"]),
                      volunteer_count=20, subscriber_count=20)
            session.commit()
        with acting_as(SYSTEM):
            outcome = scenario.play(app, simulators, echo=lambda _line: None)
        deadline = time.monotonic() + SETTLE_S
        while not _settled(app) and time.monotonic() < deadline:
            time.sleep(scenario.TICK_S)
        stop_all(simulators)
        simulators = {}
        yield Demo(server.url, app, outcome)
    finally:
        stop_all(simulators)
        server.close()
        if app is not None:
            app.extensions["sargs"].engine.dispose()


def _signed_in_tab(chromium: Any, url: str, viewport: dict[str, int]) -> Any:
    """A fresh context (nothing leaves the machine) signed in as the demo's commission."""
    context = chromium.new_context(base_url=url, viewport=viewport, accept_downloads=True)
    own = urlsplit(url).netloc
    context.route("**/*", lambda route: route.continue_()
                  if urlsplit(route.request.url).netloc == own else route.abort())
    tab = context.new_page()
    tab.goto("/login")
    tab.fill("input[name=username]", "commission")
    tab.fill("input[name=password]", seed.DEMO_PASSWORD)
    with tab.expect_navigation():
        tab.locator("main form button[type=submit]").click()
    assert urlsplit(tab.url).path == "/", tab.url
    return tab


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.mark.parametrize("viewport", [WALL, TABLET], ids=["wall", "tablet"])
def test_the_dashboard_and_its_report_show_the_demo_story(chromium, demo, viewport):
    tab = _signed_in_tab(chromium, demo.url, viewport)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/situation/")

    # What the modules say, read as the page is shown (the ledger no longer moves).
    state = demo.app.extensions["sargs"]
    with demo.app.test_request_context(), state.sessionmaker() as session:
        now = service.snapshot(session, state.settings)
        opened = sorted(session.scalars(select(Shelter.name).where(
            Shelter.id.in_(demo.outcome.shelter_ids))))
    [alert] = [a for a in now.alerts.items if a.id == demo.outcome.alert_id]

    # The red warning.
    assert tab.get_by_test_id("warnings-count").inner_text() == "1"
    assert tab.get_by_test_id("warnings-level").get_attribute("data-level") == "red"
    assert tab.get_by_test_id("warnings-level").is_visible()
    # The warning's alert: how far it got, as the ledger counts it.
    progress = tab.locator(
        f'[data-testid=alert][data-alert-id="{alert.id}"] [data-testid=alert-progress]')
    assert progress.is_visible()
    assert (progress.get_attribute("data-total"), progress.get_attribute("data-delivered"),
            progress.get_attribute("data-finished")) == (
        str(alert.total), str(alert.delivered), str(alert.finished))
    assert alert.total > 0 and alert.delivered > 0
    assert progress.get_by_test_id("alert-percent").inner_text() == f"{alert.percent} %"
    # The shelters the story opened, with the people in them.
    assert tab.get_by_test_id("shelters-open").inner_text() == str(len(scenario.SHELTERS))
    assert len(opened) == len(scenario.SHELTERS)
    assert sorted(tab.locator("[data-testid=shelter] td:first-child a").all_inner_texts()) \
        == opened
    assert tab.get_by_test_id("shelters-occupancy").inner_text() == str(now.shelters.occupancy)
    # How long the reserves last for them.
    assert now.reserves.days is not None and now.reserves.days > 0
    days = tab.get_by_test_id("autonomy-days")
    assert days.is_visible() and days.inner_text() == str(now.reserves.days)
    # A wall screen or a tablet: nothing runs off the side.
    assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    # The dashboard's button: the report as a PDF saying the same.
    with tab.expect_download() as download:
        tab.get_by_test_id("situation-report-pdf").click()
    path = download.value.path()
    assert path is not None and download.value.suggested_filename.endswith(".pdf")
    text = _pdf_text(Path(path).read_bytes())
    assert re.search(r"\bsarkan", text, re.IGNORECASE), text  # the warning's level
    for name in opened:
        assert name in text, name
    autonomy = f"{now.reserves.days:g}"
    assert re.search(rf"\b{re.escape(autonomy)} dien", text), (autonomy, text)
    # The warning's alert with its reach: delivered of recipients on each of its channels
    # that had recipients, then its recipients and deliveries in all.
    reach = r"\s\S[^:]{0,30}:\s".join(
        f"{channel.counts.get('delivered', 0)} / {channel.total}"
        for channel in alert.channels if channel.total)
    assert re.search(rf":\s{reach}\s{alert.total}\s{alert.delivered}\b", text), (reach, text)
    assert errors == []
    tab.context.close()
