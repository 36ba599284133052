"""The material reserves' rules.

Movements are the truth. :func:`_move` is the only code that changes a batch's
balance: it writes the movement and moves the balance in one statement that refuses
to go below zero (``… SET quantity = quantity + :d WHERE quantity + :d >= 0``), so two
issues of the last units at once cannot both succeed, on SQLite (``BEGIN IMMEDIATE``)
or PostgreSQL (the row lock of the UPDATE). Every function works on a session and
leaves committing to the caller: one operation, one transaction — a transfer's two
legs, an issue's lines, a stock-take's adjustments land together or not at all.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sargs import clock
from sargs.reserves.models import (
    Batch,
    MinimumLevel,
    RequestLine,
    ReserveItem,
    ReserveRequest,
    StockLevel,
    StockMovement,
    StockTake,
    StockTakeLine,
    Warehouse,
)
from sargs.reserves.schemas import (
    ItemIn,
    MovementIn,
    RequestIn,
    WarehouseIn,
)

ZERO = Decimal(0)
SOON_DAYS = (30, 90)  # the expiry lists


class StockError(ValueError):
    """A rule refused the operation; ``field`` names what to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def today() -> date:
    return clock.local(clock.now()).date()


def fmt(value: Decimal) -> str:
    """A quantity as people write it: no trailing zeros (2.500 → 2.5)."""
    text = f"{value.normalize():f}"
    return text


# --- catalogue and warehouses ------------------------------------------------------


def create_item(session: Session, data: ItemIn) -> ReserveItem:
    if session.scalar(select(ReserveItem.id).where(ReserveItem.code == data.code)):
        raise StockError("code", _("An item with this code exists."))
    item = ReserveItem(created_at=clock.now(), **data.model_dump())
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, item: ReserveItem, data: ItemIn) -> ReserveItem:
    taken = session.scalar(select(ReserveItem.id).where(ReserveItem.code == data.code,
                                                        ReserveItem.id != item.id))
    if taken:
        raise StockError("code", _("An item with this code exists."))
    for key, value in data.model_dump().items():
        setattr(item, key, value)
    session.flush()
    return item


def create_warehouse(session: Session, data: WarehouseIn) -> Warehouse:
    if session.scalar(select(Warehouse.id).where(Warehouse.code == data.code)):
        raise StockError("code", _("A warehouse with this code exists."))
    warehouse = Warehouse(created_at=clock.now(), **data.model_dump())
    session.add(warehouse)
    session.flush()
    return warehouse


def item_by_code(session: Session, code: str, field: str = "item") -> ReserveItem:
    item = session.scalar(select(ReserveItem).where(ReserveItem.code == code))
    if item is None:
        raise StockError(field, _("No item with the code %(code)s.", code=code))
    return item


def warehouse_by_code(session: Session, code: str, field: str = "warehouse") -> Warehouse:
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise StockError(field, _("No warehouse with the code %(code)s.", code=code))
    return warehouse


def items(session: Session) -> list[ReserveItem]:
    return list(session.scalars(select(ReserveItem).order_by(ReserveItem.category,
                                                             ReserveItem.code)))


def warehouses(session: Session) -> list[Warehouse]:
    return list(session.scalars(select(Warehouse).order_by(Warehouse.code)))


def set_minimum(session: Session, item: ReserveItem, warehouse: Warehouse,
                minimum: Decimal) -> None:
    row = session.get(MinimumLevel, (item.id, warehouse.id))
    if row is None:
        session.add(MinimumLevel(item_id=item.id, warehouse_id=warehouse.id, minimum=minimum))
    else:
        row.minimum = minimum
    session.flush()


# --- movements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """Who moved the stock and within which activation."""

    user_id: int | None = None
    activation_id: int | None = None
    note: str = ""


