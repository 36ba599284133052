"""The situation report against a small situation built through the modules' own
services: an orange wind warning over Jelgava with its alert (some messages delivered, the
duty officer acknowledging), an open shelter with people in it, reserves in stock, a
call-out with a yes, and the crisis journal's decision and task. An exercise running at
the same time must leave no trace in it."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from sargs import clock
from sargs.activations import journal
from sargs.activations.journal_schemas import JournalEntryIn
from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.audit.models import AuditEntry
from sargs.channels import acks, ledger
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Alert, Delivery
from sargs.reserves import service as reserves
from sargs.reserves.schemas import ItemIn, WarehouseIn
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from sargs.situation import report, svg
from sargs.volunteers import callouts
from sargs.volunteers.schemas import CallOutIn
from tests.channels.engine_helpers import resident
from tests.volunteers.conftest import make_volunteer, outbox  # noqa: F401  fixtures
from tests.warnings.conftest import feed  # noqa: F401  fixture
from tests.warnings.lvgmc import RIGA_WINTER, Doc

PATH = "/situation/report"
DECISION = "Atvērt patvertni Jelgavas Valsts ģimnāzijā"
TASK = "Izvest smilšu maisus uz Pasta salu"


def _activation(db: Any, title: str, kind: str) -> Any:
    found = open_activation(db, ActivationOpen(title=title, kind=kind), by_user_id=None)
    db.commit()
    return found


@pytest.fixture
def situation(app, db, feed, make_volunteer, frozen_clock, users):  # noqa: F811
    """The situation; returns the ids and numbers the report must show."""
    chair = register_contact(db, "Priekšsēdētājs", [("sms", "+37129000001")])
    add_to_group(db, ensure_group(db, "commission-chair", "commission-chair", "staff"), chair)
    duty = register_contact(db, "Dežurants", [("sms", "+37129000003")])
    add_to_group(db, ensure_group(db, "duty-officers", "duty-officers", "staff"), duty)
    for n in range(3):
        resident(db, f"Iedzīvotājs {n}", f"+3712000001{n}", areas=("LV022",))
    db.commit()
    storm = _activation(db, "Vētra Jelgavā", "emergency")
    drill = _activation(db, "Mācības: plūdi", "exercise")

    frozen_clock.advance(timedelta(minutes=5))
    sent = clock.now().astimezone(RIGA_WINTER)
    feed(Doc(1, sent, level=3))
    db.expire_all()
    alert = db.scalars(select(Alert).where(Alert.source == "warning")).one()
    rows = list(db.scalars(select(Delivery).where(Delivery.alert_id == alert.id)
                           .order_by(Delivery.id)))
    duty_row = next(row for row in rows if row.contact_id == duty.id)
    delivered = [row for row in rows if row.contact_id != duty.id][:2]
    for row in [*delivered, duty_row]:  # as the worker and the provider move a row
        for state in ("pending", "claimed", "sent", "delivered"):
            ledger.move(db, row.id, state)
    assert acks.acknowledge(db, delivery_id=duty_row.id, via="sms") is not None
    db.commit()

    school = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=100))
    shelters.open_shelter(db, school, storm.id, notify=False)
    shelters.change_occupancy(db, school, 20)
    hall = shelters.create_shelter(db, ShelterIn(
        name="Mācību zāle", address="Zemgales prospekts 1", lat=56.66, lon=23.73,
        capacity=50))
    shelters.open_shelter(db, hall, drill.id, notify=False)
    shelters.change_occupancy(db, hall, 30)

    water = reserves.create_item(db, ItemIn(
        code="W-5L", name_lv="Dzeramais ūdens", name_en="Drinking water", category="water",
        unit="l", norm_per_person_day=Decimal(3)))
    food = reserves.create_item(db, ItemIn(
        code="F-CAN", name_lv="Konservi", name_en="Canned food", category="food", unit="kg",
        norm_per_person_day=Decimal("0.5")))
    store = reserves.create_warehouse(db, WarehouseIn(code="CENTRS", name="Centrālā"))
    reserves.receive(db, water, store, "L1", Decimal(600), reserves.Who())
    reserves.receive(db, food, store, "L2", Decimal(50), reserves.Who())
    db.commit()

    anna = make_volunteer("active", name="Anna Bērziņa", phone="+37120000301", email=None,
                          licence_categories=[], skills=["first_aid"])
    start = clock.now() + timedelta(hours=1)
    callout = callouts.create(db, CallOutIn(
        activation_id=storm.id, title="Smilšu maisi", place="Pasta sala", brief="Cimdi",
        skills=["first_aid"], area_code="LV022", starts_at=start,
        ends_at=start + timedelta(hours=4), needed=2), None,
        settings=app.extensions["sargs"].settings)
    db.commit()
    outcome, _answer = callouts.respond(db, callout, callouts.ask_of(db, callout, anna.id),
                                        True, via="sms")
    assert outcome == "yes"
    db.commit()

    author = users.create("chair", "commission")
    journal.add_entry(db, storm, JournalEntryIn(
        kind="decision", text=DECISION, decided_by="Komisijas priekšsēdētājs"), author)
    journal.add_entry(db, storm, JournalEntryIn(
        kind="task", text=TASK, assignee="Pašvaldības policija",
        due_at=clock.now() + timedelta(hours=2)), author)
    journal.add_entry(db, drill, JournalEntryIn(kind="decision", text="Mācību lēmums", decided_by="Vadītājs"), None)
    db.commit()
    frozen_clock.advance(timedelta(minutes=10))
    return {"storm": storm.id, "drill": drill.id, "alert": alert.id, "recipients": len(rows),
            "shelter": school.id, "callout": callout.id, "author": author.display_name
            or author.username}


def _attr(page: str, testid: str, name: str, of: int | None = None) -> list[str]:
    """The ``data-name`` values of the elements with ``testid`` (whose data-id is ``of``)."""
    own = "" if of is None else f'[^>]*?data-id="{of}"'
    return re.findall(rf'data-testid="{testid}"{own}[^>]*?data-{name}="([^"]*)"', page)


def test_the_report_shows_every_section_with_the_modules_numbers(app, client, users,
                                                                  situation, db):
    users.signed_in(client, "komisija", "commission")
    response = client.get(f"{PATH}.html")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    page = response.get_data(as_text=True)
    assert "<script" not in page
    for section in ("situation", "warnings", "measures", "alerts", "shelters", "reserves",
                    "volunteers", "issues", "journal"):
        assert f'data-testid="section-{section}"' in page, section
    assert _attr(page, "report-activation", "id") == [str(situation["storm"])]

    assert _attr(page, "warning", "level") == ["orange"]
    assert _attr(page, "sum-warnings", "value") == ["1"]
    # The warning's alert; the call-out asked its volunteer with an alert of its own.
    assert _attr(page, "alert", "recipients", situation["alert"]) == [
        str(situation["recipients"])]
    assert _attr(page, "alert", "delivered", situation["alert"]) == ["3"]
    assert _attr(page, "alert", "acknowledged", situation["alert"]) == ["1"]
    assert _attr(page, "shelter", "occupancy") == ["20"]
    assert _attr(page, "shelter", "free") == ["80"]
    assert _attr(page, "sum-shelters", "sheltered") == ["20"]
    # 20 people: food 50 kg / 10 kg a day = 5 days before water's 600 l / 60 l = 10.
    assert _attr(page, "autonomy", "days") == ["5"]
    assert _attr(page, "reserve-item", "item") == ["F-CAN", "W-5L"]
    assert _attr(page, "callout", "committed") == ["1"]
    assert _attr(page, "decision", "seq") == ["1"] and DECISION in page
    assert _attr(page, "task", "state") == ["open"] and TASK in page
    assert page.count('data-testid="open-task"') == 1
    assert _attr(page, "journal-entry", "seq") == ["2", "1"]
    assert situation["author"] in page
    assert _attr(page, "chain", "verified") == ["yes"]
    # The map: the home areas, the warning, the shelter, drawn as SVG.
    assert page.count('data-testid="map-home"') == 2
    assert page.count('data-testid="map-warning"') >= 1
    assert page.count('data-testid="map-shelter"') == 1
    assert 'data-testid="chart-delivery"' in page and 'data-testid="chart-occupancy"' in page

    # Exercise material stays out: the exercise's shelter, its people, its journal.
    assert "Mācību zāle" not in page and "Mācību lēmums" not in page
    assert "Mācības: plūdi" not in page

    db.expire_all()
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "situation_report"))
    assert entry.object_id == str(situation["storm"])
    assert entry.after["output"] == "html" and entry.after["language"] == "lv"
    assert situation["alert"] in entry.after["alerts"]


def test_the_pdf_carries_the_warning_shelter_autonomy_and_decision(client, users, situation):
    users.signed_in(client, "komisija", "commission")
    response = client.get(f"{PATH}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    # The shelter's row: name, address, occupancy, capacity, free places.
    assert "Jelgavas Valsts ģimnāzija Mātera iela 44 20 100 80" in text, text
    assert re.search(r"\b5 (days|dienas)", text), text  # the autonomy
    assert DECISION in text
    assert "Oranžais vēja brīdinājums" in text  # the warning's own headline


def test_english_on_request_and_latvian_by_default(client, users, situation):
    users.signed_in(client, "komisija", "commission")
    english = client.get(f"{PATH}.html?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Situation report" in english
    latvian = client.get(f"{PATH}.html").get_data(as_text=True)
    assert '<html lang="lv">' in latvian
    assert client.get(f"{PATH}.html?lang=de").status_code == 422


def test_a_chosen_activation_and_none(client, users, situation, db):
    users.signed_in(client, "komisija", "commission")
    assert client.get(f"{PATH}.html?activation={situation['drill']}").status_code == 422
    assert client.get(f"{PATH}.html?activation=9999").status_code == 422
    page = client.get(f"{PATH}?activation={situation['storm']}").get_data(as_text=True)
    assert _attr(page, "report-activation", "id") == [str(situation["storm"])]
    assert 'data-testid="download-pdf"' in page


def test_without_an_emergency_activation_the_situation_is_still_reported(client, users, db):
    users.signed_in(client, "komisija", "commission")
    response = client.get(PATH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _attr(page, "report-activation", "id") == [""]
    assert 'data-testid="section-situation"' in page


@pytest.mark.parametrize("role, status", [
    ("commission", 200), ("admin", 200), ("operator", 200), ("auditor", 200),
    ("trainer", 403), ("warehouse", 403), ("shelter_staff", 403), ("coordinator", 403)])
def test_who_may_make_the_report(client, users, role, status):
    users.signed_in(client, f"u-{role}", role)
    assert client.get(f"{PATH}.html").status_code == status
    assert client.get(PATH).status_code == status


def test_the_map_projection_keeps_north_up_and_the_home_area_in_the_frame():
    square = {"type": "Polygon", "coordinates": [[[23.6, 56.6], [23.8, 56.6], [23.8, 56.7],
                                                   [23.6, 56.7], [23.6, 56.6]]]}
    drawing = svg.draw_map([(square, "Jelgava")], [],
                           [svg.ShelterMark(23.7, 56.65, "A", 50, 100),
                            svg.ShelterMark(23.61, 56.69, "B", 0, 100)],
                           [svg.ReportMark(23.79, 56.61, "R")])
    assert drawing is not None
    full, empty = drawing.shelters
    assert full.r > empty.r and empty.r == svg.SHELTER_MIN_R
    assert empty.y < full.y < drawing.reports[0].y  # north is up
    assert empty.x < full.x < drawing.reports[0].x
    for item in (*drawing.shelters, *drawing.reports):
        assert 0 <= item.x <= drawing.width and 0 <= item.y <= drawing.height
    assert svg.draw_map([], [], [], []) is None
    bars = svg.bars([("sms", 3, 4), ("voice", 0, 0)])
    assert [b.width for b in bars] == [225.0, 0.0]


def test_the_report_refuses_an_exercise_activation(db, app):
    drill = _activation(db, "Mācības 2026", "exercise")
    with pytest.raises(report.ReportError):
        report.chosen_activation(db, drill.id)


def test_without_weasyprint_the_pdf_answers_503_and_is_not_recorded(client, users, db,
                                                                     monkeypatch):
    from sargs.situation import report_views

    def unavailable(html: str, base_url: str) -> bytes:
        raise report_views.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(report_views, "html_to_pdf", unavailable)
    users.signed_in(client, "komisija", "commission")
    response = client.get(f"{PATH}.pdf")
    assert response.status_code == 503 and "WeasyPrint" in response.get_data(as_text=True)
    assert db.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "situation_report")) is None


def test_the_dashboards_button_downloads_the_report(client, users):
    users.signed_in(client, "komisija", "commission")
    page = client.get("/situation/").get_data(as_text=True)
    [link] = re.findall(r'href="([^"]+)"[^>]*data-testid="situation-report-pdf"', page)
    response = client.get(link)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
