"""The dashboard in a real browser, on a wall screen and a tablet: every part on the
screen with its numbers, the map's layers drawn and toggled, no script errors."""

from __future__ import annotations

import pytest

from tests.areas.test_browser import (
    live_url,  # noqa: F401 (the live server)
    sign_in,
)
from tests.situation.test_dashboard import world  # noqa: F401 (the storm and the drill)

pytestmark = pytest.mark.browser

WALL = {"width": 1920, "height": 1080}
TABLET = {"width": 1024, "height": 768}


@pytest.mark.parametrize("viewport", [WALL, TABLET], ids=["wall", "tablet"])
def test_the_dashboard_fits_the_screen_and_draws_its_layers(
        chromium, live_url, users, world, viewport):  # noqa: F811
    user = users.create("chair", "commission")
    tab = chromium.new_page(viewport=viewport, base_url=live_url)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(tab, user)
    tab.goto("/situation/")
    for testid, value in (("warnings-count", "1"), ("shelters-open", "1"),
                          ("shelters-occupancy", "45"), ("volunteers-on-site", "1")):
        number = tab.get_by_test_id(testid)
        assert number.inner_text() == value
        assert number.is_visible()
    assert tab.get_by_test_id("alert-progress").is_visible()
    assert tab.get_by_test_id("autonomy-days").is_visible()
    # Nothing runs off the side of the screen.
    assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # Four layers, each with its features: warning polygons, a shelter, a report, a site.
    assert tab.locator(".leaflet-control-layers-overlays input").count() == 4
    assert tab.locator("path.leaflet-interactive").count() >= 4
    markers = tab.locator("path.leaflet-interactive").count()
    tab.locator(".leaflet-control-layers-overlays input").nth(1).uncheck()  # open shelters
    assert tab.locator("path.leaflet-interactive").count() == markers - 1
    # Fresh now; still on the screen, not marked stale.
    assert "stale" not in (tab.get_by_test_id("shelters-tile").get_attribute("class") or "")
    tab.screenshot(path=f"/tmp/situation-{viewport['width']}.png")
    assert errors == []
    tab.close()