def _move(session: Session, batch: Batch, delta: Decimal, kind: str, who: Who, *,
          reason: str | None = None, group: str | None = None, request_id: int | None = None,
          stocktake_id: int | None = None) -> StockMovement:
    """Change ``batch``'s balance by ``delta`` and write the movement that says so."""
    moved = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.quantity + delta >= 0)
        .values(quantity=Batch.quantity + delta)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        session.refresh(batch)
        raise StockError("quantity", _(
            "Batch %(lot)s has only %(left)s %(unit)s left.", lot=batch.lot,
            left=fmt(batch.quantity), unit=batch.item.unit))
    # The item's balance in the warehouse moves in the same transaction, and its
    # earliest expiry is read again from the batches that still hold stock.
    holding = select(func.min(Batch.expires_on)).where(
        Batch.item_id == batch.item_id, Batch.warehouse_id == batch.warehouse_id,
        Batch.quantity > 0).scalar_subquery()
    session.execute(
        update(StockLevel).where(StockLevel.item_id == batch.item_id,
                                 StockLevel.warehouse_id == batch.warehouse_id)
        .values(quantity=StockLevel.quantity + delta, earliest_expiry=holding)
        .execution_options(synchronize_session=False))
    movement = StockMovement(
        kind=kind, batch_id=batch.id, item_id=batch.item_id, quantity=delta, reason=reason,
        group=group, request_id=request_id, stocktake_id=stocktake_id,
        activation_id=who.activation_id, by_user_id=who.user_id, note=who.note[:500],
        created_at=clock.now())
    session.add(movement)
    session.flush()
    session.refresh(batch, ["quantity"])
    return movement


def receive(session: Session, item: ReserveItem, warehouse: Warehouse, lot: str,
            quantity: Decimal, who: Who, *, expires_on: date | None = None,
            supplier: str = "", document_no: str = "",
            unit_price: Decimal | None = None) -> StockMovement:
    """A receipt: a new batch, or more of a lot already in this warehouse (with the
    same expiry). Without an expiry, the item's shelf life gives one."""
    if expires_on is None and item.shelf_life_days:
        expires_on = today() + timedelta(days=item.shelf_life_days)
    batch = _lot(session, item.id, warehouse.id, lot)
    if batch is None:
        batch = _new_batch(session, Batch(
            item_id=item.id, warehouse_id=warehouse.id, lot=lot, expires_on=expires_on,
            supplier=supplier, document_no=document_no, unit_price=unit_price,
            quantity=ZERO, received_at=clock.now()))
    if batch.expires_on != expires_on:
        raise StockError("expires_on", _(
            "Lot %(lot)s is in this warehouse with another expiry date (%(date)s).",
            lot=lot, date=batch.expires_on or "—"))
    return _move(session, batch, quantity, "receipt", who)


def _lot(session: Session, item_id: int, warehouse_id: int, lot: str) -> Batch | None:
    return session.scalar(select(Batch).where(
        Batch.item_id == item_id, Batch.warehouse_id == warehouse_id, Batch.lot == lot))


def _new_batch(session: Session, batch: Batch) -> Batch:
    """Store a new lot's batch; when another transaction stored the same lot a moment
    ago (the unique item, warehouse and lot), that one is used instead. The item's
    first batch in a warehouse starts its balance row there."""
    if session.get(StockLevel, (batch.item_id, batch.warehouse_id)) is None:
        try:
            with session.begin_nested():
                session.add(StockLevel(item_id=batch.item_id, warehouse_id=batch.warehouse_id,
                                       quantity=ZERO))
                session.flush()
        except IntegrityError:  # another transaction started it a moment ago
            pass
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
        return batch
    except IntegrityError:
        found = _lot(session, batch.item_id, batch.warehouse_id, batch.lot)
        assert found is not None
        return found


def expired(batch: Batch, on: date | None = None) -> bool:
    return batch.expires_on is not None and batch.expires_on < (on or today())


def issue(session: Session, batch: Batch, quantity: Decimal, who: Who, *,
          request_id: int | None = None, group: str | None = None) -> StockMovement:
    """Issue from a batch; an expired batch can only be written off."""
    if expired(batch):
        raise StockError("lot", _(
            "Batch %(lot)s expired on %(date)s: it cannot be issued, only written off.",
            lot=batch.lot, date=batch.expires_on))
    return _move(session, batch, -quantity, "issue", who, request_id=request_id, group=group)


def transfer(session: Session, batch: Batch, to: Warehouse, quantity: Decimal,
             who: Who) -> tuple[StockMovement, StockMovement]:
    """Move part of a batch to another warehouse: both legs, or neither."""
    if to.id == batch.warehouse_id:
        raise StockError("to_warehouse", _("A transfer goes to another warehouse."))
    group = str(uuid.uuid4())
    out = _move(session, batch, -quantity, "transfer_out", who, group=group)
    target = _lot(session, batch.item_id, to.id, batch.lot)
    if target is None:
        target = _new_batch(session, Batch(
            item_id=batch.item_id, warehouse_id=to.id, lot=batch.lot,
            expires_on=batch.expires_on, supplier=batch.supplier,
            document_no=batch.document_no, unit_price=batch.unit_price, quantity=ZERO,
            received_at=batch.received_at))
    if target.expires_on != batch.expires_on:
        raise StockError("to_warehouse", _(
            "Lot %(lot)s is in that warehouse with another expiry date.", lot=batch.lot))
    return out, _move(session, target, quantity, "transfer_in", who, group=group)


