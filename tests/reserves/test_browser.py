"""Reserves in a real browser: shelter staff ask for water from the shelter's page, a
commission member approves, the keeper opens the pick list — the batch that expires
first is proposed first, the expired one not at all — and issues it; the stock page's
water in the warehouse drops by what was issued."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sargs.reserves import service
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from tests.areas.test_browser import live_url  # noqa: F401 (the live server)
from tests.areas.test_browser import sign_in as sign_in_with_code
from tests.cad.test_browser import sign_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SARGS_SCREENSHOTS")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.fixture
def tab(chromium: Any, live_url: str) -> Iterator[Callable[[], Any]]:  # noqa: F811
    """A new browser of its own (own cookies) for each person."""
    contexts = []

    def open_tab() -> Any:
        context = chromium.new_context(viewport={"width": 1200, "height": 1000},
                                       base_url=live_url)
        contexts.append(context)
        page = context.new_page()
        page.page_errors = []
        page.on("pageerror", lambda error: page.page_errors.append(str(error)))
        return page

    yield open_tab
    for context in contexts:
        context.close()


def water_in_centre(page: Any) -> str:
    page.goto("/reserves/stock?view=warehouse")
    cell = page.locator('[data-testid=stock-row][data-item="W-5L"][data-warehouse="CENTRS"] '
                        "[data-testid=quantity]")
    return re.sub(r"[^\d.,]", "", cell.inner_text())


def test_a_shelter_request_is_approved_picked_first_expired_first_and_issued(
        tab, users, db, stockroom):
    who = service.Who()
    for lot, quantity, expires in (("W-OLD", "40", date(2026, 11, 1)),
                                   ("W-SOON", "20", date(2026, 12, 10)),
                                   ("W-LATE", "50", date(2027, 6, 1))):
        service.receive(db, stockroom.water, stockroom.centre, lot, Decimal(quantity), who,
                        expires_on=expires)
    school = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511,
        lon=23.7214, capacity=100))
    db.commit()
    school_id = school.id
    db.close()

    keeper = tab()
    sign_in(keeper, users.create("noliktava", "warehouse"))
    assert water_in_centre(keeper) == "110"  # the expired lot is still on the shelf

    staff = tab()
    sign_in(staff, users.create("ieva", "shelter_staff"))
    staff.goto(f"/shelters/{school_id}")
    staff.click("[data-testid=request-reserves]")
    staff.wait_for_url("**/reserves/requests/new?shelter_id=*")
    assert staff.locator("#f-shelter_id").input_value() == str(school_id)
    assert staff.locator("[data-testid=kind-shelter]").is_checked()
    staff.locator("[data-testid=line-item]").first.select_option("W-5L")
    staff.locator("[data-testid=line-quantity]").first.fill("30")
    staff.fill("#f-note", "Ūdens 10 cilvēkiem trim dienām")
    staff.click("[data-testid=submit-request]")
    staff.wait_for_url(re.compile(r".*/reserves/requests/\d+$"))
    request_path = re.search(r"/reserves/requests/\d+$", staff.url).group(0)
    assert staff.get_attribute("[data-testid=state]", "data-state") == "submitted"
    assert staff.locator("[data-testid=approve]").count() == 0

    commission = tab()
    sign_in_with_code(commission, users.create("kalnins", "commission", totp=True))
    commission.goto(request_path)
    commission.fill("#f-note", "Piekrītu")
    commission.click("[data-testid=approve]")
    commission.wait_for_selector('[data-testid=state][data-state="approved"]')

    keeper.goto(request_path)
    keeper.click("[data-testid=pick-link]")
    keeper.wait_for_selector("[data-testid=issue-form]")
    rows = keeper.locator("[data-testid=pick-batch]")
    proposed = [(rows.nth(i).get_attribute("data-lot"),
                 rows.nth(i).locator("[data-testid=pick]").input_value())
                for i in range(rows.count())]
    assert proposed == [("W-SOON", "20"), ("W-LATE", "10")]  # expired W-OLD not offered
    _shot(keeper, "reserves-pick-list.png")
    keeper.click("[data-testid=issue]")
    keeper.wait_for_selector('[data-testid=state][data-state="issued"]')
    issued = keeper.locator("[data-testid=issued-batch]")
    assert [issued.nth(i).get_attribute("data-lot") for i in range(issued.count())] == [
        "W-SOON", "W-LATE"]

    assert water_in_centre(keeper) == "80"
    staff.goto(request_path)
    assert staff.get_attribute("[data-testid=state]", "data-state") == "issued"
    assert keeper.page_errors == staff.page_errors == commission.page_errors == []
