"""bench/fanout.py runs end to end on a few residents: every figure is there and
nobody is lost or told twice (the bench's timings themselves are not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
KEYS = {"recipients", "ledger_write_s", "telegram_msgs_per_s", "sms_msgs_per_s", "limited_s",
        "bound_s", "ratio_to_bound", "apprise_msgs_per_s", "vs_apprise", "lost", "duplicates"}


def test_the_fanout_bench_reports_every_figure_and_loses_nobody(tmp_path):
    run = subprocess.run(
        [sys.executable, "-P", "bench/fanout.py", "--recipients", "150", "--json",
         "--limited-rate", "50", "--limited-seconds", "1", "--concurrency", "16"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=240,
        env={**{k: v for k, v in os.environ.items()  # the bench makes its own settings
                if not k.startswith(("SARGS_", "TWILIO_", "TELEGRAM_"))},
             "TMPDIR": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert KEYS <= figures.keys(), KEYS - figures.keys()
    assert figures["recipients"] == 150
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["apprise_failed"] == 0  # Apprise's messages reached the simulator too
    assert figures["limited_recipients"] == 50
    for key in KEYS - {"lost", "duplicates", "recipients"}:
        assert figures[key] > 0, key