def adjust(session: Session, batch: Batch, delta: Decimal, reason: str, who: Who,
           stocktake_id: int | None = None) -> StockMovement:
    if delta == 0:
        raise StockError("quantity", _("An adjustment changes the quantity."))
    return _move(session, batch, delta, "adjustment", who, reason=reason,
                 stocktake_id=stocktake_id)


def write_off(session: Session, batch: Batch, quantity: Decimal, reason: str,
              who: Who) -> StockMovement:
    return _move(session, batch, -quantity, "write_off", who, reason=reason)


def _batch_of(session: Session, item: ReserveItem, warehouse: Warehouse, data: MovementIn
              ) -> Batch:
    query = select(Batch).where(Batch.item_id == item.id, Batch.warehouse_id == warehouse.id)
    query = query.where(Batch.id == data.batch_id) if data.batch_id is not None \
        else query.where(Batch.lot == data.lot)
    batch = session.scalar(query)
    if batch is None:
        raise StockError("lot", _("No such batch of this item in this warehouse."))
    return batch


def record(session: Session, data: MovementIn, user_id: int | None) -> list[StockMovement]:
    """One movement as the API and the pages give it (items and warehouses by code)."""
    item = item_by_code(session, data.item)
    warehouse = warehouse_by_code(session, data.warehouse)
    who = Who(user_id, data.activation_id, data.note)
    if data.kind == "receipt":
        assert data.lot is not None
        return [receive(session, item, warehouse, data.lot, data.quantity, who,
                        expires_on=data.expires_on, supplier=data.supplier,
                        document_no=data.document_no, unit_price=data.unit_price)]
    batch = _batch_of(session, item, warehouse, data)
    if data.kind == "issue":
        return [issue(session, batch, data.quantity, who)]
    if data.kind == "transfer":
        assert data.to_warehouse is not None
        to = warehouse_by_code(session, data.to_warehouse, "to_warehouse")
        return list(transfer(session, batch, to, data.quantity, who))
    assert data.reason is not None
    if data.kind == "adjustment":
        delta = data.quantity if data.direction == "in" else -data.quantity
        return [adjust(session, batch, delta, data.reason, who)]
    return [write_off(session, batch, data.quantity, data.reason, who)]


# --- first expired, first out ------------------------------------------------------


@dataclass
class Pick:
    batch: Batch
    quantity: Decimal


@dataclass
class Proposal:
    """Batches to take one line's quantity from, earliest expiry first; ``short`` is what
    the usable stock cannot cover."""

    item: ReserveItem
    wanted: Decimal
    picks: list[Pick] = field(default_factory=list)
    short: Decimal = ZERO


def fefo(session: Session, item: ReserveItem, wanted: Decimal,
         warehouse_id: int | None = None) -> Proposal:
    """Propose batches first-expired-first-out (no expiry last, then oldest receipt);
    expired batches are never proposed."""
    query = select(Batch).where(Batch.item_id == item.id, Batch.quantity > 0)
    query = query.where((Batch.expires_on.is_(None)) | (Batch.expires_on >= today()))
    if warehouse_id is not None:
        query = query.where(Batch.warehouse_id == warehouse_id)
    query = query.order_by(Batch.expires_on.is_(None), Batch.expires_on, Batch.received_at,
                           Batch.id)
    proposal, left = Proposal(item, wanted), wanted
    for batch in session.scalars(query):
        if left <= 0:
            break
        take = min(left, batch.quantity)
        proposal.picks.append(Pick(batch, take))
        left -= take
    proposal.short = max(left, ZERO)
    return proposal


# --- requests ----------------------------------------------------------------------


