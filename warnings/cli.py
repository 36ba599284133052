"""``sargs warnings …``: ingest sources by hand and list warnings."""

from __future__ import annotations

import click


@click.group("warnings")
def warnings_group() -> None:
    """LVĢMC / Meteoalarm warnings."""
