"""The warehouse pages through the test client: stock on hand as the service counts it,
in Latvian and English; the catalogue, minimum levels and warehouses; every movement
form, a refused movement named at its field with nothing moved; the batch picker; the
stock card; the expiry and replenishment lists; the autonomy page; who may do what."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.reserves import service
from sargs.reserves.models import Batch, ReserveItem, StockMovement, Warehouse
from sargs.reserves.schemas import ItemIn
from sargs.reserves.service import Who
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error

D = Decimal


def stocked(db: Any, room: Any) -> Any:
    """The stock of these tests (today is 24.11.2026 in Riga):

    water   CENTRS L1 300 l until 01.06.2027, OLD 100 l expired 20.11.2026;
            OZOL L2 60 l until 10.12.2026 (16 days)
    food    CENTRS F1 40 kg until 01.02.2027 (69 days)
    sandbags OZOL SB1 500 pcs, no expiry
    state water (state reserve, 2 l a person a day) CENTRS S1 100 l, no expiry
    """
    who = Who()
    room.state_water = service.create_item(db, ItemIn(
        code="S-W", name_lv="Valsts rezerves ūdens", name_en="State reserve water",
        category="water", unit="l", owner="state", norm_per_person_day=D(2)))
    service.receive(db, room.water, room.centre, "L1", D(300), who, expires_on=date(2027, 6, 1))
    service.receive(db, room.water, room.centre, "OLD", D(100), who,
                    expires_on=date(2026, 11, 20))
    service.receive(db, room.water, room.ozolnieki, "L2", D(60), who,
                    expires_on=date(2026, 12, 10))
    service.receive(db, room.food, room.centre, "F1", D(40), who, expires_on=date(2027, 2, 1))
    service.receive(db, room.sandbags, room.ozolnieki, "SB1", D(500), who)
    service.receive(db, room.state_water, room.centre, "S1", D(100), who)
    db.commit()
    return room


def post(client: Any, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/reserves/")})


def english(client: Any) -> None:
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/reserves/"),
                                  "next": "/reserves/"})


def page(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def row(text: str, testid: str, **attrs: str) -> str:
    """The HTML of the first table row marked ``testid`` with these data attributes."""
    marks = "".join(rf'[^>]*data-{k}="{re.escape(v)}"' for k, v in attrs.items())
    found = re.search(rf'<tr data-testid="{testid}"{marks}[^>]*>(.*?)</tr>', text, re.S)
    assert found, (testid, attrs)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def one(db: Any, query: Any) -> Any:
    """Read one row and end the transaction: on SQLite an open one would hold the write
    lock the app's requests wait for."""
    found = db.scalar(query)
    db.commit()
    return found


def fresh(db: Any, obj: Any) -> Any:
    db.refresh(obj)
    db.commit()
    return obj


def levels(db: Any, item: Any) -> dict[int, Decimal]:
    found = service.minimums(db, item)
    db.commit()
    return found


def balances(db: Any) -> dict[str, Decimal]:
    with Session(db.get_bind()) as session:
        return {f"{b.warehouse.code}/{b.lot}": b.quantity
                for b in session.scalars(select(Batch))}


def movement_count(db: Any) -> int:
    with Session(db.get_bind()) as session:
        return session.scalar(select(func.count()).select_from(StockMovement)) or 0


# --- stock on hand -----------------------------------------------------------------