def create_request(session: Session, data: RequestIn, user_id: int | None) -> ReserveRequest:
    warehouse = warehouse_by_code(session, data.warehouse) if data.warehouse else None
    request = ReserveRequest(
        requester_kind=data.requester_kind, shelter_id=data.shelter_id,
        institution=data.institution.strip(), activation_id=data.activation_id,
        warehouse_id=warehouse.id if warehouse else None, note=data.note.strip(),
        created_by_id=user_id, created_at=clock.now(), state="submitted")
    for index, line in enumerate(data.lines):
        item = item_by_code(session, line.item, f"lines.{index}.item")
        request.lines.append(RequestLine(item_id=item.id, quantity=line.quantity, issued=ZERO))
    session.add(request)
    session.flush()
    return request


def _state(request: ReserveRequest, *allowed: str) -> None:
    if request.state not in allowed:
        raise StockError("state", _("The request is %(state)s: this cannot be done now.",
                                    state=request.state))


def decide(session: Session, request: ReserveRequest, approve: bool, user_id: int | None,
           note: str = "") -> ReserveRequest:
    _state(request, "submitted")
    request.state = "approved" if approve else "rejected"
    request.decided_by_id, request.decided_at = user_id, clock.now()
    request.decision_note = note.strip()
    session.flush()
    return request


def cancel_request(session: Session, request: ReserveRequest) -> ReserveRequest:
    _state(request, "submitted", "approved")
    request.state = "cancelled"
    session.flush()
    return request


def pick_list(session: Session, request: ReserveRequest) -> list[tuple[RequestLine, Proposal]]:
    """Each line's FEFO proposal for what is still to issue."""
    return [(line, fefo(session, line.item, line.quantity - line.issued, request.warehouse_id))
            for line in request.lines]


def issue_request(session: Session, request: ReserveRequest, user_id: int | None,
                  picks: dict[int, list[tuple[int, Decimal]]] | None = None) -> ReserveRequest:
    """Issue an approved request: ``picks`` (line id → [(batch id, quantity)]) as the
    keeper picked them, or the FEFO proposal. All lines or none."""
    _state(request, "approved")
    group = str(uuid.uuid4())
    who = Who(user_id, request.activation_id, f"request {request.id}")
    proposals = dict((line.id, proposal) for line, proposal in pick_list(session, request))
    for line in request.lines:
        chosen = picks.get(line.id) if picks is not None else None
        taken: list[tuple[Batch, Decimal]]
        if chosen is None:
            taken = [(p.batch, p.quantity) for p in proposals[line.id].picks]
        else:
            taken = []
            for batch_id, quantity in chosen:
                batch = session.get(Batch, batch_id)
                if batch is None or batch.item_id != line.item_id:
                    raise StockError(f"line.{line.id}", _("That batch is not of this item."))
                taken.append((batch, quantity))
        total = sum((q for _b, q in taken), ZERO)
        if total != line.quantity - line.issued:
            raise StockError(f"line.{line.id}", _(
                "%(item)s: %(have)s %(unit)s can be picked of the %(want)s requested.",
                item=line.item.name_lv, have=fmt(total), unit=line.item.unit,
                want=fmt(line.quantity - line.issued)))
        for batch, quantity in taken:
            if quantity > 0:
                issue(session, batch, quantity, who, request_id=request.id, group=group)
        line.issued += total
    request.state = "issued"
    request.issued_by_id, request.issued_at = user_id, clock.now()
    session.flush()
    return request


def requests(session: Session, states: Iterable[str] | None = None,
             shelter_id: int | None = None) -> list[ReserveRequest]:
    query = select(ReserveRequest).order_by(ReserveRequest.created_at.desc())
    if states is not None:
        query = query.where(ReserveRequest.state.in_(list(states)))
    if shelter_id is not None:
        query = query.where(ReserveRequest.shelter_id == shelter_id)
    return list(session.scalars(query))


# --- stock-takes -------------------------------------------------------------------


def start_stocktake(session: Session, warehouse: Warehouse, user_id: int | None) -> StockTake:
    """A count sheet of every batch in the warehouse, with its balance now."""
    open_one = session.scalar(select(StockTake.id).where(
        StockTake.warehouse_id == warehouse.id, StockTake.state.in_(("counting", "submitted"))))
    if open_one is not None:
        raise StockError("warehouse", _("A stock-take of this warehouse is under way."))
    take = StockTake(warehouse_id=warehouse.id, state="counting", created_by_id=user_id,
                     created_at=clock.now())
    for batch in session.scalars(select(Batch).where(
            Batch.warehouse_id == warehouse.id, Batch.quantity > 0).order_by(Batch.id)):
        take.lines.append(StockTakeLine(batch_id=batch.id, expected=batch.quantity))
    session.add(take)
    session.flush()
    return take


