"""All four simulators together, as ``sargs simulators`` and the demo run them."""

from __future__ import annotations

from typing import Any

from sargs.channels.simulators.ami import AmiSimulator
from sargs.channels.simulators.base import Simulator, ensure_allowed
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.telegram import TelegramSimulator
from sargs.channels.simulators.twilio import TwilioSimulator


def start_all(mode: str | None, twilio_port: int = 0, telegram_port: int = 0,
              smtp_port: int = 0, ami_port: int = 0) -> dict[str, Any]:
    """Start every simulator (refused outside test/demo mode); stop them with :func:`stop_all`."""
    mode = ensure_allowed(mode)
    wanted: dict[str, Simulator] = {
        "twilio": TwilioSimulator(mode=mode, port=twilio_port),
        "telegram": TelegramSimulator(mode=mode, port=telegram_port),
        "smtp": SmtpSimulator(mode=mode, port=smtp_port),
        "ami": AmiSimulator(mode=mode, port=ami_port),
    }
    started: dict[str, Any] = {}
    try:
        for name, simulator in wanted.items():
            started[name] = simulator.start()
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(simulators: dict[str, Any]) -> None:
    for simulator in reversed(list(simulators.values())):
        simulator.stop()


def environment(simulators: dict[str, Any]) -> dict[str, str]:
    """The settings that point Sargs at these simulators."""
    twilio, telegram = simulators["twilio"], simulators["telegram"]
    return {
        "SARGS_TWILIO_API_URL": twilio.url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "SARGS_TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "SARGS_SMTP_URL": simulators["smtp"].url,
        "SARGS_PBX_AMI_URL": simulators["ami"].url,
    }
