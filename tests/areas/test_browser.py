"""The areas page in a real browser: outlines without tiles, lookup by click, drawing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from sargs import clock
from sargs.areas import service
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

# Tiles from a port nothing listens on: the map must work without them.
DEAD_TILES = "http://127.0.0.1:1/{z}/{x}/{y}.png"


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    app.jinja_env.globals["map_config"] = {**app.jinja_env.globals["map_config"],
                                           "tiles": DEAD_TILES}
    server = LiveServer()
    server.app = app
    yield server.url
    server.close()


@pytest.fixture
def page(chromium: Any, live_url: str) -> Iterator[Any]:
    tab = chromium.new_page(viewport={"width": 1200, "height": 1000}, base_url=live_url)
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    tab.close()


def sign_in(page: Any, user: Any) -> None:
    page.goto("/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.fill("input[name=code]", pyotp.TOTP(user.totp_secret).at(clock.now()))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/")


def click_map(page: Any, dx: float = 0, dy: float = 0) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#areas-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def test_lookup_and_drawing_work_on_the_map_without_tiles(page, users, db):
    sign_in(page, users.create("anna", "admin", totp=True))
    page.goto("/areas/")
    page.wait_for_function(
        "document.querySelectorAll('#areas-map path.leaflet-interactive').length >= 47")
    assert page.is_visible("#areas-map-offline")

    # The map opens on the home areas; its centre lies in one of them.
    click_map(page)
    page.wait_for_function("document.getElementById('lookup-result').textContent.trim() !== ''")
    lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
    expected = [a.code + " " + a.name for a in service.areas_at_point(db, lat, lon)]
    db.rollback()
    badges = page.locator("#lookup-result .badge").all_text_contents()
    assert badges == expected and any(code in badges[-1] for code in ("LV022", "LV023"))

    page.click("#draw-outline")
    assert page.get_attribute("#draw-outline", "aria-pressed") == "true"
    for dx, dy in [(-15, -15), (15, -15), (15, 15), (-15, 15)]:
        click_map(page, dx, dy)
    outline = json.loads(page.input_value("#f-geometry"))
    assert outline["type"] == "Polygon" and len(outline["coordinates"][0]) == 5
    page.click("#undo-corner")
    assert len(json.loads(page.input_value("#f-geometry"))["coordinates"][0]) == 4

    page.fill("#f-code", "CENTRS")
    page.fill("#f-name", "Centrs")
    page.click("#neighbourhood-form button[type=submit]")
    page.wait_for_selector('tr[data-code="CENTRS"]')
    assert service.get_area(db, "CENTRS").kind == "neighbourhood"
    db.rollback()
    assert page.page_errors == []