def count(session: Session, take: StockTake, line_id: int, counted: Decimal) -> StockTakeLine:
    if take.state != "counting":
        raise StockError("state", _("This stock-take is no longer being counted."))
    line = next((line for line in take.lines if line.id == line_id), None)
    if line is None:
        raise StockError("line", _("No such line on this count sheet."))
    line.counted = counted
    session.flush()
    return line


def submit_stocktake(session: Session, take: StockTake) -> StockTake:
    if take.state != "counting":
        raise StockError("state", _("This stock-take is no longer being counted."))
    missing = [line for line in take.lines if line.counted is None]
    if missing:
        raise StockError("counted", _("%(n)s lines are not counted yet.", n=len(missing)))
    take.state, take.submitted_at = "submitted", clock.now()
    session.flush()
    return take


def variances(take: StockTake) -> list[tuple[StockTakeLine, Decimal]]:
    return [(line, line.counted - line.expected) for line in take.lines
            if line.counted is not None and line.counted != line.expected]


def approve_stocktake(session: Session, take: StockTake, user_id: int | None) -> StockTake:
    """Each variance becomes an adjustment (reason "stocktake"), all at once."""
    if take.state != "submitted":
        raise StockError("state", _("Only a submitted stock-take can be approved."))
    who = Who(user_id, None, f"stock-take {take.id}")
    for line, delta in variances(take):
        adjust(session, line.batch, delta, "stocktake", who, stocktake_id=take.id)
    take.state, take.decided_by_id, take.decided_at = "approved", user_id, clock.now()
    session.flush()
    return take


# --- watching ----------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    item: ReserveItem
    warehouse: Warehouse
    quantity: Decimal
    minimum: Decimal


def replenishment(session: Session) -> list[Level]:
    """Items below their minimum in a warehouse (usable stock: expired batches do not
    count)."""
    usable = (Batch.expires_on.is_(None)) | (Batch.expires_on >= today())
    on_hand = (select(Batch.item_id, Batch.warehouse_id,
                      func.sum(Batch.quantity).label("quantity"))
               .where(usable).group_by(Batch.item_id, Batch.warehouse_id).subquery())
    rows = session.execute(
        select(ReserveItem, Warehouse, MinimumLevel.minimum, on_hand.c.quantity)
        .join(ReserveItem, ReserveItem.id == MinimumLevel.item_id)
        .join(Warehouse, Warehouse.id == MinimumLevel.warehouse_id)
        .outerjoin(on_hand, (on_hand.c.item_id == MinimumLevel.item_id)
                   & (on_hand.c.warehouse_id == MinimumLevel.warehouse_id))
        .order_by(ReserveItem.code, Warehouse.code)).all()
    found = []
    for item, warehouse, minimum, quantity in rows:
        have = _decimal(quantity)
        if have < minimum:
            found.append(Level(item, warehouse, have, minimum))
    return found


def _decimal(value: Any) -> Decimal:
    """A SUM of an exact column: SQLite hands back the scaled integer."""
    if value is None:
        return ZERO
    if isinstance(value, int):
        return Decimal(value).scaleb(-3)
    return Decimal(value)


def expiring(session: Session, within_days: int) -> list[Batch]:
    """Batches with stock that expire within ``within_days`` (expired ones too)."""
    return list(session.scalars(
        select(Batch).where(Batch.quantity > 0, Batch.expires_on.is_not(None),
                            Batch.expires_on <= today() + timedelta(days=within_days))
        .order_by(Batch.expires_on, Batch.id)))


# --- stock on hand and autonomy ----------------------------------------------------


class StockRow(NamedTuple):
    item: str
    warehouse: str
    owner: str
    quantity: Decimal
    unit: str
    earliest_expiry: date | None