def test_the_overview_and_stock_pages_show_the_services_figures_in_both_languages(
        client: Any, users: Any, db: Any, stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "ilze", "commission")
    text = page(client, "/reserves/")
    # Water: 300 + 100 (expired, still on hand) + 60 = 460 l in two warehouses, the
    # expired batch first to go.
    water = row(text, "stock-row", item="W-5L")
    assert water.startswith("W-5L Dzeramais ūdens") and " 460 l 2 20.11.2026 · " in water
    assert re.search(r'data-item="W-5L">.*?data-expired="yes"', text, re.S)
    assert row(text, "stock-row", item="F-CAN").startswith("F-CAN Konservi")
    assert re.search(r'data-testid="watch-expired"[^>]*>1<', text)
    # The daily watch's counts: not yet expired within 30 days L2; within 90 L2 and F1.
    assert 'data-testid="watch-within-30">1<' in text
    assert 'data-testid="watch-within-90">2<' in text
    assert 'data-testid="watch-below-minimum">0<' in text

    text = page(client, "/reserves/stock?view=warehouse")
    ozol = row(text, "stock-row", item="W-5L", warehouse="OZOL")
    assert ozol.startswith("W-5L Dzeramais ūdens") and ozol.endswith(" 60 l 10.12.2026")
    assert " 500 " in row(text, "stock-row", item="SB", warehouse="OZOL")
    sections = re.findall(r'data-testid="warehouse-section" data-warehouse="(\w+)"', text)
    assert sections == ["CENTRS", "OZOL"]

    text = page(client, "/reserves/stock?view=owner")
    owners = re.findall(r'data-testid="owner-section" data-owner="(\w+)"', text)
    assert owners == ["municipal", "state"]
    state = text[text.index('data-owner="state"'):]
    assert row(state, "stock-row", item="S-W").endswith(" 100 l 1 —")
    text = page(client, "/reserves/stock?owner=state")
    assert re.findall(r'data-item="([\w-]+)"', text) == ["S-W"]
    text = page(client, "/reserves/stock?category=food&warehouse=CENTRS")
    assert re.findall(r'data-item="([\w-]+)"', text) == ["F-CAN"]

    english(client)
    text = page(client, "/reserves/stock")
    assert row(text, "stock-row", item="W-5L") == (
        "W-5L Drinking water municipal reserve 460 l 2 20.11.2026 · expired")
    assert "State reserve water" in text and "Dzeramais" not in text
    text = page(client, "/reserves/stock?view=owner")
    state = text[text.index('data-owner="state"'):]
    assert row(state, "stock-row", item="S-W") == "S-W State reserve water state reserve 100 l 1 —"
    assert row(page(client, "/reserves/stock?view=warehouse"), "stock-row", item="SB",
               warehouse="OZOL") == "SB Sandbags municipal reserve 500 pcs —"


# --- the catalogue and warehouses ---------------------------------------------------


def test_an_item_is_created_edited_and_refused_at_the_field(client: Any, users: Any, db: Any,
                                                            stockroom: Any) -> None:
    users.signed_in(client, "janis", "warehouse")
    form = {"code": "HYG-1", "name_lv": "Higiēnas komplekts", "name_en": "Hygiene kit",
            "category": "hygiene", "unit": "set", "owner": "state",
            "norm_per_person_day": "0,25", "shelf_life_days": "730"}
    response = post(client, "/reserves/items/new", form)
    assert response.status_code == 302
    item = one(db, select(ReserveItem).where(ReserveItem.code == "HYG-1"))
    assert (item.norm_per_person_day, item.owner, item.shelf_life_days) == (D("0.25"),
                                                                            "state", 730)
    text = page(client, response.headers["Location"])
    assert 'data-testid="norm">0.25 kompl.<' in text and "Higiēnas komplekts" in text

    for changes, field in (({"code": "W-5L"}, "code"), ({"category": "toys"}, "category"),
                           ({"norm_per_person_day": "abc"}, "norm_per_person_day"),
                           ({"name_lv": ""}, "name_lv")):
        response = post(client, f"/reserves/items/{item.id}/edit", {**form, **changes})
        assert response.status_code == 422, changes
        text = response.get_data(as_text=True)
        assert field_has_error(text, field), changes
        assert 'value="Hygiene kit"' in text  # what was typed stays
    response = post(client, f"/reserves/items/{item.id}/edit",
                    {**form, "name_en": "Hygiene set", "norm_per_person_day": ""})
    assert response.status_code == 302
    assert (fresh(db, item).name_en, item.norm_per_person_day) == ("Hygiene set", None)

    listing = page(client, "/reserves/items?category=water")
    assert re.findall(r'data-testid="item-row" data-item="([\w-]+)"', listing) == ["W-5L"]
    assert 'data-testid="norm">3 l<' in listing


