"""Guards of the layout rules DESIGN.md sets for the source tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["sargs", "channels", "warnings", "cad", "shelters", "reserves", "volunteers",
            "exercises"]


def _sources() -> list[Path]:
    return [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


def test_time_comes_from_the_one_clock():
    wall_clock = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today|time\.time)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if path.name != "clock.py" and wall_clock.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"use sargs.clock.now() instead of the wall clock in {offenders}"


def test_no_empty_placeholder_modules():
    empty = [str(p.relative_to(ROOT)) for p in _sources() if not p.read_text().strip()]
    assert not empty, f"empty modules: {empty}"


def test_every_domain_folder_is_mapped_into_the_sargs_package():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package in PACKAGES[1:]:
        assert f'"sargs.{package}" = "{package}"' in pyproject
        assert f'"sargs.{package}"' in pyproject.split("packages = [")[1]
