"""The exercises' scheduler work: deliver the injects that came due on each running
exercise's clock (see :mod:`sargs.exercises.run`)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.exercises import run
from sargs.scheduler import tick_handler


@tick_handler("exercises")
def tick(session: Session) -> None:
    run.deliver_due(session, current_app.extensions["sargs"].settings)
