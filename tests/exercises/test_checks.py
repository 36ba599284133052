"""The communications check before the start: everybody of the exercise pinged through
the real engine and its simulators, and the controller told exactly who was not
reached — nobody with no address, nor the one whose SMS and call fail, goes unnoticed;
those reached are not listed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sargs.activations.models import Activation
from sargs.channels.models import FINAL_DELIVERY_STATES, Alert, Delivery
from sargs.exercises import builder, checks, run
from sargs.exercises.conduct import ConductError
from sargs.exercises.models import Exercise
from tests.channels.adapters_helpers import drain_paced, wait_until
from tests.exercises.test_run import CHAIR, build, mail, sim, telegram, wiring  # noqa: F401

ANNA, FAILING = "+37120000501", "+37120000502"
EVALUATOR_CHAT = 7501
PEOPLE = [
    {"kind": "controller", "name": "Kārlis Kontrolieris", "email": "karlis@dome.lv"},
    {"kind": "evaluator", "name": "Eva Vērtētāja", "telegram": str(EVALUATOR_CHAT)},
    {"name": "Anna Bērziņa", "role": CHAIR, "phone": ANNA},
    {"name": "Pēteris Bezadreses", "role": CHAIR},
    {"name": "Nauris Neveiksme", "role": CHAIR, "phone": FAILING},
]


def _names(results: list[checks.Reach], status: str | None = None) -> set[str]:
    return {r.participant.name for r in results if status is None or r.status == status}


def test_the_check_names_the_unreachable_and_not_those_reached(
        wiring, sim, telegram, mail, frozen_clock):  # noqa: F811
    telegram.add_chat(EVALUATOR_CHAT)
    sim.unsubscribed.add(FAILING)  # the SMS is refused …
    sim.no_answer.add(FAILING)  # … and the call not answered
    with wiring.app.app_context(), wiring.sessions() as db:
        exercise = db.get(Exercise, build(db, [(0, "page", CHAIR)], people=PEOPLE))
        check = checks.communications_check(db, exercise, None, wiring.settings)
        db.commit()
        check_id, alert_id, activation_id = check.id, check.alert_id, exercise.activation_id

    drain_paced(wiring, frozen_clock)

    def finished() -> bool:
        with wiring.sessions() as db:
            states = db.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id))
            return all(s in FINAL_DELIVERY_STATES for s in states)

    assert wait_until(finished)
    assert wait_until(lambda: any(m.get("body") for m in sim.phones.of(ANNA)))
    assert mail.inboxes.of("karlis@dome.lv")
    assert [e for e in telegram.chats.of(EVALUATOR_CHAT) if e["kind"] == "sendMessage"]

    with wiring.app.app_context(), wiring.sessions() as db:
        check = db.get(checks.CommunicationsCheck, check_id)
        results = checks.check_results(db, check)
        assert _names(results, "unreachable") == {"Pēteris Bezadreses", "Nauris Neveiksme"}
        assert _names(results, "reached") == {"Kārlis Kontrolieris", "Eva Vērtētāja",
                                              "Anna Bērziņa"}
        by_name = {r.participant.name: r for r in results}
        assert by_name["Anna Bērziņa"].channels == {"sms": "delivered", "voice": "delivered"}
        assert set(by_name["Nauris Neveiksme"].channels.values()) <= {"failed", "undeliverable"}
        assert by_name["Pēteris Bezadreses"].channels == {}

        alert = db.get(Alert, alert_id)
        assert (alert.source, alert.cap_status, alert.ack_required) == ("exercise", "Exercise",
                                                                        True)
        assert set(alert.channels) == {"telegram", "sms", "email", "voice"}
        assert db.get(Activation, activation_id).is_exercise
        # The start keeps the activation the check opened.
        exercise = db.get(Exercise, check.exercise_id)
        run.start(db, exercise, None)
        db.commit()
        assert exercise.activation_id == activation_id
        assert len(db.scalars(select(Activation)).all()) == 1


def test_an_unfinished_delivery_waits_until_the_grace_has_passed(db, frozen_clock):
    exercise = db.get(Exercise, build(db, [(0, "page", CHAIR)], people=[
        {"name": "Anna Bērziņa", "role": CHAIR, "phone": ANNA}]))
    check = checks.communications_check(db, exercise, None, None)  # no channel configured
    db.commit()
    (anna,) = checks.check_results(db, check)
    assert anna.status == "waiting" and set(anna.channels.values()) == {"held"}
    frozen_clock.advance(minutes=10)
    (anna,) = checks.check_results(db, check)
    assert anna.unreachable


def test_nobody_with_an_address_means_everybody_unreachable_and_no_alert(db):
    exercise = db.get(Exercise, build(db, [(0, "page", CHAIR)]))
    check = checks.communications_check(db, exercise, None, None)
    db.commit()
    assert check.alert_id is None and exercise.activation_id is None
    assert [r.unreachable for r in checks.check_results(db, check)] == [True]


@pytest.mark.parametrize("state", ["draft", "ended"])
def test_a_draft_or_ended_exercise_is_not_checked(db, state: str) -> Any:
    exercise = db.get(Exercise, build(db, [(0, "page", CHAIR)]))
    if state == "draft":
        builder.mark_draft(db, exercise)
    else:
        run.start(db, exercise, None)
        run.end(db, exercise)
    db.commit()
    with pytest.raises(ConductError) as refused:
        checks.communications_check(db, exercise, None, None)
    assert refused.value.field == "exercise"