def test_minimum_levels_put_items_on_the_replenishment_list(client: Any, users: Any, db: Any,
                                                            stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "janis", "warehouse")
    water, centre, ozol = stockroom.water, stockroom.centre, stockroom.ozolnieki
    response = post(client, f"/reserves/items/{water.id}/minimums",
                    {f"minimum_{centre.id}": "500", f"minimum_{ozol.id}": "abc"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), f"minimum_{ozol.id}")
    assert levels(db, water) == {}
    response = post(client, f"/reserves/items/{water.id}/minimums",
                    {f"minimum_{centre.id}": "500", f"minimum_{ozol.id}": "50"})
    assert response.status_code == 302
    assert levels(db, water) == {centre.id: D(500), ozol.id: D(50)}

    text = page(client, "/reserves/replenishment")
    # CENTRS holds 300 usable litres (the expired 100 do not count): 200 short of 500.
    assert row(text, "level-row", item="W-5L", warehouse="CENTRS") == (
        "Dzeramais ūdens W-5L Centrālā 300 l 500 l 200 l")
    assert 'data-warehouse="OZOL"' not in text  # 60 l ≥ 50 l
    assert 'data-testid="watch-below-minimum">1<' in page(client, "/reserves/")


def test_warehouses_are_listed_on_a_map_and_edited(client: Any, users: Any, db: Any,
                                                   stockroom: Any) -> None:
    users.signed_in(client, "janis", "warehouse")
    response = post(client, "/reserves/warehouses/new", {
        "code": "RAMAVA", "name": "Rāmavas noliktava", "address": "Rāmavas iela 1",
        "lat": "56.6385", "lon": "23.7491"})
    assert response.status_code == 302
    text = page(client, "/reserves/warehouses")
    assert 'id="warehouses-map"' in text
    places = re.search(r"data-places='([^']*)'", text).group(1)
    assert '"code": "RAMAVA"' in places and "56.6385" in places
    assert '"CENTRS"' not in places  # no location, no marker
    assert row(text, "warehouse-row", warehouse="CENTRS").startswith("CENTRS Centrālā —")

    store = one(db, select(Warehouse).where(Warehouse.code == "RAMAVA"))
    response = post(client, f"/reserves/warehouses/{store.id}/edit",
                    {"code": "OZOL", "name": "Rāmava", "lat": "100"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert field_has_error(text, "lat") and 'value="Rāmava"' in text
    response = post(client, f"/reserves/warehouses/{store.id}/edit",
                    {"code": "OZOL", "name": "Rāmava"})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "code")
    assert post(client, f"/reserves/warehouses/{store.id}/edit",
                {"code": "RAMAVA", "name": "Rāmava"}).status_code == 302
    assert (fresh(db, store).name, store.lat) == ("Rāmava", None)


# --- movements ---------------------------------------------------------------------


def test_every_movement_form_moves_the_stock(client: Any, users: Any, db: Any,
                                             stockroom: Any) -> None:
    users.signed_in(client, "janis", "warehouse")
    for kind in ("receipt", "issue", "transfer", "adjustment", "write_off"):
        assert f'data-kind="{kind}"' in page(client, f"/reserves/movements?kind={kind}")
    response = post(client, "/reserves/movements", {
        "kind": "receipt", "item": "W-5L", "warehouse": "CENTRS", "lot": "L9",
        "quantity": "120,5", "expires_on": "2027-09-30", "supplier": "Venden",
        "document_no": "PPR-17", "unit_price": "0,45"})
    assert response.status_code == 302
    batch = one(db, select(Batch).where(Batch.lot == "L9"))
    assert (batch.quantity, batch.supplier, batch.document_no, batch.unit_price,
            batch.expires_on) == (D("120.5"), "Venden", "PPR-17", D("0.45"), date(2027, 9, 30))
    flashed = page(client, response.headers["Location"])
    assert "kurā tagad ir 120.5 l" in flashed

    base = {"item": "W-5L", "warehouse": "CENTRS", "batch_id": str(batch.id)}
    for data in ({"kind": "issue", "quantity": "20"},
                 {"kind": "transfer", "to_warehouse": "OZOL", "quantity": "30"},
                 {"kind": "adjustment", "direction": "out", "reason": "counting_error",
                  "quantity": "0,5"},
                 {"kind": "write_off", "reason": "damaged", "quantity": "10"}):
        response = post(client, "/reserves/movements", {**base, **data})
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert balances(db) == {"CENTRS/L9": D(60), "OZOL/L9": D(30)}
    assert service.balance_by_movements(db) == {batch.id: D(60), batch.id + 1: D(30)}


def test_a_refused_movement_is_named_at_its_field_and_moves_nothing(
        client: Any, users: Any, db: Any, stockroom: Any) -> None:
    service.receive(db, stockroom.water, stockroom.centre, "L1", D(5), Who(),
                    expires_on=date(2027, 1, 1))
    service.receive(db, stockroom.water, stockroom.centre, "OLD", D(8), Who(),
                    expires_on=date(2026, 11, 1))
    db.commit()
    l1, old = (one(db, select(Batch).where(Batch.lot == lot)) for lot in ("L1", "OLD"))
    users.signed_in(client, "janis", "warehouse")

    response = post(client, "/reserves/movements", {
        "kind": "issue", "item": "W-5L", "warehouse": "CENTRS", "batch_id": str(l1.id),
        "quantity": "6", "note": "Skola"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert re.search(r'id="e-quantity" class="field-error">Partijā L1 atlikuši tikai 5 l\.<',
                     text)
    assert re.search(r'name="quantity"[^>]*value="6"', text)
    assert 'value="Skola"' in text
    assert re.search(rf'<option value="{l1.id}"[^>]*selected', text)  # the batch kept

    response = post(client, "/reserves/movements", {
        "kind": "transfer", "item": "W-5L", "warehouse": "CENTRS", "batch_id": str(old.id),
        "to_warehouse": "OZOL", "quantity": "9"})
    assert response.status_code == 422
    assert "Partijā OLD atlikuši tikai 8 l." in response.get_data(as_text=True)

    response = post(client, "/reserves/movements", {
        "kind": "issue", "item": "W-5L", "warehouse": "CENTRS", "batch_id": str(old.id),
        "quantity": "1"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert field_has_error(text, "batch_id")
    assert ("Partijas OLD derīguma termiņš beidzās 2026-11-01: to nevar izsniegt, tikai "
            "norakstīt.") in text

    response = post(client, "/reserves/movements", {
        "kind": "write_off", "item": "W-5L", "warehouse": "CENTRS", "batch_id": str(old.id),
        "quantity": "1"})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "reason")
    response = post(client, "/reserves/movements", {
        "kind": "issue", "item": "W-5L", "warehouse": "CENTRS", "quantity": "1"})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "batch_id")
    assert balances(db) == {"CENTRS/L1": D(5), "CENTRS/OLD": D(8)}
    assert movement_count(db) == 2

    response = post(client, "/reserves/movements", {
        "kind": "write_off", "item": "W-5L", "warehouse": "CENTRS", "batch_id": str(old.id),
        "reason": "expired", "quantity": "8"})
    assert response.status_code == 302
    assert balances(db) == {"CENTRS/L1": D(5), "CENTRS/OLD": D(0)}


def test_the_batch_picker_lists_the_batches_with_balance_and_expiry(
        client: Any, users: Any, db: Any, stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "janis", "warehouse")
    text = page(client, "/reserves/movements?kind=issue")
    assert "Vispirms izvēlieties preci un noliktavu" in text
    for path in ("/reserves/movements?kind=issue&item=W-5L&warehouse=CENTRS",
                 "/reserves/movements/batches?item=W-5L&warehouse=CENTRS"):
        text = page(client, path)
        options = [re.sub(r"\s+", " ", o).strip() for o in re.findall(
            r'<option value="\d+" data-lot="\w+" data-expired="\w+"[^>]*>(.*?)</option>',
            text, re.S)]
        # First expired first out; the expired batch is marked.
        assert options == ["OLD · 100 l · TERMIŅŠ BEIDZĀS 20.11.2026",
                           "L1 · 300 l · derīga līdz 01.06.2027"]
        assert 'data-lot="OLD" data-expired="yes"' in text
    text = page(client, "/reserves/movements/batches?item=SB&warehouse=CENTRS")
    assert "Šajā noliktavā nav šīs preces partiju ar atlikumu" in text
    # Without a script the form is posted back to list the batches; nothing is recorded.
    before = movement_count(db)
    response = post(client, "/reserves/movements", {
        "kind": "write_off", "item": "F-CAN", "warehouse": "CENTRS", "quantity": "3",
        "action": "show"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-lot="F1"' in text and re.search(r'name="quantity"[^>]*value="3"', text)
    assert movement_count(db) == before


def test_who_may_move_stock(client: Any, users: Any, db: Any, stockroom: Any) -> None:
    stocked(db, stockroom)
    issue = {"kind": "issue", "item": "F-CAN", "warehouse": "CENTRS", "lot": "F1",
             "quantity": "1"}
    users.signed_in(client, "anna", "shelter_staff")
    assert "460 l" in page(client, "/reserves/")
    text = page(client, "/reserves/movements")
    assert 'data-testid="movement-form"' not in text
    assert post(client, "/reserves/movements", issue).status_code == 403
    assert post(client, f"/reserves/items/{stockroom.food.id}/minimums",
                {f"minimum_{stockroom.centre.id}": "1"}).status_code == 403
    assert client.get("/reserves/items/new").status_code == 403
    assert client.get(f"/reserves/items/{stockroom.food.id}/edit").status_code == 403
    assert post(client, "/reserves/items/new", {"code": "X"}).status_code == 403
    for role in ("auditor", "commission"):
        client.post("/logout", data={"csrf_token": csrf_token(client, "/reserves/")})
        users.signed_in(client, f"user-{role}", role)
        assert 'data-testid="autonomy-form"' in page(client, "/reserves/autonomy")
        assert post(client, "/reserves/movements", issue).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/reserves/")})
    users.signed_in(client, "operators", "operator")
    assert client.get("/reserves/").status_code == 403
    assert balances(db)["CENTRS/F1"] == D(40)


# --- the stock card and the watch lists ---------------------------------------------


def test_the_stock_card_shows_each_movement_with_who_and_the_balance_after(
        client: Any, users: Any, db: Any, stockroom: Any, frozen_clock: Any) -> None:
    users.signed_in(client, "janis", "warehouse")
    moves = ({"kind": "receipt", "item": "F-CAN", "warehouse": "CENTRS", "lot": "F1",
              "quantity": "40"},
             {"kind": "issue", "item": "F-CAN", "warehouse": "CENTRS", "lot": "F1",
              "quantity": "12,5", "note": "Patversme"},
             {"kind": "transfer", "item": "F-CAN", "warehouse": "CENTRS", "lot": "F1",
              "to_warehouse": "OZOL", "quantity": "10"})
    for data in moves:
        assert post(client, "/reserves/movements", data).status_code == 302
        frozen_clock.advance(minutes=30)
    text = page(client, f"/reserves/items/{stockroom.food.id}/card")
    lines = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).strip()
             for m in re.findall(r'<tr data-testid="card-line"[^>]*>(.*?)</tr>', text, re.S)]
    assert lines == [
        "24.11.2026 13:00 janis ienākoša pārvietošana Ozolnieki F1 +10 kg 27.5 kg",
        "24.11.2026 13:00 janis izejoša pārvietošana Centrālā F1 -10 kg 17.5 kg",
        "24.11.2026 12:30 janis izsniegšana Centrālā F1 -12.5 kg 27.5 kg Patversme",
        "24.11.2026 12:00 janis saņemšana Centrālā F1 +40 kg 40 kg",
    ]


def test_the_expiry_lists_mark_expired_batches(client: Any, users: Any, db: Any,
                                               stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "janis", "warehouse")
    text = page(client, "/reserves/expiring")
    assert re.findall(r'data-testid="expiring-row" data-lot="(\w+)" data-expired="(\w+)"',
                      text) == [("OLD", "yes"), ("L2", "no")]
    assert re.fullmatch(r"20\.11\.2026 · .+ -4 Dzeramais ūdens Centrālā OLD 100 l .+",
                        row(text, "expiring-row", lot="OLD"))
    assert "kind=write_off" in text  # the expired batch offers its write-off
    text = page(client, "/reserves/expiring?days=90")
    assert re.findall(r'data-testid="expiring-row" data-lot="(\w+)"', text) == [
        "OLD", "L2", "F1"]
    assert row(text, "expiring-row", lot="F1") == "01.02.2027 69 Konservi Centrālā F1 40 kg"


# --- autonomy ----------------------------------------------------------------------


def test_the_autonomy_page_counts_days_for_people_typed_in_or_sheltered(
        client: Any, users: Any, db: Any, stockroom: Any) -> None:
    stocked(db, stockroom)
    users.signed_in(client, "ilze", "commission")
    # 20 people: usable water 360 l / 60 l a day = 6.0; food 40 kg / 10 kg = 4.0; state
    # water 100 l / 40 l = 2.5 days — the state water runs out first.
    text = page(client, "/reserves/autonomy?people=20")
    assert 'data-testid="days">2.5<' in text
    assert 'data-testid="limiting-item" data-item="S-W">Valsts rezerves ūdens<' in text
    assert re.findall(r'data-testid="autonomy-row" data-item="([\w-]+)"', text) == [
        "S-W", "F-CAN", "W-5L"]
    assert row(text, "autonomy-row", item="W-5L") == "Dzeramais ūdens W-5L 360 l 60 l 6.0"
    bars = re.findall(r'<rect [^>]*data-value="([\d.]+)"', text)
    assert bars == ["2.5", "4.0", "6.0"]  # one bar per item, in days
    assert 'data-testid="chart-autonomy"' in text

    text = page(client, "/reserves/autonomy?people=20&owner=municipal")
    assert 'data-testid="days">4.0<' in text and 'data-item="S-W"' not in text
    english(client)
    text = page(client, "/reserves/autonomy?people=20&owner=municipal")
    assert 'data-item="F-CAN">Canned food<' in text

    for bad in ("0", "abc", "-3"):
        text = page(client, f"/reserves/autonomy?people={bad}", 422)
        assert field_has_error(text, "people") and 'data-testid="days"' not in text
    text = page(client, "/reserves/autonomy?source=shelters", 422)
    assert "No one is in an open shelter now" in text

    activation = open_activation(db, ActivationOpen(title="Plūdi", kind="emergency"),
                                 by_user_id=None)
    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=100))
    shelters.open_shelter(db, shelter, activation.id)
    shelters.change_occupancy(db, shelter, 40)
    db.commit()
    # 40 people: state water 100 l / 80 l a day = 1.25 → 1.2 (rounded down).
    text = page(client, "/reserves/autonomy?source=shelters")
    assert "(40)" in text and 'data-testid="days">1.2<' in text
