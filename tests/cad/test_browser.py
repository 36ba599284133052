"""The 8787 line in a real browser: an operator registers a phone report with the keyboard
alone (category search, description, address, the point on the map, Ctrl+Enter), sees a
possible duplicate suggested while typing, routes the report from its page and finds it
on the map of open reports."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.cad.models import CadReport
from tests.areas.test_browser import live_url  # noqa: F401 (the live server)
from tests.cad.test_pages import NEAR_POINT
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
# Screenshots of the pages for a person to look at, when SARGS_SCREENSHOTS names a folder.
SHOTS = os.environ.get("SARGS_SCREENSHOTS")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.fixture
def page(chromium: Any, live_url: str) -> Iterator[Any]:  # noqa: F811
    tab = chromium.new_page(viewport={"width": 1280, "height": 1100}, base_url=live_url)
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    tab.close()


def sign_in(page: Any, user: Any) -> None:
    """Operators sign in with a password (no second factor for their role)."""
    page.goto("/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/")


def focused(page: Any) -> str:
    return page.evaluate("document.activeElement.id")


def stored(db: Any) -> list[tuple[Any, ...]]:
    """The reports as stored now, in a session of its own (SQLite's write lock)."""
    with Session(db.get_bind()) as session:
        return [(r.id, r.state, r.channel, r.category.code, r.description, r.address,
                 r.lat is not None, r.partner.code if r.partner else None)
                for r in session.scalars(select(CadReport).order_by(CadReport.id))]


def test_a_phone_report_registered_with_the_keyboard_is_routed_and_on_the_map(
        page, users, db, make_report):
    # A report of the same category some 50 m from the map's centre: a possible duplicate.
    earlier = make_report(category="water", description="Applūdusi iela",
                          address="Lielā iela 2", lat=NEAR_POINT[0], lon=NEAR_POINT[1])
    sign_in(page, users.create("ilze", "operator"))
    page.goto("/cad/new")
    assert focused(page) == "f-category-search"  # the call starts where the form does

    page.keyboard.type("kanalizācija")  # Latvian keyword of two categories
    options = page.locator("#category-options [role=option]")
    options.first.wait_for()
    codes = [options.nth(i).get_attribute("data-code") for i in range(options.count())]
    assert codes == ["hydro", "water"]
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#category-option-water", "aria-selected") == "true"
    _shot(page, "cad-intake-choosing.png")
    page.keyboard.press("Enter")
    assert page.input_value("#f-category") == "water"
    assert page.is_hidden("#category-options")

    page.keyboard.press("Tab")
    assert focused(page) == "f-description"
    page.keyboard.type("Lūka bez vāka, bīstami gājējiem")
    page.keyboard.press("Tab")
    assert focused(page) == "f-address"
    page.keyboard.type("Lielā iela 4")
    page.keyboard.press("Tab")
    # Tab goes around the map, on to "city or municipality".
    assert page.evaluate("document.activeElement.name") == "jurisdiction"

    # Alt+M takes the focus to the map, Enter sets the point at its centre cross.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Alt+m")
    assert focused(page) == "intake-map"
    page.keyboard.press("Enter")
    assert page.input_value("#f-lat") != "" and page.input_value("#f-lon") != ""
    page.locator(f'#duplicates [data-testid=duplicate][data-id="{earlier.id}"]').wait_for()
    page.keyboard.press("Escape")
    assert focused(page) == "f-address"
    _shot(page, "cad-intake.png")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/cad/\d+$"))

    reports = stored(db)
    assert reports[-1][1:] == ("new", "phone", "water", "Lūka bez vāka, bīstami gājējiem",
                               "Lielā iela 4", True, None)
    report_id = reports[-1][0]
    assert page.get_attribute("[data-testid=state]", "data-state") == "new"

    # Routing from the report: the suggested partner is chosen already.
    assert "Jelgavas ūdens" in page.locator("#f-partner_id option:checked").inner_text()
    page.click("[data-testid=route]")
    page.wait_for_selector("h1 [data-testid=state][data-state=routed]")
    assert stored(db)[-1][-1] == "water"
    assert "routed" in page.locator("[data-testid=event]").evaluate_all(
        "items => items.map(i => i.dataset.kind)")

    page.click("[data-testid=cad-nav] a[href='/cad/map']")
    marker = page.locator(f"#reports-map path.cad-marker-{report_id}")
    marker.wait_for(state="attached")
    assert page.get_attribute("#open-reports", "data-loaded") == "2"
    marker.click(force=True)
    link = page.locator(".leaflet-popup [data-testid=popup-link]")
    assert link.get_attribute("href") == f"/cad/{report_id}"
    page.wait_for_function(
        "getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    _shot(page, "cad-map.png")
    assert page.page_errors == []
