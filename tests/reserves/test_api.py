"""The reserves' staff API with a token of scope "reserves": items, warehouses and
movements stored (201) or refused with the field and the reason (422, nothing stored),
stock on hand and autonomy as JSON."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.auth.service import create_token
from sargs.reserves import service
from sargs.reserves.models import Batch, StockMovement
from sargs.reserves.service import Who
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn

D = Decimal
API = "/api/v1/reserves"


@pytest.fixture
def bearer(db: Any) -> Any:
    def make(*scopes: str) -> dict[str, str]:
        _token, plaintext = create_token(db, "warehouse-system", list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


@pytest.fixture
def auth(bearer: Any) -> dict[str, str]:
    return bearer("reserves")


def _errors(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.get_data(as_text=True)
    return {e["field"]: e["message"] for e in answer.get_json()["errors"]}


def _movements(db: Any) -> int:
    found = db.scalar(select(func.count()).select_from(StockMovement))
    db.rollback()  # SQLite: no write lock kept from the requests that follow
    return found


def test_without_the_scope_nothing_opens(client: Any, bearer: Any, stockroom: Any) -> None:
    other = bearer("shelters")
    calls = (("get", "/stock"), ("get", "/autonomy?people=10"), ("post", "/items"),
             ("post", "/warehouses"), ("post", "/movements"))
    for method, path in calls:
        assert getattr(client, method)(API + path).status_code == 401
        assert getattr(client, method)(API + path, headers=other).status_code == 403


def test_an_item_and_a_warehouse_are_created(client: Any, db: Any, auth: Any) -> None:
    answer = client.post(f"{API}/items", headers=auth, json={
        "code": "H-SOAP", "name_lv": "Ziepes", "name_en": "Soap", "category": "hygiene",
        "unit": "pcs", "norm_per_person_day": "0,2", "owner": "state"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    item = answer.get_json()
    assert (item["code"], item["owner"], item["norm_per_person_day"]) == ("H-SOAP", "state",
                                                                          "0.2")
    answer = client.post(f"{API}/warehouses", headers=auth, json={
        "code": "JELG-1", "name": "Jelgavas noliktava", "lat": 56.65, "lon": 23.72})
    assert answer.status_code == 201
    assert answer.get_json()["code"] == "JELG-1"
    assert service.item_by_code(db, "H-SOAP").name("en") == "Soap"
    db.rollback()
    again = client.post(f"{API}/items", headers=auth, json={
        "code": "H-SOAP", "name_lv": "Ziepes", "category": "hygiene", "unit": "pcs"})
    assert "jau ir" in _errors(again)["code"]  # "Prece ar šādu kodu jau ir."
    assert set(_errors(client.post(f"{API}/items", headers=auth, json={
        "code": "X", "name_lv": "", "category": "toys", "unit": "pcs"}))) == {"name_lv",
                                                                            "category"}


def test_a_receipt_and_an_issue_answer_with_the_balance(client: Any, db: Any, auth: Any,
                                                        stockroom: Any) -> None:
    answer = client.post(f"{API}/movements", headers=auth, json={
        "kind": "receipt", "item": "W-5L", "warehouse": "CENTRS", "lot": "L-2026-1",
        "quantity": "1000", "expires_on": "2027-06-01", "supplier": "Ūdens SIA"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["balance"] == "1000"
    (receipt,) = body["movements"]
    assert (receipt["kind"], receipt["lot"], receipt["quantity"]) == ("receipt", "L-2026-1",
                                                                      "1000")
    answer = client.post(f"{API}/movements", headers=auth, json={
        "kind": "issue", "item": "W-5L", "warehouse": "CENTRS", "lot": "L-2026-1",
        "quantity": "250,5"})
    assert answer.status_code == 201
    assert answer.get_json()["balance"] == "749.5"
    assert answer.get_json()["movements"][0]["quantity"] == "-250.5"


def test_a_transfer_answers_with_both_legs(client: Any, db: Any, auth: Any,
                                           stockroom: Any) -> None:
    service.receive(db, stockroom.water, stockroom.centre, "L1", D(100), Who())
    db.commit()
    answer = client.post(f"{API}/movements", headers=auth, json={
        "kind": "transfer", "item": "W-5L", "warehouse": "CENTRS", "lot": "L1",
        "to_warehouse": "OZOL", "quantity": "40"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    out, into = answer.get_json()["movements"]
    assert (out["kind"], out["warehouse"], out["quantity"], out["balance"]) == (
        "transfer_out", "CENTRS", "-40", "60")
    assert (into["kind"], into["warehouse"], into["quantity"], into["balance"]) == (
        "transfer_in", "OZOL", "40", "40")
    assert out["group"] == into["group"]


def test_refused_movements_name_the_field_and_the_reason(client: Any, db: Any, auth: Any,
                                                         stockroom: Any,
                                                         frozen_clock: Any) -> None:
    today = service.today()
    service.receive(db, stockroom.water, stockroom.centre, "L1", D(5), Who(),
                    expires_on=today + timedelta(days=400))
    service.receive(db, stockroom.food, stockroom.centre, "OLD", D(10), Who(),
                    expires_on=today + timedelta(days=1))
    db.commit()
    frozen_clock.advance(days=3)
    before = _movements(db)

    def refused(**body: Any) -> dict[str, str]:
        return _errors(client.post(f"{API}/movements", headers=auth, json={
            "item": "W-5L", "warehouse": "CENTRS", "lot": "L1", **body}))

    negative = refused(kind="issue", quantity="6")
    assert "atlikuši tikai 5 l" in negative["quantity"]
    assert "quantity" in refused(kind="transfer", to_warehouse="OZOL", quantity="5.5")
    expired = refused(kind="issue", item="F-CAN", lot="OLD", quantity="1")
    assert "derīguma termiņš beidzās" in expired["lot"] and "norakstīt" in expired["lot"]
    assert "NOPE" in refused(kind="issue", item="NOPE", quantity="1")["item"]
    assert "NOWHERE" in refused(kind="issue", warehouse="NOWHERE", quantity="1")["warehouse"]
    assert "lot" in refused(kind="issue", lot="MISSING", quantity="1")
    assert "reason" in refused(kind="write_off", quantity="1")
    assert "quantity" in refused(kind="issue", quantity="1.0001")
    assert "kind" in refused(kind="sale", quantity="1")
    assert _movements(db) == before  # nothing refused left a trace
    assert db.scalar(select(Batch.quantity).where(Batch.lot == "L1")) == D(5)
    db.rollback()
    written_off = client.post(f"{API}/movements", headers=auth, json={
        "kind": "write_off", "item": "F-CAN", "warehouse": "CENTRS", "lot": "OLD",
        "quantity": "10", "reason": "expired"})
    assert written_off.status_code == 201 and written_off.get_json()["balance"] == "0"


def _stock_fixture(db: Any, room: Any) -> None:
    today = service.today()
    service.receive(db, room.water, room.centre, "W1", D(600), Who(),
                    expires_on=today + timedelta(days=200))
    service.receive(db, room.water, room.centre, "W0", D("12.5"), Who(),
                    expires_on=today + timedelta(days=20))
    service.receive(db, room.water, room.ozolnieki, "W2", D(400), Who(),
                    expires_on=today + timedelta(days=300))
    service.receive(db, room.sandbags, room.centre, "S1", D(1000), Who())
    db.commit()


def test_stock_lists_each_item_in_each_warehouse(client: Any, db: Any, auth: Any,
                                                 stockroom: Any) -> None:
    _stock_fixture(db, stockroom)
    today = service.today()
    rows = client.get(f"{API}/stock", headers=auth).get_json()
    assert rows == [
        {"item": "SB", "warehouse": "CENTRS", "owner": "municipal", "quantity": "1000",
         "unit": "pcs", "earliest_expiry": None},
        {"item": "W-5L", "warehouse": "CENTRS", "owner": "municipal", "quantity": "612.5",
         "unit": "l", "earliest_expiry": (today + timedelta(days=20)).isoformat()},
        {"item": "W-5L", "warehouse": "OZOL", "owner": "municipal", "quantity": "400",
         "unit": "l", "earliest_expiry": (today + timedelta(days=300)).isoformat()}]
    only = client.get(f"{API}/stock?warehouse=OZOL", headers=auth).get_json()
    assert [(r["item"], r["warehouse"]) for r in only] == [("W-5L", "OZOL")]
    assert [r["warehouse"] for r in client.get(f"{API}/stock?item=SB",
                                               headers=auth).get_json()] == ["CENTRS"]
    assert client.get(f"{API}/stock?owner=state", headers=auth).get_json() == []
    assert "warehouse" in _errors(client.get(f"{API}/stock?warehouse=NOWHERE", headers=auth))
    assert "owner" in _errors(client.get(f"{API}/stock?owner=private", headers=auth))


def test_autonomy_on_a_hand_computed_fixture(client: Any, db: Any, auth: Any,
                                             stockroom: Any) -> None:
    # 100 people drink 300 l a day: 1 000 l last 3.33 days, shown 3.3 (rounded down);
    # they eat 50 kg a day: 400 kg last 8 days. Sandbags have no norm.
    service.receive(db, stockroom.water, stockroom.centre, "W1", D(600), Who())
    service.receive(db, stockroom.water, stockroom.ozolnieki, "W2", D(400), Who())
    service.receive(db, stockroom.food, stockroom.centre, "F1", D(400), Who())
    service.receive(db, stockroom.sandbags, stockroom.centre, "S1", D(1000), Who())
    db.commit()
    answer = client.get(f"{API}/autonomy?people=100", headers=auth)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["people"], body["days"], body["limiting_item"]) == (100, 3.3, "W-5L")
    assert [(row["item"], row["days"]) for row in body["items"]] == [("W-5L", 3.3),
                                                                     ("F-CAN", 8.0)]
    assert body["items"][0]["quantity"] == "1000" and body["items"][0]["per_day"] == "300"
    assert client.get(f"{API}/autonomy?people=100&lang=en",
                      headers=auth).get_json()["items"][0]["name"] == "Drinking water"


def test_autonomy_refuses_a_bad_number_of_people(client: Any, auth: Any,
                                                 stockroom: Any) -> None:
    for bad in ("0", "-3", "abc", "2.5", "100000000"):
        errors = _errors(client.get(f"{API}/autonomy?people={bad}", headers=auth))
        assert set(errors) == {"people"}, (bad, errors)


def _shelter_with(db: Any, people: int) -> None:
    """An open shelter of a real emergency with ``people`` checked in."""
    activation = open_activation(db, ActivationOpen(title="Plūdi", kind="emergency"),
                                 by_user_id=None)
    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=100))
    shelters.open_shelter(db, shelter, activation.id)
    shelters.change_occupancy(db, shelter, people)
    db.commit()


def test_autonomy_without_people_counts_the_open_shelters(client: Any, db: Any, auth: Any,
                                                          stockroom: Any) -> None:
    service.receive(db, stockroom.food, stockroom.centre, "F1", D(100), Who())
    db.commit()
    assert "patvertnēs" in _errors(client.get(f"{API}/autonomy", headers=auth))["people"]
    _shelter_with(db, 40)
    body = client.get(f"{API}/autonomy", headers=auth).get_json()
    # 40 people eat 20 kg a day: 100 kg last 5 days; no water at all: 0 days.
    assert (body["people"], body["days"], body["limiting_item"]) == (40, 0.0, "W-5L")
    assert [(row["item"], row["days"]) for row in body["items"]] == [("W-5L", 0.0),
                                                                     ("F-CAN", 5.0)]
