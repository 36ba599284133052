"""The run as its people see it, through the test client: a participant sees only the
injects sent to them (never the controllers' expected action, never another
participant's inject or log), acknowledges, answers and logs decisions; the page's feed
brings a newly delivered inject; an evaluator rates the objectives; bad input is named
at its field with nothing stored; an ended exercise takes no more answers; and nobody
outside the exercise gets in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from sargs import clock
from sargs.exercises import builder, conduct, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ObjectiveIn, ParticipantIn
from sargs.exercises.models import Exercise, Observation, Response
from tests.kernel.helpers import field_has_error, post_form

CHAIR, DIRECTOR = "komisijas vadītājs", "skolas direktore"
EXPECTED = "Sasaukt komisiju 30 minūtēs"
BASE = "/exercises/my"


@pytest.fixture
def people(users: Any) -> dict[str, Any]:
    """Staff accounts without any role: what makes them see an exercise is their part."""
    return {name: users.create(name) for name in ("janis", "berta", "eva", "olga")}


@pytest.fixture
def drill(db: Any, people: dict[str, Any]) -> Exercise:
    """Running: Jānis plays the chair, Berta the director, Eva evaluates. Injects 1
    (to the chair) and 2 (to the director) are delivered at the start; 3 (to the
    chair) is due at ten minutes."""
    exercise = builder.create_exercise(db, ExerciseIn(
        title="Vētra Jelgavā", scheduled_at=clock.now(), duration_minutes=120,
        scenario="Sarkanais vēja brīdinājums Zemgalei."))
    builder.add_objective(db, exercise, ObjectiveIn(text="Komisija sasaukta 30 minūtēs"))
    for name, kind, role in (("janis", "participant", CHAIR), ("berta", "participant", DIRECTOR),
                             ("eva", "evaluator", "")):
        builder.add_participant(db, exercise, ParticipantIn(
            kind=kind, name=name.title(), role=role, user_id=people[name].id))
    for minutes, role, text in ((0, CHAIR, "Vējš nogāzis kokus Lielajā ielā"),
                                (0, DIRECTOR, "Skolā nav apkures"),
                                (10, CHAIR, "Slimnīca pāriet uz ģeneratoru")):
        builder.add_inject(db, exercise, InjectIn(
            offset=minutes * 60, channel="page", recipient_role=role, sender="VUGD",
            text=text, expected_action=EXPECTED))
    builder.mark_ready(db, exercise)
    run.start(db, exercise, None)
    run.deliver_due(db, None)
    db.commit()
    return exercise


def _as(app: Any, users: Any, person: Any) -> Any:
    """A browser of its own, signed in as ``person``."""
    client = app.test_client()
    assert users.login(client, person).status_code == 302
    return client


def _numbers(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="inject" data-id="\d+" data-number="(\d+)"',
                                       page)]


def _log(page: str) -> list[tuple[str, str]]:
    """(kind, inject number) of each entry of the participant's log."""
    return re.findall(r'data-testid="log-entry" data-id="\d+" data-kind="(\w+)" '
                      r'data-inject="(\d*)"', page)


def _inject_id(db: Any, exercise: Exercise, number: int) -> int:
    found = next(i.id for i in exercise.injects if i.number == number)
    db.rollback()  # SQLite: no transaction left open while the app writes
    return found


def _objective_id(db: Any, exercise: Exercise) -> int:
    found = exercise.objectives[0].id
    db.rollback()
    return found


def _stored(db: Any, model: type) -> int:
    count = db.scalar(select(func.count()).select_from(model))
    db.rollback()  # SQLite: no transaction left open while the app writes
    return count


def test_a_participant_sees_their_injects_answers_them_and_keeps_their_own_log(
        app, users, db, people, drill, frozen_clock):
    client = _as(app, users, people["janis"])
    path = f"{BASE}/{drill.id}"
    page = client.get(path).get_data(as_text=True)
    assert _numbers(page) == [1]  # the director's inject 2 is not theirs, 3 is not due
    assert "Vējš nogāzis kokus" in page and "Skolā nav apkures" not in page
    assert EXPECTED not in page  # the expected action is the controllers'
    assert "Sarkanais vēja brīdinājums Zemgalei." in page
    assert 'data-state="running"' in page

    first = _inject_id(db, drill, 1)
    assert post_form(client, f"{path}/injects/{first}/acknowledge").status_code == 302
    assert post_form(client, f"{path}/injects/{first}/acknowledge").status_code == 302  # once
    assert post_form(client, f"{path}/injects/{first}/answer",
                     {"text": "Komisija sasaukta uz 10:30"}).status_code == 302
    assert post_form(client, f"{path}/decisions",
                     {"text": "Slēdzam Lielo ielu", "inject": ""}).status_code == 302

    # Berta answers her own inject; it is hers alone.
    berta = conduct.player(drill, people["berta"])
    conduct.respond(db, drill, berta, "answer", "Bērni paliek mājās",
                    inject=next(i for i in drill.injects if i.number == 2))
    db.commit()

    page = client.get(path).get_data(as_text=True)
    assert 'data-acknowledged="yes"' in page
    assert _log(page) == [("acknowledgement", "1"), ("answer", "1"), ("decision", "")]
    assert "Komisija sasaukta uz 10:30" in page and "Slēdzam Lielo ielu" in page
    assert "Bērni paliek mājās" not in page
    states = {(line.inject.number, line.participant.name): line.state
              for line in conduct.timeline(db, drill)}
    assert states[(1, "Janis")] == "answered" and states[(2, "Berta")] == "answered"


