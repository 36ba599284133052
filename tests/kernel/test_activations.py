"""Activations: who opens and closes them, bad input, keeping exercises apart."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.activations.models import Activation
from sargs.activations.schemas import ActivationClose, ActivationOpen
from sargs.activations.service import (
    ActivationError,
    close_activation,
    exclude_exercises,
    open_activation,
)
from tests.kernel.helpers import count, field_has_error, post_form, rows


def _open(client, title: str, kind: str):
    return post_form(client, "/activations/", {"title": title, "kind": kind})


def _activations(db) -> list[Activation]:
    return rows(db, select(Activation).order_by(Activation.id))


def test_a_commission_member_opens_an_emergency(client, users, db):
    karlis = users.signed_in(client, "karlis", "commission")
    response = _open(client, "Flood on the Lielupe", "emergency")
    (opened,) = _activations(db)
    assert response.headers["Location"].endswith(f"/activations/{opened.id}")
    assert (opened.kind, opened.is_exercise, opened.opened_by_id) == ("emergency", False, karlis.id)
    assert opened.opened_at == clock.now() and opened.is_open
    assert "Flood on the Lielupe" in client.get(f"/activations/{opened.id}").get_data(as_text=True)


def test_a_trainer_opens_an_exercise_but_not_an_emergency(client, users, db):
    users.signed_in(client, "tija", "trainer")
    assert _open(client, "Storm exercise", "emergency").status_code == 403
    assert count(db, Activation) == 0
    assert _open(client, "Storm exercise", "exercise").status_code == 302
    assert [(a.kind, a.is_exercise) for a in _activations(db)] == [("exercise", True)]


def test_a_trainer_cannot_close_an_emergency(client, users, db):
    emergency = open_activation(db, ActivationOpen(title="Flood", kind="emergency"), None)
    db.commit()
    users.signed_in(client, "tija", "trainer")
    assert post_form(client, f"/activations/{emergency.id}/close").status_code == 403
    assert all(a.is_open for a in _activations(db))


def test_an_activation_closes_once(client, users, db, frozen_clock):
    users.signed_in(client, "karlis", "commission")
    _open(client, "Flood on the Lielupe", "emergency")
    (opened,) = _activations(db)
    frozen_clock.advance(hours=5)
    close = f"/activations/{opened.id}/close"
    assert post_form(client, close, {"closing_note": "Water receded"}).status_code == 302
    closed_at = clock.now()
    frozen_clock.advance(hours=1)
    assert post_form(client, close, {"closing_note": "Again"}).status_code == 302
    (closed,) = _activations(db)
    assert (closed.closed_at, closed.closing_note) == (closed_at, "Water receded")


def test_a_stale_copy_cannot_close_an_activation_again(app, db, frozen_clock):
    """Two people press "close" at once: the second finds it already closed."""
    activation = open_activation(db, ActivationOpen(title="Flood", kind="emergency"), None)
    db.commit()
    with app.extensions["sargs"].sessionmaker() as other:
        close_activation(other, other.get(Activation, activation.id),
                         ActivationClose(closing_note="first"), None)
        other.commit()
    with pytest.raises(ActivationError):
        close_activation(db, activation, ActivationClose(closing_note="second"), None)
    db.rollback()
    (closed,) = _activations(db)
    assert closed.closing_note == "first"


def test_bad_input_is_refused_naming_the_fields(client, users, db):
    users.signed_in(client, "karlis", "commission")
    response = _open(client, "", "party")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "title") and field_has_error(page, "kind")
    assert count(db, Activation) == 0


def test_exclude_exercises_keeps_exercise_rows_out(db, frozen_clock):
    for title, kind in (("Flood", "emergency"), ("Drill", "exercise"), ("Fire", "emergency")):
        open_activation(db, ActivationOpen(title=title, kind=kind), None)
    db.commit()
    real = exclude_exercises(select(Activation.title), Activation.id)
    assert sorted(rows(db, real)) == ["Fire", "Flood"]
