"""Requests for reserves through the pages: a shelter asks from its own page, the
commission approves, the keeper picks first-expired-first-out and issues, and the
balances drop batch by batch; rejection, an issue before approval, short stock, the
keeper's own picks and bad input are refused with the reason where it belongs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sargs.reserves import service
from sargs.reserves.models import Batch
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from tests.conftest import csrf_token

CENTRE = (56.6511, 23.7214)


@pytest.fixture
def shelter(db: Any) -> Any:
    place = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=CENTRE[0],
        lon=CENTRE[1], capacity=100))
    db.commit()
    place_id = place.id
    db.rollback()  # a read opens a write transaction on SQLite: end it before the pages write
    return place_id


@pytest.fixture
def water(db: Any, stockroom: Any) -> dict[str, int]:
    """Water in three batches: one expired (never offered), one expiring soon, one late;
    and a batch in the other warehouse expiring later still. Lot → batch id."""
    who = service.Who()
    lots = {}
    for lot, warehouse, qty, expires in (
            ("W-OLD", stockroom.centre, "40", date(2026, 11, 1)),
            ("W-SOON", stockroom.centre, "20", date(2026, 12, 10)),
            ("W-LATE", stockroom.centre, "50", date(2027, 6, 1)),
            ("W-OZOL", stockroom.ozolnieki, "60", date(2027, 9, 1))):
        movement = service.receive(db, stockroom.water, warehouse, lot, Decimal(qty), who,
                                   expires_on=expires)
        lots[lot] = movement.batch_id
    db.commit()
    return lots


def client_of(app: Any, users: Any, name: str, *roles: str) -> Any:
    """A signed-in user's browser, in English (the messages asserted are the source texts)."""
    client = app.test_client()
    users.signed_in(client, name, *roles)
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    return client


def post(client: Any, path: str, data: dict[str, Any], form_page: str | None = None) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)})


def balance(db: Any, batch_id: int) -> Decimal:
    db.expire_all()
    found = db.get(Batch, batch_id).quantity
    db.rollback()
    return found


def picks(page: str) -> dict[str, str]:
    """The issue form's quantity per batch field, as the page proposes them."""
    return dict(re.findall(r'<input name="(pick-\d+-\d+)"[^>]*value="([^"]*)"', page))


def ask(client: Any, shelter_id: int, lines: list[tuple[str, str]], **fields: Any) -> Any:
    data = {"requester_kind": "shelter", "shelter_id": shelter_id, "action": "submit",
            "line_item": [item for item, _q in lines],
            "line_quantity": [quantity for _i, quantity in lines], **fields}
    return post(client, "/reserves/requests/new", data)


@dataclass(frozen=True)
class Asked:
    id: int
    state: str
    activation_id: int | None
    kind: str
    lines: list[tuple[int, str, Decimal]]  # (line id, item code, quantity)


def latest(db: Any) -> Asked:
    """The newest request, read and the transaction ended (the pages write next)."""
    db.expire_all()
    req = service.requests(db)[0]
    found = Asked(req.id, req.state, req.activation_id, req.requester_kind,
                  [(line.id, line.item.code, line.quantity) for line in req.lines])
    db.rollback()
    return found


