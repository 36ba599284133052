"""``sargs exercises run ID --speed N --json``: a ready exercise run headless in real time
against the provider simulators, the simulated participants acknowledging what reached
them; it prints the measured summary, and the simulated phones got the injects marked
"MĀCĪBAS". Runs on the real clock (the run is real time), at the highest speed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from sargs import clock
from sargs.app import create_app
from sargs.channels.simulators import suite
from sargs.cli import cli
from sargs.exercises import builder, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ParticipantIn
from sargs.exercises.models import Exercise

CHAIR, DIRECTOR = "komisijas priekšsēdētājs", "skolas direktors"
CHAIR_PHONE, DIRECTOR_PHONE, OUTSIDER = "+37120000301", "+37120000302", "+37120000309"


@pytest.fixture
def live_app(settings: Any) -> Iterator[Any]:
    """The app on the real clock: the headless run takes real time."""
    application = create_app(settings)
    yield application
    application.extensions["sargs"].engine.dispose()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The simulators each run started, to look at what they received afterwards."""
    found: list[dict[str, Any]] = []
    start_all = suite.start_all

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        found.append(start_all(*args, **kwargs))
        return found[-1]

    monkeypatch.setattr(suite, "start_all", recording)
    return found


def _small_exercise(app: Any, state: str = "ready") -> int:
    """Ten minutes: an SMS to the director, a page inject and a Telegram message to the
    chair, an e-mail to both; an evaluator who gets nothing."""
    with app.test_request_context(), app.extensions["sargs"].sessionmaker() as db:
        exercise = builder.create_exercise(db, ExerciseIn(
            kind="functional", title="Vētra Jelgavā", scheduled_at=clock.now(),
            duration_minutes=10))
        builder.add_participant(db, exercise, ParticipantIn(
            name="Priekšsēdētājs", role=CHAIR, phone=CHAIR_PHONE, email="chair@example.lv",
            telegram="7301"))
        builder.add_participant(db, exercise, ParticipantIn(
            name="Direktors", role=DIRECTOR, phone=DIRECTOR_PHONE,
            email="director@example.lv"))
        builder.add_participant(db, exercise, ParticipantIn(
            kind="evaluator", name="Vērtētājs", role="vērtētājs", phone=OUTSIDER))
        for minutes, channel, role, text in (
                (0, "sms", DIRECTOR, "Skolā nav elektrības"),
                (2, "page", CHAIR, "Jālemj par patvertni"),
                (4, "telegram", CHAIR, "Lielajā ielā nogāzies koks"),
                (6, "email", CHAIR, "Ūdensapgādes traucējumi"),
                (8, "sms", DIRECTOR, "Elektroapgāde atjaunota")):
            builder.add_inject(db, exercise, InjectIn(
                offset=minutes * 60, channel=channel, recipient_role=role, sender="CA nodaļa",
                text=text, expected_action="Ziņot komisijai"))
        if state == "ready":
            builder.mark_ready(db, exercise)
        db.commit()
        return exercise.id


def _run(app: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_a_headless_run_delivers_every_inject_and_the_participants_acknowledge(
        live_app, started):
    exercise_id = _small_exercise(live_app)
    result = _run(live_app, "exercises", "run", str(exercise_id), "--speed",
                  str(int(run.MAX_SPEED)), "--json")
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    assert set(measured) == {"injects", "delivered", "acknowledged", "median_ack_s",
                             "leaked_to_non_participants"}
    assert measured["injects"] == measured["delivered"] == 5
    assert measured["acknowledged"] == 5 and measured["median_ack_s"] > 0
    assert measured["leaked_to_non_participants"] == 0

    [simulators] = started
    twilio = simulators["twilio"]

    def texts(phone: str) -> list[str]:
        return [m["body"] for m in twilio.phones.of(phone) if "body" in m]

    assert len(texts(DIRECTOR_PHONE)) == 2
    assert all(t.startswith("MĀCĪBAS") for t in texts(DIRECTOR_PHONE))
    assert texts(CHAIR_PHONE) == [] and texts(OUTSIDER) == []
    chat = [e for e in simulators["telegram"].chats.of(7301) if e["kind"] == "sendMessage"]
    assert len(chat) == 1 and chat[0]["text"].startswith("MĀCĪBAS")
    assert len(simulators["smtp"].inboxes.of("chair@example.lv")) == 1
    with live_app.extensions["sargs"].sessionmaker() as db:
        assert db.get(Exercise, exercise_id).state == "ended"


def test_only_a_ready_exercise_runs_and_the_speed_is_bounded(live_app, started):
    draft = _small_exercise(live_app, state="draft")
    result = _run(live_app, "exercises", "run", str(draft), "--json")
    assert result.exit_code == 1 and "ready" in result.output
    ready = _small_exercise(live_app)
    assert _run(live_app, "exercises", "run", str(ready), "--speed", "601").exit_code == 2
    assert started == []  # neither started the simulators
