"""A recorded LVĢMC red wind warning replayed in an exercise: it flows through the real
warnings pipeline (stored, placed on the home areas, escalated by the red policy) as a
warning of the exercise's activation with CAP status Exercise, and reaches the
participants' phones marked "MĀCĪBAS" — never a resident subscribed to red warnings,
never the commission's real groups, never the public warnings page or CAP feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from sargs.exercises import builder, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ParticipantIn
from sargs.exercises.models import Exercise, Inject
from sargs.warnings import service as warnings
from sargs.warnings.models import WeatherWarning
from tests.channels import conftest as channel_fixtures
from tests.channels.adapters_helpers import wait_until, wired
from tests.channels.engine_helpers import resident
from tests.warnings import conftest as warning_fixtures
from tests.warnings.lvgmc import Doc

sim, feed = channel_fixtures.sim, warning_fixtures.feed

CHAIR, RESIDENT, COMMISSIONER = "+37120000501", "+37120000502", "+37120000503"


@pytest.fixture
def wiring(settings, sim, frozen_clock):
    with wired(settings, twilio=sim) as wiring:
        yield wiring


def recorded_red_wind() -> str:
    """A red wind warning for Jelgava as LVĢMC issued it two years before."""
    sent = clock.now() - timedelta(days=730)
    return Doc(301, sent, level=4, onset=sent + timedelta(hours=2),
               expires=sent + timedelta(hours=14)).xml().decode()


def build(db: Any) -> Exercise:
    exercise = builder.create_exercise(db, ExerciseIn(
        title="Vētra Jelgavā", scheduled_at=clock.now(), duration_minutes=120))
    builder.add_participant(db, exercise, ParticipantIn(
        name="Jānis Ozols", role="komisijas vadītājs", phone=CHAIR))
    builder.add_inject(db, exercise, InjectIn(
        offset=600, channel="warning", sender="LVĢMC", text="Sarkanais vēja brīdinājums",
        recipient_role="komisijas vadītājs", cap_document=recorded_red_wind()))
    builder.mark_ready(db, exercise)
    db.commit()
    return exercise


def test_a_replayed_red_wind_warning_reaches_only_the_participants_as_an_exercise(
        wiring, sim, frozen_clock):
    with wiring.app.app_context(), wiring.sessions() as db:
        # Real people who would get a real red warning: a subscribed resident and a
        # member of the commission's group the red policy pages.
        resident(db, "Anna", RESIDENT, areas=("LV022",), levels=("yellow", "orange", "red"))
        add_to_group(db, ensure_group(db, "commission", "Komisija", "staff"),
                     register_contact(db, "Komisijas loceklis", [("sms", COMMISSIONER)]))
        exercise = build(db)
        run.start(db, exercise, None, speed=60)
        db.commit()
        exercise_id, activation_id = exercise.id, exercise.activation_id

    frozen_clock.advance(seconds=10)  # ten exercise minutes at 60×
    with wiring.app.app_context(), wiring.sessions() as db:
        assert [i.number for i in run.deliver_due(db, wiring.settings)] == [1]
        db.commit()
    drain(wiring.dispatcher())

    def texts(phone: str) -> list[str]:
        return [m["body"] for m in sim.phones.of(phone) if "body" in m]

    assert wait_until(lambda: len(texts(CHAIR)) == 1)
    [sms] = texts(CHAIR)
    assert sms.startswith("MĀCĪBAS") and "SARKANAIS vēja brīdinājums Jelgavā" in sms
    assert texts(RESIDENT) == [] and texts(COMMISSIONER) == []

    with wiring.app.app_context(), wiring.sessions() as db:
        warning = db.scalars(select(WeatherWarning)).one()
        assert (warning.cap_status, warning.activation_id, warning.level, warning.state) == (
            "Exercise", activation_id, "red", "active")
        assert warning.home_areas == ["LV022"]
        # Issued now, in force two hours on: the recorded times moved to the exercise.
        assert warning.onset == clock.now() + timedelta(hours=2)
        alert = db.scalars(select(Alert)).one()
        assert (alert.source, alert.cap_status, alert.level, alert.activation_id) == (
            "warning", "Exercise", "red", activation_id)
        inject = db.scalars(select(Inject).where(Inject.exercise_id == exercise_id)).one()
        assert inject.alert_id == alert.id and inject.data["warning_id"] == warning.id
        participants = {p.contact_id for p in db.get(Exercise, exercise_id).participants}
        assert {row.contact_id for row in db.scalars(select(Delivery))} == participants
        # Not on the public warnings page's list, not in the public CAP feed.
        assert warnings.list_warnings(db) == []
        assert warnings.list_warnings(db, include_exercise=True) == [warning]
    feed = wiring.app.test_client().get("/cap/alerts.atom")
    assert feed.status_code == 200 and "<entry>" not in feed.get_data(as_text=True)


def test_the_real_warning_of_the_same_document_still_alerts_for_real(
        app, db, feed, frozen_clock):
    """The replay took an identifier of the exercise's own: when LVĢMC issues the same
    document for real, it is a new, real warning."""
    exercise = build(db)
    run.start(db, exercise, None)
    db.commit()
    frozen_clock.advance(minutes=10)
    run.deliver_due(db, app.extensions["sargs"].settings)
    db.commit()
    real = Doc(302, clock.now(), level=4, onset=clock.now() + timedelta(hours=1),
               expires=clock.now() + timedelta(hours=12))
    assert feed(real).new == 1
    db.expire_all()
    states = {w.cap_status: w.activation_id for w in db.scalars(select(WeatherWarning))}
    assert states == {"Exercise": exercise.activation_id, "Actual": None}
    real_alerts = db.scalars(select(Alert).where(Alert.cap_status == "Actual")).all()
    assert [a.level for a in real_alerts] == ["red"] and real_alerts[0].activation_id is None
