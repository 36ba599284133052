"""Simulators start only in test or demo mode; ``sargs simulators`` runs them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from sargs.channels.simulators.ami import AmiSimulator
from sargs.channels.simulators.base import SimulatorRefused, ensure_allowed
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.telegram import TelegramSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from sargs.cli import cli

SIMULATORS = [TwilioSimulator, TelegramSimulator, SmtpSimulator, AmiSimulator]


@pytest.mark.parametrize("kind", SIMULATORS, ids=lambda k: k.__name__)
def test_every_simulator_refuses_production(kind: type) -> None:
    with pytest.raises(SimulatorRefused, match="only in test or demo mode"):
        kind(mode="production").start()


def test_mode_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARGS_MODE", "production")
    with pytest.raises(SimulatorRefused):
        ensure_allowed(None)
    monkeypatch.setenv("SARGS_MODE", "demo")
    assert ensure_allowed(None) == "demo"


def test_cli_refuses_outside_test_and_demo(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["simulators"], env={"SARGS_MODE": "production"})
    assert result.exit_code == 2
    assert "only in test or demo mode" in result.output


def test_cli_runs_all_simulators_until_stopped(tmp_path: Path) -> None:
    env = dict(os.environ, SARGS_MODE="demo")
    process = subprocess.Popen(
        [sys.executable, "-P", "-c", "from sargs.cli import main; main()", "simulators"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Simulators running"):
                break
        exports = dict(line.strip().removeprefix("export ").split("=", 1)
                       for line in lines if line.strip().startswith("export "))
        assert set(exports) >= {"SARGS_TWILIO_API_URL", "SARGS_TELEGRAM_API_URL",
                                "SARGS_SMTP_URL", "SARGS_PBX_AMI_URL"}
        me = httpx.post(f"{exports['SARGS_TELEGRAM_API_URL']}/bot"
                        f"{exports['TELEGRAM_BOT_TOKEN']}/getMe", timeout=5)
        assert me.json()["ok"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