def test_the_feed_brings_a_newly_delivered_inject_without_reloading(
        app, users, db, people, drill, frozen_clock):
    client = _as(app, users, people["janis"])
    feed = client.get(f"{BASE}/{drill.id}/feed.json").get_json()
    assert [i["number"] for i in feed["injects"]] == [1] and feed["state"] == "running"
    page = client.get(f"{BASE}/{drill.id}").get_data(as_text=True)
    assert 'src="/static/js/exercise_play.js"' in page and 'data-feed="' in page

    frozen_clock.advance(minutes=10)
    run.deliver_due(db, None)
    db.commit()
    feed = client.get(f"{BASE}/{drill.id}/feed.json").get_json()
    assert [i["number"] for i in feed["injects"]] == [1, 3] and feed["clock"] == "0:10"
    fresh = feed["injects"][1]["html"]
    assert "Slimnīca pāriet uz ģeneratoru" in fresh and EXPECTED not in fresh
    assert 'data-testid="answer-form"' in fresh and 'name="csrf_token"' in fresh

    client = _as(app, users, people["berta"])
    assert [i["number"] for i in client.get(f"{BASE}/{drill.id}/feed.json").get_json()[
        "injects"]] == [2]


def test_nobody_outside_the_exercise_gets_in(app, users, db, people, drill):
    client = _as(app, users, people["olga"])
    path = f"{BASE}/{drill.id}"
    first = _inject_id(db, drill, 1)
    assert client.get(path).status_code == 403
    assert client.get(f"{path}/feed.json").status_code == 403
    assert client.get(f"{path}/evaluate").status_code == 403
    assert post_form(client, f"{path}/injects/{first}/answer", {"text": "x"}).status_code == 403
    assert post_form(client, f"{path}/decisions", {"text": "x"}).status_code == 403
    assert 'data-testid="no-exercises"' in client.get(f"{BASE}/").get_data(as_text=True)
    assert client.get(f"{BASE}/9999").status_code == 404
    # A participant is not an evaluator, and an evaluator plays no part.
    client = _as(app, users, people["janis"])
    assert client.get(f"{path}/evaluate").status_code == 403
    client = _as(app, users, people["eva"])
    assert client.get(path).status_code == 403
    assert _stored(db, Response) == 0


def test_my_exercises_lists_each_exercise_with_the_users_part(app, users, people, drill):
    client = _as(app, users, people["eva"])
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert f'data-id="{drill.id}" data-parts="evaluator"' in page
    assert 'data-testid="link-evaluate"' in page and 'data-testid="link-play"' not in page
    client = _as(app, users, people["janis"])
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert f'data-id="{drill.id}" data-parts="participant"' in page
    assert 'data-testid="link-play"' in page and 'href="/exercises/my/"' in page  # the nav


def test_an_evaluator_rates_an_objective_and_the_rating_shows(
        app, users, db, people, drill):
    client = _as(app, users, people["eva"])
    path = f"{BASE}/{drill.id}/evaluate"
    objective = _objective_id(db, drill)
    page = client.get(path).get_data(as_text=True)
    assert f'data-id="{objective}" data-rating=""' in page
    assert post_form(client, f"{path}/{objective}", {
        "rating": "some_challenges", "text": "Sasaukta 40 minūtēs", "strength": "Skaidrs ziņojums",
        "improvement": "Rezerves sakaru saraksts"}).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert f'data-id="{objective}" data-rating="some_challenges"' in page
    assert 'data-testid="observation"' in page and "Sasaukta 40 minūtēs" in page
    assert conduct.ratings(db, drill) == {objective: "some_challenges"}
    db.rollback()


def test_bad_input_is_named_at_its_field_and_nothing_is_stored(
        app, users, db, people, drill):
    client = _as(app, users, people["janis"])
    path = f"{BASE}/{drill.id}"
    first, theirs = _inject_id(db, drill, 1), _inject_id(db, drill, 2)
    response = post_form(client, f"{path}/injects/{first}/answer", {"text": "  "})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True), "text")
    response = post_form(client, f"{path}/decisions", {"text": "Slēdzam", "inject": "x"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "inject")
    assert 'Slēdzam</textarea>' in response.get_data(as_text=True)  # what was typed is kept
    response = post_form(client, f"{path}/injects/{theirs}/answer", {"text": "Nav mans"})
    assert response.status_code == 422  # Berta's inject
    assert 'data-testid="error-inject"' in response.get_data(as_text=True)
    assert _stored(db, Response) == 0

    client = _as(app, users, people["eva"])
    objective = _objective_id(db, drill)
    response = post_form(client, f"{path}/evaluate/{objective}",
                         {"rating": "excellent", "text": "Labi"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "rating")
    response = post_form(client, f"{path}/evaluate/{objective}",
                         {"rating": "unable", "text": ""})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "text")
    assert _stored(db, Observation) == 0


def test_after_the_exercise_ends_answers_are_refused(app, users, db, people, drill):
    run.end(db, drill)
    db.commit()
    client = _as(app, users, people["janis"])
    path = f"{BASE}/{drill.id}"
    page = client.get(path).get_data(as_text=True)
    assert 'data-state="ended"' in page and _numbers(page) == [1]
    assert 'data-testid="answer-form"' not in page and 'data-testid="decision-form"' not in page
    response = post_form(client, f"{path}/injects/{_inject_id(db, drill, 1)}/answer",
                         {"text": "Par vēlu"})
    assert response.status_code == 422
    assert 'data-testid="error-exercise"' in response.get_data(as_text=True)
    assert post_form(client, f"{path}/decisions", {"text": "Par vēlu"}).status_code == 422
    assert _stored(db, Response) == 0
