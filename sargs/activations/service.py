"""Opening and closing activations, and keeping exercises out of real output.

Other modules link their records to an activation and ask
:func:`exclude_exercises` to keep exercise activity out of real statistics,
public pages and the public CAP feed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.models import Activation
from sargs.activations.schemas import ActivationClose, ActivationOpen


class ActivationError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def open_activation(session: Session, data: ActivationOpen, by_user_id: int | None) -> Activation:
    activation = Activation(
        title=data.title.strip(),
        kind=data.kind,
        is_exercise=data.kind == "exercise",
        description=data.description.strip(),
        opened_at=clock.now(),
        opened_by_id=by_user_id,
    )
    session.add(activation)
    session.flush()
    return activation


def close_activation(
    session: Session, activation: Activation, data: ActivationClose, by_user_id: int | None
) -> Activation:
    # Read the row afresh and hold it, so two closings cannot both pass the check.
    session.refresh(activation, with_for_update=True)
    if activation.closed_at is not None:
        raise ActivationError("closed_at", "already closed")
    activation.closed_at = clock.now()
    activation.closed_by_id = by_user_id
    activation.closing_note = data.closing_note.strip()
    session.flush()
    return activation


def get_activation(session: Session, activation_id: int) -> Activation | None:
    return session.get(Activation, activation_id)


def list_activations(session: Session, *, open_only: bool = False) -> list[Activation]:
    query = select(Activation).order_by(Activation.closed_at.is_not(None), Activation.opened_at.desc())
    if open_only:
        query = query.where(Activation.closed_at.is_(None))
    return list(session.scalars(query))


def exclude_exercises(query: Select[Any], activation_column: Any) -> Select[Any]:
    """Keep rows linked to an exercise activation out of ``query``.

    Rows with no activation are real (routine work outside any activation).
    """
    exercise_ids = select(Activation.id).where(Activation.is_exercise.is_(True))
    return query.where(
        activation_column.is_(None) | activation_column.not_in(exercise_ids.scalar_subquery())
    )
