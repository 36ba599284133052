"""The reserves' files: stock on hand by item, warehouse and owner, the expiry lists and
an item's stock card as CSV (Excel's: a BOM and ``;``) and XLSX, read back as a
spreadsheet program would."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from sargs.reserves import service
from sargs.reserves.service import Who
from tests.conftest import csrf_token
from tests.reserves.test_pages import stocked

D = Decimal


def csv_rows(client: Any, path: str) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_rows(client: Any, path: str) -> tuple[str, list[tuple[Any, ...]]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    return sheet.title, list(sheet.iter_rows(values_only=True))


def english(client: Any) -> None:
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/reserves/"),
                                  "next": "/reserves/"})


def test_stock_on_hand_files_by_item_warehouse_and_owner(client: Any, users: Any, db: Any,
                                                         stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "ilze", "commission")
    english(client)
    rows = csv_rows(client, "/reserves/stock.csv")
    assert rows[0] == ["Code", "Item", "Owner", "Quantity", "Unit", "Warehouses",
                       "Earliest expiry"]
    assert rows[1:] == [
        ["F-CAN", "Canned food", "municipal reserve", "40", "kg", "1", "2027-02-01"],
        ["S-W", "State reserve water", "state reserve", "100", "l", "1", ""],
        ["SB", "Sandbags", "municipal reserve", "500", "pcs", "1", ""],
        ["W-5L", "Drinking water", "municipal reserve", "460", "l", "2", "2026-11-20"],
    ]
    rows = csv_rows(client, "/reserves/stock.csv?view=warehouse&warehouse=OZOL")
    assert rows[0][:3] == ["Warehouse", "Code", "Item"]
    assert [r[:2] + r[4:] for r in rows[1:]] == [
        ["Ozolnieki", "SB", "500", "pcs", ""], ["Ozolnieki", "W-5L", "60", "l", "2026-12-10"]]

    title, rows = xlsx_rows(client, "/reserves/stock.xlsx?view=owner")
    assert title == "Stock on hand by owner"
    assert rows[0] == ("Owner", "Code", "Item", "Quantity", "Unit", "Warehouses",
                       "Earliest expiry")
    # The municipal reserve first, the state reserve apart; quantities are numbers and
    # expiry dates are dates.
    assert [(r[0], r[1], r[3], r[6]) for r in rows[1:]] == [
        ("municipal reserve", "F-CAN", 40, datetime(2027, 2, 1)),
        ("municipal reserve", "SB", 500, None),
        ("municipal reserve", "W-5L", 460, datetime(2026, 11, 20)),
        ("state reserve", "S-W", 100, None)]
    _title, rows = xlsx_rows(client, "/reserves/stock.xlsx?owner=state")
    assert [r[0] for r in rows[1:]] == ["S-W"]


def test_files_follow_the_users_language(client: Any, users: Any, db: Any,
                                         stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "ilze", "commission")
    rows = csv_rows(client, "/reserves/stock.csv?category=water")
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("S-W", "Valsts rezerves ūdens", "100"), ("W-5L", "Dzeramais ūdens", "460")]


def test_the_expiry_files(client: Any, users: Any, db: Any, stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "janis", "warehouse")
    english(client)
    rows = csv_rows(client, "/reserves/expiring.csv?days=30")
    assert rows == [
        ["Expires", "Days left", "Code", "Item", "Warehouse", "Batch", "Quantity", "Unit",
         "Expired"],
        ["2026-11-20", "-4", "W-5L", "Drinking water", "Centrālā", "OLD", "100", "l", "yes"],
        ["2026-12-10", "16", "W-5L", "Drinking water", "Ozolnieki", "L2", "60", "l", ""]]
    title, rows = xlsx_rows(client, "/reserves/expiring.xlsx?days=90")
    assert title == "Expiring within 90 days"
    assert [(r[0], r[1], r[5], r[6]) for r in rows[1:]] == [
        (datetime(2026, 11, 20), -4, "OLD", 100), (datetime(2026, 12, 10), 16, "L2", 60),
        (datetime(2027, 2, 1), 69, "F1", 40)]


def test_the_stock_card_files(client: Any, users: Any, db: Any, stockroom: Any,
                              frozen_clock: Any) -> None:
    keeper = users.create("janis", "warehouse")
    room = stockroom
    service.receive(db, room.food, room.centre, "F1", D("40"), Who(keeper.id),
                    expires_on=date(2027, 2, 1))
    frozen_clock.advance(hours=2)
    batch = service.batches_of(db, room.food.id)[0]
    service.issue(db, batch, D("12.5"), Who(keeper.id, note="Patversme"))
    frozen_clock.advance(hours=1)
    service.write_off(db, batch, D("0.5"), "damaged", Who(keeper.id))
    db.commit()
    users.login(client, keeper)
    english(client)
    rows = csv_rows(client, f"/reserves/items/{room.food.id}/card.csv")
    assert rows == [
        ["When", "Who", "Movement", "Reason", "Warehouse", "Batch", "Quantity",
         "Balance after", "Unit", "Note"],
        ["2026-11-24 15:00", "janis", "write-off", "damaged", "Centrālā", "F1", "-0.5", "27",
         "kg", ""],
        ["2026-11-24 14:00", "janis", "issue", "", "Centrālā", "F1", "-12.5", "27.5", "kg",
         "Patversme"],
        ["2026-11-24 12:00", "janis", "receipt", "", "Centrālā", "F1", "40", "40", "kg", ""]]
    title, rows = xlsx_rows(client, f"/reserves/items/{room.food.id}/card.xlsx")
    assert title == "Stock card  Canned food"  # Excel refuses ":" in a sheet's name
    assert [(r[0], r[2], r[6], r[7]) for r in rows[1:]] == [
        (datetime(2026, 11, 24, 15, 0), "write-off", -0.5, 27),
        (datetime(2026, 11, 24, 14, 0), "issue", -12.5, 27.5),
        (datetime(2026, 11, 24, 12, 0), "receipt", 40, 40)]
