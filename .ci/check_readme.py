"""Check that README.md names every setting and that its two commands exist.

    .venv/bin/python .ci/check_readme.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sargs.settings import Settings, variable_name

REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> int:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    problems = []
    variables = [variable_name(field) for field in Settings.model_fields]
    for variable in variables:
        if f"| `{variable}` |" not in readme:
            problems.append(f"the configuration table lacks {variable}")
    for command in ("scripts/start", "scripts/test"):
        if f"./{command}" not in readme:
            problems.append(f"README.md does not name ./{command}")
        if not os.access(REPOSITORY / command, os.X_OK):
            problems.append(f"{command} is missing or not executable")
    if not (REPOSITORY / "docs" / "screenshot.png").is_file():
        problems.append("docs/screenshot.png is missing")
    for problem in problems:
        print(f"  FAIL  {problem}")
    if problems:
        return 1
    print(f"  ok    README.md documents all {len(variables)} settings and both commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
