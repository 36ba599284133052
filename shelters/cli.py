"""``sargs shelters …``: the shelter register from the command line."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("shelters")
def shelters_group() -> None:
    """The "Patvertne" shelter register."""


@shelters_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(file: str) -> None:
    """Import places from FILE (CSV; the columns are in the README): a place with the same
    name and address is updated. All or nothing: each bad line is named (exit 1)."""
    from pathlib import Path

    from sargs.audit.service import acting_as
    from sargs.cli import _cli_actor
    from sargs.shelters import csv_io

    ext = current_app.extensions["sargs"]
    path = Path(file)
    with ext.sessionmaker() as session, acting_as(_cli_actor()):
        try:
            added, updated = csv_io.import_csv(session, path.read_bytes())
        except csv_io.ImportRefused as exc:
            session.rollback()
            for problem in exc.problems:
                click.echo(f"{path.name}: {problem}", err=True)
            raise click.ClickException(
                f"nothing imported ({len(exc.problems)} problems)") from None
        session.commit()
    click.echo(f"added {added}, updated {updated} places")


@shelters_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (default: standard output).")
@with_appcontext
def export_command(output: str | None) -> None:
    """Print the whole register as CSV (UTF-8, `,`), as the import reads it."""
    from pathlib import Path

    from sargs.shelters import csv_io

    with current_app.extensions["sargs"].sessionmaker() as session:
        text = csv_io.export_csv(session)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@shelters_group.command("demo")
@with_appcontext
def demo_command() -> None:
    """Add the illustrative Jelgava register (marked illustrative, not the official one);
    places already there are left as they are."""
    from sargs.audit.service import SYSTEM, acting_as
    from sargs.shelters import demo

    with current_app.extensions["sargs"].sessionmaker() as session, acting_as(SYSTEM):
        added, present = demo.load_demo(session)
        session.commit()
    click.echo(f"illustrative register: added {added}, already there {present}")
