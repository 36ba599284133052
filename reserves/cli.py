"""``sargs reserves …``: stock on hand and autonomy from the command line, as the staff
API gives them (the same service functions and the same JSON)."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from sargs.reserves.models import OWNERS


def _sessions() -> Any:
    return current_app.extensions["sargs"].sessionmaker()


def _refused(error: Any) -> click.ClickException:
    return click.ClickException(f"{error.field}: {error.message}")


@click.group("reserves")
def reserves_group() -> None:
    """Material reserves: stock on hand and autonomy."""


@reserves_group.command("stock")
@click.option("--warehouse", help="Only this warehouse (its code).")
@click.option("--item", help="Only this item (its code).")
@click.option("--owner", type=click.Choice(OWNERS), help="Only municipal or state reserve.")
@click.option("--json", "as_json", is_flag=True,
              help='A JSON list of {"item", "warehouse", "quantity", "unit", '
                   '"earliest_expiry"}.')
@with_appcontext
def stock_command(warehouse: str | None, item: str | None, owner: str | None,
                  as_json: bool) -> None:
    """Stock on hand per item and warehouse, with the earliest expiry."""
    from sargs.reserves import service

    with _sessions() as session:
        try:
            where = service.warehouse_by_code(session, warehouse) if warehouse else None
            what = service.item_by_code(session, item) if item else None
        except service.StockError as exc:
            raise _refused(exc) from None
        rows = service.stock(session, warehouse_id=where.id if where else None, owner=owner,
                             item_id=what.id if what else None)
    if as_json:
        click.echo(json.dumps([service.stock_json(row, owner=False) for row in rows],
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{'item':<16} {'warehouse':<12} {'owner':<10} {'quantity':>14} "
               f"{'unit':<5} earliest expiry")
    for row in rows:
        click.echo(f"{row.item:<16} {row.warehouse:<12} {row.owner:<10} "
                   f"{service.fmt(row.quantity):>14} {row.unit:<5} "
                   f"{row.earliest_expiry or '-'}")


@reserves_group.command("autonomy")
@click.option("--people", type=click.IntRange(1), default=None,
              help="For this many people (default: the people in open shelters now).")
@click.option("--owner", type=click.Choice(OWNERS), help="Only municipal or state reserve.")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON object.")
@with_appcontext
def autonomy_command(people: int | None, owner: str | None, as_json: bool) -> None:
    """How many days each item with a per-person norm lasts, and which runs out first
    (days rounded down to a tenth)."""
    from sargs.reserves import service

    with _sessions() as session:
        try:
            result = service.autonomy_for(session, people, owner=owner, language="en")
        except service.StockError as exc:
            raise _refused(exc) from None
    if as_json:
        click.echo(json.dumps(service.autonomy_json(result), ensure_ascii=False, indent=2))
        return
    if result.limiting_item is None:
        click.echo(f"{result.people} people: no item has a per-person norm")
        return
    click.echo(f"{result.people} people: {result.days} days, "
               f"{result.limiting_item} runs out first")
    for row in result.items:
        click.echo(f"{row.item:<16} {row.days:>8} days  {service.fmt(row.quantity)} "
                   f"{row.unit} at {service.fmt(row.per_day)} {row.unit}/day")
