"""Issues and transfers of one batch at the same moment, each in its own thread, session
and transaction, as concurrent requests make them. On PostgreSQL they really overlap
(the conditional UPDATE's row lock decides); on SQLite ``BEGIN IMMEDIATE`` makes them
take turns. Either way the rules must hold: no batch below zero, every balance equal to
the sum of its movements, exactly as many issues succeed as the stock allows, nothing
refused would have fitted in what is left, and a transfer lands with both legs or
not at all."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from sargs.auth.service import create_token
from sargs.reserves import service
from sargs.reserves.models import Batch, StockMovement
from sargs.reserves.schemas import MovementIn
from sargs.reserves.service import Who

D = Decimal
ROUNDS = 5  # several fresh batches: more chances for the requests to meet


def _race(app: Any, bodies: list[dict[str, Any]]) -> list[str | None]:
    """Record each movement in its own thread and session, all released at once;
    what each got: None when stored, the refusal's field otherwise."""
    outcomes: list[str | None] = [None] * len(bodies)
    start = threading.Barrier(len(bodies))
    crashes: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait(timeout=30)  # before touching the database (SQLite's write lock)
            with app.app_context(), app.extensions["sargs"].sessionmaker() as session:
                try:
                    service.record(session, MovementIn(**bodies[index]), None)
                    session.commit()
                except service.StockError as exc:
                    session.rollback()
                    outcomes[index] = exc.field
        except BaseException as exc:  # noqa: BLE001 — reported by the test below
            crashes.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not crashes, crashes
    return outcomes


def _stocked(app: Any, room: Any, lot: str, quantity: Decimal) -> int:
    with app.extensions["sargs"].sessionmaker() as session:
        service.receive(session, session.merge(room.water), session.merge(room.centre), lot,
                        quantity, Who())
        session.commit()
        return session.scalar(select(Batch.id).where(Batch.lot == lot,
                                                     Batch.warehouse_id == room.centre.id))


def _balances_hold(app: Any) -> dict[int, Decimal]:
    """Every batch ≥ 0 and equal to Σ its movements; the balances by batch id."""
    with app.extensions["sargs"].sessionmaker() as session:
        sums = service.balance_by_movements(session)
        balances = {row[0]: row[1] for row in session.execute(select(Batch.id, Batch.quantity))}
    for batch_id, balance in balances.items():
        assert balance >= 0, (batch_id, balance)
        assert balance == sums.get(batch_id, 0), (batch_id, balance, sums.get(batch_id))
    return balances


def _issue(lot: str, quantity: str) -> dict[str, Any]:
    return {"kind": "issue", "item": "W-5L", "warehouse": "CENTRS", "lot": lot,
            "quantity": quantity}


def test_the_last_units_go_to_exactly_as_many_issues_as_they_cover(app: Any,
                                                                   stockroom: Any) -> None:
    for round_ in range(ROUNDS):
        lot = f"LAST-{round_}"
        batch_id = _stocked(app, stockroom, lot, D(10))
        outcomes = _race(app, [_issue(lot, "2") for _ in range(8)])  # 16 l asked of 10
        assert outcomes.count(None) == 5, outcomes
        assert outcomes.count("quantity") == 3, outcomes  # refused for the quantity
        assert _balances_hold(app)[batch_id] == 0


def _pairs_hold(app: Any) -> list[StockMovement]:
    """Every transfer_out has its transfer_in (same group, same quantity) and back."""
    with app.extensions["sargs"].sessionmaker() as session:
        legs = list(session.scalars(select(StockMovement).where(
            StockMovement.kind.in_(("transfer_out", "transfer_in")))))
    groups: dict[str | None, list[StockMovement]] = {}
    for leg in legs:
        groups.setdefault(leg.group, []).append(leg)
    for group, pair in groups.items():
        assert group is not None
        assert sorted(leg.kind for leg in pair) == ["transfer_in", "transfer_out"], pair
        assert sum(leg.quantity for leg in pair) == 0, pair
    return legs


def test_a_transfer_racing_issues_lands_with_both_legs_or_neither(app: Any,
                                                                  stockroom: Any) -> None:
    for round_ in range(ROUNDS):
        lot = f"RACE-{round_}"
        batch_id = _stocked(app, stockroom, lot, D(10))
        asked = [D(6)] + [D(2)] * 4  # 14 l asked of 10
        transfer = {"kind": "transfer", "item": "W-5L", "warehouse": "CENTRS", "lot": lot,
                    "to_warehouse": "OZOL", "quantity": "6"}
        outcomes = _race(app, [transfer] + [_issue(lot, "2") for _ in range(4)])
        balances = _balances_hold(app)
        stored = sum((q for q, outcome in zip(asked, outcomes, strict=True) if outcome is None),
                     D(0))
        assert balances[batch_id] == D(10) - stored
        refused = [q for q, outcome in zip(asked, outcomes, strict=True) if outcome]
        assert refused and all(outcome == "quantity" for outcome in outcomes if outcome)
        assert all(q > balances[batch_id] for q in refused), (outcomes, balances[batch_id])
        _pairs_hold(app)
        with app.extensions["sargs"].sessionmaker() as session:
            moved = session.scalar(select(Batch.quantity).where(
                Batch.lot == lot, Batch.warehouse_id == stockroom.ozolnieki.id))
        assert (moved or 0) == (D(6) if outcomes[0] is None else 0)


def test_two_transfers_of_a_lot_to_a_new_warehouse_both_land(app: Any,
                                                             stockroom: Any) -> None:
    """Both find no batch of the lot in the target warehouse and make one: neither may
    fail for it (on PostgreSQL the second meets the first's new row)."""
    for round_ in range(ROUNDS):
        lot = f"TWO-{round_}"
        _stocked(app, stockroom, lot, D(10))
        transfers = [{"kind": "transfer", "item": "W-5L", "warehouse": "CENTRS", "lot": lot,
                      "to_warehouse": "OZOL", "quantity": q} for q in ("3", "4")]
        assert _race(app, transfers) == [None, None]
        _balances_hold(app)
        assert len(_pairs_hold(app)) == 4 * (round_ + 1)
        with app.extensions["sargs"].sessionmaker() as session:
            assert session.scalar(select(Batch.quantity).where(
                Batch.lot == lot, Batch.warehouse_id == stockroom.ozolnieki.id)) == D(7)


def test_two_receipts_of_a_new_lot_at_once_both_land(app: Any, stockroom: Any) -> None:
    for round_ in range(ROUNDS):
        receipt = {"kind": "receipt", "item": "W-5L", "warehouse": "CENTRS",
                   "lot": f"NEW-{round_}", "quantity": "5", "expires_on": "2027-06-01"}
        assert _race(app, [receipt, receipt]) == [None, None]
        assert _balances_hold(app)


def test_two_receipts_of_a_new_lot_through_the_api_both_land(app: Any, db: Any,
                                                             stockroom: Any) -> None:
    _token, plaintext = create_token(db, "warehouse-system", ["reserves"])
    db.commit()
    db.close()
    receipt = {"kind": "receipt", "item": "W-5L", "warehouse": "CENTRS", "lot": "API-NEW",
               "quantity": "5", "expires_on": "2027-06-01"}
    start, answers = threading.Barrier(2), []

    def post() -> None:
        client = app.test_client()
        start.wait(timeout=30)
        answers.append(client.post("/api/v1/reserves/movements", json=receipt,
                                   headers={"Authorization": f"Bearer {plaintext}"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert sorted(answer.get_json()["balance"] for answer in answers) == ["10", "5"]
    assert _balances_hold(app)
