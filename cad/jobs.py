"""The 8787 line's scheduler work: put newly overdue reports on the operators' queue and
erase reporters' contact data past the retention period; poll the e-mail intake's
mailbox (its own handler: it commits mail by mail, and a mail server down must not hold
up the rest)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.cad import email_intake, service
from sargs.scheduler import tick_handler


@tick_handler("cad")
def tick(session: Session) -> None:
    settings = current_app.extensions["sargs"].settings
    service.flag_overdue(session)
    service.erase_expired_contacts(session, settings)


@tick_handler("cad_mail")
def mail_tick(session: Session) -> None:
    """Poll the mailbox when SARGS_CAD_IMAP_URL is set, at most every
    cad_imap_poll_seconds (its errors land in CadIntakeState.last_error)."""
    email_intake.poll_if_due(session, current_app.extensions["sargs"].settings)