def test_a_shelter_request_is_approved_picked_first_expired_first_and_issued(
        app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    page = staff.get(f"/shelters/{shelter}").get_data(as_text=True)
    assert f'href="/reserves/requests/new?shelter_id={shelter}"' in page
    form = staff.get(f"/reserves/requests/new?shelter_id={shelter}").get_data(as_text=True)
    assert re.search(rf'<option value="{shelter}" selected>Jelgavas Valsts ģimnāzija', form)

    response = ask(staff, shelter, [("W-5L", "30"), ("", "")], note="Ūdens 10 cilvēkiem")
    assert response.status_code == 302
    request_id = latest(db).id
    detail = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-state="submitted"' in detail and "Jelgavas Valsts ģimnāzija" in detail
    assert 'data-testid="approve"' not in detail  # shelter staff do not approve

    commission = client_of(app, users, "kalnins", "commission")
    assert post(commission, f"/reserves/requests/{request_id}/decide",
                {"decision": "approve", "note": "Piekrītu"},
                f"/reserves/requests/{request_id}").status_code == 302

    keeper = client_of(app, users, "noliktava", "warehouse")
    pick_page = keeper.get(f"/reserves/requests/{request_id}/pick").get_data(as_text=True)
    assert "W-OLD" not in pick_page  # expired: never offered
    proposed = picks(pick_page)
    assert proposed == {f"pick-{latest(db).lines[0][0]}-{water['W-SOON']}": "20",
                        f"pick-{latest(db).lines[0][0]}-{water['W-LATE']}": "10",
                        f"pick-{latest(db).lines[0][0]}-{water['W-OZOL']}": ""}
    printed = keeper.get(f"/reserves/requests/{request_id}/print").get_data(as_text=True)
    assert "Issued by" in printed and "Received by" in printed and "W-SOON" in printed

    response = post(keeper, f"/reserves/requests/{request_id}/issue", proposed,
                    f"/reserves/requests/{request_id}/pick")
    assert response.status_code == 302
    assert balance(db, water["W-SOON"]) == 0
    assert balance(db, water["W-LATE"]) == Decimal(40)
    assert balance(db, water["W-OZOL"]) == Decimal(60)
    assert balance(db, water["W-OLD"]) == Decimal(40)
    detail = staff.get(f"/reserves/requests/{request_id}").get_data(as_text=True)
    assert 'data-state="issued"' in detail
    issued = re.findall(r'data-testid="issued-batch" data-lot="([^"]+)".*?'
                        r'data-testid="issued-quantity">([^<]+)<', detail, re.S)
    assert issued == [("W-SOON", "20 l"), ("W-LATE", "10 l")]
    assert service.balance_by_movements(db)[water["W-LATE"]] == Decimal(40)


def test_a_rejected_request_cannot_be_issued(app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    ask(staff, shelter, [("W-5L", "5")])
    request_id = latest(db).id
    admin = client_of(app, users, "admins", "admin")
    post(admin, f"/reserves/requests/{request_id}/decide",
         {"decision": "reject", "note": "Ir patvertnē"}, f"/reserves/requests/{request_id}")
    detail = staff.get(f"/reserves/requests/{request_id}").get_data(as_text=True)
    assert 'data-state="rejected"' in detail and "Ir patvertnē" in detail

    keeper = client_of(app, users, "noliktava", "warehouse")
    response = post(keeper, f"/reserves/requests/{request_id}/issue", {},
                    f"/reserves/requests/{request_id}/pick")
    assert response.status_code == 422
    assert "cannot be done now" in response.get_data(as_text=True)
    assert balance(db, water["W-SOON"]) == Decimal(20)


def test_issue_is_refused_before_approval(app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    ask(staff, shelter, [("W-5L", "5")])
    request_id = latest(db).id
    keeper = client_of(app, users, "noliktava", "warehouse")
    pick_page = keeper.get(f"/reserves/requests/{request_id}/pick").get_data(as_text=True)
    assert 'data-testid="issue"' not in pick_page
    assert "Only an approved request can be issued." in pick_page
    response = post(keeper, f"/reserves/requests/{request_id}/issue", picks(pick_page),
                    f"/reserves/requests/{request_id}/pick")
    assert response.status_code == 422
    assert 'data-field="state"' in response.get_data(as_text=True)
    assert balance(db, water["W-SOON"]) == Decimal(20)
    # Neither the keeper nor the shelter approves.
    for client in (keeper, staff):
        assert post(client, f"/reserves/requests/{request_id}/decide", {"decision": "approve"},
                    f"/reserves/requests/{request_id}").status_code == 403


def test_issue_is_refused_when_the_stock_is_short(app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    ask(staff, shelter, [("W-5L", "100")], warehouse="CENTRS")
    request_id = latest(db).id
    post(client_of(app, users, "kalnins", "commission"), f"/reserves/requests/{request_id}/decide",
         {"decision": "approve"}, f"/reserves/requests/{request_id}")
    keeper = client_of(app, users, "noliktava", "warehouse")
    pick_page = keeper.get(f"/reserves/requests/{request_id}/pick").get_data(as_text=True)
    assert re.search(r'data-testid="short">Short: 30 l cannot be covered', pick_page)
    assert "W-OZOL" not in pick_page  # the request names its warehouse

    response = post(keeper, f"/reserves/requests/{request_id}/issue", picks(pick_page),
                    f"/reserves/requests/{request_id}/pick")
    assert response.status_code == 422
    assert "70 l can be picked of the 100 requested" in response.get_data(as_text=True)
    assert (balance(db, water["W-SOON"]), balance(db, water["W-LATE"])) == (20, 50)
    assert latest(db).state == "approved"


def test_the_keeper_picks_other_batches_and_bad_picks_are_shown_at_the_field(
        app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    ask(staff, shelter, [("W-5L", "25,5")])
    req = latest(db)
    post(client_of(app, users, "kalnins", "commission"), f"/reserves/requests/{req.id}/decide",
         {"decision": "approve"}, f"/reserves/requests/{req.id}")
    keeper = client_of(app, users, "noliktava", "warehouse")
    line = req.lines[0][0]
    soon, late, ozol = (f"pick-{line}-{water[lot]}" for lot in ("W-SOON", "W-LATE", "W-OZOL"))
    pick_path = f"/reserves/requests/{req.id}/pick"

    response = post(keeper, f"/reserves/requests/{req.id}/issue",
                    {soon: "abc", late: "99", ozol: ""}, pick_path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field="{soon}">Must be a number.' in page
    assert f'data-field="{late}">Batch W-LATE has only 50 l left.' in page
    assert f'name="{soon}" inputmode="decimal"' in page and 'value="abc"' in page  # kept

    response = post(keeper, f"/reserves/requests/{req.id}/issue",
                    {soon: "", late: "5", ozol: "10"}, pick_path)
    assert response.status_code == 422
    assert "15 l can be picked of the 25.5 requested" in response.get_data(as_text=True)

    response = post(keeper, f"/reserves/requests/{req.id}/issue",
                    {soon: "", late: "5,5", ozol: "20"}, pick_path)
    assert response.status_code == 302
    assert (balance(db, water["W-SOON"]), balance(db, water["W-LATE"]),
            balance(db, water["W-OZOL"])) == (20, Decimal("44.5"), 40)


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(app, db, users, stockroom):
    commission = client_of(app, users, "kalnins", "commission")
    data = {"requester_kind": "commission", "line_item": ["W-5L", "", "SB"],
            "line_quantity": ["10", "", "-3"], "note": "Plūdi"}
    response = post(commission, "/reserves/requests/new",
                    {**data, "line_quantity": ["10", "", "3"], "action": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field="activation_id">A request of the commission belongs to an activation.' \
        in page
    # Another line is added without losing anything typed.
    response = post(commission, "/reserves/requests/new", {**data, "action": "add_line"})
    page = response.get_data(as_text=True)
    assert page.count('data-testid="line"') == 4
    assert 'value="-3"' in page and "Plūdi" in page
    # The bad quantity of the third row is shown at that row, after the blank one.
    from sargs.activations.schemas import ActivationOpen
    from sargs.activations.service import open_activation

    activation_id = open_activation(db, ActivationOpen(title="Plūdi", kind="emergency"),
                                    None).id
    db.commit()
    db.rollback()
    response = post(commission, "/reserves/requests/new",
                    {**data, "activation_id": activation_id, "action": "submit"})
    assert response.status_code == 422
    assert 'data-field="lines.2.quantity">Must be at least 0' in response.get_data(as_text=True)
    response = post(commission, "/reserves/requests/new",
                    {**data, "line_quantity": ["10", "", "300"],
                     "activation_id": activation_id, "action": "submit"})
    assert response.status_code == 302
    req = latest(db)
    assert (req.kind, req.activation_id) == ("commission", activation_id)
    assert [(code, quantity) for _id, code, quantity in req.lines] == [
        ("W-5L", Decimal(10)), ("SB", Decimal(300))]


def test_the_one_who_asked_may_cancel(app, db, users, shelter, water):
    staff = client_of(app, users, "ieva", "shelter_staff")
    ask(staff, shelter, [("W-5L", "5")])
    request_id = latest(db).id
    other = client_of(app, users, "janis", "shelter_staff")
    assert post(other, f"/reserves/requests/{request_id}/cancel", {},
                f"/reserves/requests/{request_id}").status_code == 403
    assert post(staff, f"/reserves/requests/{request_id}/cancel", {},
                f"/reserves/requests/{request_id}").status_code == 302
    assert latest(db).state == "cancelled"
    listing = staff.get("/reserves/requests/?state=cancelled").get_data(as_text=True)
    assert f'data-testid="request" data-id="{request_id}"' in listing
