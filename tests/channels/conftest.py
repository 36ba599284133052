"""Fixtures of the notification-engine tests: the Twilio simulator and an app
that sends SMS through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from sargs.app import create_app
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators import twilio as twilio_sim
from tests.channels.sip_phone import phones  # noqa: F401 (a fixture of the SIP tests)

FROM = "+37166000000"


@pytest.fixture
def sim() -> Iterator[Any]:
    with twilio_sim.TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def sms_app(settings, sim, frozen_clock) -> Iterator[Any]:
    """The app with SMS going to the simulator; Twilio's callbacks go nowhere."""
    configured = settings.model_copy(update={
        "public_url": "http://127.0.0.1:9", "twilio_api_url": sim.url,
        "twilio_account_sid": twilio_sim.ACCOUNT_SID, "twilio_from_number": FROM,
    })
    configured.twilio_auth_token = SecretStr(twilio_sim.AUTH_TOKEN)
    application = create_app(configured)
    yield application
    application.extensions["sargs"].engine.dispose()


@pytest.fixture
def telegram() -> Iterator[Any]:
    """The Telegram Bot API simulator."""
    with telegram_sim.TelegramSimulator(mode="test") as bot:
        yield bot


@pytest.fixture
def wiring(settings, sim, telegram, frozen_clock) -> Iterator[Any]:
    """The app with SMS and voice through the Twilio simulator and Telegram through its
    simulator, Twilio's callbacks served on a live port (other channels unconfigured)."""
    from tests.channels.adapters_helpers import wired

    with wired(settings, twilio=sim, telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        yield wiring
