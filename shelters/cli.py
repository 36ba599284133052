"""``sargs shelters …``: the shelter register from the command line."""

from __future__ import annotations

import click


@click.group("shelters")
def shelters_group() -> None:
    """The "Patvertne" shelter register."""
