"""The improvement plan: actions with an owner, a due day and an e-mail for reminders,
checked when added; the scheduler reminds an action coming due within a week once
(through the notification engine, here the SMTP simulator's inbox), not again within a
day however often it ticks, daily once it is overdue, and never once it is done. The
report page adds actions and changes their status, each bad field named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.exercises import builder, improvement, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ObjectiveIn, ParticipantIn
from sargs.exercises.models import Exercise, ImprovementAction
from sargs.exercises.report_schemas import ActionIn
from sargs.scheduler import run_tick
from sargs.web.forms import InputError, validate
from tests.channels.adapters_helpers import wait_until, wired
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error

OWNER = "saimnieks@jelgava.lv"
TODAY = date(2026, 11, 24)  # the frozen clock's Riga date


@pytest.fixture
def mail() -> Iterator[Any]:
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def wiring(settings, mail, frozen_clock) -> Iterator[Any]:
    with wired(settings, smtp_url=f"smtp://127.0.0.1:{mail.port}",
               email_from="sargs@jelgava.lv") as wiring:
        yield wiring


@pytest.fixture
def exercise(db: Any) -> Exercise:
    """An exercise that ran and ended, with one objective."""
    found = builder.create_exercise(db, ExerciseIn(title="Vētra Jelgavā",
                                                   scheduled_at=clock.now()))
    builder.add_objective(db, found, ObjectiveIn(text="Komisija sasaukta", capability="vadība"))
    builder.add_participant(db, found, ParticipantIn(name="Jānis Ozols", role="komisija"))
    builder.add_inject(db, found, InjectIn(offset=0, recipient_role="komisija", text="Vējš"))
    builder.mark_ready(db, found)
    run.start(db, found, None)
    run.end(db, found)
    db.commit()
    return found


def _action(**changes: Any) -> ActionIn:
    return validate(ActionIn, {"action": "Iegādāties ģeneratora rezerves atslēgu",
                               "owner": "Saimniecības daļa", "owner_email": OWNER,
                               "due_on": (TODAY + timedelta(days=3)).isoformat(), **changes})


def test_an_action_needs_an_owner_a_text_a_due_day_ahead_and_a_real_address(db, exercise):
    with pytest.raises(InputError) as refused:
        _action(action=" ", owner="", owner_email="nav-adrese")
    assert set(refused.value.errors) == {"action", "owner", "owner_email"}
    with pytest.raises(improvement.ActionError) as past:
        improvement.add(db, exercise, _action(due_on=(TODAY - timedelta(days=1)).isoformat()))
    assert past.value.field == "due_on"
    with pytest.raises(improvement.ActionError) as other:
        improvement.add(db, exercise, _action(objective_id="999"))
    assert other.value.field == "objective_id"
    item = improvement.add(db, exercise, _action(owner_email=" Saimnieks@Jelgava.LV "))
    assert (item.status, item.owner_email, item.due_on) == (
        "open", OWNER, TODAY + timedelta(days=3))
    improvement.close(db, item)
    assert (item.status, item.closed_at) == ("done", clock.now())
    improvement.set_status(db, item, "in_progress")
    assert (item.status, item.closed_at) == ("in_progress", None)


def _tick(wiring: Any) -> None:
    with wiring.app.app_context():
        assert run_tick(wiring.sessions)["exercise_actions"] == "ok"


def _reminders(wiring: Any) -> list[str]:
    with wiring.sessions() as session:
        return [a.source_ref for a in session.scalars(
            select(Alert).where(Alert.source == "reminder").order_by(Alert.id))]


def test_a_due_action_is_reminded_once_a_day_and_a_done_one_never(wiring, mail, db, exercise,
                                                                  frozen_clock):
    soon = improvement.add(db, exercise, _action())
    later = improvement.add(db, exercise, _action(
        action="Pārskatīt plānu", due_on=(TODAY + timedelta(days=30)).isoformat()))
    done = improvement.add(db, exercise, _action(action="Atjaunot sarakstu"))
    improvement.close(db, done)
    db.commit()
    soon_id, later_id = soon.id, later.id
    db.close()

    _tick(wiring)
    _tick(wiring)  # many ticks: one reminder
    assert _reminders(wiring) == [f"exercise_action:{soon_id}"]
    drain(wiring.dispatcher())
    assert wait_until(lambda: len(mail.inboxes.of(OWNER)) == 1)
    [message] = mail.inboxes.of(OWNER)
    assert "Iegādāties ģeneratora rezerves atslēgu" in message["text"]
    assert "27.11.2026" in message["text"]
    assert f"{wiring.settings.base_url}/exercises/report/{exercise.id}" in message["text"]
    with wiring.sessions() as session:
        assert session.get(ImprovementAction, soon_id).last_reminded_at == clock.now()

    frozen_clock.advance(hours=23)
    _tick(wiring)
    assert len(_reminders(wiring)) == 1  # not again within a day
    frozen_clock.advance(days=3)  # past the due day: once a day until done
    _tick(wiring)
    _tick(wiring)
    assert _reminders(wiring) == [f"exercise_action:{soon_id}"] * 2
    frozen_clock.advance(hours=24)
    _tick(wiring)
    assert len(_reminders(wiring)) == 3
    with wiring.sessions() as session:
        improvement.close(session, session.get(ImprovementAction, soon_id))
        session.commit()
    frozen_clock.advance(days=2)
    _tick(wiring)
    assert len(_reminders(wiring)) == 3  # done: never again; the later one not yet due
    assert f"exercise_action:{later_id}" not in _reminders(wiring)


def test_the_report_page_adds_actions_and_changes_their_status(client, users, db, exercise):
    path = f"/exercises/report/{exercise.id}"
    objective_id = exercise.objectives[0].id
    db.rollback()  # the pages write: the test's session holds no transaction meanwhile
    users.signed_in(client, "ilze", "trainer")
    assert client.get(path).status_code == 200
    token = csrf_token(client, path)
    form = {"csrf_token": token, "action": "Iegādāties atslēgu", "owner": "",
            "owner_email": "nav", "due_on": "2026-11-20", "objective_id": str(objective_id)}
    response = client.post(f"{path}/actions", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "owner") and field_has_error(page, "owner_email")
    assert "Iegādāties atslēgu" in page  # what was typed is kept
    response = client.post(f"{path}/actions", data={**form, "owner": "Saimniecības daļa",
                                                    "owner_email": OWNER})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "due_on")
    assert client.post(f"{path}/actions", data={
        **form, "owner": "Saimniecības daļa", "owner_email": OWNER,
        "due_on": "2026-12-01"}).status_code == 302
    [item_id] = [int(x) for x in db.scalars(select(ImprovementAction.id))]
    db.rollback()

    assert client.post(f"{path}/actions/{item_id}", data={
        "csrf_token": token, "status": "finished"}).status_code == 422
    assert client.post(f"{path}/actions/{item_id}", data={
        "csrf_token": token, "status": "done"}).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert f'data-testid="action" data-id="{item_id}" data-status="done"' in page
