"""The material reserves' staff API, for integrations with a bearer token of the scope
``reserves`` (``sargs token create NAME --scope reserves``).

``POST /api/v1/reserves/items`` (``ItemIn``) and ``POST /api/v1/reserves/warehouses``
(``WarehouseIn``) answer 201 with what was stored. ``POST /api/v1/reserves/movements``
(``MovementIn``: kind receipt / issue / transfer / adjustment / write_off, item and
warehouse by code, the batch by lot or ``batch_id``, quantity as exact text, expiry for
receipts) answers 201 ``{"movements": […], "batch_id", "balance"}`` — a transfer's two
legs, each with its batch's balance after it; ``balance`` is the named batch's. Refused
(negative stock, an expired batch, an unknown item, warehouse or lot): 422
``{"errors": [{"field", "message"}]}`` with the reason, and nothing is stored.

``GET /api/v1/reserves/stock`` — stock on hand per item and warehouse (``item``,
``warehouse``, ``owner``, ``quantity`` as exact text, ``unit``, ``earliest_expiry``),
filtered by ``warehouse``, ``owner`` and ``item`` (codes).

``GET /api/v1/reserves/autonomy?people=N`` — ``{"people", "days", "limiting_item",
"items": [{"item", "days", …}]}``: how many days each item with a per-person norm lasts N
people, shortest first. Days are JSON numbers rounded DOWN to a tenth (3.39 days → 3.3),
so a reserve is never reported longer than it lasts; ``null`` when no item has a norm.
Without ``people``, the people in open shelters now. It needs the same token (the
commission's dashboard and tools read it as an integration; signed-in staff see the
autonomy page).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError

from sargs.auth.access import api_scopes
from sargs.context import db_session
from sargs.extensions import csrf
from sargs.reserves import service
from sargs.reserves.models import OWNERS, Batch, ReserveItem, StockMovement, Warehouse
from sargs.reserves.schemas import ItemIn, MovementIn, WarehouseIn
from sargs.web.forms import InputError, blank_to_none, json_body, validate

bp = Blueprint("reserves_api", __name__, template_folder="templates",
               url_prefix="/api/v1/reserves")
csrf.exempt(bp)

SCOPE = "reserves"
MAX_PEOPLE = 10_000_000


class StockQuery(BaseModel):
    warehouse: str | None = Field(None, max_length=32)
    owner: Literal[OWNERS] | None = None  # type: ignore[valid-type]
    item: str | None = Field(None, max_length=32)

    @field_validator("warehouse", "owner", "item", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class AutonomyQuery(BaseModel):
    people: int | None = Field(None, ge=1, le=MAX_PEOPLE)
    owner: Literal[OWNERS] | None = None  # type: ignore[valid-type]
    lang: Literal["lv", "en"] = "lv"

    @field_validator("people", "owner", "lang", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


def _refused(error: service.StockError) -> Any:
    db_session().rollback()
    return InputError({error.field: error.message}).as_response(422)


def _args(schema: type[Any], names: tuple[str, ...]) -> Any:
    return validate(schema, {k: v for k, v in request.args.items() if k in names})


def _quantity(value: Decimal | None) -> str | None:
    return None if value is None else service.fmt(value)


def item_json(item: ReserveItem) -> dict[str, Any]:
    return {"id": item.id, "code": item.code, "name_lv": item.name_lv,
            "name_en": item.name_en, "category": item.category, "unit": item.unit,
            "shelf_life_days": item.shelf_life_days, "owner": item.owner,
            "norm_per_person_day": _quantity(item.norm_per_person_day),
            "active": item.active}


def warehouse_json(warehouse: Warehouse) -> dict[str, Any]:
    return {"id": warehouse.id, "code": warehouse.code, "name": warehouse.name,
            "address": warehouse.address, "lat": warehouse.lat, "lon": warehouse.lon,
            "active": warehouse.active}


def movement_json(movement: StockMovement, batch: Batch) -> dict[str, Any]:
    return {"id": movement.id, "kind": movement.kind, "item": batch.item.code,
            "warehouse": batch.warehouse.code, "lot": batch.lot, "batch_id": batch.id,
            "quantity": service.fmt(movement.quantity), "reason": movement.reason,
            "group": movement.group, "created_at": movement.created_at.isoformat(),
            "balance": service.fmt(batch.quantity)}


def _create(schema: type[Any], make: Any, as_json: Any) -> Any:
    sess = db_session()
    try:
        created = make(sess, json_body(schema))
        sess.commit()
    except InputError as exc:
        return exc.as_response(422)
    except service.StockError as exc:
        return _refused(exc)
    except IntegrityError:  # the same code stored at the same moment by another request
        sess.rollback()
        return InputError({"code": _("This code is taken.")}).as_response(422)
    return jsonify(as_json(created)), 201


@bp.route("/items", methods=["POST"])
@api_scopes(SCOPE)
def create_item() -> Any:
    return _create(ItemIn, service.create_item, item_json)


@bp.route("/warehouses", methods=["POST"])
@api_scopes(SCOPE)
def create_warehouse() -> Any:
    return _create(WarehouseIn, service.create_warehouse, warehouse_json)


@bp.route("/movements", methods=["POST"])
@api_scopes(SCOPE)
def create_movement() -> Any:
    sess = db_session()
    try:
        data = json_body(MovementIn)
        movements = service.record(sess, data, None)
    except InputError as exc:
        return exc.as_response(422)
    except service.StockError as exc:
        return _refused(exc)
    rows = [movement_json(m, sess.get_one(Batch, m.batch_id)) for m in movements]
    sess.commit()
    return jsonify({"movements": rows, "batch_id": rows[0]["batch_id"],
                    "balance": rows[0]["balance"]}), 201


@bp.route("/stock")
@api_scopes(SCOPE)
def stock() -> Any:
    sess = db_session()
    try:
        query = _args(StockQuery, ("warehouse", "owner", "item"))
        warehouse = service.warehouse_by_code(sess, query.warehouse) if query.warehouse \
            else None
        item = service.item_by_code(sess, query.item) if query.item else None
    except InputError as exc:
        return exc.as_response(422)
    except service.StockError as exc:
        return _refused(exc)
    rows = service.stock(sess, warehouse_id=warehouse.id if warehouse else None,
                         owner=query.owner, item_id=item.id if item else None)
    return jsonify([service.stock_json(row) for row in rows])


@bp.route("/autonomy")
@api_scopes(SCOPE)
def autonomy() -> Any:
    sess = db_session()
    try:
        query = _args(AutonomyQuery, ("people", "owner", "lang"))
        result = service.autonomy_for(sess, query.people, owner=query.owner,
                                      language=query.lang)
    except InputError as exc:
        return exc.as_response(422)
    except service.StockError as exc:
        return _refused(exc)
    return jsonify(service.autonomy_json(result))