def stock(session: Session, *, warehouse_id: int | None = None, owner: str | None = None,
          item_id: int | None = None) -> list[StockRow]:
    """Stock on hand per item and warehouse, with the earliest expiry, by item and
    warehouse code: the balance rows the movements keep (no batch is summed). The rows
    are read bare, in key order, and named from the catalogue in Python, so a region's
    20 000 rows stay a fast answer."""
    items = {row.id: row for row in session.execute(
        select(ReserveItem.id, ReserveItem.code, ReserveItem.owner, ReserveItem.unit)
        .order_by(ReserveItem.code))}
    places = {key: code for key, code in session.execute(
        select(Warehouse.id, Warehouse.code).order_by(Warehouse.code))}
    # Ranks by code: the rows are put in code order by one integer each.
    item_rank = {key: rank for rank, key in enumerate(items)}
    place_rank = {key: rank for rank, key in enumerate(places)}
    query = select(StockLevel.item_id, StockLevel.warehouse_id, StockLevel.quantity,
                   StockLevel.earliest_expiry).where(StockLevel.quantity > 0)
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == warehouse_id)
    if item_id is not None:
        query = query.where(StockLevel.item_id == item_id)
    if owner is not None:
        query = query.where(StockLevel.item_id.in_(
            [key for key, row in items.items() if row.owner == owner]))
    rows = session.connection().execute(query).all()
    width = len(place_rank) + 1
    rows.sort(key=lambda row: item_rank[row[0]] * width + place_rank[row[1]])
    found = []
    for item_key, place_key, quantity, earliest in rows:
        item = items[item_key]
        found.append(StockRow(item.code, places[place_key], item.owner, quantity, item.unit,
                              earliest))
    return found


def rebuild_levels(connection: Any) -> None:
    """Write every balance row anew from the batches (after a bulk load that wrote
    batches directly, as the bench does)."""
    connection.execute(delete(StockLevel))
    connection.execute(insert(StockLevel).from_select(
        ["item_id", "warehouse_id", "quantity", "earliest_expiry"],
        select(Batch.item_id, Batch.warehouse_id, func.sum(Batch.quantity),
               func.min(case((Batch.quantity > 0, Batch.expires_on))))
        .group_by(Batch.item_id, Batch.warehouse_id)))


def levels_by_batches(session: Session) -> dict[tuple[int, int], tuple[Decimal, date | None]]:
    """(item id, warehouse id) → (Σ batches, earliest expiry of those holding stock):
    what the balance rows must say."""
    found: dict[tuple[int, int], tuple[Decimal, date | None]] = {}
    for item_id, warehouse_id, quantity, expires_on in session.execute(
            select(Batch.item_id, Batch.warehouse_id, Batch.quantity, Batch.expires_on)):
        total, earliest = found.get((item_id, warehouse_id), (ZERO, None))
        if quantity > 0 and expires_on is not None:
            earliest = min(earliest, expires_on) if earliest else expires_on
        found[(item_id, warehouse_id)] = (total + quantity, earliest)
    return found


@dataclass(frozen=True)
class ItemAutonomy:
    item: str
    name: str
    quantity: Decimal
    unit: str
    per_day: Decimal
    days: Decimal


@dataclass(frozen=True)
class Autonomy:
    people: int
    days: Decimal | None
    limiting_item: str | None
    items: list[ItemAutonomy]


DAYS_PLACES = Decimal("0.1")


def autonomy(session: Session, people: int, *, owner: str | None = None,
             language: str = "lv") -> Autonomy:
    """How many days each item with a norm lasts ``people`` from the usable stock
    (expired batches do not count), and which runs out first. Days are rounded down
    to a tenth: a reserve is never reported longer than it lasts."""
    if people < 1:
        raise StockError("people", _("Give a number of people of at least 1."))
    usable = (Batch.expires_on.is_(None)) | (Batch.expires_on >= today())
    query = (select(ReserveItem, func.sum(Batch.quantity))
             .outerjoin(Batch, (Batch.item_id == ReserveItem.id) & usable)
             .where(ReserveItem.norm_per_person_day.is_not(None), ReserveItem.active.is_(True))
             .group_by(ReserveItem.id).order_by(ReserveItem.code))
    if owner is not None:
        query = query.where(ReserveItem.owner == owner)
    found = []
    for item, total in session.execute(query):
        quantity = _decimal(total)
        per_day = item.norm_per_person_day * people
        days = (quantity / per_day).quantize(DAYS_PLACES, rounding=ROUND_FLOOR)
        found.append(ItemAutonomy(item.code, item.name(language), quantity, item.unit,
                                  per_day, days))
    if not found:
        return Autonomy(people, None, None, [])
    limiting = min(found, key=lambda row: (row.days, row.item))
    return Autonomy(people, limiting.days, limiting.item,
                    sorted(found, key=lambda row: (row.days, row.item)))


def sheltered_people(session: Session) -> int:
    """People in open shelters of real emergencies now (the shelters' own count)."""
    from sargs.shelters import service as shelters

    return sum(row["occupancy"] for row in shelters.public_shelters(session) if row["open"])


