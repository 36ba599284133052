"""The reserves' scheduler work: the daily expiry and minimum list to the warehouse
keepers (:mod:`sargs.reserves.notify`; once a day however often the scheduler ticks)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sargs.reserves import notify
from sargs.scheduler import tick_handler


@tick_handler("reserves")
def tick(session: Session) -> None:
    notify.send_daily(session)
