"""Material reserves: the catalogue, warehouses, batches and their balances, the
append-only movements that are the truth of every balance, minimum levels, requests
with their lines, and stock-takes with their count sheets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sargs.db import Base, ExactDecimal

CATEGORIES = ("water", "food", "hygiene", "medical", "energy", "shelter_equipment",
              "flood_protection", "tools")
UNITS = ("pcs", "l", "kg", "m", "m2", "m3", "pack", "box", "pair", "set")
OWNERS = ("municipal", "state")  # accounted separately
# receipt (+), issue (−), transfer_out (−) and transfer_in (+) in pairs, adjustment (±),
# write_off (−).
MOVEMENT_KINDS = ("receipt", "issue", "transfer_out", "transfer_in", "adjustment", "write_off")
ADJUSTMENT_REASONS = ("stocktake", "found", "counting_error", "unit_correction", "other")
WRITE_OFF_REASONS = ("expired", "damaged", "lost")
REQUESTER_KINDS = ("shelter", "institution", "commission")
# submitted → approved → issued; or rejected / cancelled.
REQUEST_STATES = ("submitted", "approved", "rejected", "issued", "cancelled")
# counting → submitted → approved (variances become adjustments) / cancelled.
STOCKTAKE_STATES = ("counting", "submitted", "approved", "cancelled")


def quantity() -> Mapped[Decimal]:
    return mapped_column(ExactDecimal(18, 3))


class ReserveItem(Base):
    """One kind of thing kept in reserve."""

    __tablename__ = "reserve_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_lv: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(24))
    unit: Mapped[str] = mapped_column(String(8))
    shelf_life_days: Mapped[int | None]
    owner: Mapped[str] = mapped_column(String(16), default="municipal")
    # How much one person needs a day (e.g. 3 l of drinking water), where a norm applies.
    norm_per_person_day: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 3))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_lv


class Warehouse(Base):
    __tablename__ = "reserve_warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Batch(Base):
    """A lot of one item in one warehouse. ``quantity`` is its balance, changed only in
    the transaction that writes the movement (``… WHERE quantity >= :n``)."""

    __tablename__ = "reserve_batch"
    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id", "lot"),
        Index("ix_reserve_batch_item_warehouse", "item_id", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("reserve_warehouse.id"), index=True)
    lot: Mapped[str] = mapped_column(String(64))
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    supplier: Mapped[str] = mapped_column(String(200), default="")
    document_no: Mapped[str] = mapped_column(String(64), default="")
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 4))
    quantity: Mapped[Decimal] = quantity()
    received_at: Mapped[datetime]

    item: Mapped[ReserveItem] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(lazy="joined")


class StockLevel(Base):
    """An item's balance in a warehouse (the sum of its batches there) and the earliest
    expiry among the batches that hold stock: kept by the statement that moves a batch,
    so stock on hand is read without summing every batch."""

    __tablename__ = "reserve_stock"

    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("reserve_warehouse.id"),
                                              primary_key=True, index=True)
    quantity: Mapped[Decimal] = quantity()
    earliest_expiry: Mapped[date | None] = mapped_column(Date)


class StockMovement(Base):
    """One change of one batch's balance; append-only (the database refuses UPDATE and
    DELETE). ``quantity`` is signed: + in, − out."""

    __tablename__ = "reserve_movement"
    __table_args__ = (Index("ix_reserve_movement_batch_id_id", "batch_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int] = mapped_column(ForeignKey("reserve_batch.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"), index=True)
    quantity: Mapped[Decimal] = quantity()
    reason: Mapped[str | None] = mapped_column(String(24))
    # The two legs of a transfer share a group; so do the lines of one issue.
    group: Mapped[str | None] = mapped_column(String(36), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_request.id"))
    stocktake_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_stocktake.id"))
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)


class MinimumLevel(Base):
    """Below this much of an item in a warehouse, it goes on the replenishment list."""

    __tablename__ = "reserve_minimum"

    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("reserve_warehouse.id"),
                                              primary_key=True)
    minimum: Mapped[Decimal] = quantity()


class ReserveRequest(Base):
    """A request for reserves from a shelter, an institution or the commission."""

    __tablename__ = "reserve_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_kind: Mapped[str] = mapped_column(String(16))
    shelter_id: Mapped[int | None] = mapped_column(ForeignKey("shelter.id"), index=True)
    institution: Mapped[str] = mapped_column(String(200), default="")
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activation.id"), index=True)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_warehouse.id"))
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime | None]

    lines: Mapped[list[RequestLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", lazy="selectin",
        order_by="RequestLine.id")


class RequestLine(Base):
    __tablename__ = "reserve_request_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("reserve_request.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"))
    quantity: Mapped[Decimal] = quantity()
    issued: Mapped[Decimal] = mapped_column(ExactDecimal(18, 3), default=Decimal(0))

    request: Mapped[ReserveRequest] = relationship(back_populates="lines")
    item: Mapped[ReserveItem] = relationship(lazy="joined")


class StockTake(Base):
    """A count of one warehouse: the sheet lists each batch's balance when counting
    began; approved variances become adjustments."""

    __tablename__ = "reserve_stocktake"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("reserve_warehouse.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="counting")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]

    lines: Mapped[list[StockTakeLine]] = relationship(
        back_populates="stocktake", cascade="all, delete-orphan", lazy="selectin",
        order_by="StockTakeLine.id")


class StockTakeLine(Base):
    __tablename__ = "reserve_stocktake_line"
    __table_args__ = (UniqueConstraint("stocktake_id", "batch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(
        ForeignKey("reserve_stocktake.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("reserve_batch.id"))
    expected: Mapped[Decimal] = quantity()
    counted: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 3))

    stocktake: Mapped[StockTake] = relationship(back_populates="lines")
    batch: Mapped[Batch] = relationship(lazy="joined")


class ExpiryDigest(Base):
    """The day's expiry list was sent to the warehouse keepers (once a day)."""

    __tablename__ = "reserve_expiry_digest"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime]
