"""Exercise and Test alerts: marked in every text, reaching only participants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sargs.channels import alerts, audience
from sargs.channels.models import Contact
from tests.channels.engine_helpers import (
    commission_member,
    exercise_activation,
    public_orange,
    resident,
)


def test_exercise_texts_are_marked_in_every_language(db):
    activation = exercise_activation(db)
    participant = resident(db, "Dalībnieks", "+37120000011")
    alert = alerts.create_alert(db, public_orange(
        cap_status="Exercise", source="exercise", activation_id=activation.id,
        audience={"contacts": [participant.id]}), None)
    assert [t.body.split(":")[0] for t in alert.texts] == ["MĀCĪBAS", "EXERCISE"]


@pytest.mark.parametrize("body", ["Tās nav mācības! Dodieties uz patvertni.",
                                  "This is NOT a drill: go to the shelter."])
def test_a_drill_may_not_claim_to_be_real(db, body):
    activation = exercise_activation(db)
    with pytest.raises(alerts.AlertError):
        alerts.create_alert(db, public_orange(
            cap_status="Exercise", source="exercise", activation_id=activation.id,
            texts={"lv": body}, audience={"contacts": [1]}), None)


def test_an_exercise_alert_needs_an_exercise_activation(db):
    with pytest.raises(alerts.AlertError) as refused:
        alerts.create_alert(db, public_orange(cap_status="Exercise", source="exercise"), None)
    assert refused.value.field == "activation_id"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from(["Exercise", "Test"]),
    with_public=st.booleans(),
    with_group=st.booleans(),
    named=st.lists(st.integers(0, 5), max_size=4, unique=True),
)
def test_a_drill_resolves_only_to_its_named_participants(db, status, with_public, with_group, named):
    if not db.scalar(select(Contact.id).limit(1)):
        for i in range(4):
            resident(db, f"Iedzīvotājs {i}", f"+3712000010{i}", telegram=f"90{i}")
        commission_member(db, "Kārlis", "+37120000199", "7199")
        db.info["activation"] = exercise_activation(db).id
    ids = sorted(db.scalars(select(Contact.id)))
    participants = [ids[i] for i in named if i < len(ids)]
    definition = {"contacts": participants or [ids[0]]}
    if with_public:
        definition["public"] = {"areas": ["LV022"]}
    if with_group:
        definition["groups"] = ["commission"]
    alert = alerts.create_alert(db, public_orange(
        cap_status=status, source="exercise", audience=definition,
        activation_id=db.info["activation"] if status == "Exercise" else None), None)
    reached = {r.contact_id for r in audience.resolve(db, alert)}
    assert reached <= set(definition["contacts"])
    marks = {"Exercise": ("MĀCĪBAS", "EXERCISE"), "Test": ("TESTS", "TEST")}[status]
    assert all(t.body.startswith(marks) for t in alert.texts)