# --- the stock card ----------------------------------------------------------------


@dataclass(frozen=True)
class CardLine:
    movement: StockMovement
    batch: Batch
    balance: Decimal  # of the item in all warehouses after this movement


def stock_card(session: Session, item: ReserveItem, limit: int = 1000) -> list[CardLine]:
    """The item's movements, newest first, each with the item's balance after it."""
    rows = session.execute(
        select(StockMovement, Batch).join(Batch, Batch.id == StockMovement.batch_id)
        .where(StockMovement.item_id == item.id).order_by(StockMovement.id)).all()
    balance, lines = ZERO, []
    for movement, batch in rows:
        balance += movement.quantity
        lines.append(CardLine(movement, batch, balance))
    return list(reversed(lines))[:limit]


def balance_by_movements(session: Session) -> dict[int, Decimal]:
    """Each batch's Σ movements (the property the balances must keep)."""
    sums: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for batch_id, quantity in session.execute(
            select(StockMovement.batch_id, StockMovement.quantity)):
        sums[batch_id] += quantity
    return dict(sums)


# --- requests and watch ------------------------------------------------------------


def pickable(session: Session, item: ReserveItem, warehouse_id: int | None = None
             ) -> list[Batch]:
    """Every batch a keeper may pick of ``item``, first expired first: FEFO's proposal of
    all there is (so expired batches are never offered, as :func:`fefo` decides)."""
    everything = Decimal("1e12")
    return [pick.batch for pick in fefo(session, item, everything, warehouse_id).picks]


def issued_from(session: Session, request: ReserveRequest) -> list[tuple[StockMovement, Batch]]:
    """What left which batch for ``request`` (its issue movements, oldest first)."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(StockMovement, Batch).join(Batch, Batch.id == StockMovement.batch_id)
        .where(StockMovement.request_id == request.id, StockMovement.kind == "issue")
        .order_by(StockMovement.id))]


def stocktakes(session: Session, warehouse_id: int | None = None) -> list[StockTake]:
    query = select(StockTake).order_by(StockTake.created_at.desc(), StockTake.id.desc())
    if warehouse_id is not None:
        query = query.where(StockTake.warehouse_id == warehouse_id)
    return list(session.scalars(query))


def cancel_stocktake(session: Session, take: StockTake, user_id: int | None) -> StockTake:
    """Abandon a count (nothing is adjusted); the warehouse can be counted afresh."""
    if take.state not in ("counting", "submitted"):
        raise StockError("state", _("This stock-take is already closed."))
    take.state, take.decided_by_id, take.decided_at = "cancelled", user_id, clock.now()
    session.flush()
    return take


def approve_counted(session: Session, take: StockTake, user_id: int | None) -> StockTake:
    """Approve a stock-take's variances as a second person: whoever started the count
    (and so counted or led the counting) cannot approve the adjustments it makes."""
    if user_id is None or user_id == take.created_by_id:
        raise StockError("approver", _(
            "The variances must be approved by someone other than who counted."))
    return approve_stocktake(session, take, user_id)


@dataclass(frozen=True)
class Watch:
    """The day's watch list: batches with stock by expiry, and items below minimum."""

    day: date
    expired: list[Batch]
    within_30: list[Batch]  # not expired, expiring within 30 days
    within_90: list[Batch]  # not expired, expiring within 90 days (the 30-day ones too)
    below_minimum: list[Level]

    @property
    def empty(self) -> bool:
        return not (self.expired or self.within_90 or self.below_minimum)


def watch(session: Session) -> Watch:
    day = today()
    batches = expiring(session, SOON_DAYS[1])
    usable = [b for b in batches if not expired(b, day)]
    soon = day + timedelta(days=SOON_DAYS[0])
    return Watch(day, [b for b in batches if expired(b, day)],
                 [b for b in usable if b.expires_on is not None and b.expires_on <= soon],
                 usable, replenishment(session))


# --- interfaces ---------------------------------------------------------------------
# What the staff API and the `sargs reserves` command share: the stock rows and the
# autonomy as JSON, and the number of people when none is given.


def stock_json(row: StockRow, *, owner: bool = True) -> dict[str, Any]:
    """One stock row as the API gives it (quantity as exact text); the CLI's ``--json``
    leaves the owner out (the issue's shape)."""
    found: dict[str, Any] = {"item": row.item, "warehouse": row.warehouse}
    if owner:
        found["owner"] = row.owner
    found.update(quantity=fmt(row.quantity), unit=row.unit,
                 earliest_expiry=row.earliest_expiry.isoformat() if row.earliest_expiry
                 else None)
    return found


