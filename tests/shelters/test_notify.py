"""Opening a shelter tells its staff through the notification engine: the responsible
person's phone (Twilio simulator) and inbox (SMTP simulator) and the key holder's
phone receive the opening and its procedure; the ledger shows it; an exercise
opening's text is marked as an exercise; the contacts are reused at the next opening."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Contact, Delivery
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from sargs.shelters import service
from sargs.shelters.models import Shelter
from sargs.shelters.schemas import ShelterIn
from tests.channels.adapters_helpers import wait_until, wired
from tests.shelters.conftest import CENTRE

RESPONSIBLE = "+37120000201"
KEY_HOLDER = "+37120000202"
PROCEDURE = "Atslēgas dežurantam, ieeja no pagalma, ieslēgt ventilāciju."


@pytest.fixture
def sim() -> Iterator[Any]:
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def mail() -> Iterator[Any]:
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def wiring(settings, sim, mail, frozen_clock) -> Iterator[Any]:
    with wired(settings, twilio=sim, smtp_url=f"smtp://127.0.0.1:{mail.port}",
               email_from="sargs@jelgava.lv") as wiring:
        yield wiring


def _shelter(wiring, **fields: Any) -> int:
    values = {"name": "Jelgavas Valsts ģimnāzija", "address": "Mātera iela 44",
              "lat": CENTRE[0], "lon": CENTRE[1], "capacity": 120,
              "responsible_name": "Inese Kalniņa", "responsible_phone": "20000201",
              "responsible_email": "Inese@Example.lv", "key_holder_name": "Pēteris Ozols",
              "key_holder_phone": "+371 2000 0202", "opening_procedure": PROCEDURE, **fields}
    with wiring.sessions() as db:
        shelter = service.create_shelter(db, ShelterIn(**values))
        db.commit()
        return shelter.id


def _open(wiring, shelter_id: int, *, exercise: bool = False) -> int:
    """Open the place in a new activation, as the pages and the API do; the activation."""
    with wiring.sessions() as db:
        activation = open_activation(db, ActivationOpen(
            title="Mācības 2026" if exercise else "Vētra Zemgalē",
            kind="exercise" if exercise else "emergency"), by_user_id=None)
        service.open_shelter(db, db.get(Shelter, shelter_id), activation.id,
                             settings=wiring.settings)
        db.commit()
        return activation.id


def _ledger(wiring) -> list[tuple[str, str, str]]:
    """(channel, address, state) of every delivery row."""
    with wiring.sessions() as db:
        return sorted((d.channel, d.address, d.state) for d in db.scalars(select(Delivery)))


def _delivered(wiring, count: int) -> list[tuple[str, str, str]]:
    """Drain until ``count`` rows are written and the SMS and e-mail ones delivered (a
    call's progress is the simulator's own business)."""
    drain(wiring.dispatcher())
    assert wait_until(lambda: len(rows := _ledger(wiring)) >= count and all(
        state == "delivered" for channel, _a, state in rows if channel != "voice")), \
        _ledger(wiring)
    return _ledger(wiring)


def _sms(sim, phone: str) -> list[str]:
    return [m["body"] for m in sim.phones.of(phone) if "body" in m]


def test_opening_tells_the_responsible_person_and_the_key_holder(wiring, sim, mail):
    shelter_id = _shelter(wiring)
    activation_id = _open(wiring, shelter_id)

    rows = _delivered(wiring, 5)
    [text] = _sms(sim, RESPONSIBLE)
    assert text.startswith("Patvertne “Jelgavas Valsts ģimnāzija” (Mātera iela 44) atvērta "
                           "(aktivizācija: Vētra Zemgalē).")
    assert f"Atveršanas kārtība: {PROCEDURE}" in text
    assert _sms(sim, KEY_HOLDER) == [text]
    [received] = mail.inboxes.of("inese@example.lv")
    assert PROCEDURE in received["text"]
    # The ledger: SMS and a call to both, e-mail to the one who has an address.
    assert [(channel, address) for channel, address, _state in rows] == [
        ("email", "inese@example.lv"), ("sms", RESPONSIBLE), ("sms", KEY_HOLDER),
        ("voice", RESPONSIBLE), ("voice", KEY_HOLDER)]
    with wiring.sessions() as db:
        [alert] = db.scalars(select(Alert)).all()
        assert (alert.source, alert.cap_status, alert.requires_approval) == (
            "callout", "Actual", False)
        assert alert.activation_id == activation_id
        assert "public" not in alert.audience
        staff = [db.get(Contact, i) for i in alert.audience["contacts"]]
        assert sorted((c.name, c.owner) for c in staff) == [
            ("Inese Kalniņa", "shelters"), ("Pēteris Ozols", "shelters")]


def test_an_exercise_opening_sends_an_exercise_alert(wiring, sim):
    shelter_id = _shelter(wiring)
    _open(wiring, shelter_id, exercise=True)

    _delivered(wiring, 5)
    [text] = _sms(sim, RESPONSIBLE)
    assert text.startswith("MĀCĪBAS: Patvertne “Jelgavas Valsts ģimnāzija”")
    assert "(aktivizācija: Mācības 2026)" in text
    with wiring.sessions() as db:
        [alert] = db.scalars(select(Alert)).all()
        assert alert.cap_status == "Exercise"


def test_the_next_opening_reuses_the_staff_contacts(wiring, sim):
    shelter_id = _shelter(wiring)
    _open(wiring, shelter_id)
    with wiring.sessions() as db:
        service.close_shelter(db, db.get(Shelter, shelter_id))
        db.commit()
    _open(wiring, shelter_id)
    with wiring.sessions() as db:
        alerts = db.scalars(select(Alert).order_by(Alert.id)).all()
        assert len(alerts) == 2
        assert alerts[0].audience == alerts[1].audience
        assert db.scalar(select(Contact.id).where(Contact.owner == "shelters").offset(2)) is None


def test_a_place_without_staff_contacts_opens_and_tells_nobody(wiring):
    shelter_id = _shelter(wiring, responsible_phone="", responsible_email="",
                          key_holder_phone="")
    _open(wiring, shelter_id)
    with wiring.sessions() as db:
        assert db.get(Shelter, shelter_id).opening_id is not None
        assert db.scalars(select(Alert)).all() == []


def test_opening_tells_the_volunteers_assigned_to_the_place(wiring, sim):
    from sargs.volunteers import service as volunteers
    from sargs.volunteers.schemas import VolunteerIn
    from tests.volunteers.conftest import Outbox, registration

    shelter_id = _shelter(wiring)
    with wiring.sessions() as db:
        assigned = []
        for name, phone, status in (("Ilze Kalniņa", "+37120000211", "active"),
                                    ("Jānis Pending", "+37120000212", "pending")):
            volunteer = volunteers.register(db, VolunteerIn(**registration(
                name=name, phone=phone, email=None)))
            outbox = Outbox()
            volunteers.send_phone_code(db, volunteer, secret="s", send=outbox)
            volunteers.confirm_phone(db, volunteer, outbox.last_code(), secret="s")
            volunteers.decide(db, volunteer, status, None)
            volunteers.assign_shelter(db, volunteer, shelter_id)
            assigned.append(volunteer)
        db.commit()
    _open(wiring, shelter_id)

    rows = _delivered(wiring, 6)
    [text] = _sms(sim, "+37120000211")
    assert text.startswith("Patvertne “Jelgavas Valsts ģimnāzija” (Mātera iela 44) atvērta")
    assert _sms(sim, "+37120000212") == []  # not approved: not told
    assert ("sms", "+37120000211", "delivered") in rows
    with wiring.sessions() as db:
        [alert] = db.scalars(select(Alert)).all()
        owners = sorted(db.get(Contact, i).owner for i in alert.audience["contacts"])
        assert owners == ["shelters", "shelters", "volunteers"]
