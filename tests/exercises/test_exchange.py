"""A whole exercise as JSON between municipalities: export then import gives the same
exercise (objectives, participants by role, injects with their links), nobody's name or
address leaves, a bad file is refused naming the part, and ``sargs exercises export`` /
``import`` and the page's download and upload do the same."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.cli import cli
from sargs.exercises import builder
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ObjectiveIn, ParticipantIn
from sargs.exercises.models import ContinuityPlan, CriticalService, Exercise
from sargs.web.forms import validate
from tests.conftest import csrf_token
from tests.warnings.lvgmc import Doc

STORM = {"kind": "functional", "title": "Vētra un elektroapgādes traucējumi Jelgavā",
         "scheduled_at": "2026-12-10T09:00", "duration_minutes": "120",
         "scenario": "Sarkanais vēja brīdinājums; skolā nav elektrības."}


def _run(app: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def built(app: Any, db: Any) -> int:
    """A small exercise with a plan's service, a capability, two people and three injects."""
    now = clock.now()
    plan = ContinuityPlan(organisation="Jelgavas 4. vidusskola", title="DNP", version="1.0",
                          owner="direktore", created_at=now, updated_at=now)
    plan.services = [CriticalService(name="Apkure", recovery_time_hours=4)]
    db.add(plan)
    db.flush()
    with app.test_request_context():
        exercise = builder.create_exercise(db, validate(ExerciseIn, STORM))
        heating = builder.add_objective(db, exercise, ObjectiveIn(
            text="Apkure atjaunota 4 stundās", service_id=plan.services[0].id))
        builder.add_objective(db, exercise, ObjectiveIn(text="Komisija sasaukta",
                                                        capability="vadība"))
        director = builder.add_participant(db, exercise, ParticipantIn(
            kind="participant", name="Anna Bērziņa", organisation="Jelgavas 4. vidusskola",
            role="skolas direktore", phone="+37120000001"))
        builder.add_participant(db, exercise, ParticipantIn(
            kind="evaluator", name="Pēteris Kalns", organisation="VUGD", role="vērtētājs",
            email="peteris@example.lv"))
        red = Doc(1, datetime(2026, 11, 24, 8, 0, tzinfo=UTC), level=4).xml().decode()
        builder.add_inject(db, exercise, validate(InjectIn, {
            "offset": "0:00", "channel": "warning", "sender": "LVĢMC", "text": "Sarkanais",
            "cap_document": red}))
        builder.add_inject(db, exercise, validate(InjectIn, {
            "offset": "0:20", "channel": "sms", "sender": "Sadales tīkls",
            "participant_id": director.id, "text": "Skolā nav elektrības",
            "expected_action": "Ziņot", "objective_id": heating.id}))
        builder.add_inject(db, exercise, validate(InjectIn, {
            "offset": "1:05", "channel": "page", "recipient_role": "komisija",
            "text": "Ūdensapgādes traucējumi"}))
    db.commit()
    return exercise.id


def _document(db: Any, exercise_id: int) -> dict[str, Any]:
    with Session(db.get_bind()) as session:
        return builder.export_json(session, session.get(Exercise, exercise_id))


def _without_title(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "exercise": {**document["exercise"], "title": ""}}


def test_export_then_import_gives_the_same_exercise_without_personal_data(app, db, built):
    document = _document(db, built)
    assert document["format"] == "sargs-exercise" and document["version"] == 1
    assert document["participants"] == [
        {"kind": "participant", "organisation": "Jelgavas 4. vidusskola",
         "role": "skolas direktore"},
        {"kind": "evaluator", "organisation": "VUGD", "role": "vērtētājs"}]
    assert document["objectives"][0]["service"] == {"organisation": "Jelgavas 4. vidusskola",
                                                    "name": "Apkure"}
    assert [(i["number"], i["offset"], i["participant"], i["objective"])
            for i in document["injects"]] == [(1, "0:00", None, None), (2, "0:20", 1, 1),
                                             (3, "1:05", None, None)]
    text = json.dumps(document, ensure_ascii=False)
    for personal in ("Anna", "Pēteris", "20000001", "peteris@"):
        assert personal not in text

    with app.test_request_context():
        copy = builder.import_json(db, text)
        db.commit()
        assert copy.id != built and copy.state == "draft"
        assert _document(db, copy.id) == document
        # A municipality without the plan keeps the service's name as the capability.
        db.execute(CriticalService.__table__.delete())
        db.commit()
        moved = builder.import_json(db, text)
        db.commit()
        assert moved.objectives[0].service_id is None
        assert moved.objectives[0].capability == "Jelgavas 4. vidusskola — Apkure"


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: {**d, "format": "other"}, "format"),
    (lambda d: {**d, "version": 7}, "version"),
    (lambda d: {**d, "exercise": {**d["exercise"], "kind": "party"}}, "exercise.kind"),
    (lambda d: {**d, "injects": [*d["injects"], {**d["injects"][2], "number": None, "offset": "5:00"}]},
     "injects.4.offset"),
    (lambda d: {**d, "injects": [{**d["injects"][0], "cap_document": "<x/>"}]},
     "injects.1.cap_document"),
    (lambda d: {**d, "injects": [{**d["injects"][1], "participant": 9}]},
     "injects.1.participant"),
    (lambda d: {**d, "participants": "everyone"}, "participants"),
])
def test_a_bad_file_is_refused_naming_the_part(app, db, built, change, field):
    text = json.dumps(change(_document(db, built)))
    with app.test_request_context(), pytest.raises(builder.BuilderError) as caught:
        builder.import_json(db, text)
    db.rollback()
    assert caught.value.field == field
    assert db.scalar(select(func.count()).select_from(Exercise)) == 1


def test_the_command_line_exports_and_imports(app, db, built, tmp_path):
    result = _run(app, "exercises", "export", str(built))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == _document(db, built)
    path = tmp_path / "storm.json"
    path.write_text(result.output, encoding="utf-8")
    result = _run(app, "exercises", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "3 injects" in result.output
    with Session(db.get_bind()) as session:
        newest = session.scalar(select(func.max(Exercise.id)))
    assert newest != built and _document(db, newest) == _document(db, built)

    path.write_text(json.dumps(_without_title(_document(db, built))), encoding="utf-8")
    result = _run(app, "exercises", "import", str(path))
    assert result.exit_code == 1 and "exercise.title" in result.output
    assert _run(app, "exercises", "export", "999").exit_code == 1


def test_the_page_downloads_and_uploads_an_exercise(client, users, db, built):
    users.signed_in(client, "ilze", "trainer")
    response = client.get(f"/exercises/builder/{built}/export.json")
    assert response.mimetype == "application/json"
    data = response.get_data()
    token = csrf_token(client, "/exercises/builder/")
    response = client.post("/exercises/builder/import", data={
        "csrf_token": token, "file": (io.BytesIO(data), "storm.json")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    new_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert _document(db, new_id) == json.loads(data)

    bad = json.dumps(_without_title(json.loads(data))).encode()
    response = client.post("/exercises/builder/import", data={
        "csrf_token": token, "file": (io.BytesIO(bad), "bad.json")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'data-testid="import-error"' in response.get_data(as_text=True)
