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


@cad_group.command("partner-token")
@click.argument("partner_code")
@click.option("--revoke", is_flag=True, help="Remove the partner's token; the API refuses it.")
@with_appcontext
def partner_token_command(partner_code: str, revoke: bool) -> None:
    """Make (or replace) a partner's token for the partner API; it is printed once,
    alone on the last line, and only its SHA-256 is kept. The old token stops working."""
    from sqlalchemy import select

    from sargs.audit.service import acting_as
    from sargs.cad import partner_tokens
    from sargs.cad.models import CadPartner
    from sargs.cli import _cli_actor

    ext = current_app.extensions["sargs"]
    with acting_as(_cli_actor()), ext.sessionmaker() as session:
        partner = session.scalar(select(CadPartner).where(CadPartner.code == partner_code))
        if partner is None or not partner.active:
            raise click.BadParameter(f"no active partner with the code {partner_code!r}",
                                     param_hint="'PARTNER_CODE'")
        if revoke:
            partner_tokens.revoke(partner)
            session.commit()
            click.echo(f"the partner API token of {partner.name} is revoked")
            return
        token = partner_tokens.issue(partner)
        session.commit()
        click.echo(f"partner API token of {partner.name} ({partner.code}); any earlier one "
                   "no longer works; store it now, it is not shown again:")
        click.echo(token)

