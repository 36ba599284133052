"""Settings: bad values stop `sargs` at once with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sargs.settings import load_settings

SARGS = Path(sys.executable).with_name("sargs")


def _run_sargs(cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SARGS_")}
    env.update(variables)
    return subprocess.run([str(SARGS), "user", "list"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("variable", "value"), [
    ("SARGS_PORT", "99999"),
    ("SARGS_TIMEZONE", "Mars/Base"),
    ("SARGS_DATABASE_URL", "mysql://x"),
    ("SARGS_HOME_AREAS", ""),
    ("SARGS_LOGIN_RATE_LIMIT", "often"),
])
def test_a_bad_setting_stops_sargs_with_one_line_naming_it(tmp_path, variable, value):
    result = _run_sargs(tmp_path, **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert not (tmp_path / "instance").exists()


def test_a_refused_database_url_does_not_print_its_password(tmp_path):
    result = _run_sargs(tmp_path, SARGS_DATABASE_URL="mysql://sargs:hunter2@db.example/sargs")
    assert result.returncode == 2
    assert "SARGS_DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr


def test_lists_and_numbers_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SARGS_HOME_AREAS", "LV022, lv023")
    monkeypatch.setenv("SARGS_LANGUAGES", "lv,en")
    monkeypatch.setenv("SARGS_MAP_CENTER", "56.65,23.72")
    monkeypatch.setenv("SARGS_PORT", "8080")
    monkeypatch.setenv("SARGS_DATABASE_URL", "postgresql://sargs@db/sargs")
    settings = load_settings()
    assert settings.home_areas == ["LV022", "LV023"]
    assert settings.languages == ["lv", "en"]
    assert settings.map_center == [56.65, 23.72]
    assert settings.port == 8080
    assert settings.database_url == "postgresql+psycopg://sargs@db/sargs"
