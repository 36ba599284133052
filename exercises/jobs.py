"""The exercises' scheduler work: deliver the injects that came due on each running
exercise's clock (see :mod:`sargs.exercises.run`), and remind the owners of the
improvement plans' actions that are due (see :mod:`sargs.exercises.improvement`; its
rule sends at most one reminder a day per action however often the scheduler ticks)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.exercises import improvement, run
from sargs.scheduler import tick_handler


@tick_handler("exercises")
def tick(session: Session) -> None:
    run.deliver_due(session, current_app.extensions["sargs"].settings)


@tick_handler("exercise_actions")
def remind(session: Session) -> None:
    improvement.due_reminders(session, current_app.extensions["sargs"].settings)
