"""Movements, balances, FEFO, requests, stock-takes and autonomy, as the service keeps
them for the pages, the API and the CLI."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from sargs.reserves import service
from sargs.reserves.models import Batch, StockLevel, StockMovement
from sargs.reserves.schemas import CountIn, MovementIn, RequestIn
from sargs.reserves.service import Who
from sargs.web.forms import InputError, validate

D = Decimal
WHO = Who()


def test_every_movement_kind_moves_the_balance(db: Any, stockroom: Any) -> None:
    room = stockroom
    service.receive(db, room.water, room.centre, "L1", D("100.5"), WHO,
                    expires_on=date(2027, 6, 1))
    batch = db.scalar(select(Batch).where(Batch.lot == "L1"))
    service.issue(db, batch, D("10.25"), WHO)
    service.transfer(db, batch, room.ozolnieki, D(20), WHO)
    service.adjust(db, batch, D(-1), "counting_error", WHO)
    service.write_off(db, batch, D("0.25"), "damaged", WHO)
    db.commit()
    assert batch.quantity == D("69.000")
    moved = db.scalar(select(Batch).where(Batch.lot == "L1", Batch.warehouse_id ==
                                          room.ozolnieki.id))
    assert moved.quantity == D(20) and moved.expires_on == date(2027, 6, 1)
    kinds = [m.kind for m in db.scalars(select(StockMovement).order_by(StockMovement.id))]
    assert kinds == ["receipt", "issue", "transfer_out", "transfer_in", "adjustment",
                     "write_off"]
    assert service.balance_by_movements(db) == {batch.id: D(69), moved.id: D(20)}


def test_no_batch_goes_negative_and_nothing_is_half_written(db: Any, stockroom: Any) -> None:
    service.receive(db, stockroom.water, stockroom.centre, "L1", D(5), WHO)
    batch = db.scalar(select(Batch))
    db.commit()
    with pytest.raises(service.StockError) as caught:
        service.transfer(db, batch, stockroom.ozolnieki, D(6), WHO)
    assert caught.value.field == "quantity" and "5" in caught.value.message
    db.rollback()
    assert db.scalar(select(Batch).where(Batch.id == batch.id)).quantity == D(5)
    assert db.scalars(select(StockMovement)).all().__len__() == 1


def test_expired_batches_are_only_written_off(db: Any, stockroom: Any,
                                              frozen_clock: Any) -> None:
    today = service.today()
    service.receive(db, stockroom.water, stockroom.centre, "OLD", D(10), WHO,
                    expires_on=today + timedelta(days=1))
    batch = db.scalar(select(Batch))
    frozen_clock.advance(days=3)
    with pytest.raises(service.StockError) as caught:
        service.issue(db, batch, D(1), WHO)
    assert caught.value.field == "lot"
    assert service.fefo(db, stockroom.water, D(1)).short == D(1)
    service.write_off(db, batch, D(10), "expired", WHO)
    assert batch.quantity == 0


def test_movements_are_append_only_in_the_database(db: Any, stockroom: Any) -> None:
    service.receive(db, stockroom.water, stockroom.centre, "L1", D(5), WHO)
    db.commit()
    for statement in ("UPDATE reserve_movement SET quantity = 0",
                      "DELETE FROM reserve_movement"):
        with pytest.raises(DBAPIError):
            db.execute(text(statement))
        db.rollback()


def test_fefo_proposes_the_earliest_expiry_first(db: Any, stockroom: Any) -> None:
    today = service.today()
    for lot, days, quantity in (("LATE", 300, 50), ("SOON", 20, 30), ("MID", 100, 40)):
        service.receive(db, stockroom.water, stockroom.centre, lot, D(quantity), WHO,
                        expires_on=today + timedelta(days=days))
    proposal = service.fefo(db, stockroom.water, D(60))
    assert [(p.batch.lot, p.quantity) for p in proposal.picks] == [("SOON", 30), ("MID", 30)]
    assert proposal.short == 0
    assert service.fefo(db, stockroom.water, D(200)).short == D(80)


def test_a_request_is_approved_picked_fefo_and_issued(db: Any, stockroom: Any) -> None:
    today = service.today()
    service.receive(db, stockroom.water, stockroom.centre, "A", D(10), WHO,
                    expires_on=today + timedelta(days=10))
    service.receive(db, stockroom.water, stockroom.centre, "B", D(100), WHO,
                    expires_on=today + timedelta(days=200))
    request = service.create_request(db, RequestIn(
        requester_kind="institution", institution="Sociālais dienests",
        lines=[{"item": "W-5L", "quantity": "25"}]), None)
    with pytest.raises(service.StockError):  # not approved yet
        service.issue_request(db, request, None)
    service.decide(db, request, True, None)
    service.issue_request(db, request, None)
    db.commit()
    lots = {b.lot: b.quantity for b in db.scalars(select(Batch))}
    assert lots == {"A": 0, "B": 85}
    assert request.state == "issued" and request.lines[0].issued == D(25)


def test_stocktake_variances_become_adjustments_on_approval(db: Any, stockroom: Any) -> None:
    service.receive(db, stockroom.sandbags, stockroom.centre, "SB1", D(500), WHO)
    service.receive(db, stockroom.water, stockroom.centre, "W1", D(40), WHO)
    take = service.start_stocktake(db, stockroom.centre, None)
    by_lot = {line.batch.lot: line for line in take.lines}
    service.count(db, take, by_lot["SB1"].id, validate(CountIn, {"counted": "480"}).counted)
    with pytest.raises(service.StockError):
        service.submit_stocktake(db, take)  # W1 not counted
    service.count(db, take, by_lot["W1"].id, D(40))
    service.submit_stocktake(db, take)
    assert [(line.batch.lot, delta) for line, delta in service.variances(take)] == [
        ("SB1", D(-20))]
    service.approve_stocktake(db, take, None)
    db.commit()
    assert by_lot["SB1"].batch.quantity == D(480)
    adjustment = db.scalar(select(StockMovement).where(StockMovement.kind == "adjustment"))
    assert adjustment.reason == "stocktake" and adjustment.stocktake_id == take.id


def test_autonomy_on_a_hand_computed_fixture(db: Any, stockroom: Any) -> None:
    # 100 people: water 3 l × 100 = 300 l a day; 1 000 l last 3.33 → 3.3 days.
    # Food 0.5 kg × 100 = 50 kg a day; 400 kg last 8 days. Water runs out first.
    service.receive(db, stockroom.water, stockroom.centre, "W1", D(600), WHO)
    service.receive(db, stockroom.water, stockroom.ozolnieki, "W2", D(400), WHO)
    service.receive(db, stockroom.food, stockroom.centre, "F1", D(400), WHO)
    service.receive(db, stockroom.sandbags, stockroom.centre, "S1", D(1000), WHO)
    result = service.autonomy(db, 100)
    assert result.days == D("3.3") and result.limiting_item == "W-5L"
    assert [(row.item, row.days) for row in result.items] == [("W-5L", D("3.3")),
                                                              ("F-CAN", D("8.0"))]


def test_movement_input_names_the_field(app: Any) -> None:
    with app.test_request_context():
        for body, field in (({"kind": "receipt", "item": "W", "warehouse": "C",
                              "quantity": "1"}, "lot"),
                            ({"kind": "issue", "item": "W", "warehouse": "C", "lot": "L",
                              "quantity": "-1"}, "quantity"),
                            ({"kind": "issue", "item": "W", "warehouse": "C", "lot": "L",
                              "quantity": "1.0001"}, "quantity"),
                            ({"kind": "write_off", "item": "W", "warehouse": "C", "lot": "L",
                              "quantity": "1"}, "reason"),
                            ({"kind": "transfer", "item": "W", "warehouse": "C", "lot": "L",
                              "quantity": "1"}, "to_warehouse")):
            with pytest.raises(InputError) as caught:
                validate(MovementIn, body)
            assert field in caught.value.errors, (body, caught.value.errors)


OPS = st.lists(st.tuples(st.sampled_from(["receipt", "issue", "transfer", "adjust", "write_off"]),
                         st.integers(0, 2), st.decimals(D("0.001"), D(50), places=3)),
               max_size=30)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_balance_equals_the_sum_of_movements(db: Any, stockroom: Any, ops: list) -> None:
    room = stockroom
    lots = ["P0", "P1", "P2"]
    for op, lot_index, quantity in ops:
        lot = lots[lot_index]
        batch = db.scalar(select(Batch).where(Batch.lot == lot,
                                              Batch.warehouse_id == room.centre.id))
        try:
            if op == "receipt" or batch is None:
                service.receive(db, room.food, room.centre, lot, quantity, WHO)
            elif op == "issue":
                service.issue(db, batch, quantity, WHO)
            elif op == "transfer":
                service.transfer(db, batch, room.ozolnieki, quantity, WHO)
            elif op == "adjust":
                service.adjust(db, batch, -quantity, "other", WHO)
            else:
                service.write_off(db, batch, quantity, "lost", WHO)
            db.commit()
        except service.StockError:
            db.rollback()
    sums = service.balance_by_movements(db)
    for batch in db.scalars(select(Batch)):
        db.refresh(batch)
        assert batch.quantity >= 0
        assert batch.quantity == sums.get(batch.id, 0)
    levels = {(row.item_id, row.warehouse_id): (row.quantity, row.earliest_expiry)
              for row in db.scalars(select(StockLevel))}
    assert levels == service.levels_by_batches(db)
