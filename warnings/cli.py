"""``sargs warnings …``: ingest sources by hand and list warnings.

The JSON these print is an interface other tools use; keep its keys stable.
"""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from sargs.audit.service import SYSTEM, acting_as
from sargs.warnings.models import WARNING_STATES


@click.group("warnings")
def warnings_group() -> None:
    """LVĢMC / Meteoalarm warnings."""


@warnings_group.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def ingest_command(sources: tuple[str, ...], as_json: bool) -> None:
    """Read each SOURCE (URL or file: Meteoalarm Atom or JSON, LVĢMC list.php, or one CAP
    document) now, store what is new and escalate it. Exit 2 when no source could be read."""
    from sargs.warnings import ingest

    ext = current_app.extensions["sargs"]
    with acting_as(SYSTEM):
        report = ingest.ingest(ext.sessionmaker, list(sources), ext.settings)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        click.echo(f"new {report.new}, updated {report.updated}, ended {report.ended}, "
                   f"unchanged {report.unchanged}, rejected {len(report.rejected)}")
        for rejected in report.rejected:
            click.echo(f"rejected {rejected['source']}: {rejected['reason']}", err=True)
    if report.sources_read == 0:
        sys.exit(2)


@warnings_group.command("list")
@click.option("--state", type=click.Choice([*WARNING_STATES, "all"]), default="active",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@with_appcontext
def list_command(state: str, as_json: bool) -> None:
    """The warnings Sargs holds (real ones; exercise warnings are not listed)."""
    from sargs.warnings import service

    ext = current_app.extensions["sargs"]
    with ext.sessionmaker() as session:
        found = [service.as_json(w, ext.settings.zone)
                 for w in service.list_warnings(session, state)]
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    for w in found:
        home = "home" if w["affects_home"] else "    "
        click.echo(f"{w['id']:>5} {w['state']:<8} {w['level']:<7} {w['type'] or '?':<16} {home} "
                   f"{w['onset'] or '':<25} {w['expires']:<25} {w['headline_lv'] or w['headline_en']}")
