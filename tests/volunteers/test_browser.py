"""The volunteer portal in a real browser: a person registers on a phone-sized screen,
types the code their phone received (the Twilio simulator), and a coordinator approves
them on the register; the volunteer's profile then says they are active."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from sargs.app import create_app
from sargs.channels.simulators.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioSimulator
from sargs.volunteers import service
from sargs.volunteers.schemas import SearchIn
from tests.areas.test_browser import live_url  # noqa: F401 (the live server)
from tests.cad.test_browser import sign_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SARGS_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
NUMBER = "+37126123456"


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.fixture
def sim() -> Iterator[Any]:
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def app(settings: Any, sim: Any, frozen_clock: Any) -> Iterator[Any]:
    """Sargs with verification codes going to the Twilio simulator."""
    configured = settings.model_copy(update={
        "public_url": "https://sargs.example.lv", "twilio_api_url": sim.url,
        "twilio_account_sid": ACCOUNT_SID, "twilio_from_number": "+37166000000"})
    configured.twilio_auth_token = SecretStr(AUTH_TOKEN)
    application = create_app(configured)
    yield application
    application.extensions["sargs"].engine.dispose()


@pytest.fixture
def phone(chromium: Any, live_url: str) -> Iterator[Any]:  # noqa: F811
    context = chromium.new_context(viewport=PHONE, base_url=live_url, is_mobile=True,
                                   has_touch=True, locale="lv-LV")
    tab = context.new_page()
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()


@pytest.fixture
def desk(chromium: Any, live_url: str) -> Iterator[Any]:  # noqa: F811
    tab = chromium.new_page(viewport={"width": 1280, "height": 1000}, base_url=live_url)
    yield tab
    tab.close()


def _fits(page: Any) -> bool:
    """Nothing makes the phone's page scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_volunteer_registers_on_a_phone_and_a_coordinator_approves(phone, desk, sim, users,
                                                                     db):
    phone.goto("/volunteer/")
    assert _fits(phone)
    phone.fill("#f-name", "Ilze Kalniņa")
    phone.fill("#f-phone", "26 123 456")
    phone.fill("#f-birth_date", "1990-04-12")
    phone.select_option("#f-municipality", "LV022")
    phone.check("[data-testid=skills] input[value=first_aid]")
    phone.check("[data-testid=skills] input[value=chainsaw]")
    phone.check("[data-testid=available_days] input[value='5']")
    phone.fill("#f-available_from", "08:00")
    phone.fill("#f-available_to", "20:00")
    # Without the consent the page names what is missing, and keeps what was typed.
    phone.click("[data-testid=register]")
    assert phone.locator("#e-consent").is_visible()
    assert phone.input_value("#f-name") == "Ilze Kalniņa"
    phone.check("#f-consent")
    _shot(phone, "volunteer-register.png")
    phone.click("[data-testid=register]")
    phone.wait_for_selector("[data-testid=verify-phone]")
    assert sim.phones.wait_for(1, NUMBER), "the code SMS did not arrive"
    code = re.search(r"\b(\d{6})\b", sim.phones.of(NUMBER)[-1]["body"]).group(1)
    phone.fill("#f-phone-code", code)
    phone.locator("[data-testid=phone-code-form] button[type=submit]").click()
    phone.wait_for_url("**/volunteer/profile")
    assert phone.locator("[data-testid=phone-verified]").is_visible()
    waiting = phone.locator("[data-testid=status]").inner_text()
    assert _fits(phone)
    _shot(phone, "volunteer-verified.png")

    coordinator = users.create("maris", "coordinator")
    service.set_areas(db, coordinator.id, ["LV022"])
    db.commit()
    sign_in(desk, coordinator)
    desk.goto("/volunteers/?status=pending")
    desk.locator("text=Ilze Kalniņa").first.click()
    assert desk.locator("[data-testid=phone-verified]").get_attribute("data-verified") == "yes"
    desk.select_option("#f-status", "active")
    desk.click("[data-testid=decide]")
    desk.wait_for_load_state()
    _shot(desk, "volunteer-approved.png")

    phone.goto("/volunteer/profile")
    approved = phone.locator("[data-testid=status]").inner_text()
    assert approved != waiting
    db.expire_all()
    [ilze] = service.search(db, SearchIn(text="Ilze"), service.Staff(None, frozenset()))
    assert ilze.status == "active" and ilze.phone_verified_at is not None
    assert not phone.page_errors
