"""bench/ingest.py runs end to end on a small feed: the three figures are printed next to
their goals, and each poll did what it is timed for (the timings themselves are not
asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
FIGURES = ("first poll: feed and every document", "re-poll, feed unchanged",
           "re-poll, one warning updated")


def run_bench(tmp_path: Path, *options: str) -> str:
    run = subprocess.run(
        [sys.executable, "-P", "bench/ingest.py", "--entries", "20", "--repeat", "2", *options],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=240,
        env={**{k: v for k, v in os.environ.items()  # the bench makes its own settings
                if not k.startswith("SARGS_")},
             "TMPDIR": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_the_ingest_bench_prints_each_figure_next_to_its_goal(tmp_path):
    lines = run_bench(tmp_path).splitlines()
    for label in FIGURES:
        line = next((line for line in lines if line.startswith(label)), None)
        assert line is not None, (label, lines)
        assert " s   goal ≤ " in line and line.rstrip().endswith(("met", "NOT MET")), line


def test_each_poll_of_the_ingest_bench_does_the_work_it_is_timed_for(tmp_path):
    figures = json.loads(run_bench(tmp_path, "--json").strip().splitlines()[-1])
    assert figures["entries"] == 20
    # The first poll stores every document of the feed, each placed in the areas it was
    # written for (polygons identified, sea geocodes read), and refuses none.
    assert figures["cold_new"] == figures["cold_placed"] == figures["documents"] > 0
    assert figures["cold_rejected"] == 0
    # An unchanged feed stores nothing; each changed feed updates exactly its one warning
    # and takes the others as known.
    assert figures["unchanged_new"] == 0
    assert figures["changed_updated"] == 2
    assert figures["changed_unchanged"] == figures["documents"] - 1
    for key in ("cold_s", "unchanged_s", "changed_s"):
        assert figures[key] > 0, key
