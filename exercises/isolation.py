"""An exercise reaches its participants and nobody else.

The notification engine asks, for every alert of an activation, whom that activation's
exercise may reach (:func:`sargs.channels.audience.register_drill_guard`): the contacts
of the exercise's people. The audience resolver and the ledger leave everyone else out,
so no inject, replayed warning, communications check or follow-up of an exercise can
write a ledger row for a resident or a real staff group. Activations of no exercise
(real ones, or drills run by hand from the alerts page) are left to the resolver's own
rule for Exercise alerts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels import audience
from sargs.exercises.models import Exercise, Participant


def participant_contacts(session: Session, activation_id: int) -> set[int] | None:
    """The contacts the exercise of ``activation_id`` may reach; None: no exercise's."""
    exercises = select(Exercise.id).where(Exercise.activation_id == activation_id)
    if session.scalar(exercises.limit(1)) is None:
        return None
    return set(session.scalars(select(Participant.contact_id).where(
        Participant.exercise_id.in_(exercises), Participant.contact_id.is_not(None))))


audience.register_drill_guard(participant_contacts)
