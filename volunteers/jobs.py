"""The volunteer corps' scheduler work: training reminders and certificate renewals,
and call-outs that ran out of time or people."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.scheduler import tick_handler
from sargs.volunteers import callouts, training


@tick_handler("volunteers_training")
def training_tick(session: Session) -> None:
    training.run_due(session, current_app.extensions["sargs"].settings)


@tick_handler("volunteers_callouts")
def callouts_tick(session: Session) -> None:
    callouts.run_due(session, current_app.extensions["sargs"].settings)
