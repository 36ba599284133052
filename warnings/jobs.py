"""The warnings module's scheduler work, one tick handler: poll the sources that are
due (each every SARGS_FEED_POLL_SECONDS; failing ones back off), expire what ran out,
and release the notices held for quiet hours that came due."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.scheduler import tick_handler
from sargs.warnings import alerting, ingest, service


@tick_handler("warnings")
def tick(session: Session) -> None:
    ext = current_app.extensions["sargs"]
    # Before ``session`` is used: the poll reads the network with no transaction open
    # and writes in its own sessions.
    ingest.poll(ext.sessionmaker, ext.settings)
    service.expire_due(session)
    alerting.release_due(session, ext.settings)
