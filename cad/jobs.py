"""The 8787 line's scheduler work, one tick handler: put newly overdue reports on the
operators' queue and erase reporters' contact data past the retention period."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.cad import service
from sargs.scheduler import tick_handler


@tick_handler("cad")
def tick(session: Session) -> None:
    settings = current_app.extensions["sargs"].settings
    service.flag_overdue(session)
    service.erase_expired_contacts(session, settings)
