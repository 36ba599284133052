"""The demo exercise "Vētra un elektroapgādes pārtraukums Jelgavā": three institutions'
continuity plans and a ready exercise of 20 injects over two hours whose objectives name
the plans' critical services, whose participants are reached at made-up addresses, and
whose warning inject carries a recorded LVĢMC red wind warning for Jelgava; seeding it
again makes a second exercise on the same plans, and ``sargs exercises demo`` seeds it."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from sargs.cli import cli
from sargs.exercises import builder
from sargs.exercises.demo import seed_demo
from sargs.exercises.models import ContinuityPlan, Exercise
from sargs.warnings import cap


def test_the_demo_seeds_three_plans_and_a_ready_two_hour_exercise(app, db):
    with app.test_request_context():
        exercise = seed_demo(db)
    db.commit()

    plans = db.scalars(select(ContinuityPlan).order_by(ContinuityPlan.organisation)).all()
    assert [p.organisation for p in plans] == [
        "Jelgavas Valsts ģimnāzija", "Jelgavas sociālās aprūpes centrs", 'SIA "Jelgavas ūdens"']
    assert all(p.services and p.contacts for p in plans)
    assert all(c.email.endswith("@example.lv") for p in plans for c in p.contacts)

    assert (exercise.state, exercise.kind, exercise.duration_minutes) == (
        "ready", "functional", 120)
    assert exercise.title == "Vētra un elektroapgādes pārtraukums Jelgavā"
    services = {s.id: s.name for p in plans for s in p.services}
    linked = [services[o.service_id] for o in exercise.objectives if o.service_id]
    assert {"Pagaidu patvertne iedzīvotājiem", "Dzeramā ūdens piegāde pilsētai",
            "Diennakts aprūpe iemītniekiem"} <= set(linked)
    assert "Iedzīvotāju brīdināšana" in {o.capability for o in exercise.objectives}

    kinds = [p.kind for p in exercise.participants]
    assert kinds.count("controller") == 1 and kinds.count("evaluator") == 1
    assert all(p.contact_id for p in exercise.participants)

    injects = builder.timeline(exercise)
    assert len(injects) == 20
    assert injects[0].offset_s == 0 and injects[-1].offset_s <= 2 * 3600
    assert injects[-1].offset_s - injects[0].offset_s >= 110 * 60
    assert {i.channel for i in injects} >= {"page", "sms", "telegram", "email", "voice"}
    roles = {p.role for p in exercise.participants}
    assert all(i.recipient_role in roles and i.objective_id for i in injects
               if i.channel != "warning")
    [warning] = [i for i in injects if i.channel == "warning"]
    document = cap.parse(warning.cap_document.encode())
    assert document.sender == "http://www.lvgmc.lv" and document.status == "Actual"
    [english, latvian] = document.infos
    assert "Red Wind Warning" in english.event and "Sarkanais" in latvian.event
    assert english.severity == "Extreme" and latvian.awareness_colour == "red"
    assert "4; red; Extreme" in warning.cap_document and "<areaDesc>Jelgava<" in warning.cap_document


def test_a_second_demo_is_a_second_exercise_on_the_same_plans(app, db):
    with app.test_request_context():
        first = seed_demo(db)
        second = seed_demo(db)
    db.commit()
    assert first.id != second.id and second.state == "ready"
    assert db.scalar(select(func.count(ContinuityPlan.id))) == 3
    assert {o.service_id for o in first.objectives} == {o.service_id for o in second.objectives}


def test_sargs_exercises_demo_seeds_it_and_prints_its_id(app, db):
    result = CliRunner().invoke(cli, ["exercises", "demo"],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    exercise_id = int(result.output.split()[0])
    db.expire_all()
    exercise: Any = db.get(Exercise, exercise_id)
    assert exercise.state == "ready" and len(exercise.injects) == 20
