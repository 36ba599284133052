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


@cad_group.command("stats")
@click.option("--year", type=int, default=None, help="The year (default: the current one).")
@click.option("--from-month", "month_from", type=click.IntRange(1, 12), default=1,
              show_default=True)
@click.option("--to-month", "month_to", type=click.IntRange(1, 12), default=12,
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def stats_command(year: int | None, month_from: int, month_to: int, as_json: bool) -> None:
    """The year's figures: reports by month, category, partner, channel, city or
    municipality (exercise reports and unclassified e-mails are not counted)."""
    import json

    from sargs import clock
    from sargs.cad import stats

    if month_from > month_to:
        raise click.BadParameter("--from-month is after --to-month", param_hint="--from-month")
    ext = current_app.extensions["sargs"]
    zone = ext.settings.zone
    year = year or clock.now().astimezone(zone).year
    with ext.sessionmaker() as session:
        figures = stats.year_stats(session, zone, year, month_from, month_to)
    if as_json:
        click.echo(json.dumps(figures.as_json(), ensure_ascii=False))
        return
    click.echo(stats.as_text(figures))


@cad_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(file: str) -> None:
    """Import historic reports from FILE (CSV; the columns are in the README). All or
    nothing: a bad line is named and nothing is stored (exit 1)."""
    from pathlib import Path

    from sargs.audit.service import SYSTEM, acting_as
    from sargs.cad import importer

    ext = current_app.extensions["sargs"]
    path = Path(file)
    with ext.sessionmaker() as session, acting_as(SYSTEM):
        try:
            count = importer.import_csv(session, ext.settings, path.read_bytes(),
                                        source=path.name)
        except importer.ImportRefused as exc:
            session.rollback()
            for problem in exc.problems:
                click.echo(f"{path.name}: {problem}", err=True)
            raise click.ClickException(
                f"nothing imported ({len(exc.problems)} problems)") from None
        session.commit()
    click.echo(f"imported {count} reports")


@cad_group.command("demo-year")
@click.option("--year", type=int, default=2025, show_default=True)
@click.option("--replace", is_flag=True, help="Remove that year's generated reports first.")
@with_appcontext
def demo_year_command(year: int, replace: bool) -> None:
    """Generate a past year of reports (marked as generated) following the published 2025
    figures of the 8787 line."""
    from sargs.audit.service import SYSTEM, acting_as
    from sargs.cad import demo_year

    ext = current_app.extensions["sargs"]
    with ext.sessionmaker() as session, acting_as(SYSTEM):
        try:
            count = demo_year.generate(session, ext.settings.zone, year, replace=replace)
        except demo_year.DemoYearError as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
        session.commit()
    click.echo(f"generated {count} reports for {year}")
