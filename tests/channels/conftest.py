"""Fixtures of the notification-engine tests: the Twilio simulator and an app
that sends SMS through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from sargs.app import create_app
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
