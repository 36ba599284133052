"""Input of the material reserves: an item, a warehouse, a movement, a request and a
count. Quantities are exact decimals (at most three places), never floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator, model_validator

from sargs.reserves.models import (
    ADJUSTMENT_REASONS,
    CATEGORIES,
    OWNERS,
    UNITS,
    WRITE_OFF_REASONS,
)
from sargs.web.forms import FieldError, blank_to_none

CODE = r"^[A-Za-z0-9_.-]+$"
MAX_QUANTITY = Decimal("1000000000")


def exact(value: object) -> object:
    """A quantity as typed ("2,5" too) → Decimal; floats are refused as inexact."""
    if isinstance(value, str):
        value = value.strip().replace(" ", "").replace(",", ".")
        return value or None
    if isinstance(value, float):
        return Decimal(str(value))  # JSON numbers arrive as floats: take what was written
    return value


def places(value: Decimal | None, digits: int = 3) -> Decimal | None:
    if value is not None and value != value.quantize(Decimal(1).scaleb(-digits)):
        raise ValueError(_("At most %(n)s decimal places.", n=digits))
    return value


class ItemIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=CODE)
    name_lv: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    unit: Literal[UNITS]  # type: ignore[valid-type]
    shelf_life_days: int | None = Field(None, ge=1, le=36500)
    owner: Literal[OWNERS] = "municipal"  # type: ignore[valid-type]
    norm_per_person_day: Decimal | None = Field(None, gt=0, le=1000)

    @field_validator("shelf_life_days", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("norm_per_person_day", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return exact(value)

    @field_validator("norm_per_person_day")
    @classmethod
    def _places(cls, value: Decimal | None) -> Decimal | None:
        return places(value)


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field("", max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class QuantityIn(BaseModel):
    quantity: Decimal = Field(gt=0, le=MAX_QUANTITY)

    @field_validator("quantity", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return exact(value)

    @field_validator("quantity")
    @classmethod
    def _places(cls, value: Decimal) -> Decimal:
        return places(value)  # type: ignore[return-value]


class MovementIn(QuantityIn):
    """A movement as the staff API and the warehouse pages give it. Items, warehouses
    and batches are named by code and lot, so an integration needs no ids."""

    kind: Literal["receipt", "issue", "transfer", "adjustment", "write_off"]
    item: str = Field(min_length=1, max_length=32)
    warehouse: str = Field(min_length=1, max_length=32)
    lot: str | None = Field(None, max_length=64)
    batch_id: int | None = None
    to_warehouse: str | None = Field(None, max_length=32)  # transfer
    expires_on: date | None = None  # receipt
    supplier: str = Field("", max_length=200)
    document_no: str = Field("", max_length=64)
    unit_price: Decimal | None = Field(None, ge=0, le=MAX_QUANTITY)
    direction: Literal["in", "out"] = "in"  # adjustment: found more, or less
    reason: str | None = Field(None, max_length=24)
    activation_id: int | None = None
    note: str = Field("", max_length=500)

    @field_validator("lot", "batch_id", "to_warehouse", "expires_on", "reason",
                     "activation_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("unit_price", mode="before")
    @classmethod
    def _price(cls, value: object) -> object:
        return blank_to_none(exact(value))

    @field_validator("unit_price")
    @classmethod
    def _price_places(cls, value: Decimal | None) -> Decimal | None:
        return places(value, 4)

    @model_validator(mode="after")
    def _by_kind(self) -> MovementIn:
        if self.kind == "receipt" and not self.lot:
            raise FieldError("lot", _("A receipt needs the lot (batch) number."))
        if self.kind != "receipt" and not self.lot and self.batch_id is None:
            raise FieldError("lot", _("Name the batch: its lot number."))
        if self.kind == "transfer" and not self.to_warehouse:
            raise FieldError("to_warehouse", _("A transfer needs the warehouse it goes to."))
        if self.kind == "transfer" and self.to_warehouse == self.warehouse:
            raise FieldError("to_warehouse", _("A transfer goes to another warehouse."))
        if self.kind == "adjustment" and self.reason not in ADJUSTMENT_REASONS:
            raise FieldError("reason", _("Choose the reason: %(choices)s.",
                                         choices=", ".join(ADJUSTMENT_REASONS)))
        if self.kind == "write_off" and self.reason not in WRITE_OFF_REASONS:
            raise FieldError("reason", _("Choose the reason: %(choices)s.",
                                         choices=", ".join(WRITE_OFF_REASONS)))
        return self


class MinimumIn(BaseModel):
    minimum: Decimal = Field(ge=0, le=MAX_QUANTITY)

    @field_validator("minimum", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return exact(value)


class RequestLineIn(QuantityIn):
    item: str = Field(min_length=1, max_length=32)  # item code


class RequestIn(BaseModel):
    requester_kind: Literal["shelter", "institution", "commission"]
    shelter_id: int | None = None
    institution: str = Field("", max_length=200)
    activation_id: int | None = None
    warehouse: str | None = Field(None, max_length=32)  # where to issue from; None: any
    note: str = Field("", max_length=2000)
    lines: list[RequestLineIn] = Field(min_length=1, max_length=100)

    @field_validator("shelter_id", "activation_id", "warehouse", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @model_validator(mode="after")
    def _who(self) -> RequestIn:
        if self.requester_kind == "shelter" and self.shelter_id is None:
            raise FieldError("shelter_id", _("Choose the shelter."))
        if self.requester_kind == "institution" and not self.institution.strip():
            raise FieldError("institution", _("Name the institution."))
        if self.requester_kind == "commission" and self.activation_id is None:
            raise FieldError("activation_id", _(
                "A request of the commission belongs to an activation."))
        return self


class CountIn(BaseModel):
    counted: Decimal = Field(ge=0, le=MAX_QUANTITY)

    @field_validator("counted", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return exact(value)

    @field_validator("counted")
    @classmethod
    def _places(cls, value: Decimal) -> Decimal:
        return places(value)  # type: ignore[return-value]