def autonomy_for(session: Session, people: int | None, *, owner: str | None = None,
                 language: str = "lv") -> Autonomy:
    """:func:`autonomy` for ``people``, or for the people in open shelters now when no
    number is given (refused, naming ``people``, when no one is sheltered)."""
    if people is None:
        people = sheltered_people(session)
        if people < 1:
            raise StockError("people", _(
                "No one is in an open shelter now: give the number of people."))
    return autonomy(session, people, owner=owner, language=language)


def _days(value: Decimal | None) -> float | None:
    # Already rounded down to a tenth: the float only carries that one decimal to JSON.
    return None if value is None else float(value)


def autonomy_json(result: Autonomy) -> dict[str, Any]:
    """``{"people", "days", "limiting_item", "items": [{"item", "days", …}]}`` — days as
    JSON numbers with one decimal, rounded down; ``null`` when no item has a norm."""
    return {"people": result.people, "days": _days(result.days),
            "limiting_item": result.limiting_item,
            "items": [{"item": row.item, "days": _days(row.days), "name": row.name,
                       "quantity": fmt(row.quantity), "unit": row.unit,
                       "per_day": fmt(row.per_day)} for row in result.items]}


# --- pages and reports ---------------------------------------------------------------
# What the warehouse pages and their CSV / XLSX files read beyond the rules above: a
# warehouse's edit, an item's minimums and batches, stock totals per item, who moved.


def update_warehouse(session: Session, warehouse: Warehouse, data: WarehouseIn) -> Warehouse:
    taken = session.scalar(select(Warehouse.id).where(Warehouse.code == data.code,
                                                      Warehouse.id != warehouse.id))
    if taken:
        raise StockError("code", _("A warehouse with this code exists."))
    for key, value in data.model_dump().items():
        setattr(warehouse, key, value)
    session.flush()
    return warehouse


def minimums(session: Session, item: ReserveItem) -> dict[int, Decimal]:
    """The item's minimum level per warehouse id."""
    return {warehouse_id: minimum for warehouse_id, minimum in session.execute(
        select(MinimumLevel.warehouse_id, MinimumLevel.minimum)
        .where(MinimumLevel.item_id == item.id))}


def batches_of(session: Session, item_id: int, warehouse_id: int | None = None
               ) -> list[Batch]:
    """An item's batches with stock, in the order they should go out (first expired
    first, no expiry last), for the batch picker and the item's page."""
    query = select(Batch).where(Batch.item_id == item_id, Batch.quantity > 0)
    if warehouse_id is not None:
        query = query.where(Batch.warehouse_id == warehouse_id)
    return list(session.scalars(query.order_by(
        Batch.expires_on.is_(None), Batch.expires_on, Batch.received_at, Batch.id)))


@dataclass(frozen=True)
class ItemTotal:
    """One item's stock on hand in all the warehouses of the rows it was summed from."""

    item: str
    owner: str
    quantity: Decimal
    unit: str
    earliest_expiry: date | None
    warehouses: int


def totals_by_item(rows: Iterable[StockRow]) -> list[ItemTotal]:
    """Sum :func:`stock` rows per item (in the rows' order of items)."""
    grouped: dict[str, list[StockRow]] = {}
    for row in rows:
        grouped.setdefault(row.item, []).append(row)
    totals = []
    for code, group in grouped.items():
        expiries = [row.earliest_expiry for row in group if row.earliest_expiry is not None]
        totals.append(ItemTotal(code, group[0].owner, sum((r.quantity for r in group), ZERO),
                                group[0].unit, min(expiries, default=None), len(group)))
    return totals


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the people who moved stock (the stock card's "who")."""
    from sargs.auth.models import User

    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return {}
    return {user_id: name for user_id, name in session.execute(
        select(User.id, User.display_name).where(User.id.in_(wanted)))}


def recent_movements(session: Session, limit: int = 20) -> list[tuple[StockMovement, Batch]]:
    """The latest movements of any item, newest first."""
    return [(movement, batch) for movement, batch in session.execute(
        select(StockMovement, Batch).join(Batch, Batch.id == StockMovement.batch_id)
        .order_by(StockMovement.id.desc()).limit(limit))]
