"""A red warning for Jelgava in a real browser: it is on the warnings page and its map,
with the alert it raised; on the alert page the delivery fills as the dispatcher sends
through the Twilio and Telegram simulators and their callbacks come back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from sargs.channels.simulators import telegram as telegram_sim
from sargs.warnings import ingest
from tests.areas.test_browser import DEAD_TILES, sign_in
from tests.channels.acks_helpers import send_due
from tests.channels.adapters_helpers import Wired, wired
from tests.channels.conftest import sim, telegram  # noqa: F401 (the simulators' fixtures)
from tests.channels.engine_helpers import resident
from tests.conftest import START
from tests.warnings.lvgmc import RIGA_WINTER, Doc

pytestmark = pytest.mark.browser

RED = Doc(401, START.astimezone(RIGA_WINTER), level=4, areas=("LV022",))
RED_ON_MAP = '#warnings-map path.leaflet-interactive[stroke="#d0021b"]'


@pytest.fixture
def wiring(settings, sim, telegram, frozen_clock) -> Iterator[Wired]:  # noqa: F811
    """SMS through the Twilio simulator, Telegram through its own, served on a live port;
    map tiles from a port nothing listens on (the map must work without them)."""
    with wired(settings, twilio=sim, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        globals_ = wiring.app.jinja_env.globals
        globals_["map_config"] = {**globals_["map_config"], "tiles": DEAD_TILES}
        yield wiring


@pytest.fixture
def page(chromium: Any, wiring: Wired) -> Iterator[Any]:
    tab = chromium.new_page(viewport={"width": 1200, "height": 1000},
                            base_url=wiring.settings.public_url)
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    tab.close()


def test_a_red_warning_is_on_the_map_with_its_alert_and_the_delivery_fills(
        page, wiring, telegram, users, frozen_clock, tmp_path):  # noqa: F811
    with wiring.sessions() as db:
        resident(db, "Ilze", "+37120000901", telegram="9901", levels=("red",))
        resident(db, "John", "+37120000902", language="en", levels=("red",))
        db.commit()
    telegram.add_chat(9901)
    document = tmp_path / "red.xml"
    document.write_bytes(RED.xml())
    assert ingest.ingest(wiring.sessions, [str(document)], wiring.settings).new == 1

    sign_in(page, users.create("karlis", "commission", totp=True))
    page.goto("/warnings/")
    page.wait_for_selector(RED_ON_MAP, state="attached")
    assert page.locator(".warning-level[data-level=red]").first.is_visible()
    assert "24.11.2026 15:00–25.11.2026 06:00" in page.inner_text("[data-testid=validity]")
    assert "meteoalarm.org" in page.inner_text("[data-testid=attribution]")

    page.click("[data-testid=warning-row] [data-testid=alert-link]")
    page.wait_for_selector("[data-testid=progress][data-total='2']")
    assert page.get_attribute("[data-testid=progress]", "data-finished") == "0"
    send_due(wiring, frozen_clock)
    # htmx refreshes the progress while the alert is sending; the callbacks finish it.
    page.wait_for_selector("[data-testid=progress][data-delivered='2']")
    assert page.inner_text("[data-testid=count-telegram-delivered]") == "1"
    assert page.inner_text("[data-testid=count-sms-delivered]") == "1"
    assert page.page_errors == []
