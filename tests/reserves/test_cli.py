"""`sargs reserves stock` and `sargs reserves autonomy`: the issue's JSON shape, the
table, and refusals that name what to correct."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from click.testing import CliRunner
from flask.cli import ScriptInfo

from sargs.cli import cli
from sargs.reserves import service
from sargs.reserves.service import Who

D = Decimal


def _sargs(app: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _fill(db: Any, room: Any) -> None:
    today = service.today()
    service.receive(db, room.water, room.centre, "W1", D(600), Who(),
                    expires_on=today + timedelta(days=200))
    service.receive(db, room.water, room.ozolnieki, "W2", D(400), Who(),
                    expires_on=today + timedelta(days=300))
    service.receive(db, room.food, room.centre, "F1", D("400.250"), Who())
    service.receive(db, room.sandbags, room.centre, "S1", D(1000), Who())
    db.commit()


def test_stock_json_has_the_issues_shape(app: Any, db: Any, stockroom: Any) -> None:
    _fill(db, stockroom)
    result = _sargs(app, "reserves", "stock", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {tuple(sorted(row)) for row in rows} == {
        ("earliest_expiry", "item", "quantity", "unit", "warehouse")}
    by_place = {(row["item"], row["warehouse"]): row for row in rows}
    assert by_place[("F-CAN", "CENTRS")] == {"item": "F-CAN", "warehouse": "CENTRS",
                                             "quantity": "400.25", "unit": "kg",
                                             "earliest_expiry": None}
    assert by_place[("W-5L", "OZOL")]["earliest_expiry"] == (
        service.today() + timedelta(days=300)).isoformat()
    assert len(rows) == 4
    ozol = json.loads(_sargs(app, "reserves", "stock", "--json", "--warehouse", "OZOL").output)
    assert [(row["item"], row["quantity"]) for row in ozol] == [("W-5L", "400")]


def test_stock_prints_a_table_and_names_an_unknown_warehouse(app: Any, db: Any,
                                                             stockroom: Any) -> None:
    _fill(db, stockroom)
    result = _sargs(app, "reserves", "stock")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["item", "warehouse", "owner"]
    assert any(line.split()[:5] == ["SB", "CENTRS", "municipal", "1000", "pcs"]
               for line in lines)
    refused = _sargs(app, "reserves", "stock", "--warehouse", "NOWHERE")
    assert refused.exit_code == 1
    assert "warehouse: Noliktavas ar kodu NOWHERE nav" in refused.output


def test_autonomy_for_a_number_of_people(app: Any, db: Any, stockroom: Any) -> None:
    _fill(db, stockroom)
    result = _sargs(app, "reserves", "autonomy", "--people", "100", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["people"], body["days"], body["limiting_item"]) == (100, 3.3, "W-5L")
    assert [(row["item"], row["days"]) for row in body["items"]] == [("W-5L", 3.3),
                                                                     ("F-CAN", 8.0)]
    text = _sargs(app, "reserves", "autonomy", "--people", "100").output
    assert text.splitlines()[0] == "100 people: 3.3 days, W-5L runs out first"
    assert _sargs(app, "reserves", "autonomy", "--people", "0").exit_code == 2
    nobody = _sargs(app, "reserves", "autonomy")
    assert nobody.exit_code == 1
    assert "people: Atvērtajās patvertnēs pašlaik neviena nav" in nobody.output
