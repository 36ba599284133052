"""Stock-takes through the pages: a keeper counts a warehouse blind on the count sheet,
submits, the variance report shows expected against counted with the signed difference,
and another person's approval turns the variances into adjustments — never the one who
counted."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sargs.reserves import service
from sargs.reserves.models import StockMovement, StockTake
from tests.reserves.test_requests import balance, client_of, post


@pytest.fixture
def shelves(db: Any, stockroom: Any) -> dict[str, int]:
    """CENTRS holds two water batches and one of sandbags; lot → batch id."""
    who = service.Who()
    lots = {}
    for item, lot, qty, expires in ((stockroom.water, "W1", "40", date(2027, 3, 1)),
                                    (stockroom.water, "W2", "12.5", date(2027, 8, 1)),
                                    (stockroom.sandbags, "SB1", "200", None)):
        lots[lot] = service.receive(db, item, stockroom.centre, lot, Decimal(qty), who,
                                    expires_on=expires).batch_id
    db.commit()
    return lots


def fields(page: str) -> dict[str, str]:
    """Lot → the count field's name on the sheet."""
    return dict(re.findall(r'data-lot="([^"]+)".*?name="(counted-\d+)"', page, re.S))


def start(keeper: Any) -> tuple[str, str]:
    """Start a count of CENTRS; (its page's path, the page)."""
    response = post(keeper, "/reserves/stocktakes/start", {"warehouse": "CENTRS"},
                    "/reserves/stocktakes/")
    assert response.status_code == 302
    path = response.headers["Location"]
    return path, keeper.get(path).get_data(as_text=True)


def take_id(path: str) -> int:
    return int(path.rstrip("/").rsplit("/", 1)[1])


def test_variances_approved_by_another_person_become_adjustments(app, db, users, shelves):
    keeper = client_of(app, users, "noliktava", "warehouse")
    path, sheet = start(keeper)
    names = fields(sheet)
    assert set(names) == {"W1", "W2", "SB1"}
    # Blind: the expected balances are not on the sheet nor on its print.
    assert "40" not in re.sub(r"\d{2}\.\d{2}\.\d{4}", "", sheet.split("data-testid=\"count-form\"")[1])
    printed = keeper.get(path + "/print").get_data(as_text=True)
    assert "Counted by" in printed and "Checked by" in printed and "12.5" not in printed

    # Saved in two goes; a bad number is shown at its field and nothing is saved.
    response = post(keeper, path + "/count", {names["W1"]: "38", names["W2"]: "x"}, path)
    assert response.status_code == 422
    assert f'data-field="{names["W2"]}">Must be a number.' in response.get_data(as_text=True)
    post(keeper, path + "/count", {names["W1"]: "38", "action": "save"}, path)
    response = post(keeper, path + "/count", {"action": "submit"}, path)
    assert response.status_code == 422
    assert "2 lines are not counted yet." in response.get_data(as_text=True)
    response = post(keeper, path + "/count",
                    {names["W2"]: "13,5", names["SB1"]: "200", "action": "submit"}, path)
    assert response.status_code == 302

    report = keeper.get(path).get_data(as_text=True)
    rows = re.findall(r'data-testid="variance-line" data-lot="([^"]+)".*?'
                      r'data-testid="expected">([^<]+)<.*?data-testid="counted">([^<]+)<.*?'
                      r'data-testid="difference">([^<]+)<', report, re.S)
    assert rows == [("W1", "40 l", "38 l", "−2 l"), ("W2", "12.5 l", "13.5 l", "+1 l"),
                    ("SB1", "200 pcs", "200 pcs", "0 pcs")]
    assert 'data-testid="approve"' not in report  # the counter does not approve
    assert 'data-testid="other-approver"' in report

    # The counter's own approval is refused; nothing is adjusted.
    response = post(keeper, path + "/approve", {}, path)
    assert response.status_code == 422
    assert "approved by someone other than who counted" in response.get_data(as_text=True)
    assert balance(db, shelves["W1"]) == Decimal(40)

    commission = client_of(app, users, "kalnins", "commission")
    assert post(commission, path + "/approve", {}, path).status_code == 302
    assert balance(db, shelves["W1"]) == Decimal(38)
    assert balance(db, shelves["W2"]) == Decimal("13.5")
    assert balance(db, shelves["SB1"]) == Decimal(200)
    adjustments = db.execute(select(StockMovement.batch_id, StockMovement.quantity,
                                    StockMovement.reason, StockMovement.stocktake_id)
                             .where(StockMovement.kind == "adjustment")
                             .order_by(StockMovement.id)).all()
    db.rollback()
    assert adjustments == [(shelves["W1"], Decimal(-2), "stocktake", take_id(path)),
                           (shelves["W2"], Decimal(1), "stocktake", take_id(path))]
    assert 'data-state="approved"' in keeper.get(path).get_data(as_text=True)
    assert post(commission, path + "/approve", {}, path).status_code == 422  # once only


def test_another_keeper_may_approve_and_a_second_count_waits(app, db, users, shelves):
    keeper = client_of(app, users, "noliktava", "warehouse")
    path, sheet = start(keeper)
    response = post(keeper, "/reserves/stocktakes/start", {"warehouse": "CENTRS"},
                    "/reserves/stocktakes/")
    assert response.status_code == 422
    assert "A stock-take of this warehouse is under way." in response.get_data(as_text=True)
    names = fields(sheet)
    post(keeper, path + "/count", {names["W1"]: "41", names["W2"]: "12.5",
                                   names["SB1"]: "199", "action": "submit"}, path)
    other = client_of(app, users, "andris", "warehouse")
    assert 'data-testid="approve"' in other.get(path).get_data(as_text=True)
    assert post(other, path + "/approve", {}, path).status_code == 302
    assert (balance(db, shelves["W1"]), balance(db, shelves["SB1"])) == (41, 199)


def test_a_cancelled_count_changes_nothing_and_frees_the_warehouse(app, db, users, shelves):
    keeper = client_of(app, users, "noliktava", "warehouse")
    path, sheet = start(keeper)
    names = fields(sheet)
    post(keeper, path + "/count", {names["W1"]: "1", names["W2"]: "1", names["SB1"]: "1",
                                   "action": "submit"}, path)
    assert post(keeper, path + "/cancel", {}, path).status_code == 302
    assert balance(db, shelves["W1"]) == Decimal(40)
    listing = keeper.get("/reserves/stocktakes/").get_data(as_text=True)
    assert 'data-state="cancelled"' in listing
    start(keeper)  # the warehouse can be counted again
    assert len(db.scalars(select(StockTake)).all()) == 2
    db.rollback()
