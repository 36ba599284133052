"""The controller's page of a running exercise through the test client: a controller
starts at 60×, pauses, jumps, releases an inject and sees the timeline change; only
the exercise's controllers, trainers and admins may control it; the communications
check lists the unreachable; the ledger view shows this exercise's deliveries only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sargs.exercises import conduct, run
from sargs.exercises.models import Exercise, Inject, Participant
from tests.conftest import csrf_token
from tests.exercises.test_run import CHAIR, build

BASE = "/exercises/run"


@dataclass
class Built:
    """An exercise's ids, read once: the test's session then holds no transaction
    (SQLite would keep the pages' requests waiting)."""

    id: int
    injects: dict[int, int]  # number → id
    people: dict[str, int]  # name → id


def _exercise(db: Any, *, controller: Any = None, more: list[dict[str, Any]] = (),
              channel: str = "page", title: str = "Vētra Jelgavā") -> Built:
    """Injects at 0, 10, 20 and 30 minutes to the chair (who has a phone)."""
    people = [{"name": "Jānis Ozols", "role": CHAIR, "phone": "+37120000601"}, *more]
    if controller is not None:
        people.append({"kind": "controller", "name": "Kristaps", "user_id": controller.id})
    exercise = db.get(Exercise, build(db, [(m, channel, CHAIR) for m in (0, 10, 20, 30)],
                                      people=people, title=title))
    built = Built(exercise.id, {i.number: i.id for i in exercise.injects},
                  {p.name: p.id for p in exercise.participants})
    db.rollback()
    return built


def _post(client: Any, exercise: Built, action: str, **data: Any) -> Any:
    token = csrf_token(client, f"{BASE}/{exercise.id}")
    return client.post(f"{BASE}/{exercise.id}/{action}", data={**data, "csrf_token": token})


def _status(client: Any, exercise: Built) -> dict[str, Any]:
    response = client.get(f"{BASE}/{exercise.id}/status.json")
    assert response.status_code == 200
    return response.get_json()


def _states(client: Any, exercise: Built) -> dict[int, str]:
    return {line["inject"]: line["state"] for line in _status(client, exercise)["lines"]}


def _page_states(client: Any, exercise: Built) -> dict[int, str]:
    page = client.get(f"{BASE}/{exercise.id}").get_data(as_text=True)
    return {int(n): s for n, s in re.findall(
        r'data-testid="line" data-inject="(\d+)" data-participant="\d*" data-state="(\w+)"', page)}


def _tick(db: Any) -> list[int]:
    db.expire_all()
    numbers = [i.number for i in run.deliver_due(db, None)]
    db.commit()
    return numbers


def test_a_controller_runs_the_exercise_from_the_page(client, users, db, frozen_clock):
    controller = users.create("kristaps", "operator")
    exercise = _exercise(db, controller=controller)
    users.login(client, controller)
    page = client.get(f"{BASE}/{exercise.id}")
    assert page.status_code == 200 and 'data-testid="start"' in page.get_data(as_text=True)
    assert 'data-status-url="/exercises/run/' in page.get_data(as_text=True)

    assert _post(client, exercise, "start", speed="0").status_code == 422  # refused, named
    assert 'data-field="speed"' in _post(client, exercise, "start", speed="x").get_data(
        as_text=True)
    assert _post(client, exercise, "start", speed="60").status_code == 302
    clock = _status(client, exercise)["clock"]
    assert (clock["state"], clock["elapsed"], clock["speed"]) == ("running", "00:00:00", 60)
    assert _tick(db) == [1]
    assert _page_states(client, exercise) == {1: "delivered", 2: "waiting", 3: "waiting",
                                              4: "waiting"}

    frozen_clock.advance(seconds=5)  # five exercise minutes
    assert _status(client, exercise)["clock"]["elapsed"] == "00:05:00"
    assert _post(client, exercise, "pause").status_code == 302
    frozen_clock.advance(minutes=5)
    assert _status(client, exercise)["clock"] == {"state": "paused", "elapsed_s": 300.0,
                                                  "elapsed": "00:05:00", "speed": 60.0}
    assert _post(client, exercise, "next").status_code == 302  # to inject 2's time
    assert _status(client, exercise)["clock"]["elapsed"] == "00:10:00"
    assert _tick(db) == []  # paused: nothing goes out

    fourth = exercise.injects[4]
    assert _post(client, exercise, f"injects/{fourth}/release").status_code == 302
    assert _states(client, exercise)[4] == "delivered"
    again = _post(client, exercise, f"injects/{fourth}/release")
    assert again.status_code == 422 and 'data-field="inject"' in again.get_data(as_text=True)

    assert _post(client, exercise, "resume").status_code == 302
    assert _tick(db) == [2]
    db.expire_all()
    row = db.get(Exercise, exercise.id)
    conduct.respond(db, row, db.get(Participant, exercise.people["Jānis Ozols"]),
                    "acknowledgement", inject=db.get(Inject, exercise.injects[2]))
    db.commit()
    status = _status(client, exercise)
    assert {n: s for n, s in ((x["inject"], x["state"]) for x in status["lines"])} == {
        1: "delivered", 2: "acknowledged", 3: "waiting", 4: "delivered"}
    assert (status["summary"]["delivered"], status["summary"]["acknowledged"]) == (3, 1)

    assert _post(client, exercise, "speed", speed="120").status_code == 302
    assert _status(client, exercise)["clock"]["speed"] == 120
    assert _post(client, exercise, "end").status_code == 302
    assert _status(client, exercise)["clock"]["state"] == "ended"
    assert _post(client, exercise, "pause").status_code == 422


def test_only_its_controllers_trainers_and_admins_control_an_exercise(app, users, db):
    evaluator = users.create("eva", "operator")
    player = users.create("janis", "operator")
    other_controller = users.create("otto", "operator")
    exercise = _exercise(db, more=[
        {"kind": "evaluator", "name": "Eva", "user_id": evaluator.id},
        {"name": "Jānis", "role": CHAIR, "user_id": player.id}])
    _exercise(db, controller=other_controller, title="Citas mācības")
    for user in (evaluator, player, other_controller):
        client = app.test_client()
        users.login(client, user)
        assert client.get(f"{BASE}/{exercise.id}").status_code == 403
        assert client.get(f"{BASE}/{exercise.id}/status.json").status_code == 403
        assert client.get(f"{BASE}/{exercise.id}/ledger").status_code == 403
        token = csrf_token(client, "/")
        for action in ("start", "check", "end"):
            response = client.post(f"{BASE}/{exercise.id}/{action}",
                                   data={"speed": "1", "csrf_token": token})
            assert response.status_code == 403
    db.expire_all()
    assert db.get(Exercise, exercise.id).state == "ready"
    db.rollback()
    client = app.test_client()
    users.signed_in(client, "ilze", "trainer")
    assert client.get(f"{BASE}/{exercise.id}").status_code == 200


def test_the_check_from_the_page_lists_the_unreachable(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    exercise = _exercise(db, more=[{"name": "Pēteris Bezadreses", "role": CHAIR}])
    assert _post(client, exercise, "check").status_code == 302
    page = client.get(f"{BASE}/{exercise.id}").get_data(as_text=True)
    listed = re.findall(r'data-testid="unreachable-person" data-participant="(\d+)"', page)
    assert listed == [str(exercise.people["Pēteris Bezadreses"])]  # the chair's SMS is still under way: not listed yet


def test_the_ledger_view_shows_only_this_exercises_deliveries(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    ours = _exercise(db, channel="sms")
    other = _exercise(db, channel="sms", title="Citas mācības", more=[
        {"name": "Cita Persona", "role": CHAIR, "phone": "+37120000602"}])
    for exercise in (ours, other):
        run.start(db, db.get(Exercise, exercise.id), None)
    db.commit()
    assert sorted(_tick(db)) == [1, 1]
    ours_alert = db.get(Inject, ours.injects[1]).alert_id
    db.rollback()
    page = client.get(f"{BASE}/{ours.id}/ledger").get_data(as_text=True)
    rows = re.findall(r'data-testid="delivery" data-alert="(\d+)"', page)
    assert rows == [str(ours_alert)]
    assert "Jānis Ozols" in page and "Cita Persona" not in page
    other_page = client.get(f"{BASE}/{other.id}/ledger").get_data(as_text=True)
    assert len(re.findall(r'data-testid="delivery"', other_page)) == 2
