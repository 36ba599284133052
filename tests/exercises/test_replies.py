"""Participants answering by replying to the exercise's SMS (through the Twilio inbound
webhook) or writing to the Telegram bot: "1" still acknowledges through the engine and
the timeline shows it; any other text becomes an answer on the latest inject sent to
them, thanked in their language; other phones and ended exercises are not the
exercise's business."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.channels import inbound
from sargs.channels.dispatcher import drain
from sargs.channels.models import InboundMessage
from sargs.exercises import builder, conduct, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ParticipantIn
from sargs.exercises.models import Exercise
from tests.channels import conftest as channel_fixtures
from tests.channels.acks_helpers import sms_reply
from tests.channels.adapters_helpers import wired
from tests.exercises.test_warning_replay import recorded_red_wind

sim = channel_fixtures.sim

CHAIR, OUTSIDER = "+37120000601", "+37120000609"
ROLE = "komisijas vadītājs"


@pytest.fixture
def wiring(settings, sim, frozen_clock):
    with wired(settings, twilio=sim) as wiring:
        yield wiring


def _deliver(wiring: Any) -> list[int]:
    with wiring.app.app_context(), wiring.sessions() as db:
        numbers = [i.number for i in run.deliver_due(db, wiring.settings)]
        db.commit()
    drain(wiring.dispatcher())
    return numbers


def _started(wiring: Any) -> int:
    """The chair gets the replayed red wind warning at the start (its alert asks to be
    acknowledged) and an SMS inject at ten minutes."""
    with wiring.app.app_context(), wiring.sessions() as db:
        exercise = builder.create_exercise(db, ExerciseIn(
            title="Vētra Jelgavā", scheduled_at=clock.now(), duration_minutes=120))
        builder.add_participant(db, exercise, ParticipantIn(
            name="Jānis Ozols", role=ROLE, phone=CHAIR))
        builder.add_inject(db, exercise, InjectIn(
            offset=0, channel="warning", sender="LVĢMC", text="Sarkanais vēja brīdinājums",
            recipient_role=ROLE, cap_document=recorded_red_wind()))
        builder.add_inject(db, exercise, InjectIn(
            offset=600, channel="sms", sender="Skolas direktore", recipient_role=ROLE,
            text="Skolas jumts bojāts, bērni sporta zālē", expected_action="Evakuēt skolu"))
        builder.mark_ready(db, exercise)
        run.start(db, exercise, None, speed=60)
        db.commit()
        return exercise.id


def _log(wiring: Any, exercise_id: int) -> list[tuple[str, int | None, str, str]]:
    """(kind, inject number, via, text) of the chair's log."""
    with wiring.sessions() as db:
        exercise = db.get(Exercise, exercise_id)
        numbers = {i.id: i.number for i in exercise.injects}
        return [(r.kind, numbers.get(r.inject_id), r.via, r.text)
                for r in conduct.own_log(db, exercise.participants[0])]


def _states(wiring: Any, exercise_id: int) -> dict[int, str]:
    with wiring.sessions() as db:
        return {line.inject.number: line.state
                for line in conduct.timeline(db, db.get(Exercise, exercise_id))}


def test_a_reply_becomes_an_answer_and_1_still_acknowledges_through_the_engine(
        wiring, sim, frozen_clock):
    exercise_id = _started(wiring)
    assert _deliver(wiring) == [1]
    answer = sms_reply(wiring, CHAIR, "1")
    assert "apstiprinājums ir saņemts (paziņojums #" in answer  # the engine's thank-you
    assert _log(wiring, exercise_id) == []  # the engine's acknowledgement, not a log entry
    assert _states(wiring, exercise_id)[1] == "acknowledged"

    frozen_clock.advance(seconds=10)  # ten exercise minutes at 60×
    assert _deliver(wiring) == [2]
    answer = sms_reply(wiring, CHAIR, "Evakuējam skolu")
    assert "Paldies, jūsu atbilde mācībām ir saņemta." in answer
    assert _log(wiring, exercise_id) == [("answer", 2, "sms", "Evakuējam skolu")]
    assert _states(wiring, exercise_id) == {1: "acknowledged", 2: "answered"}

    # A phone that is nobody's in the exercise gets the router's help, nothing is logged.
    assert "BEIGT" in sms_reply(wiring, OUTSIDER, "Evakuējam skolu")
    with wiring.sessions() as db:
        assert [m.outcome for m in db.scalars(
            select(InboundMessage).order_by(InboundMessage.id))] == ["ack", "exercise",
                                                                     "unknown"]


def test_ok_acknowledges_an_sms_inject_and_an_ended_exercise_takes_no_replies(
        wiring, sim, frozen_clock):
    exercise_id = _started(wiring)
    frozen_clock.advance(seconds=10)
    assert _deliver(wiring) == [1, 2]
    # Every inject's alert asks for acknowledgement: "1" and "OK" go to the engine, which
    # takes the latest unacknowledged one each time.
    for word in ("1", "OK"):
        assert "apstiprinājums ir saņemts (paziņojums #" in sms_reply(wiring, CHAIR, word)
    assert _log(wiring, exercise_id) == []
    assert _states(wiring, exercise_id) == {1: "acknowledged", 2: "acknowledged"}
    # Nothing left for the engine: an "OK" more is the participant's, on the latest inject.
    assert "Paldies, apstiprinājums mācībām ir saņemts." in sms_reply(wiring, CHAIR, "OK")
    assert _log(wiring, exercise_id) == [("acknowledgement", 2, "sms", "OK")]

    with wiring.app.app_context(), wiring.sessions() as db:
        run.end(db, db.get(Exercise, exercise_id))
        db.commit()
    assert "BEIGT" in sms_reply(wiring, CHAIR, "Par vēlu")
    assert _log(wiring, exercise_id) == [("acknowledgement", 2, "sms", "OK")]


def test_a_text_to_the_bot_from_a_participants_chat_becomes_an_answer(db, frozen_clock):
    """The Telegram bot hands texts it does not know to the inbound router, as it does
    with call-out codes: a participant's chat answers the inject that reached them."""
    exercise = builder.create_exercise(db, ExerciseIn(
        title="Vētra Jelgavā", scheduled_at=clock.now(), duration_minutes=120))
    builder.add_participant(db, exercise, ParticipantIn(
        name="Jānis Ozols", role=ROLE, telegram="7601"))
    builder.add_inject(db, exercise, InjectIn(
        offset=0, channel="telegram", sender="Skolas direktore", recipient_role=ROLE,
        text="Skolā nav elektrības", expected_action="Lemt par ģeneratoru"))
    builder.mark_ready(db, exercise)
    run.start(db, exercise, None)
    run.deliver_due(db, None)
    db.commit()

    said = inbound.route(db, inbound.Reply("telegram", "7601", "Vedam ģeneratoru no noliktavas"),
                         secret="s", subscribe_url="http://sargs.test/subscribe")
    assert "Paldies, jūsu atbilde mācībām ir saņemta." in said
    [entry] = conduct.own_log(db, exercise.participants[0])
    assert (entry.kind, entry.via, entry.text, entry.inject_id) == (
        "answer", "telegram", "Vedam ģeneratoru no noliktavas", exercise.injects[0].id)
    # Another chat is not the exercise's: the router's help, nothing logged.
    said = inbound.route(db, inbound.Reply("telegram", "7609", "Vedam ģeneratoru"),
                         secret="s", subscribe_url="http://sargs.test/subscribe")
    assert "Paldies" not in said and len(conduct.own_log(db, exercise.participants[0])) == 1
