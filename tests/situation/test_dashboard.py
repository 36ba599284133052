"""The commission's dashboard: its numbers are the modules' own numbers, exercise activity
never shows, each part says how fresh it is, and only the commission's roles see it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from sargs import clock
from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.cad import service as cad
from sargs.cad.models import OPEN_STATES
from sargs.cad.schemas import ReportIn
from sargs.channels import acks, alerts, ledger
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Alert, Delivery
from sargs.reserves import service as reserves
from sargs.reserves.schemas import ItemIn, WarehouseIn
from sargs.shelters import service as shelters
from sargs.shelters.models import Shelter
from sargs.shelters.schemas import ShelterIn
from sargs.situation import service
from sargs.volunteers import callouts
from sargs.volunteers import service as volunteers
from sargs.volunteers.consent import CONSENT_VERSION
from sargs.volunteers.models import CallOut
from sargs.volunteers.schemas import CallOutIn, VolunteerIn
from sargs.warnings import ingest
from sargs.warnings import service as warnings
from tests.channels.engine_helpers import public_orange, resident
from tests.warnings.lvgmc import Doc

CITY = (56.6511, 23.7214)


def _activation(db, exercise: bool) -> Any:
    found = open_activation(db, ActivationOpen(
        title="Mācības: vētra" if exercise else "Vētra Zemgalē",
        kind="exercise" if exercise else "emergency"), by_user_id=None)
    db.commit()
    return found


def _feed(app, db, tmp_path, doc: Doc, activation_id: int | None = None) -> None:
    """The document as a file, ingested as `sargs warnings ingest FILE` does."""
    db.rollback()  # SQLite: the ingest writes; the test's session must not hold the lock
    ext = app.extensions["sargs"]
    path = tmp_path / f"{doc.identifier}.xml"
    path.write_bytes(doc.xml())
    ingest.ingest(ext.sessionmaker, [str(path)], ext.settings, activation_id=activation_id)


def _volunteer(db, name: str, phone: str) -> Any:
    sent: list[str] = []
    volunteer = volunteers.register(db, VolunteerIn(
        name=name, phone=phone, email=None, birth_date=date(1990, 4, 12), language="lv",
        municipality="LV022", skills=["first_aid"], licence_categories=[], own_vehicle=False,
        languages=["lv"], available_days=[0, 1, 2, 3, 4, 5, 6], available_from="00:00",
        available_to="23:59", travel_km=15, consent=True, consent_version=CONSENT_VERSION))
    volunteers.send_phone_code(db, volunteer, secret="s",
                               send=lambda _c, _a, _l, text: sent.append(text))
    code = re.search(r"\b(\d{6})\b", sent[-1]).group(1)
    volunteers.confirm_phone(db, volunteer, code, secret="s")
    volunteers.decide(db, volunteer, "active", None)
    db.commit()
    return volunteer


def _callout(db, settings, activation_id: int, title: str, yes_from: Any,
             check_in: bool) -> Any:
    start = clock.now() + timedelta(hours=2)
    callout = callouts.create(db, CallOutIn(
        activation_id=activation_id, title=title, place="Pasta sala", lat=56.652, lon=23.73,
        skills=["first_aid"], starts_at=start, ends_at=start + timedelta(hours=4), needed=3),
        None, settings=settings)
    ask = callouts.ask_of(db, callout, yes_from.id)
    callouts.respond(db, callout, ask, True, via="sms")
    if check_in:
        callouts.check_in(db, ask)
    db.commit()
    return callout


@pytest.fixture
def world(app, db, tmp_path, frozen_clock) -> dict[str, Any]:
    """A storm in Jelgava, and an exercise running beside it."""
    settings = app.extensions["sargs"].settings
    report = cad.create_report(db, settings, ReportIn(
        category="streets", description="Koks uzkritis brauktuvei", address="Lielā iela 11",
        lat=CITY[0], lon=CITY[1]))
    db.commit()
    frozen_clock.advance(timedelta(days=3))  # the report waits past its response time
    real, drill = _activation(db, False), _activation(db, True)

    # An orange wind warning for the city raises an alert to residents; part delivered.
    for name, phone in (("Anna", "+37120000001"), ("Jānis", "+37120000002"),
                        ("Ilze", "+37120000003")):
        resident(db, name, phone, areas=("LV022",), levels=("orange", "red"))
    for code, name, phone in (("commission-chair", "Priekšsēdētājs", "+37129000001"),
                              ("duty-officers", "Dežurants", "+37129000003")):
        member = register_contact(db, name, [("voice", phone), ("sms", phone)])
        add_to_group(db, ensure_group(db, code, code, "staff"), member)
    db.commit()
    now = clock.now()
    _feed(app, db, tmp_path, Doc(501, now, level=3, onset=now, expires=now + timedelta(days=1)))
    db.expire_all()
    alert = db.scalars(select(Alert).where(Alert.source == "warning")).one()
    rows = db.scalars(select(Delivery.id).where(Delivery.alert_id == alert.id)
                      .order_by(Delivery.id)).all()
    db.execute(update(Delivery).where(Delivery.id.in_(rows[:2]))
               .values(state="delivered", sent_at=now, delivered_at=now))
    db.execute(update(Delivery).where(Delivery.id == rows[2]).values(state="sent", sent_at=now))
    db.commit()

    # The exercise: its own warning, an alert and a call-out, and a shelter it opened.
    _feed(app, db, tmp_path, Doc(502, now, level=4, onset=now, expires=now + timedelta(days=1)),
          activation_id=drill.id)
    participant = resident(db, "Dalībnieks", "+37120000011")
    drill_alert = alerts.create_alert(db, public_orange(
        cap_status="Exercise", activation_id=drill.id,
        audience={"contacts": [participant.id]}, channels=["sms"]), None)
    alerts.submit(db, drill_alert, None)
    alerts.start_sending(db, drill_alert, set())
    db.commit()

    # Shelters: one open with people, one registered and closed, one open in the drill.
    school = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=CITY[0], lon=CITY[1],
        capacity=120))
    shelters.create_shelter(db, ShelterIn(
        name="Spīdolas ģimnāzija", address="Akadēmijas iela 1", lat=56.655, lon=23.73,
        capacity=80))
    hall = shelters.create_shelter(db, ShelterIn(
        name="Sporta halle", address="Mātera iela 42", lat=56.648, lon=23.72, capacity=300))
    shelters.open_shelter(db, school, real.id, notify=False)
    shelters.change_occupancy(db, school, 45)
    shelters.open_shelter(db, hall, drill.id, notify=False)
    shelters.change_occupancy(db, hall, 200)
    db.commit()

    # Reserves: water and food with a norm per person and day, sandbags without.
    water = reserves.create_item(db, ItemIn(
        code="W-5L", name_lv="Dzeramais ūdens", name_en="Drinking water", category="water",
        unit="l", norm_per_person_day=Decimal(3)))
    food = reserves.create_item(db, ItemIn(
        code="F-CAN", name_lv="Konservi", name_en="Canned food", category="food", unit="kg",
        norm_per_person_day=Decimal("0.5")))
    store = reserves.create_warehouse(db, WarehouseIn(code="CENTRS", name="Centrālā"))
    reserves.receive(db, water, store, "L1", Decimal(500), reserves.Who())
    reserves.receive(db, food, store, "L2", Decimal(200), reserves.Who())
    db.commit()

    # Volunteers: one says yes and is on site; in the drill's call-out another says yes.
    anna = _volunteer(db, "Anna Bērziņa", "+37120000401")
    cilda = _volunteer(db, "Cilda Ozola", "+37120000402")
    real_callout = _callout(db, settings, real.id, "Smilšu maisi", anna, check_in=True)
    drill_callout = _callout(db, settings, drill.id, "Mācību izsaukums", cilda, check_in=False)
    ids = {"report": report.id, "alert": alert.id, "drill_alert": drill_alert.id,
           "school": school.id, "hall": hall.id, "callout": real_callout.id,
           "drill_callout": drill_callout.id, "drill": drill.id}
    db.rollback()  # the pages below read through their own sessions
    return ids


def _snapshot(app, db) -> service.Situation:
    db.expire_all()
    return service.snapshot(db, app.extensions["sargs"].settings)


def test_the_numbers_are_the_modules_own(app, db, world):
    settings = app.extensions["sargs"].settings
    s = _snapshot(app, db)
    # The exercise did happen beside the storm.
    assert len(warnings.list_warnings(db, "active", include_exercise=True)) == 2
    assert db.get(Alert, world["drill_alert"]).state == "sending"
    assert db.get(Shelter, world["hall"]).occupancy == 200
    assert callouts.counts(db, db.get(CallOut, world["drill_callout"]))["yes"] == 1

    # Warnings: the warnings module's active list, exercise warnings left out.
    active = warnings.list_warnings(db, "active")
    assert [w.id for w in s.warnings.items] == [w.id for w in active]
    assert s.warnings.count == 1 and s.warnings.highest_level == "orange"

    # The alert: the ledger's own counts, per channel and in all.
    [item] = s.alerts.items
    assert item.id == world["alert"] and item.state == "sending"
    counts = ledger.progress(db, item.id)
    assert {c.channel: c.counts for c in item.channels if c.total} == counts
    assert item.total == sum(sum(v.values()) for v in counts.values())
    assert item.delivered == 2 == sum(v.get("delivered", 0) for v in counts.values())
    assert item.finished == 2 and item.percent == round(100 * 2 / item.total)
    people = acks.people(db, db.get(Alert, item.id))
    assert item.ack_required and len(item.pending_acks) == len(people) > 0

    # The 8787 line: its own search and overdue queue.
    _rows, open_total = cad.search(db, settings, cad.ReportFilter(states=OPEN_STATES, limit=0))
    overdue, overdue_total = cad.queue(db, settings, "overdue")
    assert s.cad.open == open_total == 1
    assert s.cad.overdue == overdue_total == 1
    assert [r.id for r in s.cad.overdue_reports] == [r.id for r in overdue] == [world["report"]]
    assert s.cad.overdue_reports[0].kind == "response"
    assert [(c.code, c.open) for c in s.cad.by_category] == [("streets", 1)]

    # Shelters: the public map's rows, open in a real activation only.
    public = [row for row in shelters.public_shelters(db) if row["open"]]
    assert [(sh.id, sh.occupancy, sh.capacity, sh.free) for sh in s.shelters.items] == [
        (row["id"], row["occupancy"], row["capacity"], row["free_places"]) for row in public]
    assert (s.shelters.open, s.shelters.occupancy, s.shelters.free) == (1, 45, 75)

    # Reserves: the autonomy for the people in open shelters, as the reserves API gives it.
    expected = reserves.autonomy_json(reserves.autonomy_for(db, None))
    assert s.reserves.people == expected["people"] == 45
    assert float(s.reserves.days) == expected["days"]
    assert s.reserves.limiting_item == expected["limiting_item"] == "W-5L"
    assert [i.item for i in s.reserves.items] == [i["item"] for i in expected["items"]]

    # Volunteers: the call-out's own counts; the drill's call-out left out.
    [callout] = s.volunteers.items
    own = callouts.counts(db, db.get(CallOut, world["callout"]))
    assert callout.id == world["callout"]
    assert (callout.committed, callout.waiting, callout.asked) == (
        own["yes"], own["asked"], sum(own.values()))
    assert (s.volunteers.committed, s.volunteers.on_site) == (1, 1)

    # The map: the same things, as layers.
    warning_ids = {f["properties"]["id"] for f in s.map.warnings["features"]
                   if f["properties"]["role"] == "warning"}
    assert warning_ids == {w.id for w in active}
    assert [f["properties"]["id"] for f in s.map.shelters["features"]] == [world["school"]]
    assert [f["properties"]["id"] for f in s.map.reports["features"]] == [world["report"]]
    assert [f["properties"]["id"] for f in s.map.callouts["features"]] == [world["callout"]]


def _testid(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    assert found, f"no {name} on the page"
    return found.group(1).strip()


def test_the_dashboard_shows_the_numbers_and_nothing_of_the_exercise(app, db, client, users,
                                                                        world):
    s = _snapshot(app, db)
    db.rollback()
    users.signed_in(client, "chair", "commission")
    page = client.get("/situation/").get_data(as_text=True)
    assert _testid(page, "warnings-count") == "1"
    assert 'data-testid="warnings-level" data-level="orange"' in page
    assert _testid(page, "alerts-count") == "1"
    assert (f'data-testid="alert-progress" data-total="{s.alerts.items[0].total}" '
            'data-finished="2" data-delivered="2"') in page
    assert _testid(page, "cad-open") == "1" and _testid(page, "cad-overdue") == "1"
    assert _testid(page, "shelters-open") == "1"
    assert _testid(page, "shelters-occupancy") == "45"
    assert _testid(page, "shelters-free") == "75"
    assert _testid(page, "autonomy-days") == str(s.reserves.days)
    assert _testid(page, "volunteers-committed") == "1"
    assert _testid(page, "volunteers-on-site") == "1"
    for part in ("warnings", "alerts", "cad", "shelters", "reserves", "volunteers", "map"):
        assert _testid(page, f"{part}-as-of") == clock.now().astimezone(
            app.extensions["sargs"].settings.zone).strftime("%H:%M:%S")
    # Nothing of the exercise: its warning, alert, shelter and call-out.
    assert "Mācību izsaukums" not in page and "Sporta halle" not in page
    assert f'data-alert-id="{world["drill_alert"]}"' not in page
    assert 'data-level="red"' not in page
    # The board fragment the page refreshes itself with shows the same.
    board = client.get("/situation/board").get_data(as_text=True)
    assert _testid(board, "shelters-occupancy") == "45"
    assert 'hx-trigger="every 10s"' in page


def test_the_json_parts_carry_their_as_of(app, client, users, world, frozen_clock):
    users.signed_in(client, "chair", "commission")
    data = client.get("/situation/data.json").get_json()
    assert set(data["parts"]) == {"warnings", "alerts", "cad", "shelters", "reserves",
                                  "volunteers", "map"}
    now = clock.now().astimezone(app.extensions["sargs"].settings.zone).isoformat()
    for name, part in data["parts"].items():
        assert part["as_of"] == now, name
        assert part["stale"] is False and part["stale_after_s"] > 0
    assert data["parts"]["shelters"]["occupancy"] == 45
    assert data["parts"]["reserves"]["days"] is not None
    assert data["parts"]["volunteers"]["committed"] == 1


def test_an_old_part_is_shown_stale(app, db, client, users, world, frozen_clock):
    """The warnings part is as old as the last good poll: when the configured source has
    not answered for three poll intervals, the tile says so."""
    settings = app.extensions["sargs"].settings
    settings.feed_urls = [next(iter(
        row.url for row in db.scalars(select(ingest.WarningSource))))]
    db.rollback()
    users.signed_in(client, "chair", "commission")
    frozen_clock.advance(timedelta(seconds=3 * settings.feed_poll_seconds + 1))
    page = client.get("/situation/").get_data(as_text=True)
    tile = re.search(r'<section [^>]*data-testid="warnings-tile"', page).group(0)
    assert "stale" in tile and 'data-server-stale="1"' in tile
    shelters_tile = re.search(r'<section [^>]*data-testid="shelters-tile"', page).group(0)
    assert "stale" not in shelters_tile.split("class=")[1].split('"')[1]


@pytest.mark.parametrize("roles, status", [
    (("coordinator",), 403), (("warehouse",), 403), (("commission",), 200), (("admin",), 200),
    (("operator",), 200), (("auditor",), 200),
])
def test_who_may_see_the_dashboard(client, users, roles, status):
    users.signed_in(client, "someone", *roles)
    assert client.get("/situation/").status_code == status
    assert client.get("/situation/data.json").status_code == status


def test_the_navigation_leads_there_first(client, users):
    users.signed_in(client, "chair", "commission")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/situation/"' in page


def test_an_integration_reads_the_situation_with_a_token(app, db, client, world):
    """The state's situation room pulls the same snapshot with a token of scope
    situation:read; without the scope, or without a token, it gets nothing."""
    from sargs.auth import service as auth

    _, reader = auth.create_token(db, "vugd-situation", ["situation:read"])
    _, other = auth.create_token(db, "city-web", ["warnings:read"])
    db.commit()
    assert client.get("/api/v1/situation").status_code == 401
    assert client.get("/api/v1/situation",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 403
    answer = client.get("/api/v1/situation", headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 200
    parts = answer.get_json()["parts"]
    # The same numbers the commission sees, and nothing of the exercise beside the storm.
    assert parts["shelters"]["occupancy"] == 45 and parts["volunteers"]["committed"] == 1
    assert len(parts["warnings"]["items"]) == 1
    bad = client.get("/api/v1/situation?lang=ru", headers={"Authorization": f"Bearer {reader}"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "lang"
