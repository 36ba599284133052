"""The isolation property: whatever exercise Hypothesis builds — any participants with
any addresses, any injects on any channel to any role (or to a role nobody plays),
recorded red warnings included — and whatever else is in the database (residents
subscribed to red warnings, the commission's groups, a stranger with the same role
text), everything the exercise sends is an Exercise alert of its own activation whose
ledger rows go to its participants only. An alert of the exercise's activation that
names strangers, groups or the public — a bug upstream, simulated — still reaches
nobody outside: the audience resolver and the ledger refuse them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sargs import clock
from sargs.channels import alerts, audience
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Alert, Contact, Delivery
from sargs.exercises import builder, conduct, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ParticipantIn
from sargs.exercises.models import Exercise
from tests.channels.engine_helpers import resident
from tests.warnings.lvgmc import Doc

PROPERTY = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ROLES = ["komisijas vadītājs", "skolas direktore", "ūdensapgādes dispečers"]
ALL = {"sms", "voice", "telegram", "email", "pbx"}

people = st.lists(st.fixed_dictionaries({
    "role": st.sampled_from(ROLES),
    "kind": st.sampled_from(["participant", "participant", "controller", "evaluator"]),
    "phone": st.booleans(), "email": st.booleans(), "telegram": st.booleans(),
}), min_size=1, max_size=4)
injects = st.lists(st.tuples(
    st.integers(0, 90),  # minutes after the start
    st.sampled_from(["page", "sms", "telegram", "email", "voice", "warning"]),
    st.sampled_from(ROLES + ["", "nav tādas lomas"]),
), min_size=1, max_size=5)


def _outsiders(db) -> set[int]:
    """Everyone outside any exercise, made once: residents subscribed to every level in
    the city, the commission's and duty officers' groups, a stranger with a role text
    the exercises use."""
    if "outsiders" not in db.info:
        resident(db, "Anna", "+37120000601", areas=("LV022",), levels=("yellow", "orange", "red"),
                 telegram="6601")
        resident(db, "Jānis", "+37120000602", areas=("LV022", "LV023"),
                 levels=("orange", "red"))
        for code, phone in (("commission", "+37129000601"), ("duty-officers", "+37129000602")):
            add_to_group(db, ensure_group(db, code, code, "staff"),
                         register_contact(db, code, [("sms", phone), ("voice", phone)]))
        register_contact(db, ROLES[1], [("sms", "+37120000609"), ("email", "x@skola.lv")])
        db.commit()
        db.info["outsiders"] = set(db.scalars(select(Contact.id)))
    return db.info["outsiders"]


def _red_wind() -> str:
    sent = clock.now() - timedelta(days=400)
    return Doc(700, sent, level=4, onset=sent + timedelta(hours=1),
               expires=sent + timedelta(hours=10)).xml().decode()


def _build(db, who: list[dict], lines: list[tuple[int, str, str]]) -> Exercise:
    exercise = builder.create_exercise(db, ExerciseIn(
        title="Īpašību mācības", scheduled_at=clock.now(), duration_minutes=120))
    for n, person in enumerate(who):
        builder.add_participant(db, exercise, ParticipantIn(
            name=f"Dalībnieks {n}", kind=person["kind"] if n else "participant", role=person["role"],
            phone=f"+3712100{n:04d}" if person["phone"] else "",
            email=f"p{n}@macibas.lv" if person["email"] else "",
            telegram=str(8800 + n) if person["telegram"] else ""))
    for minutes, channel, role in lines:
        if not role and channel != "warning":  # the builder asks for recipients
            role = "nav tādas lomas"
        builder.add_inject(db, exercise, InjectIn(
            offset=minutes * 60, channel=channel, recipient_role=role, sender="LVĢMC",
            text="Stiprs vējš, elektroapgādes traucējumi",
            cap_document=_red_wind() if channel == "warning" else None))
    builder.mark_ready(db, exercise)
    return exercise


@pytest.fixture
def app_settings(app):
    return app.extensions["sargs"].settings


@PROPERTY
@given(who=people, lines=injects)
def test_an_exercise_reaches_its_participants_and_nobody_else(
        db, frozen_clock, app_settings, who, lines):
    outsiders = _outsiders(db)
    try:
        exercise = _build(db, who, lines)
        run.start(db, exercise, None, speed=60)
        frozen_clock.advance(minutes=2)  # two exercise hours at 60×: every inject is due
        run.deliver_due(db, app_settings)
        db.flush()
        participants = {p.contact_id for p in exercise.participants if p.contact_id}
        assert not participants & outsiders
        sent = db.scalars(select(Alert).where(Alert.activation_id == exercise.activation_id)).all()
        assert {a.cap_status for a in sent} <= {"Exercise"}
        rows = db.scalars(select(Delivery).where(
            Delivery.alert_id.in_([a.id for a in sent]))).all()
        assert {r.contact_id for r in rows} <= participants
        assert db.scalar(select(func.count(Alert.id)).where(Alert.cap_status == "Actual")) == 0
        assert conduct.leaked(db, exercise) == 0
        # Every inject to someone who has an address on its channel reached them.
        for inject in exercise.injects:
            assert inject.delivered_at is not None

        # A bug upstream, simulated: an alert of the activation naming strangers,
        # groups and the public. Nobody outside is resolved or written to the ledger.
        stray = alerts.create_alert(db, alerts.AlertDraft(
            source="exercise", cap_status="Exercise", texts={"lv": "Pārbaude"},
            audience={"contacts": sorted(outsiders | participants), "groups": ["commission"],
                      "public": {"areas": ["LV022"]}},
            channels=sorted(ALL), activation_id=exercise.activation_id), None)
        assert {r.contact_id for r in audience.resolve(db, stray)} <= participants
        alerts.submit(db, stray, None)
        alerts.start_sending(db, stray, ALL)
        db.flush()
        written = db.scalars(select(Delivery.contact_id).where(Delivery.alert_id == stray.id))
        assert set(written) <= participants
        # And an Actual alert in the exercise's activation is refused outright.
        with pytest.raises(alerts.AlertError):
            alerts.create_alert(db, alerts.AlertDraft(
                source="manual", cap_status="Actual", texts={"lv": "Īsts"},
                audience={"groups": ["commission"]}, channels=["sms"],
                activation_id=exercise.activation_id), None)
    finally:
        db.rollback()  # the next example starts clean (PostgreSQL too)
