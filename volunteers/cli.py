"""``sargs volunteers …``: coordinators' areas, the register as CSV, and approving a
volunteer, from the command line. The same service functions as the pages; what the
command reads of personal data is audit-logged with the CLI as the actor."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

STATUSES = ("pending", "active", "reserve", "inactive")


def _session() -> Session:
    return current_app.extensions["sargs"].sessionmaker()  # type: ignore[no-any-return]


@click.group("volunteers")
def volunteers_group() -> None:
    """The volunteer corps (CREWS)."""


@volunteers_group.command("areas")
@click.argument("username")
@click.argument("codes", nargs=-1)
@with_appcontext
def areas_command(username: str, codes: tuple[str, ...]) -> None:
    """Set the municipalities (area codes, e.g. LV022 LV023) the coordinator USERNAME
    looks after; no codes: none."""
    from sargs.areas.service import get_area
    from sargs.audit.service import acting_as
    from sargs.auth.service import find_user
    from sargs.cli import _cli_actor
    from sargs.volunteers import service

    with _session() as session, acting_as(_cli_actor()):
        user = find_user(session, username)
        if user is None:
            raise click.BadParameter(f"no user {username}", param_hint="'USERNAME'")
        if "coordinator" not in user.role_names:
            raise click.BadParameter(f"{username} does not have the role coordinator",
                                     param_hint="'USERNAME'")
        found = [get_area(session, code) for code in codes]
        wrong = [code for code, area in zip(codes, found, strict=True)
                 if area is None or area.kind != "municipality"]
        if wrong:
            raise click.BadParameter(f"not a municipality: {', '.join(wrong)}",
                                     param_hint="'CODES'")
        service.set_areas(session, user.id, [area.code for area in found if area is not None])
        session.commit()
    shown = ", ".join(area.code for area in found if area is not None) or "none"
    click.echo(f"{username} looks after: {shown}")


@volunteers_group.command("export")
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Only volunteers in this status.")
@click.option("--municipality", default=None, help="Only this municipality (area code).")
@with_appcontext
def export_command(status: str | None, municipality: str | None) -> None:
    """Print the register as CSV (the coordinators' download) to standard output."""
    from sargs.audit.service import acting_as
    from sargs.cli import _cli_actor
    from sargs.volunteers import service
    from sargs.volunteers.schemas import SearchIn

    filters = SearchIn(status=status, municipality=municipality)
    with _session() as session, acting_as(_cli_actor()):
        text = service.export_csv(session, filters, service.Staff(None, frozenset()))
        session.commit()  # the export is audit-logged
    click.echo(text, nl=False)


@volunteers_group.command("approve")
@click.argument("volunteer_id", type=int)
@click.option("--status", type=click.Choice(("active", "reserve")), default="active",
              show_default=True)
@with_appcontext
def approve_command(volunteer_id: int, status: str) -> None:
    """Approve the pending volunteer VOLUNTEER_ID (their phone must be verified)."""
    from sargs.audit.service import acting_as
    from sargs.cli import _cli_actor
    from sargs.volunteers import service

    with _session() as session, acting_as(_cli_actor()):
        volunteer = service.visible(session, service.Staff(None, frozenset()), volunteer_id)
        if volunteer is None:
            raise click.ClickException(f"no volunteer {volunteer_id}")
        try:
            service.decide(session, volunteer, status, None)
        except service.VolunteerError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"volunteer {volunteer_id} is {volunteer.status}")
