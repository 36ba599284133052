"""``sargs cad …``: the 8787 line from the command line. The JSON these print is an
interface other tools use; keep its keys stable."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("cad")
def cad_group() -> None:
    """Resident reports of the 8787 line."""


@cad_group.command("fetch-mail")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def fetch_mail_command(as_json: bool) -> None:
    """Poll the e-mail intake's mailbox once now and print how many drafts were made.
    Exit 2 when the mailbox could not be read."""
    import json
    import sys

    from sargs.audit.service import SYSTEM, acting_as
    from sargs.cad import email_intake

    ext = current_app.extensions["sargs"]
    if ext.settings.cad_imap_url is None:
        raise click.ClickException("SARGS_CAD_IMAP_URL is not set.")
    with acting_as(SYSTEM), ext.sessionmaker() as session:
        try:
            result = email_intake.poll(session, ext.settings)
        except email_intake.IntakeError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        click.echo(f"drafts {len(result.created)}, already stored {result.already_stored}, "
                   f"automatic replies {result.automatic}, skipped {len(result.skipped)}")
        for uid, reason in result.skipped:
            click.echo(f"skipped UID {uid}: {reason}", err=True)
    if result.error:
        click.echo(f"error: {result.error}", err=True)
        sys.exit(2)
