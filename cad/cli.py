"""``sargs cad …``: the 8787 line from the command line. The JSON these print is an
interface other tools use; keep its keys stable."""

from __future__ import annotations

import click


@click.group("cad")
def cad_group() -> None:
    """Resident reports of the 8787 line."""
